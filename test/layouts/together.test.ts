// Issue 15's promise per layout: samples of each layout, real where this
// machine can produce them (test/layouts/make-samples: a JVM's GC log and
// crashes, Python's logging and tracebacks) and realistic where it cannot
// (Flink, Hadoop/YARN, logback, a PySpark driver's mixed stderr, an app's own
// PatternLayout), go through the collector's decoder as its configuration
// builds it and the aggregator's documents as its pipeline builds them. Both
// take their rules from the catalogue (contract/layouts.ts,
// contract/pattern-layout.ts); what comes out is checked event by event.
// The real logs of Spark, a PySpark driver, Flink and Flume are held the same way by corpus.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CollectorConfig } from '../../collector/config.js';
import { decoderOptions, decoderSettings } from '../../collector/spool/spool.js';
import { FileDecoder, newDecoderStats } from '../../collector/transforms/file-decoder.js';
import { lineItems } from '../../aggregator/transforms/to-documents.js';
import { ZonedClock } from '../../aggregator/transforms/zoned-time.js';
import { names } from '../../contract/names.js';
import type { LineDoc } from '../../contract/documents.js';

const SAMPLES = join(import.meta.dirname, 'samples');
const NOW = Date.parse('2024-11-21T06:30:00Z');
const utc = new ZonedClock('UTC');
const DEFAULTS = { format: 'auto', maxLineBytes: 256 * 1024, multiline: true, appType: 'spark', maxEventLines: 1000, maxEventBytes: 512 * 1024 } as const;

/** The stored documents of a file's text, through both services' own entry points; `now`: the collection time. */
function pipeline(text: string, now: number, config: Partial<Pick<CollectorConfig, 'appType' | 'logPattern'>> = {}): LineDoc[] {
  const d = new FileDecoder(decoderOptions(decoderSettings({ ...DEFAULTS, ...config })), 0, newDecoderStats());
  d.push(Buffer.from(text), now);
  d.flush(now);
  const src = { appType: 'spark', appId: 'spark-1', executorId: 'driver', role: 'driver', file: '/x.log', fileId: 'f1', fileSeq: 0, ...(config.logPattern ? { pattern: config.logPattern } : {}) };
  return lineItems({ v: 1, src, lines: d.take() }, names('sparklogs'), utc).map((i) => i.doc);
}

type Want = [first: string, lines: number, level: string | undefined, logger?: string, exception?: string, thread?: string];

function check(docs: LineDoc[], want: Want[]): void {
  assert.deepEqual(
    docs.map((x) => [x.message.split('\n')[0], x.message.split('\n').length, x.level, x.logger, x.exception, x.thread]),
    want.map(([first, lines, level, logger, exception, thread]) => [first, lines, level, logger, exception, thread]),
  );
}

/** The samples carry the date they were made: the collection time is taken near it, as it would have been. */
function madeAt(text: string): number {
  const m = /(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})/.exec(text);
  return m ? Date.parse(`${m[1]}T${m[2]}Z`) + 60_000 : Date.parse('2026-11-30T13:00:00Z');
}

test("real JVM output without a layout: each GC line an event, each uncaught exception one ERROR event with its causes and suppressed", () => {
  const text = readFileSync(join(SAMPLES, 'jvm-crash.log'), 'utf8');
  const docs = pipeline(text, madeAt(text));
  const crashes = docs.filter((x) => x.message.startsWith('Exception in thread'));
  check(crashes, [
    ['Exception in thread "worker-1" java.lang.IllegalStateException: worker failed', 10, 'ERROR', undefined, 'java.lang.IllegalStateException'],
    ['Exception in thread "main" java.lang.OutOfMemoryError: Java heap space', 2, 'ERROR', undefined, 'java.lang.OutOfMemoryError'],
  ]);
  assert.match(crashes[0]!.message, /\n\tSuppressed: java\.lang\.RuntimeException: close failed\n\t\tat .*\n\t\t\.\.\. 1 more\nCaused by: java\.io\.IOException: record 7 unreadable\n/);
  const gc = docs.filter((x) => !x.message.startsWith('Exception in thread'));
  assert.equal(gc.length + crashes.length, docs.length);
  assert.equal(gc.length, text.split('\n').filter((l) => l.startsWith('[')).length, 'every GC line is its own event');
  for (const x of gc) {
    assert.equal(x.level, 'INFO', x.message);
    assert.match(x.logger ?? '', /^gc(,|$)/, x.message);
    assert.equal(x.message.includes('\n'), false, x.message);
  }
  // Dated decorations give the time; uptime alone does not (collection time stands in).
  const dated = gc.filter((x) => x.logger === 'gc,heap,exit');
  assert.ok(dated.length >= 3);
  for (const x of dated) assert.ok(x['@timestamp'] !== x.ingested && Math.abs(x['@timestamp'] - madeAt(text) + 60_000) < 60_000, x.message);
});

for (const [file, timed] of [['python.log', false], ['python-asctime.log', true]] as const) {
  test(`real Python output (${file}): log lines, logging.exception's traceback with its line, a chained traceback one ERROR event`, () => {
    const text = readFileSync(join(SAMPLES, file), 'utf8');
    const docs = pipeline(text, madeAt(text));
    const head = (level: string, name: string, msg: string) => (timed ? new RegExp(`^\\d{4}-\\d{2}-\\d{2} [\\d:,]{12} - ${name} - ${level} - ${msg}$`) : new RegExp(`^${level}:${name}:${msg}$`));
    assert.match(text.split('\n')[0]!, head('WARNING', 'etl.job', 'slow partition 3'));
    // A traceback right after a Python log line is taken for that line's (logging.exception, exc_info): so
    // is the uncaught one the program ends with here, printed just after `root error` (collector/README.md).
    assert.equal(docs.length, 3, docs.map((x) => x.message.split('\n')[0]).join(' | '));
    const [warn, parse, root] = docs as [LineDoc, LineDoc, LineDoc];
    assert.deepEqual([warn.level, warn.logger, warn.message], ['WARN', 'etl.job', 'slow partition 3']);
    assert.deepEqual([parse.level, parse.logger, parse.exception], ['ERROR', 'etl.job', 'ValueError']);
    assert.match(parse.message, /^parse failed\nTraceback \(most recent call last\):\n[\s\S]*\nValueError: invalid literal for int\(\) with base 10: 'x'$/);
    assert.deepEqual([root.level, root.logger, root.exception], ['ERROR', 'root', 'ValueError']);
    assert.equal(root.message, `root error\n${text.slice(text.indexOf('Traceback', text.indexOf('root error'))).trimEnd()}`);
    assert.match(root.message, /KeyError: 'id'\n\nThe above exception was the direct cause[\s\S]*RuntimeError: record 7 unreadable\n\nDuring handling of the above exception[\s\S]*ValueError: job failed$/);
    if (timed) for (const x of docs) assert.notEqual(x['@timestamp'], x.ingested, x.message);
    // The same uncaught traceback after a line of the JVM (a PySpark driver's stderr) is an event of its own.
    const tb = root.message.slice(root.message.indexOf('Traceback'));
    check(pipeline(`24/11/21 06:20:00 INFO SparkContext: Successfully stopped SparkContext\n${tb}\n24/11/21 06:20:01 INFO ShutdownHookManager: Shutdown hook called\n`, NOW), [
      ['Successfully stopped SparkContext', 1, 'INFO', 'SparkContext'],
      ['Traceback (most recent call last):', tb.split('\n').length, 'ERROR', undefined, 'ValueError'],
      ['Shutdown hook called', 1, 'INFO', 'ShutdownHookManager'],
    ]);
  });
}


test("Spark 3.5's plain executor log: a task's exception of the app's own class is one event with its trace, named", () => {
  // Issue 29: the class is the app's (no Exception, Error or Throwable in its name); Spark 4's JSON names it from its field.
  const failure = [
    't3.T3InjectedFailure: injected failure in task 3',
    '\tat t3.Job.run(Job.java:12)',
    '\tat org.apache.spark.rdd.RDD.$anonfun$foreach$2(RDD.scala:1049)',
    '\tat org.apache.spark.executor.Executor$TaskRunner.run(Executor.scala:620)',
    '\tat java.base/java.lang.Thread.run(Thread.java:840)',
  ];
  check(pipeline([
    '24/11/21 06:20:02 INFO Executor: Running task 3.0 in stage 0.0 (TID 3)',
    '24/11/21 06:20:02 ERROR Executor: Exception in task 3.0 in stage 0.0 (TID 3)',
    ...failure,
    '24/11/21 06:20:03 INFO Executor: Running task 3.1 in stage 0.0 (TID 4)',
    '24/11/21 06:20:03 ERROR Executor: Exception in task 3.1 in stage 0.0 (TID 4)',
    'org.apache.spark.SparkException: task 3 gave up',
    '\tat t3.Job.retry(Job.java:20)',
    `Caused by: ${failure[0]}`,
    ...failure.slice(1, 2),
    '\t... 3 more',
    '24/11/21 06:20:04 INFO Executor: Settings of task 3.2:',
    'spark.task.maxFailures: 4',
  ].join('\n'), NOW), [
    ['Running task 3.0 in stage 0.0 (TID 3)', 1, 'INFO', 'Executor'],
    ['Exception in task 3.0 in stage 0.0 (TID 3)', 6, 'ERROR', 'Executor', 't3.T3InjectedFailure'],
    ['Running task 3.1 in stage 0.0 (TID 4)', 1, 'INFO', 'Executor'],
    ['Exception in task 3.1 in stage 0.0 (TID 4)', 6, 'ERROR', 'Executor', 'org.apache.spark.SparkException'],
    // A line with a colon but no frame under it is text, not an exception.
    ['Settings of task 3.2:', 2, 'INFO', 'Executor'],
  ]);
});

test('Flink, Hadoop/YARN and logback defaults: realistic samples', () => {
  check(pipeline([
    '2024-11-21 06:20:00,123 INFO  org.apache.flink.runtime.taskexecutor.TaskExecutor           [] - Receive slot request 4b1f for job 9a2c from resource manager.',
    '2024-11-21 06:20:05,001 WARN  org.apache.flink.runtime.taskmanager.Task                    [] - Source: orders (1/2)#0 switched from RUNNING to FAILED with failure cause:',
    'java.io.IOException: Connection reset by peer',
    '\tat sun.nio.ch.FileDispatcherImpl.read0(Native Method) ~[?:?]',
    '\tat org.apache.flink.runtime.io.network.netty.CreditBasedPartitionRequestClientHandler.exceptionCaught(CreditBasedPartitionRequestClientHandler.java:176) ~[flink-dist-2.0.0.jar:2.0.0]',
    '2024-11-21 06:20:05,002 INFO  org.apache.flink.runtime.checkpoint.CheckpointCoordinator    [] - Triggering checkpoint 12',
  ].join('\n'), NOW, { appType: 'flink' }), [
    ['Receive slot request 4b1f for job 9a2c from resource manager.', 1, 'INFO', 'org.apache.flink.runtime.taskexecutor.TaskExecutor'],
    ['Source: orders (1/2)#0 switched from RUNNING to FAILED with failure cause:', 4, 'WARN', 'org.apache.flink.runtime.taskmanager.Task', 'java.io.IOException'],
    ['Triggering checkpoint 12', 1, 'INFO', 'org.apache.flink.runtime.checkpoint.CheckpointCoordinator'],
  ]);
  check(pipeline([
    '2024-11-21 06:20:00,123 INFO org.apache.hadoop.yarn.client.DefaultNoHARMFailoverProxyProvider: Connecting to ResourceManager at rm/10.0.0.1:8032',
    '2024-11-21 06:20:01,456 WARN org.apache.hadoop.util.NativeCodeLoader: Unable to load native-hadoop library for your platform... using builtin-java classes where applicable',
    '2024-11-21 06:20:02,789 ERROR org.apache.hadoop.yarn.server.nodemanager.NodeManager: Error starting NodeManager',
    'org.apache.hadoop.yarn.exceptions.YarnRuntimeException: java.net.BindException: Port in use: 0.0.0.0:8042',
    '\tat org.apache.hadoop.yarn.server.nodemanager.NodeManager.serviceStart(NodeManager.java:421)',
    'Caused by: java.net.BindException: Port in use: 0.0.0.0:8042',
    '\t... 5 more',
  ].join('\n'), NOW), [
    ['Connecting to ResourceManager at rm/10.0.0.1:8032', 1, 'INFO', 'org.apache.hadoop.yarn.client.DefaultNoHARMFailoverProxyProvider'],
    ['Unable to load native-hadoop library for your platform... using builtin-java classes where applicable', 1, 'WARN', 'org.apache.hadoop.util.NativeCodeLoader'],
    ['Error starting NodeManager', 5, 'ERROR', 'org.apache.hadoop.yarn.server.nodemanager.NodeManager', 'org.apache.hadoop.yarn.exceptions.YarnRuntimeException'],
  ]);
  const logback = pipeline([
    '06:20:00.123 [main] INFO  c.e.orders.App - Started App in 2.1 seconds',
    '06:20:01.500 [http-nio-8080-exec-1] ERROR o.a.c.c.C.[.[.[/].[dispatcherServlet] - Servlet.service() threw exception',
    'java.lang.NullPointerException: Cannot invoke "String.length()" because "s" is null',
    '\tat c.e.orders.Api.get(Api.java:31)',
    '\t... 48 common frames omitted',
  ].join('\n'), NOW);
  check(logback, [
    ['Started App in 2.1 seconds', 1, 'INFO', 'c.e.orders.App', undefined, 'main'],
    ['Servlet.service() threw exception', 4, 'ERROR', 'o.a.c.c.C.[.[.[/].[dispatcherServlet]', 'java.lang.NullPointerException', 'http-nio-8080-exec-1'],
  ]);
  assert.equal(logback[1]!['@timestamp'], Date.parse('2024-11-21T06:20:01.500Z'));
});

test("an app's own PatternLayout, given to its pod: cut and parsed with the same pattern, the catalogue's layouts still known", () => {
  const logPattern = '%d{yyyy/MM/dd HH:mm:ss.SSS} <%X{traceId}> %-5level [%thread] %logger{36}:%L | %msg%n';
  const lines = [
    '2024/11/21 06:20:00.100 <a1b2> INFO  [main] c.e.orders.App:42 | Started',
    '2024/11/21 06:20:01.200 <> ERROR [pool-2-thread-1] c.e.orders.Loader:88 | load failed | retrying',
    'java.sql.SQLTransientConnectionException: pool exhausted',
    '\tat c.e.orders.Loader.load(Loader.java:88)',
    'Traceback (most recent call last):',
    '  File "udf.py", line 3, in f',
    'ZeroDivisionError: division by zero',
    '2024/11/21 06:20:02.300 <c3d4> WARN  [main] c.e.orders.App:50 | slow',
  ];
  const docs = pipeline(lines.join('\n'), NOW, { logPattern });
  check(docs, [
    ['Started', 1, 'INFO', 'c.e.orders.App', undefined, 'main'],
    ['load failed | retrying', 3, 'ERROR', 'c.e.orders.Loader', 'java.sql.SQLTransientConnectionException', 'pool-2-thread-1'],
    ['Traceback (most recent call last):', 3, 'ERROR', undefined, 'ZeroDivisionError'],
    ['slow', 1, 'WARN', 'c.e.orders.App', undefined, 'main'],
  ]);
  assert.deepEqual(docs.map((x) => x.mdc), [{ traceId: 'a1b2' }, undefined, undefined, { traceId: 'c3d4' }]);
  assert.equal(docs[0]!['@timestamp'], Date.parse('2024-11-21T06:20:00.100Z'));
  // Without the pattern these headers are no layout the catalogue knows: the app's events run together.
  const unknown = pipeline(lines.join('\n'), NOW);
  assert.deepEqual(unknown.map((x) => [x.message.split('\n').length, x.level]), [[4, undefined], [4, 'ERROR']]);
});
