// C20 (ours): a pod is deleted while Kafka is down for longer than the grace
// period. Just before the deadline the collector copies what Kafka has not
// acknowledged into the node's spool and exits 0; the pod's log directory is
// then removed. Once Kafka is back, sparklogs-spool ships the entry: every
// line arrives exactly once under the line id (fileId, off) it would have had,
// multiline events cut the same way, across a rotation made during the outage.
// A damaged entry is kept aside with a clear error, never shipped or deleted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runToEnd } from '../helpers/process.js';
import { appendFile, mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startPrivateStack } from '../helpers/private-stack.js';
import { collectorEnv, killCollector, sparkLine, startCollector, stopCollector, tempDir, TopicReader, withTimeout } from './harness.js';

const SPOOL_BIN = join(process.cwd(), 'dist/collector/spool-main.js');

const runSpool = (env: Record<string, string>) => runToEnd(process.execPath, [SPOOL_BIN, '--once'], { env });

const trace = (i: number) => [
  `24/11/21 06:21:00 ERROR Executor: task ${i} failed`,
  'java.lang.OutOfMemoryError: Java heap space',
  '\tat org.apache.spark.Foo.bar(Foo.scala:1)',
  'Caused by: java.io.IOException: boom',
  '\t... 3 more',
].join('\n');

test('C20: pod deleted while Kafka is down past the grace period: spooled on the node, shipped later, exactly once, same line ids', async () => {
  const stack = await startPrivateStack({ elasticsearch: false });
  const { dir, cleanup } = await tempDir('c20');
  const podDir = join(dir, 'pod');
  const spoolDir = join(dir, 'spool');
  await mkdir(podDir);
  let reader = await TopicReader.create('c20', stack.brokers);
  const log = join(podDir, 'spark.log');
  const env = {
    ...collectorEnv(reader.prefix, join(podDir, 'state'), join(podDir, 'spark.log*'), {
      SPARKLOGS_SPOOL_DIR: spoolDir,
      SPARKLOGS_SHUTDOWN_TIMEOUT_MS: '4000',
      SPARKLOGS_SPOOL_RESERVE_MS: '1500',
      SPARKLOGS_REQUEST_TIMEOUT_MS: '2000',
    }),
    SPARKLOGS_KAFKA_BROKERS: stack.brokers.join(','),
  };
  const expected: string[] = [];
  let n = 0;
  const write = async (count: number) => {
    const chunk: string[] = [];
    for (let k = 0; k < count; k++, n++) chunk.push(n % 97 === 0 ? trace(n) : sparkLine('s', n));
    expected.push(...chunk);
    await appendFile(log, `${chunk.join('\n')}\n`);
  };
  const c = startCollector(env);
  try {
    await writeFile(log, '');
    await c.waitLog('collectorStarted');
    await write(2000);
    await reader.waitForCount(2000);
    const before = new Set(reader.events().map((e) => e.fileId));
    await reader.stop();
    await stack.stop('kafka');
    await write(3000);
    // The collector has read those and is stuck sending them: it no longer polls, so it has not seen what follows.
    await c.waitLog('kafkaUnavailable');
    await rename(log, `${log}.1`); // rotation by rename during the outage
    await writeFile(log, '');
    await write(1500);
    await new Promise((r) => setTimeout(r, 800)); // the collector finds the new file
    // Pod deletion: SIGTERM, then (after the collector exits) the pod's directory goes.
    assert.equal(await stopCollector(c, 15_000), 0, `collector exit; logs: ${JSON.stringify(c.logs.slice(-4))}`);
    const spooled = c.logs.find((l) => l.event === 'spooled');
    assert.ok(spooled, 'the collector says it spooled');
    assert.ok(c.logs.find((l) => l.event === 'spoolStarted'), 'it says why it spools');
    await rm(podDir, { recursive: true, force: true });
    const entries = (await readdir(spoolDir)).filter((e) => !e.startsWith('.'));
    assert.equal(entries.length, 1, `one complete spool entry: ${entries.join(',')}`);

    await stack.start('kafka');
    const spoolEnv = { PATH: process.env.PATH ?? '', SPARKLOGS_SPOOL_DIR: spoolDir, SPARKLOGS_KAFKA_BROKERS: stack.brokers.join(','), SPARKLOGS_PREFIX: reader.prefix, SPARKLOGS_RETRY_MAX_MS: '1000' };
    const r = await withTimeout(runSpool(spoolEnv), 120_000, 'sparklogs-spool --once');
    assert.equal(r.code, 0, `spool exit; ${r.out.slice(-800)} ${r.err}`);
    assert.deepEqual((await readdir(spoolDir)).filter((e) => !e.startsWith('.done')), [], 'the shipped entry is removed');

    reader = await TopicReader.create('c20', stack.brokers, reader.prefix);
    await reader.waitForCount(expected.length, 60_000);
    await new Promise((r) => setTimeout(r, 500));
    const stored = reader.stored();
    assert.equal(stored.length, expected.length, 'every event once after dedup by line id');
    assert.deepEqual(stored.map((e) => e.m), expected, 'same events, same boundaries, same order');
    // A line sent before the outage and again from the spool carries the same id and the same text.
    const byId = new Map<string, string>();
    for (const e of reader.events()) {
      const id = `${e.fileId}/${e.off}`;
      const m = byId.get(id);
      assert.ok(m === undefined || m === e.m, `line ${id} came twice with different text`);
      byId.set(id, e.m);
    }
    assert.ok(stored.some((e) => before.has(e.fileId) && e.m === expected[4999]), 'the rotated file keeps its file id through the spool');
  } finally {
    await killCollector(c);
    await reader.stop();
    await stack.destroy();
    await cleanup();
  }
});

test('a damaged spool entry is kept aside with a clear error, never shipped or deleted', async () => {
  const { dir, cleanup } = await tempDir('c20bad');
  const reader = await TopicReader.create('c20bad');
  try {
    const entry = join(dir, 'uid-9-1700000000000-0a0b0c0d');
    await mkdir(entry, { recursive: true });
    await writeFile(join(entry, 'manifest.json'), '{"v":1,"identity":{"appType":"spark"}');
    const r = await runSpool({ PATH: process.env.PATH ?? '', SPARKLOGS_SPOOL_DIR: dir, SPARKLOGS_KAFKA_BROKERS: (await import('../helpers/stack.js')).testStack().brokers.join(','), SPARKLOGS_PREFIX: reader.prefix });
    assert.equal(r.code, 1);
    assert.match(r.out, /spoolEntryInvalid/);
    assert.match(r.out, /manifest unreadable/);
    assert.deepEqual(await readdir(dir), ['_bad-uid-9-1700000000000-0a0b0c0d']);
    const none = await runSpool({ PATH: process.env.PATH ?? '', SPARKLOGS_KAFKA_BROKERS: '127.0.0.1:1' });
    assert.equal(none.code, 2);
    assert.match(none.err, /SPARKLOGS_SPOOL_DIR|spool-dir/);
  } finally {
    await reader.stop();
    await cleanup();
  }
});
