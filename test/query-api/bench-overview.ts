// Benchmark (not part of npm test): p95 latency of what the app page asks
// first (executor timeline, log-volume histogram, exceptions) for an app of
// 200 executors and 1,000,000 lines. Lines and summary documents are built by
// the aggregator's own transforms and bulk-loaded through its Elasticsearch
// sink into a throwaway prefix (deleted at the end), with lifecycle facts as
// the pod watcher writes them.
//
//   SPARKLOGS_TEST_ES_URL=http://127.0.0.1:9200 node --import tsx test/query-api/bench-overview.ts [lines] [executors] [runs]
import { randomBytes } from 'node:crypto';
import { createEsSink } from '../../aggregator/sinks/elasticsearch.js';
import { lineItems, SummaryFold } from '../../aggregator/transforms/to-documents.js';
import { ZonedClock } from '../../aggregator/transforms/zoned-time.js';
import { kafkaKey, summaryId } from '../../contract/index.js';
import { build } from '../../query-api/app.js';
import { dropIndices, source, sparkLine } from '../helpers/seed.js';
import { uniqueNames } from '../helpers/stack.js';
import { STACK, testConfig } from './fixture.js';

const esUrl = process.env.SPARKLOGS_TEST_ES_URL ?? 'http://127.0.0.1:9200';
const total = Number(process.argv[2] ?? 1_000_000);
const executors = Number(process.argv[3] ?? 200);
const runs = Number(process.argv[4] ?? 100);
const perExec = Math.ceil(total / executors);
const n = uniqueNames('bench-overview');
const appId = `spark-${randomBytes(6).toString('hex')}`;
const clock = new ZonedClock('UTC');
const sink = createEsSink({ url: esUrl, names: n, requestTimeoutMs: 120_000, template: { refreshInterval: '30s' } });

const pct = (xs: number[], p: number) => xs.slice().sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))] ?? NaN;

async function bulkOk(items: Parameters<typeof sink.bulk>[0]) {
  const out = await sink.bulk(items);
  const bad = out.find((o) => o.status !== 'ok');
  if (bad) throw new Error(`bulk item failed: ${JSON.stringify(bad)}`);
}

try {
  await sink.installTemplates();
  // Dynamic allocation: executor e starts e·30 s after the first, each writes a line every 20 ms.
  const t0 = Date.now() - 12 * 3_600_000;
  const started = Date.now();
  const CHUNK = 5_000;
  let loaded = 0;
  for (let e = 0; e < executors; e++) {
    const src = source(appId, String(e + 1));
    const start = t0 + e * 30_000;
    const fold = new SummaryFold();
    for (let i = 0; i < perExec; i += CHUNK) {
      const lines = [];
      for (let j = i; j < Math.min(perExec, i + CHUNK); j++) {
        const ms = start + j * 20;
        const level = j % 499 === 0 ? 'ERROR' : j % 97 === 0 ? 'WARN' : 'INFO';
        const text = sparkLine(ms, level, 'org.apache.spark.executor.Executor', `Finished task ${j}.0 in stage ${j % 13}.0 (TID ${j}). 2003 bytes result sent to driver`);
        lines.push({ off: j * 120, t: ms + 5, m: level === 'ERROR' ? `${text}\n${STACK}` : text });
      }
      const items = lineItems({ v: 1, src, lines }, n, clock);
      fold.add(src, items);
      await bulkOk(items.map((it) => ({ index: it.index, id: it.id, doc: it.doc })));
      loaded += items.length;
    }
    await bulkOk(fold.items(n));
    const exitCode = e % 17 === 0 ? 137 : 0;
    await bulkOk([{
      index: n.executorsIndex, id: summaryId(kafkaKey(src), 'lifecycle'), version: Date.now(),
      doc: { kind: 'lifecycle', appType: 'spark', appId, executorId: src.executorId, role: 'executor', exitCode, reason: exitCode ? 'OOMKilled' : 'Completed', startedAt: start, finishedAt: start + perExec * 20 + 1_000 },
    }]);
    if ((e + 1) % 20 === 0) process.stdout.write(`loaded ${loaded} lines (${Math.round(loaded / ((Date.now() - started) / 1000))}/s)\n`);
  }
  await fetch(`${esUrl}/${n.prefix}-*/_refresh`, { method: 'POST' });
  const count = ((await (await fetch(`${esUrl}/${n.linesIndexPattern}/_count`)).json()) as { count: number }).count;
  process.stdout.write(`stored ${count} lines of ${executors} executors in ${Math.round((Date.now() - started) / 1000)} s\n`);

  const app = await build({ cfg: testConfig(n.prefix, esUrl) });
  const get = async (url: string) => {
    const r = await app.inject(url);
    if (r.statusCode !== 200) throw new Error(`${url}: ${r.statusCode} ${r.body.slice(0, 200)}`);
    return r.json() as { executors?: unknown[]; total?: number };
  };
  const base = `/api/v1/apps/${appId}`;
  // What each call must show, so a fast wrong answer is not measured as a fast one.
  const check = {
    timeline: (b: { executors?: unknown[] }) => b.executors?.length === executors,
    histogram: (b: { total?: number }) => b.total === count,
  };
  // Cold: Elasticsearch's shard request cache (which keeps size-0 aggregation answers) cleared before each run, untimed.
  const clearRequestCache = () => fetch(`${esUrl}/${n.prefix}-*/_cache/clear?request=true`, { method: 'POST' });
  const measure = async (label: string, fn: () => Promise<unknown>, cold = false) => {
    for (let i = 0; i < 3; i++) await fn(); // warm caches
    const ms: number[] = [];
    for (let i = 0; i < runs; i++) {
      if (cold) await clearRequestCache();
      const s = process.hrtime.bigint();
      await fn();
      ms.push(Number(process.hrtime.bigint() - s) / 1e6);
    }
    process.stdout.write(`${label}${cold ? ' (request cache cleared)' : ''}: runs=${runs} p50=${pct(ms, 50).toFixed(1)} ms p95=${pct(ms, 95).toFixed(1)} ms max=${Math.max(...ms).toFixed(1)} ms\n`);
  };
  for (const cold of [false, true]) {
    await measure('timeline', async () => { if (!check.timeline(await get(`${base}/timeline`))) throw new Error('timeline: wrong executor count'); }, cold);
    await measure('histogram (120 buckets x level)', async () => { if (!check.histogram(await get(`${base}/histogram`))) throw new Error('histogram: totals differ from the lines stored'); }, cold);
    await measure('exceptions', () => get(`${base}/exceptions`), cold);
    // What the app page asks when it opens: timeline, histogram and exceptions at once.
    await measure('app page: timeline + histogram + exceptions in parallel', async () => {
      const [t, h] = await Promise.all([get(`${base}/timeline`), get(`${base}/histogram`), get(`${base}/exceptions`)]);
      if (!check.timeline(t) || !check.histogram(h)) throw new Error('app page: wrong answer');
    }, cold);
    await measure('apps list', () => get('/api/v1/app-list'), cold);
  }
  await app.close();
} finally {
  await sink.close();
  await dropIndices(esUrl, n);
}
