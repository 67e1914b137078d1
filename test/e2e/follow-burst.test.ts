// The live follow under bursts (issue: `sparklogs logs <app> -f` printed 145,231
// of 201,650 lines of a burst, with no fault at all). Four executors, each a
// real collector sidecar, write two bursts of 200,000 lines in all, as fast as
// a file takes them; during the first, Kafka is restarted and one of two
// aggregators is killed with SIGKILL and started again; during the second, one
// executor's log rotates. `sparklogs logs <app> -f` (the real CLI against the
// real query API) runs from before the first burst. What it printed must be
// what is stored, line for line, in each executor's order, and what is stored
// must be every line written. Kafka must hold each executor's records in file
// order (a record re-sent after a failure may repeat earlier lines, never
// bring new lines after later ones).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { Kafka, logLevel } from 'kafkajs';
import { randomUUID } from 'node:crypto';
import { appendFileSync, closeSync, mkdirSync, openSync, renameSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeBatch, kafkaKey } from '../../contract/index.js';
import { distDir, freePort } from '../../deploy/local/demo/paths.js';
import { collectorEnv, exited, type PodSpec } from '../../deploy/local/demo/pods.js';
import { cleanup, storedLines } from '../aggregator/harness.js';
import { startPrivateStack, type PrivateStack } from '../helpers/private-stack.js';
import { aggregatorSetup, sparkLine } from '../helpers/seed.js';
import { testStack, uniqueNames } from '../helpers/stack.js';
import { SLOW_MS, waitUntil } from '../helpers/wait.js';

const { esUrl } = testStack();
const n = uniqueNames('follow-burst');
const EXECUTORS = ['1', '2', '3', '4'];
const PRELUDE = 10;
const BURST = 50_000; // per executor and burst: 200,000 lines a burst
const appId = `spark-burst${randomUUID().replace(/-/g, '').slice(0, 12)}`;
const work = join(tmpdir(), `sparklogs-${n.prefix}`);
const procs: ChildProcess[] = [];
let priv: PrivateStack | undefined;

let passed = false;
after(async () => {
  for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  await priv?.destroy();
  await cleanup(esUrl, n);
  // Kept when the test failed: every component's log is in it.
  if (passed) await rm(work, { recursive: true, force: true });
  else process.stderr.write(`follow-burst: logs kept in ${work}\n`);
});

function logTo(name: string): number {
  return openSync(join(work, `${name}.log`), 'a');
}

function spawnLogged(name: string, args: string[], env: NodeJS.ProcessEnv): ChildProcess {
  const out = logTo(name);
  const p = spawn(process.execPath, args, { env, stdio: ['ignore', out, out] });
  closeSync(out);
  procs.push(p);
  return p;
}

/** `count` Spark lines of executor `e` from marker `first` on, appended in chunks as fast as the file takes them. */
function write(dir: string, e: string, first: number, count: number): void {
  const t = Date.now();
  for (let i = first; i < first + count; i += 5000) {
    let chunk = '';
    for (let k = i; k < Math.min(i + 5000, first + count); k++) chunk += `${sparkLine(t, k % 100 === 7 ? 'WARN' : 'INFO', 'Executor', `marker ${e}:${k} payload-${'x'.repeat(k % 40)}`)}\n`;
    appendFileSync(join(dir, 'spark.log'), chunk);
  }
}

test('follow prints every line of 400,000-line bursts once, in order, through a Kafka restart, an aggregator kill and a rotation', { timeout: 20 * 60_000 }, async () => {
  mkdirSync(work, { recursive: true });
  priv = await startPrivateStack({ elasticsearch: false });
  const brokers = priv.brokers.join(',');
  const env = {
    ...process.env,
    SPARKLOGS_KAFKA_BROKERS: brokers,
    SPARKLOGS_ES_URL: esUrl,
    SPARKLOGS_PREFIX: n.prefix,
    SPARKLOGS_PARTITIONS: '4',
    SPARKLOGS_SESSION_TIMEOUT_MS: '30000',
    SPARKLOGS_RETRY_MAX_MS: '3000',
  };
  await aggregatorSetup(env, join(distDir, 'aggregator/main.js'));
  const startAggregator = async (i: number) => spawnLogged(`aggregator-${i}`, [join(distDir, 'aggregator/main.js')], { ...env, SPARKLOGS_METRICS_PORT: String(await freePort()) });
  const aggregators = [await startAggregator(0), await startAggregator(1)];
  const port = await freePort();
  spawnLogged('query-api', [join(distDir, 'query-api/server.js')], { ...env, SPARKLOGS_PORT: String(port) });
  const api = `http://127.0.0.1:${port}`;

  const dirs = new Map<string, string>();
  for (const e of EXECUTORS) {
    const spec: PodSpec = { name: `burst-exec-${e}`, executorId: e, role: 'executor', appId, appName: 'burst', namespace: 'jobs', node: 'node-a' };
    const dir = join(work, 'pods', spec.name);
    mkdirSync(dir, { recursive: true });
    dirs.set(e, dir);
    spawnLogged(`${spec.name}.collector`, [join(distDir, 'collector/main.js')], collectorEnv(spec, { kafkaBrokers: brokers, prefix: n.prefix, graceMs: 30_000 }, dir, randomUUID()));
    write(dir, e, 0, PRELUDE);
  }
  // The follow needs the app to exist: the prelude's lines are stored first.
  await waitUntil(async () => fetch(`${api}/api/v1/apps/${appId}/logs?size=1000`).then(async (r) => r.ok && ((await r.json()) as { lines: unknown[] }).lines.length === PRELUDE * EXECUTORS.length, () => false), { what: 'the prelude lines to be served' });

  const all = follow(api, []);
  // A filtered follow (one line in a hundred is a WARN): its lines' numbers have gaps of their own.
  const warns = follow(api, ['--level', 'WARN']);
  await waitUntil(() => all.total >= PRELUDE * EXECUTORS.length, { what: 'the follow to print the prelude', state: () => `${all.total} printed; stderr: ${all.stderr}` });

  // Burst 1, and the faults while it is shipped and stored.
  for (const e of EXECUTORS) write(dirs.get(e)!, e, PRELUDE, BURST);
  const killed = aggregators[0]!;
  const gone = new Promise((r) => killed.once('exit', r));
  killed.kill('SIGKILL');
  await priv.stop('kafka');
  await gone;
  await new Promise((r) => setTimeout(r, 5000));
  await priv.start('kafka');
  aggregators[0] = await startAggregator(0);
  // Burst 2: executor 1's log rotates halfway through (spark.log -> spark.log.1, a new spark.log).
  for (const e of EXECUTORS) {
    const dir = dirs.get(e)!;
    if (e === '1') {
      write(dir, e, PRELUDE + BURST, BURST / 2);
      renameSync(join(dir, 'spark.log'), join(dir, 'spark.log.1'));
      write(dir, e, PRELUDE + BURST + BURST / 2, BURST / 2);
    } else write(dir, e, PRELUDE + BURST, BURST);
  }
  const perExecutor = PRELUDE + 2 * BURST;
  const want = perExecutor * EXECUTORS.length;

  // Everything stored, then everything printed (or the follow stalled for good).
  let count = 0;
  await waitUntil(async () => {
    const r = await fetch(`${esUrl}/${n.linesIndexPattern}/_count?ignore_unavailable=true&allow_no_indices=true`).then((x) => x.json() as Promise<{ count?: number }>, () => ({ count: 0 }));
    count = r.count ?? 0;
    return count >= want;
  }, { what: `${want} lines stored`, timeoutMs: 5 * 60_000, intervalMs: 2000, state: () => `${count} stored, ${all.total} printed; see the logs in ${work}` });
  const wantWarns = EXECUTORS.length * Array.from({ length: perExecutor }, (_, k) => k).filter((k) => k % 100 === 7).length;
  for (const [f, wanted] of [[all, want], [warns, wantWarns]] as const) {
    let last = -1;
    let stillSince = Date.now();
    await waitUntil(() => {
      if (f.total !== last) [last, stillSince] = [f.total, Date.now()];
      return f.total >= wanted || Date.now() - stillSince > 90_000;
    }, { what: 'the follow to print every line', timeoutMs: SLOW_MS, intervalMs: 500 });
    f.proc.kill('SIGINT');
    await exited(f.proc);
  }

  const stored = await storedLines(esUrl, n, appId);
  assert.equal(stored.length, want, 'every line written is stored once');
  const summary = EXECUTORS.map((e) => `executor ${e}: ${all.printed.get(e)!.length} printed of ${perExecutor}`).join('; ');
  process.stderr.write(`follow-burst: ${all.total} lines printed by -f, ${stored.length} stored (${summary}); -f --level WARN printed ${warns.total} of ${wantWarns}\n`);
  for (const e of EXECUTORS) {
    const storedMarkers = stored.filter((d) => d.executorId === e).map((d) => Number(/ marker \d+:(\d+) /.exec(` ${d.message}`)?.[1]));
    assert.deepEqual(storedMarkers, Array.from({ length: perExecutor }, (_, i) => i), `executor ${e}: the store holds every line in file order`);
    assert.deepEqual(all.printed.get(e), storedMarkers, `executor ${e}: -f printed what is stored, line for line (${summary})`);
    assert.deepEqual(warns.printed.get(e), storedMarkers.filter((k) => k % 100 === 7), `executor ${e}: -f --level WARN printed the stored WARN lines, line for line`);
  }
  for (const f of [all, warns]) assert.doesNotMatch(f.stderr, /not stored within/, 'no gap was given up on');

  // Kafka: no record of an executor brings a new line after a later one.
  const bad = outOfOrder(await topicRecords(priv.brokers, n.linesTopic));
  assert.deepEqual(bad.slice(0, 10), [], `${bad.length} events reached Kafka after a later event of their executor`);
  passed = true;
});

interface Follow {
  proc: ChildProcess;
  /** Markers printed, per executor, in the order printed. */
  printed: Map<string, number[]>;
  total: number;
  stderr: string;
}

/** `sparklogs logs <app> -f` (the real CLI), its output parsed as it comes. */
function follow(api: string, args: string[]): Follow {
  const proc = spawn(process.execPath, [join(distDir, 'query-api/cli/main.js'), 'logs', appId, '-f', '--tail', '10000', ...args], { env: { ...process.env, SPARKLOGS_URL: api, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  procs.push(proc);
  const f: Follow = { proc, printed: new Map(EXECUTORS.map((e) => [e, []])), total: 0, stderr: '' };
  let partial = '';
  proc.stdout!.on('data', (b: Buffer) => {
    const lines = (partial + b.toString('utf8')).split('\n');
    partial = lines.pop()!;
    for (const l of lines) {
      const m = / marker (\d+):(\d+) /.exec(l);
      if (!m) throw new Error(`the CLI printed a line without a marker: ${l.slice(0, 200)}`);
      f.printed.get(m[1]!)!.push(Number(m[2]));
      f.total++;
    }
  });
  proc.stderr!.on('data', (b: Buffer) => (f.stderr += b.toString('utf8')));
  return f;
}

/** Every record of the topic, partition by partition, in offset order. */
async function topicRecords(brokers: string[], topic: string): Promise<{ value: Buffer }[]> {
  const kafka = new Kafka({ clientId: 'follow-burst-reader', brokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const ends = new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, Number(p.high)]));
  await admin.disconnect();
  const got = new Map<number, { value: Buffer }[]>([...ends.keys()].map((p) => [p, []]));
  const next = new Map<number, number>();
  const done = () => [...ends].every(([p, high]) => (next.get(p) ?? 0) >= high);
  const consumer = kafka.consumer({ groupId: `reader-${randomUUID()}` });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      if (done()) return resolve();
      const timer = setTimeout(() => reject(new Error(`read ${[...next.values()].join('/')} of ${[...ends.values()].join('/')} records`)), SLOW_MS);
      consumer
        .run({
          eachBatch: async ({ batch }) => {
            for (const m of batch.messages) if (m.value) got.get(batch.partition)!.push({ value: m.value });
            next.set(batch.partition, Number(batch.lastOffset()) + 1);
            if (done()) {
              clearTimeout(timer);
              resolve();
            }
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
  return [...got.values()].flat();
}

/** Events that reached Kafka after a later event of their executor (a re-sent event, seen before, is not one). */
function outOfOrder(records: { value: Buffer }[]): string[] {
  const max = new Map<string, [number, number]>();
  const seen = new Set<string>();
  const bad: string[] = [];
  for (const r of records) {
    const b = decodeBatch(r.value);
    const key = kafkaKey(b.src);
    for (const ev of b.lines) {
      const id = `${b.src.fileId}/${ev.off}`;
      if (seen.has(id)) continue;
      seen.add(id);
      const m = max.get(key);
      const at: [number, number] = [b.src.fileSeq, ev.off];
      if (m && (at[0] < m[0] || (at[0] === m[0] && at[1] < m[1]))) bad.push(`${key}: ${at.join('/')} after ${m.join('/')}`);
      else max.set(key, at);
    }
  }
  return bad;
}
