// What a line becomes (C8, C10, C11, C13, C14): stack traces joined across
// reads and checkpoints, long lines cut and marked, invalid UTF-8 replaced,
// CRLF and empty lines, CRI partials joined, identical start banners kept apart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { collectorEnv, killCollector, sparkLine, startCollector, stopCollector, tempDir, TopicReader } from './harness.js';

/** After the collector exited: the reader has every record the topic holds (then a comparison sees all there is). */
const settle = (reader: TopicReader) => reader.drained();

async function collect(label: string, write: (dir: string) => Promise<void>, extra: Record<string, string> = {}, paths = 'spark.log') {
  const { dir, cleanup } = await tempDir(label);
  const reader = await TopicReader.create(label);
  try {
    await write(dir);
    const c = startCollector(collectorEnv(reader.prefix, join(dir, 'state'), join(dir, paths), extra));
    try {
      await c.waitLog('collectorStarted');
      await new Promise((r) => setTimeout(r, 800));
      assert.equal(await stopCollector(c), 0);
      await settle(reader);
      return { reader, c };
    } finally {
      await killCollector(c);
    }
  } finally {
    await reader.stop();
    await cleanup();
  }
}

const trace = [
  '24/11/21 06:20:00 ERROR Executor: Exception in task 3.0 in stage 1.0 (TID 7)',
  'org.apache.spark.SparkException: Job aborted',
  '\tat org.apache.spark.scheduler.DAGScheduler.failJobAndIndependentStages(DAGScheduler.scala:2672)',
  '\tat scala.collection.immutable.List.foreach(List.scala:431)',
  'Caused by: java.io.IOException: No space left on device',
  '\tat java.io.FileOutputStream.writeBytes(Native Method)',
  '\tSuppressed: java.lang.IllegalStateException: closed',
  '\t\tat x.Y.close(Y.java:10)',
  '\t... 12 more',
];

test('C13: a Java stack trace split across reads and a checkpoint/restart is one event', async () => {
  const { dir, cleanup } = await tempDir('c13');
  const reader = await TopicReader.create('c13');
  const log = join(dir, 'spark.log');
  // Tiny reads and a restart in the middle of the trace.
  const env = collectorEnv(reader.prefix, join(dir, 'state'), log, { SPARKLOGS_READ_CHUNK_BYTES: '4096', SPARKLOGS_FLUSH_TIMEOUT_MS: '60000' });
  let c = startCollector(env);
  try {
    const pad = Array.from({ length: 60 }, (_, i) => sparkLine('pad', i));
    await writeFile(log, `${[...pad, ...trace.slice(0, 4)].join('\n')}\n`);
    await reader.waitForCount(60);
    await killCollector(c); // the open trace was never acknowledged, so it is re-read whole
    await appendFile(log, `${[...trace.slice(4), sparkLine('after', 0)].join('\n')}\n`);
    c = startCollector(env);
    await reader.waitForCount(61);
    assert.equal(await stopCollector(c), 0);
    await reader.waitForCount(62);
    await settle(reader);
    const got = reader.stored().map((e) => e.m);
    assert.deepEqual(got, [...pad, trace.join('\n'), sparkLine('after', 0)]);
  } finally {
    await killCollector(c);
    await reader.stop();
    await cleanup();
  }
});

test('C10: a line over 1 MiB is cut at maxLineBytes, marked and counted; its neighbours are intact', async () => {
  const big = `24/11/21 06:20:00 INFO Big: ${'é'.repeat(700_000)}`; // 1.4 MB, multibyte: the cut must not split a character
  const { reader, c } = await collect('c10', (dir) => writeFile(join(dir, 'spark.log'), `${sparkLine('n', 0)}\n${big}\n${sparkLine('n', 1)}\n`));
  const got = reader.stored();
  assert.equal(got.length, 3);
  assert.equal(got[0]!.m, sparkLine('n', 0));
  assert.equal(got[2]!.m, sparkLine('n', 1));
  assert.equal(got[1]!.tr, 1);
  assert.match(got[1]!.m, /^24\/11\/21 06:20:00 INFO Big: é+ …\[truncated by sparklogs\]$/);
  assert.ok(Buffer.byteLength(got[1]!.m) <= 256 * 1024 + 40);
  assert.ok(!got[1]!.m.includes('\uFFFD'));
  assert.ok(c.logs.some((l) => l.event === 'linesTruncated' && l.lines === 1));
});

test('C11: invalid UTF-8 becomes U+FFFD; a multibyte character cut by a read boundary is intact', async () => {
  const euro = Buffer.from('€'); // 3 bytes
  const prefix = Buffer.from(`24/11/21 06:20:00 INFO A: ${'x'.repeat(4096 - 27 - 1)}`); // the € starts 1 byte before the 4 KiB read boundary
  const bad = Buffer.concat([Buffer.from('24/11/21 06:20:01 INFO B: ok '), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from(' end\n')]);
  const { reader } = await collect('c11', (dir) => writeFile(join(dir, 'spark.log'), Buffer.concat([prefix, euro, Buffer.from('\n'), bad])), { SPARKLOGS_READ_CHUNK_BYTES: '4096' });
  const got = reader.stored().map((e) => e.m);
  assert.deepEqual(got, [`${prefix.toString()}€`, '24/11/21 06:20:01 INFO B: ok \uFFFD\uFFFD\uFFFD end']);
});

test('C14: CRLF endings are stripped; empty lines join the event before; CRI partials are joined per stream', async () => {
  const plain = await collect('c14p', (dir) => writeFile(join(dir, 'spark.log'), `${sparkLine('a', 0)}\r\n\r\n${sparkLine('a', 1)}\r\n\n`));
  assert.deepEqual(plain.reader.stored().map((e) => e.m), [`${sparkLine('a', 0)}\n`, `${sparkLine('a', 1)}\n`]);

  const cri = [
    '2024-11-21T06:20:00.123456789Z stdout F 24/11/21 06:20:00 INFO Driver: started',
    '2024-11-21T06:20:01.000000000Z stderr P 24/11/21 06:20:01 WARN Big: part one, ',
    '2024-11-21T06:20:01.100000000Z stdout F plain stdout line',
    '2024-11-21T06:20:01.200000000Z stderr P part two, ',
    '2024-11-21T06:20:01.300000000Z stderr F part three',
    '2024-11-21T06:20:02.000000000Z stderr F \tat x.Y.z(Y.java:1)',
    '2024-11-21T06:20:03.000000000Z stdout F ',
  ].join('\n');
  const { reader } = await collect('c14c', (dir) => writeFile(join(dir, 'spark.log'), `${cri}\n`), { SPARKLOGS_APP_TYPE: 'generic' });
  const got = reader.stored().map((e) => ({ m: e.m, s: e.s, t: e.t }));
  assert.deepEqual(got, [
    { m: '24/11/21 06:20:00 INFO Driver: started', s: 'stdout', t: Date.UTC(2024, 10, 21, 6, 20, 0, 123) },
    { m: '24/11/21 06:20:01 WARN Big: part one, part two, part three\n\tat x.Y.z(Y.java:1)', s: 'stderr', t: Date.UTC(2024, 10, 21, 6, 20, 1) },
    { m: 'plain stdout line', s: 'stdout', t: Date.UTC(2024, 10, 21, 6, 20, 1, 100) },
    { m: '', s: 'stdout', t: Date.UTC(2024, 10, 21, 6, 20, 3) },
  ]);
});

test('C8: two files starting with the same Spark banner are both tailed, under different file ids', async () => {
  const banner = ['Using Spark\'s default log4j profile: org/apache/spark/log4j2-defaults.properties', sparkLine('banner', 0), sparkLine('banner', 1)];
  const { reader } = await collect(
    'c8',
    async (dir) => {
      await writeFile(join(dir, 'spark-1.log'), `${[...banner, sparkLine('one', 0)].join('\n')}\n`);
      await writeFile(join(dir, 'spark-2.log'), `${[...banner, sparkLine('two', 0)].join('\n')}\n`);
    },
    {},
    'spark-*.log',
  );
  const got = reader.stored();
  assert.equal(got.length, 8);
  assert.equal(new Set(got.map((e) => e.fileId)).size, 2);
  assert.ok(got.some((e) => e.m === sparkLine('one', 0)) && got.some((e) => e.m === sparkLine('two', 0)));
});
