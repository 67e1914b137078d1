// The collector process's life (C12, C15, C16, C17, C18): SIGTERM drains,
// SIGKILL loses nothing, a torn checkpoint recovers, an unwritable one stops
// the collector loudly. Real binary, real Kafka; the topic is consumed and
// compared with what was written.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { collectorEnv, killCollector, sparkLine, startCollector, stopCollector, tempDir, TopicReader } from './harness.js';

const lines = (tag: string, from: number, to: number) => Array.from({ length: to - from }, (_, k) => sparkLine(tag, from + k));
const text = (ls: string[]) => ls.map((l) => `${l}\n`).join('');
/** After the collector exited: the reader has every record the topic holds (then a comparison sees all there is). */
const settle = (reader: TopicReader) => reader.drained();

test('C12: a last line without newline is sent once, complete, and not again after a restart', async () => {
  const { dir, cleanup } = await tempDir('c12');
  const reader = await TopicReader.create('c12');
  const log = join(dir, 'spark.log');
  const env = collectorEnv(reader.prefix, join(dir, 'state'), log, { SPARKLOGS_FLUSH_TIMEOUT_MS: '60000' });
  await writeFile(log, `${text(lines('a', 0, 10))}24/11/21 06:20:59 ERROR Executor: dying words`);
  let c = startCollector(env);
  try {
    // The 10th line is still an open event (a stack trace could follow) and the unterminated one waits for its newline.
    await reader.waitForCount(9);
    assert.equal(await stopCollector(c), 0); // the drain flushes both
    await reader.waitForCount(11);
    c = startCollector(env);
    await c.waitLog('collectorStarted');
    await appendFile(log, text(lines('b', 0, 5)));
    await reader.waitForCount(15);
    assert.equal(await stopCollector(c), 0);
    await reader.waitForCount(16);
    await settle(reader);
    assert.deepEqual(reader.stored().map((e) => e.m), [...lines('a', 0, 10), '24/11/21 06:20:59 ERROR Executor: dying words', ...lines('b', 0, 5)]);
    assert.equal(reader.events().filter((e) => e.m.includes('dying words')).length, 1);
  } finally {
    await killCollector(c);
    await reader.stop();
    await cleanup();
  }
});

test('C15: SIGTERM with unsent lines: drains to EOF, flushes the open event, exits 0 in time', async () => {
  const { dir, cleanup } = await tempDir('c15');
  const reader = await TopicReader.create('c15');
  const log = join(dir, 'spark.log');
  // A long poll interval and flush timeout: without the drain, nothing below would be read before exit.
  const c = startCollector(collectorEnv(reader.prefix, join(dir, 'state'), log, { SPARKLOGS_POLL_INTERVAL_MS: '60000', SPARKLOGS_FLUSH_TIMEOUT_MS: '60000', SPARKLOGS_SHUTDOWN_TIMEOUT_MS: '20000' }));
  try {
    await writeFile(log, '');
    await c.waitLog('collectorStarted');
    const written = [...lines('a', 0, 20000), '24/11/21 06:21:00 ERROR Executor: Exception in task 3.0', 'java.lang.OutOfMemoryError: Java heap space', '\tat x.Y.z(Y.java:1)'];
    await appendFile(log, text(written));
    const t0 = Date.now();
    const code = await stopCollector(c);
    const took = Date.now() - t0;
    assert.equal(code, 0);
    assert.ok(took < 20000, `drain took ${took} ms`);
    await reader.waitForCount(20001);
    await settle(reader);
    const got = reader.stored().map((e) => e.m);
    assert.deepEqual(got, [...lines('a', 0, 20000), written.slice(20000).join('\n')]);
    assert.ok(c.logs.some((l) => l.event === 'collectorDrained'));
  } finally {
    await killCollector(c);
    await reader.stop();
    await cleanup();
  }
});

test('C16: SIGKILL mid-stream, then restart: nothing lost, re-sent lines keep their ids', async () => {
  const { dir, cleanup } = await tempDir('c16');
  const reader = await TopicReader.create('c16');
  const log = join(dir, 'spark.log');
  const env = collectorEnv(reader.prefix, join(dir, 'state'), log, { SPARKLOGS_CHECKPOINT_INTERVAL_MS: '2000' });
  let c = startCollector(env);
  try {
    await writeFile(log, '');
    await c.waitLog('collectorStarted');
    for (let k = 0; k < 10; k++) {
      await appendFile(log, text(lines('a', k * 1000, (k + 1) * 1000)));
      if (k === 5) c.proc.kill('SIGKILL');
      await new Promise((r) => setTimeout(r, 30));
    }
    await killCollector(c);
    c = startCollector(env);
    await reader.waitForCount(10000);
    assert.equal(await stopCollector(c), 0);
    await settle(reader);
    assert.deepEqual(reader.stored().map((e) => e.m), lines('a', 0, 10000));
    // Same file id across the kill: a re-sent line has the same (fileId, off), so the store overwrites it.
    assert.equal(new Set(reader.events().map((e) => e.fileId)).size, 1);
  } finally {
    await killCollector(c);
    await reader.stop();
    await cleanup();
  }
});

test('C17: a torn checkpoint file: the previous generation is used and nothing is lost or renamed', async () => {
  const { dir, cleanup } = await tempDir('c17');
  const reader = await TopicReader.create('c17');
  const log = join(dir, 'spark.log');
  const state = join(dir, 'state');
  const env = collectorEnv(reader.prefix, state, log);
  let c = startCollector(env);
  try {
    await writeFile(log, text(lines('a', 0, 100)));
    await reader.waitForCount(100);
    await appendFile(log, text(lines('a', 100, 200)));
    await reader.waitForCount(200);
    await killCollector(c);
    const current = await readFile(join(state, 'state.json'), 'utf8');
    await writeFile(join(state, 'state.json'), current.slice(0, Math.floor(current.length / 2))); // torn
    await appendFile(log, text(lines('a', 200, 250)));
    c = startCollector(env);
    await c.waitLog('checkpointRecovered');
    await reader.waitForCount(250);
    assert.equal(await stopCollector(c), 0);
    await settle(reader);
    assert.deepEqual(reader.stored().map((e) => e.m), lines('a', 0, 250));
    assert.equal(new Set(reader.events().map((e) => e.fileId)).size, 1);
    JSON.parse(await readFile(join(state, 'state.json'), 'utf8'));
  } finally {
    await killCollector(c);
    await reader.stop();
    await cleanup();
  }
});

test('C18: an unwritable checkpoint stops the collector loudly; offsets never advance silently', async () => {
  const { dir, cleanup } = await tempDir('c18');
  const reader = await TopicReader.create('c18');
  const log = join(dir, 'spark.log');
  const state = join(dir, 'state');
  // The temp file's name is taken by a directory: every write fails, as on a full or read-only disk.
  await mkdir(join(state, 'state.json.tmp'), { recursive: true });
  await writeFile(log, text(lines('a', 0, 10)));
  const c = startCollector(collectorEnv(reader.prefix, state, log));
  try {
    const code = await c.exited;
    assert.equal(code, 1);
    const fatal = c.logs.find((l) => l.event === 'collectorFailed');
    assert.equal(fatal?.code, 'CHECKPOINT_WRITE_FAILED');
    assert.match(String(fatal?.msg), /state\.json/);
    // The identities could not be persisted, so no line was sent.
    await settle(reader);
    assert.equal(reader.events().length, 0);
  } finally {
    await killCollector(c);
    await reader.stop();
    await cleanup();
  }
});

test('C15/C19: SIGTERM while Kafka is unreachable: exits 1 at the deadline, naming the unread bytes; metrics show the errors', async () => {
  const { dir, cleanup } = await tempDir('deadline');
  const log = join(dir, 'spark.log');
  await writeFile(log, text(lines('a', 0, 1000)));
  const port = 20000 + Math.floor(Math.random() * 20000);
  // Nothing listens on port 1: every produce fails, as with a broker that is down.
  const c = startCollector({
    ...collectorEnv('t-deadline', join(dir, 'state'), log, { SPARKLOGS_SHUTDOWN_TIMEOUT_MS: '3000', SPARKLOGS_METRICS_PORT: String(port), SPARKLOGS_MAX_IN_FLIGHT_BYTES: String(64 * 1024) }),
    SPARKLOGS_KAFKA_BROKERS: '127.0.0.1:1',
  });
  try {
    await c.waitLog('kafkaUnavailable');
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    assert.match(metrics, /^sparklogs_collector_kafka_errors_total [1-9]/m);
    assert.match(metrics, /^sparklogs_collector_unread_bytes\{file=".*spark\.log"\} [1-9]/m);
    assert.match(metrics, /^sparklogs_collector_lines_acked_total 0$/m);
    const t0 = Date.now();
    const code = await stopCollector(c);
    assert.equal(code, 1);
    assert.ok(Date.now() - t0 < 6000);
    const fatal = c.logs.find((l) => l.event === 'shutdownDeadlineMissed') as { unread?: { bytes: number }[] } | undefined;
    assert.ok(fatal?.unread?.[0] && fatal.unread[0].bytes > 0, JSON.stringify(fatal));
  } finally {
    await killCollector(c);
    await cleanup();
  }
});
