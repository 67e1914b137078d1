// The sidecar ships the app container's stdout and stderr as their own
// streams: files that the images' wrapper fills with the JVM's streams, named
// by stdoutPaths / stderrPaths beside the log file of paths. Each file's
// events arrive once, in order, numbered per file, with src.stream set (not
// for the log file); a println is never joined to the line before it, a
// printed stack trace is one event; a restart resumes where it stopped; a pod
// deleted while Kafka is down spools them and sparklogs-spool ships them as
// the same streams, and an entry of an older collector (no `stream`) still
// ships as log lines.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runToEnd } from '../helpers/process.js';
import { appendFile, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { checkSourceKinds } from '../../collector/config.js';
import { decoderOptions, decoderSettings } from '../../collector/spool/spool.js';
import { FileDecoder, newDecoderStats } from '../../collector/transforms/file-decoder.js';
import type { Batch } from '../../contract/record.js';
import { freePort } from '../../deploy/local/demo/paths.js';
import { testStack } from '../helpers/stack.js';
import { collectorEnv, killCollector, sparkLine, startCollector, stopCollector, tempDir, TopicReader, withTimeout } from './harness.js';

const SPOOL_BIN = join(process.cwd(), 'dist/collector/spool-main.js');

/** What e.printStackTrace() prints (a cause, its frames, `... N more`). */
const printed = (i: number) => [
  `java.lang.IllegalStateException: boom ${i}`,
  `\tat dev.sparklogs.App.step(App.java:${i})`,
  '\tat dev.sparklogs.App.main(App.java:5)',
  'Caused by: java.io.IOException: disk full',
  '\tat java.base/java.io.FileOutputStream.write(FileOutputStream.java:349)',
  '\t... 2 more',
];

/**
 * A program's stdout: println lines (some that look like a trace's but are not: no frame's
 * parenthesis, no `Caused by: `), empty ones, a JSON object, and printed stack traces right
 * after a println. Returns the lines and the events they must make.
 */
function stdoutText(from: number, count: number): { lines: string[]; events: string[] } {
  const lines: string[] = [];
  const events: string[] = [];
  const one = (l: string) => {
    lines.push(l);
    events.push(l);
  };
  for (let i = from; i < from + count; i++) {
    if (i % 50 === 7) {
      one(`about to fail ${i}`);
      const t = printed(i);
      lines.push(...t);
      events.push(t.join('\n'));
    } else if (i % 50 === 11) one(`  at home with ${i} friends`);
    else if (i % 50 === 13) one('');
    else if (i % 50 === 17) one(`{"i":${i}}`);
    else one(`row ${i}: value=${i * 3}`);
  }
  return { lines, events };
}

/**
 * stderr as a Spark container has it: log4j's console lines (each its own event, and an ERROR
 * line with the exception logged under it: one event), the JVM's uncaught exception with its
 * frames (one event), and a program's own eprintln lines.
 */
function stderrText(from: number, count: number): { lines: string[]; events: string[] } {
  const lines: string[] = [];
  const events: string[] = [];
  for (let i = from; i < from + count; i++) {
    let ev: string[];
    if (i % 40 === 5) ev = [`24/11/21 06:21:00 ERROR Executor: task ${i} failed`, 'org.apache.spark.SparkException: Job aborted', '\tat org.apache.spark.Foo.bar(Foo.scala:1)'];
    else if (i % 40 === 9) ev = [`Exception in thread "worker-${i}" java.lang.RuntimeException: gone`, '\tat dev.sparklogs.W.run(W.java:9)'];
    else if (i % 40 === 21) ev = [`warning: retrying ${i}`];
    else ev = [sparkLine('err', i)];
    lines.push(...ev);
    events.push(ev.join('\n'));
  }
  return { lines, events };
}

/** The log file: Spark lines with a logged trace now and then (its start test is unchanged). */
function logText(from: number, count: number): { lines: string[]; events: string[] } {
  const lines: string[] = [];
  const events: string[] = [];
  for (let i = from; i < from + count; i++) {
    const ev = i % 30 === 3 ? [sparkLine('log', i), 'java.lang.OutOfMemoryError: Java heap space', '\tat org.apache.spark.Foo.bar(Foo.scala:1)'] : [sparkLine('log', i)];
    lines.push(...ev);
    events.push(ev.join('\n'));
  }
  return { lines, events };
}

interface PerFile {
  stream: Batch['src']['stream'];
  patterns: Set<string | undefined>;
  fileIds: Set<string>;
  /** Events in arrival order, with their number. */
  events: { n: number; off: number; m: string; s?: string }[];
}

/** The topic's batches grouped by file path, in arrival order. */
function byFile(batches: Batch[]): Map<string, PerFile> {
  const out = new Map<string, PerFile>();
  for (const b of batches) {
    let f = out.get(b.src.file);
    if (!f) out.set(b.src.file, (f = { stream: b.src.stream, patterns: new Set(), fileIds: new Set(), events: [] }));
    assert.equal(b.src.stream, f.stream, `${b.src.file}: every batch of a file has the same stream`);
    f.patterns.add(b.src.pattern);
    f.fileIds.add(b.src.fileId);
    assert.equal(typeof b.n, 'number', 'batches are numbered');
    b.lines.forEach((l, i) => f.events.push({ n: b.n! + i, off: l.off, m: l.m, ...(l.s !== undefined ? { s: l.s } : {}) }));
  }
  return out;
}

/** Each file's events arrived once, in order, numbered 0, 1, 2, … with the expected text and stream. */
function assertShipped(batches: Batch[], want: Map<string, { stream?: 'stdout' | 'stderr'; events: string[] }>): void {
  const got = byFile(batches);
  assert.deepEqual([...got.keys()].sort(), [...want.keys()].sort(), 'the three files, nothing else');
  for (const [file, w] of want) {
    const f = got.get(file)!;
    assert.equal(f.stream, w.stream, `${file}: src.stream`);
    assert.equal(f.fileIds.size, 1, `${file}: one file id`);
    assert.ok(f.events.every((e) => e.s === undefined), `${file}: no per-line stream`);
    if (w.stream !== undefined) assert.deepEqual([...f.patterns], [undefined], `${file}: the app's log pattern is not sent with a stream`);
    assert.deepEqual(f.events.map((e) => e.n), f.events.map((_, i) => i), `${file}: every event once, numbered in order`);
    assert.ok(f.events.every((e, i) => i === 0 || e.off > f.events[i - 1]!.off), `${file}: in file order`);
    assert.equal(f.events.length, w.events.length, `${file}: event count`);
    assert.deepEqual(f.events.map((e) => e.m), w.events, `${file}: the events`);
  }
}

test('stdout and stderr files: each file once, in order, with its stream; println lines alone, printed traces whole; a restart resumes without duplicates', async () => {
  const { dir, cleanup } = await tempDir('stdio');
  const reader = await TopicReader.create('stdio');
  const logDir = join(dir, 'log');
  await mkdir(logDir);
  const files = { log: join(logDir, 'spark.log'), out: join(logDir, 'stdout'), err: join(logDir, 'stderr') };
  const env = collectorEnv(reader.prefix, join(dir, 'state'), join(logDir, 'spark.log*'), {
    SPARKLOGS_STDOUT_PATHS: join(logDir, 'stdout'),
    SPARKLOGS_STDERR_PATHS: join(logDir, 'std[e]rr'),
    // Applies to the log file only.
    SPARKLOGS_LOG_PATTERN: '%d{yy/MM/dd HH:mm:ss} %p %c{1}: %m%n',
  });
  const want = new Map([
    [files.log, { events: [] as string[] }],
    [files.out, { stream: 'stdout' as const, events: [] as string[] }],
    [files.err, { stream: 'stderr' as const, events: [] as string[] }],
  ]);
  const write = async (file: string, t: { lines: string[]; events: string[] }) => {
    want.get(file)!.events.push(...t.events);
    await appendFile(file, `${t.lines.join('\n')}\n`);
  };
  const total = () => [...want.values()].reduce((s, w) => s + w.events.length, 0);
  let c = startCollector(env);
  try {
    await Promise.all(Object.values(files).map((f) => writeFile(f, '')));
    await c.waitLog('collectorStarted', 120_000);
    // Written while the collector reads: several rounds, several batches per file.
    for (let k = 0; k < 4; k++) {
      await write(files.out, stdoutText(k * 500, 500));
      await write(files.err, stderrText(k * 300, 300));
      await write(files.log, logText(k * 300, 300));
    }
    await reader.waitForCount(total(), 120_000);
    assert.equal(await stopCollector(c, 120_000), 0, 'a clean stop');
    const discovered = c.logs.filter((l) => l.event === 'fileDiscovered').map((l) => [l.file, l.stream]);
    assert.deepEqual(new Map(discovered as [string, string][]), new Map([[files.log, undefined], [files.out, 'stdout'], [files.err, 'stderr']]));
    assert.equal(c.logs.filter((l) => l.event === 'pathsOverlap').length, 0);
    await reader.drained();
    assertShipped(reader.batches, want);
    const state = JSON.parse(await readFile(join(dir, 'state', 'state.json'), 'utf8')) as { files: { path: string; stream?: string }[] };
    assert.deepEqual(new Map(state.files.map((f) => [f.path, f.stream])), new Map([[files.log, undefined], [files.out, 'stdout'], [files.err, 'stderr']]), 'the checkpoint keeps each file\'s stream');

    // Restart: the checkpoint keeps each file's stream and number; what was sent is not sent again.
    await write(files.out, stdoutText(2000, 300));
    await write(files.err, stderrText(1200, 200));
    await write(files.log, logText(1200, 200));
    c = startCollector(env);
    await c.waitLog('collectorStarted', 120_000);
    await reader.waitForCount(total(), 120_000);
    assert.equal(await stopCollector(c, 120_000), 0);
    assert.equal(c.logs.filter((l) => l.event === 'fileDiscovered').length, 0, 'the restart finds the same files, none new');
    await reader.drained();
    assertShipped(reader.batches, want);
  } finally {
    await killCollector(c);
    await reader.stop();
    await cleanup();
  }
});

test('cutting a stream file: a println is never the rest of the line before it; a printed trace is one event; a logged one joins its header', () => {
  const settings = decoderSettings({ format: 'auto', maxLineBytes: 4096, multiline: true, appType: 'spark', firstLine: '^NEVER', logPattern: '%d %p %m%n', maxEventLines: 1000, maxEventBytes: 65536 });
  const cut = (lines: string[], stream: 'stdout' | 'stderr' | 'log' = 'stdout') => {
    const d = new FileDecoder(decoderOptions(settings, stream === 'log' ? undefined : stream), 0, newDecoderStats());
    d.push(Buffer.from(`${lines.join('\n')}\n`), 1);
    d.flush(2);
    return d.take().map((e) => e.m);
  };
  const trace = printed(1);
  assert.deepEqual(cut(['about to fail', ...trace, 'after']), ['about to fail', trace.join('\n'), 'after']);
  // Two traces printed one after the other are two events.
  assert.deepEqual(cut([...trace, ...trace]), [trace.join('\n'), trace.join('\n')]);
  // Lines that only look like a trace's: a println's `  at home`, an empty line, `Caused by` without its colon.
  assert.deepEqual(cut(['a', '  at home', '', 'Caused by the weather', 'b']), ['a', '  at home', '', 'Caused by the weather', 'b']);
  // A logger on the console: the exception under its ERROR line joins it.
  const logged = ['24/11/21 06:21:00 ERROR Executor: task failed', 'java.lang.OutOfMemoryError: Java heap space', '\tat a.B.c(B.java:1)'];
  assert.deepEqual(cut(['x', ...logged, 'y']), ['x', logged.join('\n'), 'y']);
  // A JSON object is whole: a frame after it is not its.
  assert.deepEqual(cut(['{"a":1}', '\tat a.B.c(B.java:1)']), ['{"a":1}', '\tat a.B.c(B.java:1)']);
  // A progress bar redrawn with \r is one event; a log line written over it is another.
  assert.deepEqual(cut(['\r[Stage 1:>  (0 + 1) / 1]\r[Stage 1:=> (0 + 1) / 1]\r24/11/21 06:20:00 WARN X: y']), ['\r[Stage 1:>  (0 + 1) / 1]\r[Stage 1:=> (0 + 1) / 1]', '24/11/21 06:20:00 WARN X: y']);
  // format=auto (which would take this for CRI) and firstLine are the log file's: not applied to a stream.
  assert.deepEqual(cut(['2024-11-21T06:20:00.000000000Z stdout F hi', 'b']), ['2024-11-21T06:20:00.000000000Z stdout F hi', 'b']);
  // The log file keeps its own start test (here firstLine: nothing starts an event but the first line).
  assert.deepEqual(cut(['a', 'b'], 'log'), ['a\nb']);
});

test('a file of two kinds is a start-up error naming both globs, when the settings show it', async () => {
  const kinds = (c: { paths: string[]; stdoutPaths?: string[]; stderrPaths?: string[] }) => () => checkSourceKinds(c);
  assert.throws(kinds({ paths: ['/l/spark.log*'], stdoutPaths: ['/l/spark.log*'] }), /paths \(SPARKLOGS_PATHS\) "\/l\/spark\.log\*" and stdoutPaths \(SPARKLOGS_STDOUT_PATHS\) "\/l\/spark\.log\*"/);
  assert.throws(kinds({ paths: ['/l/*'], stderrPaths: ['/l/stderr'] }), /paths \(SPARKLOGS_PATHS\) "\/l\/\*" and stderrPaths \(SPARKLOGS_STDERR_PATHS\) "\/l\/stderr"/);
  assert.throws(kinds({ paths: ['/l/a.log'], stdoutPaths: ['/l/o'], stderrPaths: ['/l//o'] }), /stdoutPaths .*"\/l\/o" and stderrPaths .*"\/l\/\/o"/);
  kinds({ paths: ['/l/spark.log*'], stdoutPaths: ['/l/stdout', '/l/stdout'], stderrPaths: ['/l/stderr'] })();
  kinds({ paths: ['/l/*'], stdoutPaths: ['/other/stdout'] })();
  // Two different globs may match one file: not known before it exists (read as the first kind, logged).
  kinds({ paths: ['/l/flink-*'], stdoutPaths: ['/l/*.out'] })();

  const c = startCollector({ PATH: process.env.PATH ?? '', SPARKLOGS_PATHS: '/tmp/none/*', SPARKLOGS_STDOUT_PATHS: '/tmp/none/stdout', SPARKLOGS_STATE_DIR: '/tmp/none-state', SPARKLOGS_APP_ID: 'a', SPARKLOGS_EXECUTOR_ID: '1' });
  assert.equal(await withTimeout(c.exited, 30_000, 'collector exit'), 2);
  assert.match(c.stderr, /paths \(SPARKLOGS_PATHS\) "\/tmp\/none\/\*" and stdoutPaths \(SPARKLOGS_STDOUT_PATHS\) "\/tmp\/none\/stdout"/);
});

test('overlapping globs of two kinds: the file is read as the first kind, and that is logged once', async () => {
  const { dir, cleanup } = await tempDir('stdio-overlap');
  const reader = await TopicReader.create('stdio-overlap');
  const out = join(dir, 'flink-x-taskexecutor-0-h.out');
  await writeFile(out, `${sparkLine('o', 1)}\n${sparkLine('o', 2)}\n`);
  const c = startCollector(collectorEnv(reader.prefix, join(dir, 'state'), join(dir, 'flink-*'), { SPARKLOGS_STDOUT_PATHS: join(dir, '*.out') }));
  try {
    await reader.waitForCount(2, 120_000);
    assert.equal(await stopCollector(c, 120_000), 0);
    const overlaps = c.logs.filter((l) => l.event === 'pathsOverlap');
    assert.equal(overlaps.length, 1, JSON.stringify(overlaps));
    assert.equal(overlaps[0]!.readAs, 'log');
    assert.equal(overlaps[0]!.alsoMatchedBy, join(dir, '*.out'));
    assert.ok(reader.batches.every((b) => b.src.stream === undefined));
  } finally {
    await killCollector(c);
    await reader.stop();
    await cleanup();
  }
});

const runSpool = (env: Record<string, string>) => runToEnd(process.execPath, [SPOOL_BIN, '--once'], { env });

test('pod deleted while Kafka is down: stdout and stderr are spooled with their streams and shipped as them; an older entry still ships as log lines', async () => {
  const { dir, cleanup } = await tempDir('stdio-spool');
  const reader = await TopicReader.create('stdio-spool');
  const logDir = join(dir, 'log');
  const spoolDir = join(dir, 'spool');
  await mkdir(logDir);
  const files = { log: join(logDir, 'spark.log'), out: join(logDir, 'stdout'), err: join(logDir, 'stderr') };
  const texts = { log: logText(0, 200), out: stdoutText(0, 400), err: stderrText(0, 200) };
  for (const k of ['log', 'out', 'err'] as const) await writeFile(files[k], `${texts[k].lines.join('\n')}\n`);
  // Nobody listens there: every produce is refused, as by a Kafka that is down.
  const env = collectorEnv(reader.prefix, join(dir, 'state'), files.log, {
    SPARKLOGS_KAFKA_BROKERS: `127.0.0.1:${await freePort()}`,
    SPARKLOGS_STDOUT_PATHS: files.out,
    SPARKLOGS_STDERR_PATHS: files.err,
    SPARKLOGS_LOG_PATTERN: '%d{yy/MM/dd HH:mm:ss} %p %c{1}: %m%n',
    SPARKLOGS_SPOOL_DIR: spoolDir,
    SPARKLOGS_SHUTDOWN_TIMEOUT_MS: '3000',
    SPARKLOGS_SPOOL_RESERVE_MS: '1500',
    SPARKLOGS_REQUEST_TIMEOUT_MS: '2000',
  });
  const c = startCollector(env);
  try {
    await c.waitLog('kafkaUnavailable', 120_000);
    assert.equal(await stopCollector(c, 60_000), 0, `collector exit; logs: ${JSON.stringify(c.logs.slice(-4))}`);
    assert.ok(c.logs.find((l) => l.event === 'spooled'), 'the collector says it spooled');
    const [entry, ...more] = (await readdir(spoolDir)).filter((e) => !e.startsWith('.'));
    assert.ok(entry !== undefined && more.length === 0, 'one spool entry');
    const manifest = JSON.parse(await readFile(join(spoolDir, entry, 'manifest.json'), 'utf8')) as { identity: Record<string, string>; files: { file: string; fileId: string; stream?: string }[] };
    assert.deepEqual(new Map(manifest.files.map((f) => [f.file, f.stream])), new Map([[files.log, undefined], [files.out, 'stdout'], [files.err, 'stderr']]));

    // The same entry as a collector before streams would have written it (no `stream`), under other file ids.
    const old = `${entry.replace(/-(\d{10,})-/, (_, ms: string) => `-${Number(ms) + 1}-`)}`;
    await mkdir(join(spoolDir, old));
    const oldIds = new Map<string, string>();
    for (const f of manifest.files) {
      oldIds.set(`old-${f.fileId}`, f.file);
      f.fileId = `old-${f.fileId}`;
      delete f.stream;
    }
    for (const name of await readdir(join(spoolDir, entry))) {
      if (name.endsWith('.bytes')) await writeFile(join(spoolDir, old, name), await readFile(join(spoolDir, entry, name)));
    }
    await writeFile(join(spoolDir, old, 'manifest.json'), JSON.stringify(manifest));

    const r = await withTimeout(runSpool({ PATH: process.env.PATH ?? '', SPARKLOGS_SPOOL_DIR: spoolDir, SPARKLOGS_KAFKA_BROKERS: testStack().brokers.join(','), SPARKLOGS_PREFIX: reader.prefix, SPARKLOGS_RETRY_MAX_MS: '1000' }), 120_000, 'sparklogs-spool --once');
    assert.equal(r.code, 0, `spool exit; ${r.out.slice(-800)} ${r.err}`);
    assert.deepEqual((await readdir(spoolDir)).filter((e) => !e.startsWith('.done')), [], 'the shipped entries are removed');

    // sparklogs-spool exited 0: Kafka acknowledged both entries, so the topic holds all there is.
    await reader.drained();
    const fresh = reader.batches.filter((b) => !b.src.fileId.startsWith('old-'));
    assertShipped(fresh, new Map([
      [files.log, { events: texts.log.events }],
      [files.out, { stream: 'stdout' as const, events: texts.out.events }],
      [files.err, { stream: 'stderr' as const, events: texts.err.events }],
    ]));
    const fromOld = reader.batches.filter((b) => b.src.fileId.startsWith('old-'));
    assert.deepEqual(new Set(fromOld.map((b) => b.src.fileId)), new Set(oldIds.keys()), 'every file of the older entry ships');
    assert.ok(fromOld.every((b) => b.src.stream === undefined && b.src.pattern === manifest.identity.pattern), 'an older entry\'s files are log files, with the app\'s pattern');
  } finally {
    await killCollector(c);
    await reader.stop();
    await cleanup();
  }
});
