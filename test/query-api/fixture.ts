// One stored Spark app (driver + two executors, WARN/ERROR lines, a stack
// trace, lines sharing a second) written through Kafka by the real aggregator,
// and an app built on it. Each test file gets its own prefix.
import { randomBytes } from 'node:crypto';
import { Value } from '@sinclair/typebox/value';
import type { FastifyInstance } from 'fastify';
import { build } from '../../query-api/app.js';
import { ConfigSchema, type Config } from '../../query-api/config.js';
import type { Batch } from '../../contract/index.js';
import { batchesOf, dropIndices, source, sparkLine, startSeeder, type Seeder, type Src } from '../helpers/seed.js';
import { testStack, uniqueNames } from '../helpers/stack.js';
import { RETRIABLE_STATUS, SLOW_MS, TEST_RETRY } from '../helpers/wait.js';
import { backoffMs, sleep } from '../../contract/retry.js';

export function testConfig(prefix: string, esUrl: string, over: Partial<Config> = {}): Readonly<Config> {
  return Object.freeze(Value.Default(ConfigSchema, { esUrl, prefix, ...over }) as Config);
}

/**
 * app.inject() of a GET that asks again while the answer is one the API
 * documents as retriable (503 STORE_UNAVAILABLE: Elasticsearch slow or busy,
 * as on a loaded machine; 429), with backoff, for up to `timeoutMs`; returns
 * the first other answer (or the last retriable one), for the caller to assert on.
 * For tests of answers over a healthy store, not of the 503 itself.
 */
export async function injectRetrying(app: FastifyInstance, opts: { url: string; headers?: Record<string, string> }, timeoutMs = SLOW_MS) {
  const end = Date.now() + timeoutMs;
  for (let attempt = 0; ; attempt++) {
    const r = await app.inject({ method: 'GET', ...opts });
    const wait = backoffMs(TEST_RETRY, attempt);
    if (!RETRIABLE_STATUS.has(r.statusCode) || Date.now() + wait > end) return r;
    await sleep(wait);
  }
}

export interface Expected {
  /** Messages (first line of each event) per executor, in the order written. */
  byExecutor: Record<string, string[]>;
  total: number;
  warn: Record<string, number>;
  error: Record<string, number>;
}

export const STACK = 'java.lang.IllegalStateException: shuffle fetch failed\n\tat org.apache.spark.Shuffle.fetch(Shuffle.scala:42)\n\tat org.apache.spark.Executor.run(Executor.scala:7)\nCaused by: java.net.ConnectException: Connection refused\n\t... 12 more';

/** Events of one executor: a line per 200 ms of event time from t0 (so several share a second); WARN every 10th, ERROR every 50th with a stack trace. */
export function events(exec: string, count: number, t0: number, startIndex = 0): { lines: Batch['lines']; messages: string[]; warn: number; error: number } {
  const lines: Batch['lines'] = [];
  const messages: string[] = [];
  let warn = 0;
  let error = 0;
  let off = startIndex * 200;
  for (let i = startIndex; i < startIndex + count; i++) {
    const level = i % 50 === 49 ? 'ERROR' : i % 10 === 9 ? 'WARN' : 'INFO';
    if (level === 'WARN') warn++;
    if (level === 'ERROR') error++;
    const msg = `task ${i} of executor ${exec} finished shuffle block ${i * 7}`;
    const text = sparkLine(t0 + i * 200, level, 'Executor', msg) + (level === 'ERROR' ? `\n${STACK}` : '');
    lines.push({ off, t: t0 + i * 200 + 50, m: text });
    messages.push(msg);
    off += Buffer.byteLength(text) + 1;
  }
  return { lines, messages, warn, error };
}

export interface Fixture {
  app: FastifyInstance;
  appId: string;
  esUrl: string;
  n: ReturnType<typeof uniqueNames>;
  seeder: Seeder;
  expected: Expected;
  t0: number;
  src: (exec: string) => Src;
  close(): Promise<void>;
}

export async function fixture(label: string, over: Partial<Config> = {}, counts: Record<string, number> = { driver: 120, '1': 260, '2': 260 }): Promise<Fixture> {
  const { brokers, esUrl } = testStack();
  const n = uniqueNames(label);
  const appId = `spark-${randomBytes(6).toString('hex')}`;
  const seeder = await startSeeder(n, brokers, esUrl);
  // Whole seconds, an hour ago: inside the aggregator's plausibility window.
  const t0 = Math.floor((Date.now() - 3_600_000) / 1000) * 1000;
  const expected: Expected = { byExecutor: {}, total: 0, warn: {}, error: {} };
  const batches: Batch[] = [];
  for (const [exec, count] of Object.entries(counts)) {
    const e = events(exec, count, t0);
    expected.byExecutor[exec] = e.messages;
    expected.warn[exec] = e.warn;
    expected.error[exec] = e.error;
    expected.total += count;
    batches.push(...batchesOf(source(appId, exec), e.lines, 100));
  }
  await seeder.send(batches);
  await seeder.waitForLines(expected.total);
  const app = await build({ cfg: testConfig(n.prefix, esUrl, over) });
  return {
    app, appId, esUrl, n, seeder, expected, t0,
    src: (exec) => source(appId, exec),
    async close() {
      await app.close();
      await seeder.stop();
      await dropIndices(esUrl, n);
    },
  };
}
