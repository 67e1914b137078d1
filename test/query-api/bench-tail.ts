// Benchmark (not part of npm test): p95 latency of "the last 1,000 lines of
// one executor" with >= 1,000,000 lines stored. Lines are built by the
// aggregator's own transform (the documents it would store) and bulk-loaded
// through its Elasticsearch sink into a throwaway prefix, deleted at the end.
//
//   SPARKLOGS_TEST_ES_URL=http://127.0.0.1:9200 node --import tsx test/query-api/bench-tail.ts [lines] [executors]
import { randomBytes } from 'node:crypto';
import { createEsSink } from '../../aggregator/sinks/elasticsearch.js';
import { lineItems } from '../../aggregator/transforms/to-documents.js';
import { ZonedClock } from '../../aggregator/transforms/zoned-time.js';
import { build } from '../../query-api/app.js';
import { dropIndices, source, sparkLine } from '../helpers/seed.js';
import { uniqueNames } from '../helpers/stack.js';
import { testConfig } from './fixture.js';

const esUrl = process.env.SPARKLOGS_TEST_ES_URL ?? 'http://127.0.0.1:9200';
const total = Number(process.argv[2] ?? 1_000_000);
const executors = Number(process.argv[3] ?? 50);
const perExec = Math.ceil(total / executors);
const n = uniqueNames('bench');
const appId = `spark-${randomBytes(6).toString('hex')}`;
const clock = new ZonedClock('UTC');
const sink = createEsSink({ url: esUrl, names: n, requestTimeoutMs: 120_000, template: { refreshInterval: '30s' } });

const pct = (xs: number[], p: number) => xs.slice().sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))] ?? NaN;

try {
  await sink.installTemplates();
  const t0 = Date.now() - 6 * 3_600_000;
  const started = Date.now();
  const CHUNK = 5_000;
  let loaded = 0;
  for (let e = 0; e < executors; e++) {
    const src = source(appId, String(e + 1));
    for (let i = 0; i < perExec; i += CHUNK) {
      const lines = [];
      for (let j = i; j < Math.min(perExec, i + CHUNK); j++) {
        const ms = t0 + j * 20;
        const level = j % 97 === 0 ? 'WARN' : 'INFO';
        lines.push({ off: j * 120, t: ms + 5, m: sparkLine(ms, level, 'org.apache.spark.executor.Executor', `Finished task ${j}.0 in stage ${j % 13}.0 (TID ${j}). 2003 bytes result sent to driver`) });
      }
      const items = lineItems({ v: 1, src, lines }, n, clock);
      const out = await sink.bulk(items.map((it) => ({ index: it.index, id: it.id, doc: it.doc })));
      const bad = out.find((o) => o.status !== 'ok');
      if (bad) throw new Error(`bulk item failed: ${JSON.stringify(bad)}`);
      loaded += items.length;
    }
    if ((e + 1) % 10 === 0) process.stdout.write(`loaded ${loaded} lines (${Math.round(loaded / ((Date.now() - started) / 1000))}/s)\n`);
  }
  await fetch(`${esUrl}/${n.linesIndexPattern}/_refresh`, { method: 'POST' });
  const count = ((await (await fetch(`${esUrl}/${n.linesIndexPattern}/_count`)).json()) as { count: number }).count;
  process.stdout.write(`stored ${count} lines of ${executors} executors in ${Math.round((Date.now() - started) / 1000)} s\n`);

  const app = await build({ cfg: testConfig(n.prefix, esUrl) });
  const measure = async (label: string, url: () => string, runs: number) => {
    for (let i = 0; i < 5; i++) await app.inject(url()); // warm caches
    const ms: number[] = [];
    for (let i = 0; i < runs; i++) {
      const s = process.hrtime.bigint();
      const r = await app.inject(url());
      ms.push(Number(process.hrtime.bigint() - s) / 1e6);
      if (r.statusCode !== 200 || (r.json() as { lines: unknown[] }).lines.length !== 1000) throw new Error(`${label}: ${r.statusCode} ${r.body.slice(0, 200)}`);
    }
    process.stdout.write(`${label}: runs=${runs} p50=${pct(ms, 50).toFixed(1)} ms p95=${pct(ms, 95).toFixed(1)} ms max=${Math.max(...ms).toFixed(1)} ms\n`);
  };
  let k = 0;
  await measure('tail=1000 of one executor (same executor)', () => `/api/v1/apps/${appId}/executors/${Math.min(7, executors)}/logs?tail=1000`, 200);
  await measure('tail=1000 of one executor (rotating executors)', () => `/api/v1/apps/${appId}/executors/${(k++ % executors) + 1}/logs?tail=1000`, 200);
  await measure('tail=1000 of the whole app (interleaved)', () => `/api/v1/apps/${appId}/logs?tail=1000`, 50);
  await app.close();
} finally {
  await sink.close();
  await dropIndices(esUrl, n);
}
