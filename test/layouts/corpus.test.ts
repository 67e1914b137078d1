// Issue 15's promise on real logs: every event of the real-log corpus
// (test/layouts/make-corpus: Spark 3.5 and 4 in their default layout, Spark 4's
// structured logging with its executors' switch from plain to JSON, a PySpark
// driver with Python's logging, tracebacks and an executor out of heap, Flink's
// MiniCluster with a failing task, a Flume agent with failing deliveries, a
// Hadoop MapReduce job failing in local mode in Hadoop's client and container
// layouts, an slf4j program in logback's default configuration and a common
// logback.xml pattern)
// comes out of the collector's cutting and the aggregator's parsing as exactly
// one event, with its time, level, logger, thread, exception and message
// right, checked against what the programs themselves knew (their second
// appender or logging handler), the JSON objects' own fields, and, for the few
// lines neither knows, a hand-reviewed list (test/layouts/check-corpus.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkCorpus } from './check-corpus.js';
import { decoderOptions, decoderSettings } from '../../collector/spool/spool.js';
import { FileDecoder, newDecoderStats } from '../../collector/transforms/file-decoder.js';
import { startsEvent } from '../../contract/layouts.js';
import { parseEvent } from '../../aggregator/transforms/parse-event.js';
import { ZonedClock } from '../../aggregator/transforms/zoned-time.js';

test('the real-log corpus: every event cut and parsed right', () => {
  const results = checkCorpus();
  for (const r of results) {
    assert.ok(r.known > 0, `${r.file}: no events in the corpus`);
    assert.deepEqual(r.bad.slice(0, 5), [], `${r.file}: ${r.good}/${r.known} right, ${r.cut} cut`);
    assert.equal(r.good, r.cut, `${r.file}: every event cut is one known event`);
  }
  const runs = new Set(results.map((r) => r.file.split('/')[0]));
  const want = ['spark-3.5-default', 'spark-4-default', 'spark-4-structured', 'pyspark-4', 'flink-2.3', 'flume-1.11', 'hadoop-3.4', 'logback-1.5'];
  assert.deepEqual(want.filter((r) => !runs.has(r)), [], [...runs].join(', '));
  assert.ok(results.reduce((s, r) => s + r.good, 0) > 1000);
});

test("a console progress bar redrawn with \\r and a log line written over it: two events, each with its own offset, cut the same after a restart", () => {
  const bar = '\r[Stage 3:>                                                          (0 + 1) / 1]';
  const head = '26/11/30 15:53:55 WARN TaskSetManager: Lost task 0.0 in stage 3.0 (TID 3) (192.0.2.2 executor 0): java.lang.OutOfMemoryError: Java heap space';
  const text = `26/11/30 15:53:54 INFO DAGScheduler: Submitting 1 missing tasks\n${bar}\r${head}\n\tat org.apache.spark.unsafe.types.UTF8String.repeat(UTF8String.java:1200)\n26/11/30 15:53:56 INFO DAGScheduler: Job 1 failed\n`;
  const cut = (bytes: Buffer, start: number) => {
    const d = new FileDecoder(decoderOptions(decoderSettings({ format: 'plain', maxLineBytes: 1 << 20, multiline: true, appType: 'spark', maxEventLines: 1000, maxEventBytes: 1 << 20 })), start, newDecoderStats());
    d.push(bytes, 0);
    return d;
  };
  const bytes = Buffer.from(text);
  const d = cut(bytes, 0);
  d.flush(0);
  const events = d.take();
  assert.deepEqual(events.map((e) => e.m.split('\n')[0]), ['26/11/30 15:53:54 INFO DAGScheduler: Submitting 1 missing tasks', bar, head, '26/11/30 15:53:56 INFO DAGScheduler: Job 1 failed']);
  const second = text.indexOf('\n') + 1;
  assert.deepEqual(events.map((e) => e.off), [0, second, second + Buffer.byteLength(bar) + 1, text.lastIndexOf('26/11/30')]);
  assert.equal(events[2]!.m.split('\n').length, 2, 'the trace stays with its header');
  // Fed up to the middle of the trace: the open event begins inside a line, the restart at that line's start.
  const open = cut(bytes.subarray(0, text.indexOf('\tat')), 0);
  assert.equal(open.safeOffset(), second);
  const again = cut(bytes.subarray(second), second);
  again.flush(0);
  assert.deepEqual(again.take().map((e) => [e.off, e.m]), events.slice(1).map((e) => [e.off, e.m]));
});

test("a Python traceback joins a WARNING or worse Python line (logging.exception, exc_info), not an INFO or DEBUG one (a PySpark driver's last words after `INFO:…:stopped`)", () => {
  const tb = 'Traceback (most recent call last):';
  for (const [prev, starts] of [
    ['INFO:corpus.driver:stopped', true],
    ['DEBUG:py4j.clientserver:Answer received', true],
    ['WARNING:etl.job:retrying', false],
    ['ERROR:corpus.driver:the job with the big task failed', false],
    ['CRITICAL:etl.job:giving up', false],
    ['2024-11-21 06:20:00,123 - etl.job - INFO - done', true],
    ['2024-11-21 06:20:00,123 - etl.job - ERROR - parse failed', false],
    ['The above exception was the direct cause of the following exception:', false],
    ['26/11/30 16:06:12 INFO SparkContext: Successfully stopped SparkContext', true],
  ] as const) assert.equal(startsEvent(tb, prev), starts, prev);
});

test("logback's default layout (no configuration): the key-value pairs between its dashes are not the message; a plain java.lang.Exception is the exception", () => {
  // As logback 1.5.18's BasicConfigurator prints `log.atInfo().addKeyValue("task", 7).addKeyValue("stage", "a b").log("done")`.
  const utc = new ZonedClock('UTC');
  const ref = Date.parse('2026-11-30T19:16:00Z');
  for (const [line, message] of [
    ['19:15:41.980 [main] INFO x.Y -task="7" stage="a b"- done', 'done'],
    ['19:15:41.980 [main] INFO x.Y -- done - really', 'done - really'],
    ['19:15:41.980 [main] INFO  x.Y - -5 degrees', '-5 degrees'],
  ] as const) {
    const e = parseEvent(line, utc, { ref });
    assert.deepEqual([e.time, e.level, e.thread, e.logger, e.message], [Date.parse('2026-11-30T19:15:41.980Z'), 'INFO', 'main', 'x.Y', message], line);
  }
  const e = parseEvent('2026-11-30 19:14:55,393 WARN mapred.LocalJobRunner: job_local601341704_0001\njava.lang.Exception: java.io.IOException: record at offset 6 unreadable\n\tat x.Y.z(Y.java:1)', utc);
  assert.equal(e.exception, 'java.lang.Exception');
  assert.equal(startsEvent('java.lang.Error: boom', '2026-11-30 19:14:55,393 WARN x: y'), false);
});
