// Test data the way production makes it: contract Batch records produced with
// the collector's Kafka sink, consumed and stored by the REAL aggregator
// binary (dist/aggregator/main.js) running as a child process. waitForLines()
// returns once Elasticsearch serves what was sent.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createKafkaSink, type LineSink } from '../../collector/sinks/kafka.js';
import { createEsSink } from '../../aggregator/sinks/elasticsearch.js';
import { encodeBatch, kafkaKey, summaryId, type Batch, type ExecutorDoc, type Names } from '../../contract/index.js';
import { testLog } from './log.js';
import { retrying, SLOW_MS } from './wait.js';

/** dist/aggregator/main.js whether this file runs from the sources (tsx) or from dist/. */
function aggregatorBin(): string {
  const p = new URL('../../', import.meta.url).pathname;
  return p.includes('/dist/') ? `${p}aggregator/main.js` : `${p}dist/aggregator/main.js`;
}

export type Src = Batch['src'];

/** A Spark log4j line (`yy/MM/dd HH:mm:ss LEVEL Logger: message`) as Spark prints it, in UTC. */
export function sparkLine(ms: number, level: string, logger: string, message: string): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(d.getUTCFullYear() % 100)}/${p(d.getUTCMonth() + 1)}/${p(d.getUTCDate())} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} ${level} ${logger}: ${message}`;
}

/** What `aggregator setup` prints when it failed on an error the product marks retriable (KafkaSourceError, StoreUnavailableError). */
const SETUP_RETRIABLE = /\b(KAFKA_ADMIN_FAILED|ES_UNAVAILABLE): /;

/**
 * `sparklogs-aggregator setup` with `env`, run again while it fails on a
 * retriable error: on a busy machine Kafka may take longer than the admin
 * client's 5 s to elect the new topics' leaders, or Elasticsearch may be slow
 * to take the templates. The Kubernetes setup Job is retried the same way.
 * Any other failure is thrown at once.
 */
export async function aggregatorSetup(env: NodeJS.ProcessEnv, bin = aggregatorBin()): Promise<void> {
  await retrying(
    async () => {
      const child = spawn(process.execPath, [bin, 'setup'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      child.stdout.on('data', (b: Buffer) => (output += b.toString('utf8')));
      child.stderr.on('data', (b: Buffer) => (output += b.toString('utf8')));
      const timer = setTimeout(() => child.kill('SIGKILL'), SLOW_MS);
      const code = await new Promise<number | null>((resolve) => child.once('close', (c) => resolve(c)));
      clearTimeout(timer);
      if (code !== 0) throw Object.assign(new Error(`aggregator setup exited ${code}: ${output.slice(-2000)}`), { retriable: SETUP_RETRIABLE.test(output) });
    },
    { what: 'aggregator setup', retriable: (err) => (err as { retriable?: boolean }).retriable === true },
  );
}

export function source(appId: string, executorId: string, extra: Partial<Src> = {}): Src {
  const role = executorId === 'driver' ? 'driver' : 'executor';
  return {
    appType: 'spark', appId, executorId, role, appName: 'etl-daily', namespace: 'jobs',
    pod: `etl-daily-${executorId === 'driver' ? 'driver' : `exec-${executorId}`}`, podUid: `uid-${appId}-${executorId}`,
    node: 'node-a', container: 'spark', file: `/var/log/pods/${appId}/${executorId}.log`, fileId: `f-${executorId}`, fileSeq: 0,
    ...extra,
  };
}

/** Events of one source as Kafka records of at most `per` lines (a record stays well under Kafka's size limit). */
export function batchesOf(src: Src, events: Batch['lines'], per = 500): Batch[] {
  const out: Batch[] = [];
  for (let i = 0; i < events.length; i += per) out.push({ v: 1, src, lines: events.slice(i, i + per) });
  return out;
}

export interface Seeder {
  /** Produces the batches to Kafka (acks=all); returns the number of lines sent. */
  send(batches: Batch[]): Promise<number>;
  /** Resolves when the line indices hold at least `count` documents; rejects when the aggregator exits, or after timeoutMs (default: minutes) without reaching it. */
  waitForLines(count: number, timeoutMs?: number): Promise<void>;
  /** Pod facts (exit code, finish time), as the lifecycle watcher records them. */
  lifecycle(src: Src, facts: Pick<ExecutorDoc, 'exitCode' | 'reason' | 'startedAt' | 'finishedAt'>): Promise<void>;
  stop(): Promise<void>;
}

export async function startSeeder(n: Names & { prefix: string }, brokers: string[], esUrl: string): Promise<Seeder> {
  const env = {
    ...process.env,
    SPARKLOGS_KAFKA_BROKERS: brokers.join(','),
    SPARKLOGS_ES_URL: esUrl,
    SPARKLOGS_PREFIX: n.prefix,
    SPARKLOGS_GROUP_ID: `${n.prefix}-agg`,
    SPARKLOGS_PARTITIONS: '2',
    SPARKLOGS_METRICS_PORT: '0',
    SPARKLOGS_METRICS_HOST: '127.0.0.1',
    SPARKLOGS_LOG_LEVEL: process.env.SPARKLOGS_TEST_LOG ?? 'warn',
  };
  const bin = aggregatorBin();
  await aggregatorSetup(env, bin);
  const child: ChildProcess = spawn(process.execPath, [bin, 'run'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (b: Buffer) => {
    output = (output + b.toString('utf8')).slice(-8000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const sink: LineSink = await createKafkaSink({ brokers, clientId: `seed-${randomBytes(3).toString('hex')}`, topic: n.linesTopic, compression: 'none', requestTimeoutMs: 30_000, log: testLog });
  const es = createEsSink({ url: esUrl, names: n, requestTimeoutMs: 30_000 });

  /** Lines stored so far; undefined when Elasticsearch did not answer this time (slow or busy: asked again). */
  async function count(): Promise<number | undefined> {
    try {
      await fetch(`${esUrl}/${n.linesIndexPattern}/_refresh?ignore_unavailable=true&allow_no_indices=true`, { method: 'POST', signal: AbortSignal.timeout(30_000) });
      const r = await fetch(`${esUrl}/${n.linesIndexPattern}/_count?ignore_unavailable=true&allow_no_indices=true`, { signal: AbortSignal.timeout(30_000) });
      return r.ok ? ((await r.json()) as { count: number }).count : undefined;
    } catch {
      return undefined;
    }
  }

  return {
    async send(batches) {
      await sink.send(batches.map((b) => ({ key: kafkaKey(b.src), value: encodeBatch(b) })));
      return batches.reduce((s, b) => s + b.lines.length, 0);
    },
    async waitForLines(want, timeoutMs = SLOW_MS) {
      const deadline = Date.now() + timeoutMs;
      let have = 0;
      while (Date.now() < deadline) {
        have = (await count()) ?? have;
        if (have >= want) {
          await fetch(`${esUrl}/${n.appsIndex},${n.executorsIndex}/_refresh?ignore_unavailable=true&allow_no_indices=true`, { method: 'POST' });
          return;
        }
        if (child.exitCode !== null) break;
        await new Promise((r) => setTimeout(r, 250));
      }
      throw new Error(`store holds ${have} of ${want} lines after ${timeoutMs} ms; aggregator exit=${child.exitCode}, output:\n${output}`);
    },
    async lifecycle(src, facts) {
      const doc: ExecutorDoc = { kind: 'lifecycle', appType: src.appType, appId: src.appId, executorId: src.executorId, role: src.role, ...facts };
      if (src.pod) doc.pod = src.pod;
      if (src.node) doc.node = src.node;
      const out = await es.bulk([{ index: n.executorsIndex, id: summaryId(kafkaKey(src), 'lifecycle'), doc, version: Date.now() }]);
      if (out[0]?.status !== 'ok') throw new Error(`lifecycle write failed: ${JSON.stringify(out[0])}`);
      await fetch(`${esUrl}/${n.executorsIndex}/_refresh`, { method: 'POST' });
    },
    async stop() {
      await sink.close();
      await es.close();
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
        await exited;
        clearTimeout(timer);
      }
    },
  };
}

/** Deletes the indices and index templates of a test prefix. */
export async function dropIndices(esUrl: string, n: Names & { prefix: string }): Promise<void> {
  await fetch(`${esUrl}/${n.prefix}-*?expand_wildcards=all&ignore_unavailable=true`, { method: 'DELETE' });
  await fetch(`${esUrl}/_index_template/${n.linesTemplate}`, { method: 'DELETE' });
  await fetch(`${esUrl}/_index_template/${n.summaryTemplate}`, { method: 'DELETE' });
}
