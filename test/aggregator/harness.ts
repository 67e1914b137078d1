// What the aggregator scenario tests share: collector-format batches with
// real-looking Spark lines, producing them through the collector's Kafka
// sink, running the real aggregator binary as a child process, and reading
// back what Elasticsearch holds in the query API's order.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createKafkaSink } from '../../collector/sinks/kafka.js';
import { encodeBatch, kafkaKey, type Batch, type LineDoc, type Names } from '../../contract/index.js';
import { createKafkaSource, type InMessage } from '../../aggregator/sources/kafka.js';
import { testLog } from '../helpers/log.js';

export const BIN = join(import.meta.dirname, '../../dist/aggregator/main.js');

export type Source = Batch['src'];

export function source(appId: string, executorId: string, over: Partial<Source> = {}): Source {
  return {
    appType: 'spark', appId, executorId, role: executorId === 'driver' ? 'driver' : 'executor', appName: 'etl-daily', namespace: 'jobs',
    pod: `etl-daily-exec-${executorId}`, podUid: `uid-${appId}-${executorId}`, node: 'ip-10-0-1-7', container: 'spark-kubernetes-executor',
    file: '/var/log/spark/executor.log', fileId: `fid-${executorId}`, fileSeq: 1, ...over,
  };
}

export const T0 = Date.UTC(2026, 0, 15, 6, 20, 0);
const pad = (x: number) => String(x).padStart(2, '0');

/** Event i of an executor: Spark's log4j layout, every 7th one a stack trace. */
export function sparkEvent(i: number, t0 = T0): string {
  const d = new Date(t0 + i * 10);
  const head = `${String(d.getUTCFullYear()).slice(2)}/${pad(d.getUTCMonth() + 1)}/${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
  if (i % 7 === 3) {
    return `${head} ERROR Executor: Exception in task ${i}.0 in stage 1.0 (TID ${i})\njava.lang.IllegalStateException: event ${i}\n\tat org.example.Job.run(Job.scala:42)\n\t... 12 more`;
  }
  return `${head} INFO Executor: Running task ${i}.0 in stage 1.0 (TID ${i})`;
}

/** `count` events of one source in batches of `perBatch`, offsets increasing like a file's bytes. */
export function batches(src: Source, count: number, perBatch: number, first = 0, t0 = T0): Batch[] {
  const out: Batch[] = [];
  for (let i = first; i < first + count; i += perBatch) {
    const lines = [];
    for (let j = i; j < Math.min(first + count, i + perBatch); j++) lines.push({ off: j * 1000, t: t0 + j * 10 + 500, m: sparkEvent(j, t0) });
    out.push({ v: 1, src, lines });
  }
  return out;
}

export async function produce(brokers: string[], topic: string, bs: Batch[], raw: { key: string; value: Buffer }[] = []): Promise<void> {
  const sink = await createKafkaSink({ brokers, clientId: 'test-producer', topic, compression: 'none', requestTimeoutMs: 30_000, log: testLog });
  try {
    for (let i = 0; i < bs.length; i += 200) await sink.send(bs.slice(i, i + 200).map((b) => ({ key: kafkaKey(b.src), value: encodeBatch(b) })));
    if (raw.length) await sink.send(raw);
  } finally {
    await sink.close();
  }
}

export interface Aggregator {
  proc: ChildProcess;
  /** Parsed JSON log lines so far. */
  logs: Record<string, unknown>[];
  stderr: string[];
  waitFor(msg: string, timeoutMs: number, pred?: (l: Record<string, unknown>) => boolean): Promise<Record<string, unknown>>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function startAggregator(n: Names & { prefix: string }, brokers: string[], esUrl: string, env: Record<string, string> = {}, args: string[] = []): Aggregator {
  const proc = spawn(process.execPath, [BIN, ...args], {
    env: {
      PATH: process.env.PATH, SPARKLOGS_KAFKA_BROKERS: brokers.join(','), SPARKLOGS_ES_URL: esUrl, SPARKLOGS_PREFIX: n.prefix,
      SPARKLOGS_GROUP_ID: `${n.prefix}-group`, SPARKLOGS_METRICS_PORT: '0', SPARKLOGS_METRICS_HOST: '127.0.0.1', SPARKLOGS_PARTITIONS: '2',
      SPARKLOGS_SESSION_TIMEOUT_MS: '10000', SPARKLOGS_RETRY_MAX_MS: '2000', SPARKLOGS_LOG_LEVEL: 'info', ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Record<string, unknown>[] = [];
  const stderr: string[] = [];
  const waiters = new Set<() => void>();
  let buf = '';
  proc.stdout!.setEncoding('utf8').on('data', (d: string) => {
    buf += d;
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      try {
        logs.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        logs.push({ msg: 'stdout', text: line });
      }
      if (process.env.SPARKLOGS_TEST_LOG === 'debug') process.stderr.write(`[agg ${proc.pid}] ${line}\n`);
    }
    for (const w of waiters) w();
  });
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => stderr.push(d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => proc.once('exit', (code, signal) => res({ code, signal })));
  return {
    proc, logs, stderr, exited,
    waitFor(msg, timeoutMs, pred = () => true) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const hit = logs.find((l) => l.msg === msg && pred(l));
          if (hit) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve(hit);
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`aggregator ${proc.pid}: no "${msg}" log within ${timeoutMs} ms; stderr: ${stderr.join('').slice(-2000)}; last logs: ${JSON.stringify(logs.slice(-5))}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
  };
}

/** SIGTERM, then SIGKILL if it does not exit in time; resolves with how it ended. */
export async function stopAggregator(a: Aggregator, timeoutMs = 30_000) {
  if (a.proc.exitCode !== null || a.proc.signalCode !== null) return a.exited;
  a.proc.kill('SIGTERM');
  const t = setTimeout(() => a.proc.kill('SIGKILL'), timeoutMs);
  const r = await a.exited;
  clearTimeout(t);
  return r;
}

/**
 * One request to the real Elasticsearch node. What Elasticsearch documents as
 * retriable (429: its queues are full; 502-504: not ready, timed out) is tried
 * again with backoff, bounded (~1 min in all): a busy machine answers so, and
 * the test is about the pipeline, not the machine. Anything else throws at once.
 */
export async function es<T>(esUrl: string, path: string, body?: unknown, method = body === undefined ? 'GET' : 'POST'): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    const res = await fetch(`${esUrl}${path}`, { method, headers: { 'content-type': 'application/json' }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    const json = (await res.json()) as T;
    if (res.ok) return json;
    if (![429, 502, 503, 504].includes(res.status) || attempt >= 8) {
      throw new Error(`${method} ${path}: HTTP ${res.status}${attempt ? ` (after ${attempt + 1} tries)` : ''} ${JSON.stringify(json).slice(0, 500)}`);
    }
    await new Promise((r) => setTimeout(r, Math.min(15_000, 250 * 2 ** attempt)));
  }
}

export async function lineCount(esUrl: string, n: Names): Promise<number> {
  await es(esUrl, `/${n.linesIndexPattern}/_refresh?ignore_unavailable=true&allow_no_indices=true`, undefined, 'POST');
  const r = await es<{ count?: number }>(esUrl, `/${n.linesIndexPattern}/_count?ignore_unavailable=true&allow_no_indices=true`);
  return r.count ?? 0;
}

/** Every stored line of an app in the query API's order: (fileSeq, off) per executor. */
export async function storedLines(esUrl: string, n: Names, appId: string): Promise<LineDoc[]> {
  await es(esUrl, `/${n.linesIndexPattern}/_refresh?ignore_unavailable=true&allow_no_indices=true`, undefined, 'POST');
  const out: LineDoc[] = [];
  let after: unknown[] | undefined;
  for (;;) {
    const r = await es<{ hits: { hits: { _source: LineDoc; sort: unknown[] }[] } }>(esUrl, `/${n.linesIndexPattern}/_search?ignore_unavailable=true&allow_no_indices=true`, {
      size: 5000, query: { term: { appId } }, sort: [{ executorId: 'asc' }, { fileSeq: 'asc' }, { off: 'asc' }], ...(after ? { search_after: after } : {}),
    });
    const hits = r.hits.hits;
    out.push(...hits.map((h) => h._source));
    if (hits.length < 5000) return out;
    after = hits.at(-1)!.sort;
  }
}

export async function waitUntil(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

export interface Seen {
  executorId: string;
  off: number;
  ts: number;
  level: string | undefined;
  message: string;
}

/**
 * What the store should hold for a batch list, in (executor, fileSeq, off)
 * order: the Spark header (`yy/MM/dd HH:mm:ss LEVEL Logger: `) parsed off the
 * first line, its second-precision time as @timestamp.
 */
export function expected(bs: Batch[]): Seen[] {
  return bs
    .flatMap((b) => b.lines.map((l) => ({ executorId: b.src.executorId, fileSeq: b.src.fileSeq, off: l.off, ts: Math.floor((l.t - 500) / 1000) * 1000, level: / (INFO|ERROR) /.exec(l.m)?.[1], message: l.m.replace(/^\S+ \S+ \S+ \S+: /, '') })))
    .sort((a, b) => (a.executorId < b.executorId ? -1 : a.executorId > b.executorId ? 1 : a.fileSeq - b.fileSeq || a.off - b.off))
    .map(({ fileSeq: _f, ...rest }) => rest);
}

export function seen(d: LineDoc): Seen {
  return { executorId: d.executorId, off: d.off, ts: d['@timestamp'], level: d.level, message: d.message };
}

export async function cleanup(esUrl: string, n: Names & { prefix: string }): Promise<void> {
  await fetch(`${esUrl}/${n.prefix}-*`, { method: 'DELETE' }).catch(() => undefined);
  for (const t of [n.linesTemplate, n.summaryTemplate]) await fetch(`${esUrl}/_index_template/${t}`, { method: 'DELETE' }).catch(() => undefined);
}

/** Reads a topic from the start with a fresh group until `count` messages arrived. */
export async function readTopic(brokers: string[], topic: string, count: number, timeoutMs: number): Promise<InMessage[]> {
  const s = createKafkaSource({ brokers, clientId: 'test-reader', groupId: `reader-${topic}-${Date.now()}`, topic, deadLetterTopic: `${topic}.unused`, sessionTimeoutMs: 10_000, maxBytesPerPartition: 1 << 20, log: testLog });
  const got: InMessage[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`read ${got.length} of ${count} messages from ${topic} in ${timeoutMs} ms`)), timeoutMs);
      s.run(async (b, ctl) => {
        got.push(...b.messages);
        ctl.resolveOffset(b.messages.at(-1)!.offset);
        if (got.length >= count) {
          clearTimeout(timer);
          resolve();
        }
      }).catch(reject);
    });
  } finally {
    await s.stop();
  }
  return got;
}

export async function groupLag(brokers: string[], n: Names, groupId: string): Promise<number> {
  const s = createKafkaSource({ brokers, clientId: 'test-lag', groupId, topic: n.linesTopic, deadLetterTopic: n.deadLetterTopic, sessionTimeoutMs: 10_000, maxBytesPerPartition: 1 << 20, log: testLog });
  try {
    return (await s.lag()).reduce((sum, p) => sum + p.lag, 0);
  } finally {
    await s.stop();
  }
}

/** One counter's value from the aggregator's /metrics (summed over labels matching `labels`). */
export async function metric(a: Aggregator, name: string, labels = ''): Promise<number> {
  const port = (a.logs.find((l) => l.msg === 'metricsListening') as { port: number }).port;
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return text.split('\n').filter((l) => l.startsWith(name) && l.includes(labels) && !l.startsWith('#')).reduce((s, l) => s + Number(l.split(' ').at(-1)), 0);
}
