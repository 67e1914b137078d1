// The parser against real-looking lines of every layout the aggregator reads:
// the first line's header becomes fields, the rest of a multi-line event stays
// in the message, and a line that matches nothing is kept whole.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseEvent } from '../../aggregator/transforms/parse-event.js';
import { ZonedClock } from '../../aggregator/transforms/zoned-time.js';
import { eventTime, CLAMP_FUTURE_MS, CLAMP_PAST_MS } from '../../aggregator/transforms/to-documents.js';

const utc = new ZonedClock('UTC');
const at = (iso: string) => Date.parse(iso);

test('Spark log4j 1.x/2 layout: yy/MM/dd HH:mm:ss LEVEL Logger: message', () => {
  assert.deepEqual(parseEvent('24/11/21 06:20:00 INFO Executor: Running task 0.0 in stage 0.0 (TID 0)', utc), {
    time: at('2024-11-21T06:20:00Z'), level: 'INFO', logger: 'Executor', message: 'Running task 0.0 in stage 0.0 (TID 0)',
  });
  const full = parseEvent('24/11/21 06:20:01 WARN org.apache.spark.scheduler.TaskSetManager: Lost task 1.0 in stage 0.0 (TID 1) (10.0.1.7 executor 2): ExecutorLostFailure', utc);
  assert.equal(full.logger, 'org.apache.spark.scheduler.TaskSetManager');
  assert.equal(full.message, 'Lost task 1.0 in stage 0.0 (TID 1) (10.0.1.7 executor 2): ExecutorLostFailure');
  assert.equal(full.level, 'WARN');
});

test('Spark: a multi-line event keeps its stack trace in the message and names the exception', () => {
  const text = [
    '24/11/21 06:20:02 ERROR Executor: Exception in task 3.0 in stage 1.0 (TID 7)',
    'java.lang.ArithmeticException: / by zero',
    '\tat org.example.Etl$.$anonfun$main$1(Etl.scala:12)',
    '\tat scala.runtime.java8.JFunction1$mcII$sp.apply(JFunction1$mcII$sp.java:23)',
    'Caused by: java.lang.IllegalStateException: inner',
    '\t... 12 more',
  ].join('\n');
  const e = parseEvent(text, utc);
  assert.equal(e.time, at('2024-11-21T06:20:02Z'));
  assert.equal(e.level, 'ERROR');
  assert.equal(e.exception, 'java.lang.ArithmeticException');
  assert.equal(e.message, text.slice(text.indexOf('Exception in task')));
});

test('a Java exception is named whatever its class is called when a frame is right under it, or a cause line names it', () => {
  // Spark 3.5's plain log4j output of an executor: a task's own exception class, no Exception/Error/Throwable in its name.
  const executor = [
    '24/11/21 06:20:02 ERROR Executor: Exception in task 3.0 in stage 0.0 (TID 3)',
    't3.T3InjectedFailure: injected failure in task 3',
    '\tat t3.Job.run(Job.java:12)',
    '\tat org.apache.spark.rdd.RDD.$anonfun$foreach$2(RDD.scala:1049)',
  ].join('\n');
  assert.equal(parseEvent(executor, utc).exception, 't3.T3InjectedFailure');
  // The bare name (no message), frames indented with blanks or not at all, a Scala object's `$`.
  assert.equal(parseEvent('24/11/21 06:20:02 ERROR Executor: failed\nt3.T3InjectedFailure\n    at t3.Job.run(Job.java:12)', utc).exception, 't3.T3InjectedFailure');
  assert.equal(parseEvent('24/11/21 06:20:02 ERROR Executor: failed\nt3.Job$Failure: x\nat t3.Job$.run(Job.scala:12)', utc).exception, 't3.Job$Failure');
  // Under the wrapper's line a cause names the task's class: the event is named for the wrapper, the outermost.
  const wrapped = [
    '24/11/21 06:20:05 ERROR Executor: Exception in task 3.1 in stage 0.0 (TID 4)',
    't3.T3TaskAborted: task 3 aborted',
    '\tat t3.Job.run(Job.java:14)',
    'Caused by: t3.T3InjectedFailure: injected failure in task 3',
    '\tat t3.Job.run(Job.java:12)',
    '\t... 1 more',
  ].join('\n');
  assert.equal(parseEvent(wrapped, utc).exception, 't3.T3TaskAborted');
  // An event that begins at a cause (a trace cut at maxEventLines goes on in an event of its own): the cause names it.
  assert.equal(parseEvent('Caused by: t3.T3InjectedFailure: injected failure in task 3\n\tat t3.Job.run(Job.java:12)', utc).exception, 't3.T3InjectedFailure');
  // A wrapper without frames of its own (Scala's NoStackTrace): its cause right under it shows what it is.
  assert.equal(parseEvent('24/11/21 06:20:05 ERROR Executor: failed\nt3.T3TaskAborted: task 3\nCaused by: t3.T3InjectedFailure: injected\n\tat t3.Job.run(Job.java:12)', utc).exception, 't3.T3TaskAborted');
  // Text that merely has a colon, with no frame under it, names nothing; nor does a frame-less line of such text.
  for (const text of [
    '24/11/21 06:20:02 INFO Executor: settings\nspark.executor.memory: 4g\nspark.executor.cores: 2',
    '24/11/21 06:20:02 INFO Executor: settings\nspark.executor.memory: 4g',
    '24/11/21 06:20:02 INFO Executor: settings\nspark.executor.memory: 4g\n  at least 2 cores',
    'spark.executor.memory: 4g\n\tat nothing',
    'org.example: no frame under it',
  ]) assert.equal(parseEvent(text, utc).exception, undefined, text);
});

test('yyyy-MM-dd HH:mm:ss[,SSS] LEVEL Class:line - message, and bracketed thread names', () => {
  assert.deepEqual(parseEvent('2024-11-21 06:20:00,123 INFO org.apache.spark.deploy.SparkSubmit:61 - Starting driver', utc), {
    time: at('2024-11-21T06:20:00.123Z'), level: 'INFO', logger: 'org.apache.spark.deploy.SparkSubmit', message: 'Starting driver',
  });
  assert.deepEqual(parseEvent('2024-11-21 06:20:00 INFO  [dispatcher-Executor] CoarseGrainedExecutorBackend:60 - Got assigned task 4', utc), {
    time: at('2024-11-21T06:20:00Z'), level: 'INFO', thread: 'dispatcher-Executor', logger: 'CoarseGrainedExecutorBackend', message: 'Got assigned task 4',
  });
  assert.deepEqual(parseEvent('2024-11-21 06:20:00,005 [Executor task launch worker for task 0.0 in stage 0.0 (TID 0)] DEBUG org.apache.spark.storage.BlockManager - Getting local block rdd_1_0', utc), {
    time: at('2024-11-21T06:20:00.005Z'), level: 'DEBUG', thread: 'Executor task launch worker for task 0.0 in stage 0.0 (TID 0)', logger: 'org.apache.spark.storage.BlockManager', message: 'Getting local block rdd_1_0',
  });
  // Hadoop's `%d{ISO8601} %p [%t] %c: %m` and an explicit zone, which wins over the configured one.
  assert.deepEqual(parseEvent('2024-11-21T06:20:00.250+01:00 WARN [main] org.apache.hadoop.util.NativeCodeLoader: Unable to load native-hadoop library', utc), {
    time: at('2024-11-21T05:20:00.250Z'), level: 'WARN', thread: 'main', logger: 'org.apache.hadoop.util.NativeCodeLoader', message: 'Unable to load native-hadoop library',
  });
});

test("Flink's default layout: yyyy-MM-dd HH:mm:ss,SSS LEVEL logger [] - message, with a stack trace", () => {
  assert.deepEqual(parseEvent('2024-11-21 06:20:00,123 INFO  org.apache.flink.runtime.taskexecutor.TaskExecutor           [] - Receive slot request 4b1f for job 9a2c from resource manager.', utc), {
    time: at('2024-11-21T06:20:00.123Z'), level: 'INFO', logger: 'org.apache.flink.runtime.taskexecutor.TaskExecutor', message: 'Receive slot request 4b1f for job 9a2c from resource manager.',
  });
  const text = '2024-11-21 06:20:05,001 WARN  org.apache.flink.runtime.taskmanager.Task                    [] - Source: orders (1/2)#0 switched from RUNNING to FAILED with failure cause:\njava.io.IOException: Connection reset by peer\n\tat sun.nio.ch.FileDispatcherImpl.read0(Native Method)';
  const e = parseEvent(text, utc);
  assert.equal(e.level, 'WARN');
  assert.equal(e.logger, 'org.apache.flink.runtime.taskmanager.Task');
  assert.equal(e.exception, 'java.io.IOException');
  assert.ok(e.message.startsWith('Source: orders (1/2)#0 switched from RUNNING to FAILED with failure cause:\njava.io.IOException'));
});

test("Flume's log4j layout", () => {
  assert.deepEqual(parseEvent('21 Nov 2024 06:20:00,123 INFO  [lifecycleSupervisor-1-0] (org.apache.flume.node.Application.startAllComponents:207) - Starting Channel c1', utc), {
    time: at('2024-11-21T06:20:00.123Z'), level: 'INFO', thread: 'lifecycleSupervisor-1-0', logger: 'org.apache.flume.node.Application.startAllComponents', message: 'Starting Channel c1',
  });
});

test('Spark 4 structured JSON logging: ts, level, msg, context as mdc, exception, logger', () => {
  const line = JSON.stringify({
    ts: '2023-03-12T12:02:46.661-0700', level: 'ERROR', msg: 'Fail to know the executor 289 is alive or not',
    context: { executor_id: '289', task_id: 17, 'stage.attempt': '0' },
    exception: { class: 'org.apache.spark.SparkException', msg: 'Exception thrown in awaitResult', stacktrace: [{ class: 'org.apache.spark.util.SparkThreadUtils$', method: 'awaitResult', file: 'SparkThreadUtils.scala', line: 56 }] },
    logger: 'Executor',
  });
  assert.deepEqual(parseEvent(line, utc), {
    time: at('2023-03-12T19:02:46.661Z'), level: 'ERROR', logger: 'Executor', mdc: { executor_id: '289', task_id: '17', stage_attempt: '0' },
    exception: 'org.apache.spark.SparkException',
    message: 'Fail to know the executor 289 is alive or not\norg.apache.spark.SparkException: Exception thrown in awaitResult\n\tat org.apache.spark.util.SparkThreadUtils$.awaitResult(SparkThreadUtils.scala:56)',
  });
  assert.deepEqual(parseEvent('{"ts":"2024-11-21T06:20:00.123Z","level":"INFO","msg":"Running task 0.0","context":{"task_name":"task 0.0 in stage 0.0 (TID 0)"},"logger":"Executor"}', utc).mdc, { task_name: 'task 0.0 in stage 0.0 (TID 0)' });
});

test('the repository\'s Spark 4 JSON file: the stack trace as Java printed it, causes included', () => {
  // A line Spark 4.2.0 wrote with deploy/spark/log4j2-json.properties (frames shortened).
  const line = "{\"ts\":\"2026-11-30T09:12:42.707Z\",\"level\":\"ERROR\",\"msg\":\"Exception in task 0.0 in stage 1.0 (TID 2)\",\"context\":{\"task_name\":\"task 0.0 in stage 1.0 (TID 2)\"},\"exception\":{\"class\":\"java.lang.IllegalStateException\",\"msg\":\"sparklogs-e2e injected task failure app=local-1796029951929 stage=1 partition=0 attempt=0\",\"stacktrace\":\"java.lang.IllegalStateException: sparklogs-e2e injected task failure app=local-1796029951929 stage=1 partition=0 attempt=0\\n\\tat dev.sparklogs.e2e.PhaseTask.injectedFailure(PhaseTask.java:74)\\nCaused by: java.io.IOException: sparklogs-e2e injected cause: record unreadable app=local-1796029951929 stage=1 partition=0 attempt=0\\n\\tat dev.sparklogs.e2e.PhaseTask.readRecord(PhaseTask.java:82)\\nCaused by: java.lang.NumberFormatException: For input string: \\\"sparklogs-e2e-not-a-number\\\"\\n\\tat java.base/java.lang.NumberFormatException.forInputString(NumberFormatException.java:67)\\n\"},\"logger\":\"org.apache.spark.executor.Executor\",\"thread\":\"Executor task launch worker for task 0.0 in stage 1.0 (TID 2)\"}";
  const e = parseEvent(line, utc);
  assert.equal(e.time, at('2026-11-30T09:12:42.707Z'));
  assert.equal(e.level, 'ERROR');
  assert.equal(e.logger, 'org.apache.spark.executor.Executor');
  assert.equal(e.thread, 'Executor task launch worker for task 0.0 in stage 1.0 (TID 2)');
  assert.deepEqual(e.mdc, { task_name: 'task 0.0 in stage 1.0 (TID 2)' });
  assert.equal(e.exception, 'java.lang.IllegalStateException');
  assert.equal(e.message, `Exception in task 0.0 in stage 1.0 (TID 2)\n${(JSON.parse(line) as { exception: { stacktrace: string } }).exception.stacktrace.trimEnd()}`);
  assert.match(e.message, /^java\.lang\.IllegalStateException: sparklogs-e2e injected task failure .*\n\tat dev\.sparklogs\.e2e\.PhaseTask\.injectedFailure\(PhaseTask\.java:74\)\nCaused by: java\.io\.IOException: /m);
});

test('lines that match nothing are stored raw: no time, no level, text unchanged', () => {
  for (const raw of [
    'Setting default log level to "WARN".',
    '++ id -u',
    'Picked up JAVA_TOOL_OPTIONS: -XX:+UseContainerSupport',
    '{"foo": 1}',
    '{not json at all',
    '24/13/45 99:99:99 INFO Executor: impossible date',
    '2024-11-21 06:20:00 this is not a log4j header',
    '   at the start with spaces\n\tat x.y(Z.java:1)',
    '',
  ]) {
    const e = parseEvent(raw, utc);
    assert.equal(e.message, raw);
    assert.equal(e.level, undefined, raw);
  }
  // A readable time without a known header: the time is kept, the text is the message.
  assert.deepEqual(parseEvent('2024-11-21 06:20:00 this is not a log4j header', utc), { time: at('2024-11-21T06:20:00Z'), message: '2024-11-21 06:20:00 this is not a log4j header' });
  assert.equal(parseEvent('24/13/45 99:99:99 INFO Executor: impossible date', utc).time, undefined);
  // The JVM's own printout of an uncaught exception: no layout, but it ended a thread (level ERROR).
  assert.deepEqual(parseEvent('Exception in thread "main" java.lang.OutOfMemoryError: Java heap space\n\tat java.base/java.util.Arrays.copyOf(Arrays.java:3537)', utc), {
    level: 'ERROR', exception: 'java.lang.OutOfMemoryError', message: 'Exception in thread "main" java.lang.OutOfMemoryError: Java heap space\n\tat java.base/java.util.Arrays.copyOf(Arrays.java:3537)',
  });
});

test("Python logging's default `LEVEL:logger:message` and the usual basicConfig formats", () => {
  assert.deepEqual(parseEvent('WARNING:py4j.clientserver:Answer received: !yv', utc), { level: 'WARN', logger: 'py4j.clientserver', message: 'Answer received: !yv' });
  assert.deepEqual(parseEvent('CRITICAL:root:disk full', utc), { level: 'FATAL', logger: 'root', message: 'disk full' });
  assert.deepEqual(parseEvent('2024-11-21 06:20:00,123 - etl.job - INFO - loaded 5 rows', utc), {
    time: at('2024-11-21T06:20:00.123Z'), level: 'INFO', logger: 'etl.job', message: 'loaded 5 rows',
  });
  assert.deepEqual(parseEvent('2024-11-21 06:20:00,123 - ERROR - no name', utc), { time: at('2024-11-21T06:20:00.123Z'), level: 'ERROR', message: 'no name' });
  // `%(asctime)s %(levelname)s %(message)s` and `%(asctime)s [%(levelname)s] %(name)s: %(message)s`: an unknown layout, the level still comes out.
  assert.deepEqual(parseEvent('2024-11-21 06:20:00,123 WARNING Retrying in 5 seconds', utc), {
    time: at('2024-11-21T06:20:00.123Z'), level: 'WARN', message: '2024-11-21 06:20:00,123 WARNING Retrying in 5 seconds',
  });
  assert.equal(parseEvent('2024-11-21 06:20:00,123 [ERROR] etl.job: failed', utc).level, 'ERROR');
  // logging.exception: the traceback under the log line names the exception.
  const e = parseEvent('ERROR:etl:load failed\nTraceback (most recent call last):\n  File "etl.py", line 3, in <module>\n    load()\nKeyError: \'id\'', utc);
  assert.equal(e.level, 'ERROR');
  assert.equal(e.exception, 'KeyError');
});

test('a Python traceback is an ERROR event naming the last exception of its chain', () => {
  const tb = [
    'Traceback (most recent call last):',
    '  File "/opt/spark/work-dir/job.py", line 12, in parse',
    '    return int(s)',
    '           ^^^^^^',
    "ValueError: invalid literal for int() with base 10: 'x'",
    '',
    'During handling of the above exception, another exception occurred:',
    '',
    'Traceback (most recent call last):',
    '  File "/opt/spark/work-dir/job.py", line 20, in <module>',
    '    main()',
    'job.BadRecord: record 7 is unreadable',
  ].join('\n');
  assert.deepEqual(parseEvent(tb, utc), { level: 'ERROR', exception: 'job.BadRecord', message: tb });
  const py4j = [
    'Traceback (most recent call last):',
    '  File "/opt/spark/python/lib/pyspark.zip/pyspark/sql/dataframe.py", line 1216, in collect',
    'py4j.protocol.Py4JJavaError: An error occurred while calling o42.collectToPython.',
    ': org.apache.spark.SparkException: Job aborted due to stage failure',
    '\tat org.apache.spark.scheduler.DAGScheduler.failJobAndIndependentStages(DAGScheduler.scala:2844)',
  ].join('\n');
  assert.equal(parseEvent(py4j, utc).exception, 'py4j.protocol.Py4JJavaError');
});

test("Hadoop/YARN's default layout, logback's default, JVM warnings and GC logs", () => {
  assert.deepEqual(parseEvent('2024-11-21 06:20:00,123 INFO org.apache.hadoop.yarn.client.RMProxy: Connecting to ResourceManager at rm/10.0.0.1:8032', utc), {
    time: at('2024-11-21T06:20:00.123Z'), level: 'INFO', logger: 'org.apache.hadoop.yarn.client.RMProxy', message: 'Connecting to ResourceManager at rm/10.0.0.1:8032',
  });
  // logback prints the time of day only: the day is the one nearest to the collection time.
  const ref = at('2024-11-21T23:59:59.500Z');
  assert.deepEqual(parseEvent('23:59:58.123 [main] INFO  c.e.Logger - msg - with dashes', utc, { ref }), {
    time: at('2024-11-21T23:59:58.123Z'), level: 'INFO', thread: 'main', logger: 'c.e.Logger', message: 'msg - with dashes',
  });
  assert.equal(parseEvent('00:00:01.000 [main] WARN  c.e.Logger - after midnight', utc, { ref }).time, at('2024-11-22T00:00:01.000Z'));
  assert.deepEqual(parseEvent('OpenJDK 64-Bit Server VM warning: Sharing is only supported for boot loader classes', utc), {
    level: 'WARN', message: 'OpenJDK 64-Bit Server VM warning: Sharing is only supported for boot loader classes',
  });
  assert.deepEqual(parseEvent('WARNING: Using incubator modules: jdk.incubator.vector', utc), { level: 'WARN', message: 'WARNING: Using incubator modules: jdk.incubator.vector' });
  assert.deepEqual(parseEvent('[0.012s][info][gc] Using G1', utc), { level: 'INFO', logger: 'gc', message: 'Using G1' });
  assert.deepEqual(parseEvent('[2024-11-21T06:20:00.123+0000][0.512s][warning][gc,alloc    ] GC(3) allocation stall', utc), {
    time: at('2024-11-21T06:20:00.123Z'), level: 'WARN', logger: 'gc,alloc', message: 'GC(3) allocation stall',
  });
  const legacy = '2024-11-21T06:20:00.123+0100: 0.123: [GC (Allocation Failure) [PSYoungGen: 33280K->5088K(38400K)] 33280K->5096K(125952K), 0.0041 secs]';
  assert.deepEqual(parseEvent(legacy, utc), { time: at('2024-11-21T05:20:00.123Z'), level: 'INFO', logger: 'gc', message: legacy });
  assert.deepEqual(parseEvent('0.123: [Full GC (Ergonomics) 1024K->512K(4096K), 0.01 secs]', utc), { level: 'INFO', logger: 'gc', message: '0.123: [Full GC (Ergonomics) 1024K->512K(4096K), 0.01 secs]' });
});

test('an unknown layout: a header with a date and a level word still gives the level', () => {
  assert.equal(parseEvent('2024-11-21 06:20:00.123 | WARN | orders | slow', utc).level, 'WARN');
  assert.equal(parseEvent('24/11/21 06:20:00 [ERROR] (main) something odd', utc).level, 'ERROR');
  assert.equal(parseEvent('[2024-11-21 06:20:00,123] ERROR in app: boom', utc).level, 'ERROR');
  assert.equal(parseEvent('[2024-11-21 06:20:00,123] ERROR in app: boom', utc).time, at('2024-11-21T06:20:00.123Z'));
  assert.equal(parseEvent('[2024-11-21T07:20:00.123+01:00] WARN slow', utc).time, at('2024-11-21T06:20:00.123Z'));
  // Level words far into the message are not a header's.
  assert.equal(parseEvent(`2024-11-21 06:20:00 ${'x'.repeat(80)} ERROR`, utc).level, undefined);
  assert.equal(parseEvent('2024-11-21 06:20:00 informational text', utc).level, undefined);
});

test('times without a zone are read in the configured zone, across daylight saving time', () => {
  const berlin = new ZonedClock('Europe/Berlin');
  assert.equal(parseEvent('24/11/21 06:20:00 INFO Executor: winter', berlin).time, at('2024-11-21T05:20:00Z'));
  assert.equal(parseEvent('24/07/01 06:20:00 INFO Executor: summer', berlin).time, at('2024-07-01T04:20:00Z'));
  assert.equal(parseEvent('2024-03-31 03:30:00,000 INFO  org.x.Y [] - after the switch', berlin).time, at('2024-03-31T01:30:00Z'));
  assert.equal(parseEvent('2024-07-01 06:20:00,000 INFO  org.x.Y [] - explicit wins', new ZonedClock('America/New_York')).time, at('2024-07-01T10:20:00Z'));
  assert.throws(() => new ZonedClock('Mars/Olympus_Mons'), RangeError);
});

// Bounded in CPU time, not wall time (a busy machine must not fail it): backtracking on these would take
// minutes or more, bounded parsing takes milliseconds. Parsing speed itself is measured by the layouts bench.
test('hostile lines fail fast (no catastrophic backtracking)', () => {
  const t0 = process.cpuUsage();
  for (const s of [
    'x'.repeat(1 << 20),
    `24/11/21 06:20:00 INFO ${'a'.repeat(1 << 20)}`,
    `2024-11-21 06:20:00,123 INFO  ${'[a] '.repeat(50_000)}`,
    `2024-11-21 06:20:00,123 [${'['.repeat(100_000)}`,
    `{${'"a":'.repeat(100_000)}`,
    `24/11/21 06:20:00 ERROR E: x\n${'java.'.repeat(100_000)}`,
  ]) parseEvent(s, utc);
  const { user, system } = process.cpuUsage(t0);
  assert.ok(user + system < 5_000_000, `took ${(user + system) / 1000} ms of CPU`);
});

test('A7 clamp rule: implausible or missing event times fall back to collection time', () => {
  const t = at('2026-01-15T06:20:00Z');
  assert.deepEqual(eventTime(undefined, t), { ts: t, clamped: false });
  assert.deepEqual(eventTime(t - 5000, t), { ts: t - 5000, clamped: false });
  assert.deepEqual(eventTime(t + CLAMP_FUTURE_MS, t), { ts: t + CLAMP_FUTURE_MS, clamped: false });
  assert.deepEqual(eventTime(t + CLAMP_FUTURE_MS + 1, t), { ts: t, clamped: true });
  assert.deepEqual(eventTime(t - CLAMP_PAST_MS - 1, t), { ts: t, clamped: true });
});
