// The idle collector's file events: once every file is idle it sleeps up to
// idlePollIntervalMs (here 10 minutes, so only an event can explain a prompt
// delivery) and a write, a rotation or a write through a kubelet-style symlink
// into another directory ends that sleep. Without events (fileEvents=false, or
// the kernel refusing a watch) lines still arrive through the fast poll.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, mkdir, readFile, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pino } from 'pino';
import { names } from '../../contract/names.js';
import { STATE_FILE } from '../../collector/checkpoint/state-file.js';
import type { CollectorState } from '../../collector/checkpoint/state.js';
import { Collector } from '../../collector/collector.js';
import { loadCollectorConfig } from '../../collector/config.js';
import { createMetrics } from '../../collector/metrics.js';
import { emptyState } from '../../collector/checkpoint/state.js';
import { createKafkaSink } from '../../collector/sinks/kafka.js';
import type { WatchFn } from '../../collector/sources/file-events.js';
import { compilePatterns } from '../../collector/sources/scan.js';
import { Tailer } from '../../collector/sources/tailer.js';
import { newDecoderStats } from '../../collector/transforms/file-decoder.js';
import { startTest } from '../../collector/transforms/multiline.js';
import { testLog } from '../helpers/log.js';
import { testStack } from '../helpers/stack.js';
import { waitUntil } from '../helpers/wait.js';
import { collectorEnv, killCollector, sparkLine, startCollector, stopCollector, tempDir, TopicReader, type Child } from './harness.js';

/** Far beyond any bound below: a line that arrives within the bound was not fetched by the safety-net poll. */
const SAFETY_NET_MS = 600_000;
/** Generous for a busy machine, and still well under the safety net. */
const PROMPT_MS = 90_000;

const text = (ls: string[]) => ls.map((l) => `${l}\n`).join('');

/** Waits for a log record of `event` that comes after the first `after` records. */
async function logAfter(c: Child, event: string, after: number): Promise<number> {
  let at = -1;
  await waitUntil(
    () => {
      at = c.logs.findIndex((l, i) => i >= after && l.event === event);
      if (at < 0 && c.proc.exitCode !== null) throw new Error(`the collector exited (${c.proc.exitCode}) before logging ${event}: ${c.stderr}`);
      return at >= 0;
    },
    { what: `the collector's ${event} log`, timeoutMs: PROMPT_MS, state: () => JSON.stringify(c.logs.slice(-3)) },
  );
  return at;
}

test('an idle collector in its long sleep ships a new line, a rotated-in file and a write through a symlink promptly', async () => {
  const { dir, cleanup } = await tempDir('file-events');
  const reader = await TopicReader.create('file-events');
  await mkdir(join(dir, 'app'));
  await mkdir(join(dir, 'links'));
  await mkdir(join(dir, 'real'));
  const app = join(dir, 'app', 'spark.log');
  // The kubelet's layout: the watched name is a symlink into a directory no pattern names.
  await writeFile(join(dir, 'real', '0.log'), text([sparkLine('s', 0)]));
  await symlink(join(dir, 'real', '0.log'), join(dir, 'links', 'exec.log'));
  await writeFile(app, text([sparkLine('a', 0)]));
  const c = startCollector(
    collectorEnv(reader.prefix, join(dir, 'state'), `${join(dir, 'app', 'spark.log*')},${join(dir, 'links', 'exec.log')}`, {
      SPARKLOGS_LOG_LEVEL: 'debug',
      SPARKLOGS_POLL_INTERVAL_MS: '250',
      SPARKLOGS_IDLE_POLL_INTERVAL_MS: String(SAFETY_NET_MS),
    }),
  );
  try {
    await reader.waitForCount(2);
    // Each step: wait until the collector sleeps long again, change a file, and time the delivery.
    const step = async (what: string, want: number, change: () => Promise<void>) => {
      const slept = await logAfter(c, 'idleSleep', lastIndexOf(c, 'idleWake') + 1);
      const start = Date.now();
      await change();
      await reader.waitForCount(want, PROMPT_MS);
      const ms = Date.now() - start;
      assert.ok(ms < PROMPT_MS, `${what}: ${ms} ms`);
      // The event ended the sleep (the safety net is 10 minutes away).
      await logAfter(c, 'idleWake', slept);
      return ms;
    };
    await step('a line appended to an idle file', 3, () => appendFile(app, text([sparkLine('a', 1)])));
    await step('a write to the target of a symlink in another directory', 4, () => appendFile(join(dir, 'real', '0.log'), text([sparkLine('s', 1)])));
    await step('a rotation: the file renamed, a new one created', 5, async () => {
      await rename(app, `${app}.1`);
      await writeFile(app, text([sparkLine('b', 0)]));
    });
    const got = reader.stored().map((e) => e.m).sort();
    assert.deepEqual(got, [sparkLine('a', 0), sparkLine('a', 1), sparkLine('b', 0), sparkLine('s', 0), sparkLine('s', 1)].sort());
    assert.ok(!c.logs.some((l) => l.event === 'fileEventsUnavailable'));
    assert.equal(await stopCollector(c), 0);
  } finally {
    await killCollector(c);
    await reader.stop();
    await cleanup();
  }
});

async function checkpointedTo(stateDir: string, off: number): Promise<void> {
  await waitUntil(
    async () => {
      const s = JSON.parse(await readFile(join(stateDir, STATE_FILE), 'utf8').catch(() => '{"files":[]}')) as CollectorState;
      return s.files.length === 1 && s.files[0]!.off === off;
    },
    { what: `a checkpoint at offset ${off}`, timeoutMs: PROMPT_MS },
  );
}

function lastIndexOf(c: Child, event: string): number {
  for (let i = c.logs.length - 1; i >= 0; i--) if (c.logs[i]!.event === event) return i;
  return -1;
}

test('fileEvents=false: no long sleep, lines arrive through the fast poll', async () => {
  const { dir, cleanup } = await tempDir('no-file-events');
  const reader = await TopicReader.create('no-file-events');
  const log = join(dir, 'spark.log');
  await writeFile(log, text([sparkLine('a', 0)]));
  const c = startCollector(
    collectorEnv(reader.prefix, join(dir, 'state'), log, {
      SPARKLOGS_LOG_LEVEL: 'debug',
      SPARKLOGS_POLL_INTERVAL_MS: '250',
      SPARKLOGS_FILE_EVENTS: 'false',
      SPARKLOGS_IDLE_POLL_INTERVAL_MS: String(SAFETY_NET_MS),
    }),
  );
  try {
    await reader.waitForCount(1);
    // Idle: the line acknowledged and checkpointed (where a collector with events would sleep long), then a line.
    await checkpointedTo(join(dir, 'state'), (await stat(log)).size);
    await appendFile(log, text([sparkLine('a', 1)]));
    await reader.waitForCount(2, PROMPT_MS);
    assert.deepEqual(reader.stored().map((e) => e.m), [sparkLine('a', 0), sparkLine('a', 1)]);
    assert.ok(!c.logs.some((l) => l.event === 'idleSleep'), 'no long sleep without file events');
    assert.equal(await stopCollector(c), 0);
  } finally {
    await killCollector(c);
    await reader.stop();
    await cleanup();
  }
});

test('the kernel refusing a watch (ENOSPC, the inotify limit): one warning, then lines arrive through the fast poll', async () => {
  const { dir, cleanup } = await tempDir('file-events-refused');
  const reader = await TopicReader.create('file-events-refused');
  const log = join(dir, 'spark.log');
  await writeFile(log, text([sparkLine('a', 0)]));
  const records: Record<string, unknown>[] = [];
  const logger = pino({ level: 'debug' }, { write: (s: string) => void records.push(JSON.parse(s) as Record<string, unknown>) });
  const loaded = loadCollectorConfig([], collectorEnv(reader.prefix, join(dir, 'state'), log, { SPARKLOGS_POLL_INTERVAL_MS: '250', SPARKLOGS_IDLE_POLL_INTERVAL_MS: String(SAFETY_NET_MS) }));
  assert.ok(!loaded.help);
  const config = loaded.config;
  let calls = 0;
  // What fs.watch throws when fs.inotify.max_user_watches is reached.
  const refuse: WatchFn = (d) => {
    calls++;
    throw Object.assign(new Error(`ENOSPC: System limit for number of file watchers reached, watch '${d}'`), { code: 'ENOSPC', errno: -28, syscall: 'watch', path: d });
  };
  const sink = await createKafkaSink({ brokers: testStack().brokers, clientId: 'file-events-test', topic: names(reader.prefix).linesTopic, compression: 'gzip', requestTimeoutMs: 10_000, log: logger });
  const collector = new Collector({ config, identity: { appType: 'spark', appId: 'spark-test0001', executorId: '1', role: 'executor', podUid: 'uid-1' }, sink, log: logger, metrics: createMetrics, watchFn: refuse });
  const run = collector.run();
  try {
    await reader.waitForCount(1);
    // The first idle moment tries a watch and gives up on them for good.
    await waitUntil(() => records.some((r) => r.event === 'fileEventsUnavailable'), { what: 'the fileEventsUnavailable warning', timeoutMs: PROMPT_MS });
    for (let i = 1; i <= 3; i++) {
      await appendFile(log, text([sparkLine('a', i)]));
      await reader.waitForCount(i + 1, PROMPT_MS);
    }
    assert.deepEqual(reader.stored().map((e) => e.m), [0, 1, 2, 3].map((i) => sparkLine('a', i)));
    assert.equal(records.filter((r) => r.event === 'fileEventsUnavailable').length, 1);
    assert.equal(calls, 1, 'no further watch tried after the kernel refused one');
    assert.ok(!records.some((r) => r.event === 'idleSleep'));
    collector.drain();
    await run;
  } finally {
    collector.abort();
    await run.catch(() => undefined);
    await sink.close();
    await reader.stop();
    await cleanup();
  }
});

test('what an idle tailer has watched: the real directory behind a symlink; nothing while a file is renamed away and not let go', async () => {
  const { dir, cleanup } = await tempDir('idle-spec');
  await mkdir(join(dir, 'links'));
  await mkdir(join(dir, 'real'));
  await writeFile(join(dir, 'real', '0.log'), text([sparkLine('s', 0)]));
  await symlink(join(dir, 'real', '0.log'), join(dir, 'links', 'exec.log'));
  let clock = 1_000_000;
  const tailer = await Tailer.start(
    {
      patterns: compilePatterns([join(dir, 'links', 'exec.log')]),
      decoder: { format: 'plain', maxLineBytes: 4096, multiline: { isStart: startTest('timestamped'), maxLines: 50, maxBytes: 64 * 1024 } },
      identity: { appType: 'spark', appId: 'a', executorId: '1', role: 'executor' },
      readChunkBytes: 4096,
      maxRoundBytes: 1 << 20,
      flushTimeoutMs: 1000,
      scanIntervalMs: 0,
      log: testLog,
      stats: newDecoderStats(),
      now: () => clock,
    },
    emptyState(),
  );
  try {
    assert.equal(await tailer.idleSpec(), undefined, 'not idle before the file is read');
    const poll = async () => {
      clock += 5000;
      (await tailer.poll(false)).commit();
    };
    await poll();
    await poll();
    const spec = await tailer.idleSpec();
    assert.ok(spec, 'idle once read');
    assert.deepEqual([...spec.keys()].sort(), [join(dir, 'links'), join(dir, 'real')].sort());
    assert.ok(spec.get(join(dir, 'real'))!.relevant('0.log'));
    assert.ok(!spec.get(join(dir, 'real'))!.relevant('other.log'));
    assert.ok(spec.get(join(dir, 'links'))!.relevant('exec.log'));
    // The kubelet's rotation: the target renamed, the link re-pointed to a new file. The old one is held until read and let go.
    await rename(join(dir, 'real', '0.log'), join(dir, 'real', '0.log.1'));
    await writeFile(join(dir, 'real', '1.log'), text([sparkLine('s', 1)]));
    await symlink(join(dir, 'real', '1.log'), join(dir, 'links', 'exec.log.new'));
    await rename(join(dir, 'links', 'exec.log.new'), join(dir, 'links', 'exec.log'));
    await poll();
    assert.equal(await tailer.idleSpec(), undefined, 'not idle while a rotated file is held');
    // A dangling link: only the poll would see its target appear.
    await rm(join(dir, 'links', 'exec.log'));
    await symlink(join(dir, 'real', '2.log'), join(dir, 'links', 'exec.log'));
    for (let i = 0; i < 5; i++) await poll();
    assert.equal(await tailer.idleSpec(), undefined, 'not idle while the watched name is a dangling symlink');
  } finally {
    await tailer.close();
    await cleanup();
  }
});
