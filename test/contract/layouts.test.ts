// The layout catalogue (contract/layouts.ts) is what both sides read: the
// collector cuts events where a header date begins a line, the aggregator
// parses headers built from the same dates. These tests hold the two
// together: every line the aggregator reads as a header starts an event in
// the collector, for every layout and every line of the real-log corpus, and
// each layout's stack traces stay in their event.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { JAVA_CONTINUATION, startsEvent } from '../../contract/layouts.js';
import { FileDecoder, newDecoderStats } from '../../collector/transforms/file-decoder.js';
import { TRUNCATION_MARKER } from '../../collector/transforms/line-splitter.js';
import { startTest, wholeTest } from '../../collector/transforms/multiline.js';
import { parseEvent } from '../../aggregator/transforms/parse-event.js';
import { ZonedClock } from '../../aggregator/transforms/zoned-time.js';

const utc = new ZonedClock('UTC');

function cut(text: string): string[] {
  const d = new FileDecoder({ format: 'plain', maxLineBytes: 64 * 1024, multiline: { isStart: startTest('timestamped'), isWhole: wholeTest(), maxLines: 1000, maxBytes: 512 * 1024 } }, 0, newDecoderStats());
  d.push(Buffer.from(text), 0);
  d.flush(0);
  return d.take().map((e) => e.m);
}

const trace = ['java.io.IOException: disk gone', '\tat a.B.c(B.java:1)', 'Caused by: java.lang.IllegalStateException: closed', '\tat d.E.f(E.java:2)', '\t... 3 more'];

// A header line of each layout the catalogue knows, as its program prints it.
const HEADERS: Record<string, string> = {
  spark: '24/11/21 06:20:00 ERROR Executor: Exception in task 0.0 in stage 1.0 (TID 2)',
  'spark with thread': '24/11/21 06:20:00,123 WARN [dispatcher-event-loop-1] TaskSetManager: Lost task',
  log4j: '2024-11-21 06:20:00,123 ERROR [main] org.example.App:42 - failed',
  flink: '2024-11-21 06:20:00,123 WARN  org.apache.flink.runtime.taskmanager.Task                    [] - Source: orders (1/2)#0 switched from RUNNING to FAILED',
  'iso with zone': '2024-11-21T06:20:00.123+01:00 INFO [main] org.example.App: started',
  flume: '21 Nov 2024 06:20:00,123 ERROR [SinkRunner-PollingRunner-DefaultSinkProcessor] (org.apache.flume.SinkRunner$PollingRunner.run:158) - Unable to deliver event',
  'spark 4 json': '{"ts":"2024-11-21T06:20:00.123Z","level":"ERROR","msg":"Exception in task 0.0","logger":"Executor"}',
  hadoop: '2024-11-21 06:20:00,123 ERROR org.apache.hadoop.yarn.server.nodemanager.NodeManager: Error starting NodeManager',
  logback: '06:20:00.123 [main] ERROR c.e.Logger - failed',
  'python default': 'ERROR:etl.job:load failed',
  'python asctime': '2024-11-21 06:20:00,123 - etl.job - ERROR - load failed',
  'jvm uncaught': 'Exception in thread "main" java.lang.IllegalStateException: no config',
  'jvm warning': 'OpenJDK 64-Bit Server VM warning: Options -Xverify:none are deprecated',
  'gc unified': '[0.512s][warning][gc,alloc] GC(3) allocation stall',
  'gc unified dated': '[2024-11-21T06:20:00.123+0000][0.512s][info][gc] GC(4) Pause Young (Normal) 24M->4M(256M) 3.1ms',
};

for (const [layout, header] of Object.entries(HEADERS)) {
  const json = header.startsWith('{');
  test(`${layout}: the header starts an event, the aggregator reads its level, and ${json ? 'the object is a whole event: lines after it are not joined to it' : 'a stack trace after it is the same event'}`, () => {
    assert.ok(startsEvent(header), header);
    assert.ok(parseEvent(header, utc, { ref: Date.parse('2024-11-21T06:30:00Z') }).level, `the aggregator reads a level from ${header}`);
    const text = `${header}\n${trace.join('\n')}\n${header}\n`;
    assert.deepEqual(cut(text), json ? [header, trace.join('\n'), header] : [`${header}\n${trace.join('\n')}`, header]);
  });
}

test('continuations and text without a date start no event', () => {
  for (const l of trace.slice(1)) assert.ok(!startsEvent(l) && JAVA_CONTINUATION.test(l), l);
  for (const l of ['java.io.IOException: disk gone', '', '   ', 'Exiting.', '{not json', '[not a date]', '21 November 2024', '2024-11-21']) assert.ok(!startsEvent(l), JSON.stringify(l));
  assert.ok(startsEvent('[2024-11-21 06:20:00] bracketed'));
});

test('every line of the real-log corpus that the aggregator reads as a header starts an event in the collector', () => {
  const corpus = join(import.meta.dirname, '../layouts/corpus');
  let headers = 0;
  for (const run of readdirSync(corpus)) {
    for (const f of readdirSync(join(corpus, run)).filter((x) => x.endsWith('.log'))) {
      for (const line of readFileSync(join(corpus, run, f), 'utf8').split('\n')) {
        if (parseEvent(line, utc).level === undefined) continue;
        headers++;
        assert.ok(startsEvent(line), `${run}/${f}: ${line.slice(0, 200)}`);
      }
    }
  }
  assert.ok(headers > 1000, `headers seen: ${headers}`);
});

const TRACEBACK = [
  'Traceback (most recent call last):',
  '  File "/opt/spark/work-dir/job.py", line 12, in parse',
  '    return int(s)',
  "ValueError: invalid literal for int() with base 10: 'x'",
];

test('a Python traceback is one event: after a log4j line, chained, and under the logging.exception line that printed it', () => {
  const log4j = '24/11/21 06:20:00 INFO SparkContext: Starting job: collect at job.py:30';
  const chain = [...TRACEBACK, '', 'The above exception was the direct cause of the following exception:', '', 'Traceback (most recent call last):', '  File "job.py", line 20, in <module>', 'RuntimeError: bad input'];
  const after = '24/11/21 06:20:01 INFO SparkContext: Invoking stop() from shutdown hook';
  assert.deepEqual(cut([log4j, ...chain, after].join('\n')), [log4j, chain.join('\n'), after]);
  const py = ['ERROR:etl:load failed', ...TRACEBACK];
  assert.deepEqual(cut([log4j, ...py, 'INFO:etl:retrying'].join('\n')), [log4j, py.join('\n'), 'INFO:etl:retrying']);
  const asctime = ['2024-11-21 06:20:00,123 - etl - ERROR - load failed', ...TRACEBACK];
  assert.deepEqual(cut(asctime.join('\n')), [asctime.join('\n')]);
  // Two uncaught tracebacks one after the other are two events.
  assert.deepEqual(cut([...TRACEBACK, ...TRACEBACK].join('\n')), [TRACEBACK.join('\n'), TRACEBACK.join('\n')]);
  const p = parseEvent(chain.join('\n'), utc);
  assert.equal(p.level, 'ERROR');
  assert.equal(p.exception, 'RuntimeError');
});

test('JVM output without a layout: an uncaught exception with its frames is one event, GC lines each their own', () => {
  const oom = ['Exception in thread "main" java.lang.OutOfMemoryError: Java heap space', '\tat java.base/java.util.Arrays.copyOf(Arrays.java:3537)', '\tat dev.App.main(App.java:9)'];
  const before = '24/11/21 06:20:00 INFO Executor: Running task 0.0';
  const gc = ['[0.012s][info][gc] Using G1', '[0.512s][info][gc] GC(0) Pause Young (Normal) (G1 Evacuation Pause) 24M->4M(256M) 3.120ms'];
  const legacy = ['2024-11-21T06:20:00.123+0000: 0.123: [GC (Allocation Failure) [PSYoungGen: 33280K->5088K(38400K)] 33280K->5096K(125952K), 0.0041 secs]', '12.345: [Full GC (Ergonomics) 1024K->512K(4096K), 0.01 secs]', '[GC (Allocation Failure)  1024K->512K(4096K), 0.002 secs]'];
  assert.deepEqual(cut([before, ...oom, ...gc, ...legacy].join('\n')), [before, oom.join('\n'), ...gc, ...legacy]);
  assert.deepEqual(parseEvent(oom.join('\n'), utc), { level: 'ERROR', exception: 'java.lang.OutOfMemoryError', message: oom.join('\n') });
  for (const l of [...gc, ...legacy]) assert.equal(parseEvent(l, utc).logger, 'gc', l);
});

test('Java stack traces in their real forms stay one event: causes, suppressed, "... n more", log4j2 frame suffixes', () => {
  const header = '2024-11-21 06:20:00,123 ERROR [main] org.apache.flume.SinkRunner:158 - Unable to deliver event';
  const trace = [
    'org.apache.flume.EventDeliveryException: Failed to send events',
    '\tat org.apache.flume.sink.AbstractRpcSink.process(AbstractRpcSink.java:398) ~[flume-ng-core-1.11.0.jar:1.11.0]',
    '\tat java.lang.Thread.run(Thread.java:840) [?:?]',
    '\tSuppressed: java.io.IOException: close failed',
    '\t\tat org.apache.avro.ipc.NettyTransceiver.close(NettyTransceiver.java:401) ~[avro-ipc-1.10.2.jar:1.10.2]',
    '\t\t... 2 more',
    'Caused by: org.apache.flume.FlumeException: NettyAvroRpcClient { host: localhost, port: 1 }: RPC connection error',
    '\tat org.apache.flume.api.NettyAvroRpcClient.connect(NettyAvroRpcClient.java:182) ~[flume-ng-sdk-1.11.0.jar:1.11.0]',
    '\t... 1 more',
    'Caused by: java.net.ConnectException: Connection refused: localhost/127.0.0.1:1',
    '\tat sun.nio.ch.SocketChannelImpl.checkConnect(Native Method) ~[?:?]',
    '\t... 3 common frames omitted',
  ];
  const next = '2024-11-21 06:20:05,000 INFO  [main] org.apache.flume.SinkRunner:100 - retry';
  assert.deepEqual(cut([header, ...trace, next].join('\n')), [[header, ...trace].join('\n'), next]);
  assert.equal(parseEvent([header, ...trace].join('\n'), utc).exception, 'org.apache.flume.EventDeliveryException');
});

test('a trace cut at maxEventLines is marked as cut; the lines after it are events of their own', () => {
  const d = new FileDecoder({ format: 'plain', maxLineBytes: 64 * 1024, multiline: { isStart: startTest('timestamped'), isWhole: wholeTest(), maxLines: 3, maxBytes: 512 * 1024 } }, 0, newDecoderStats());
  const lines = ['24/11/21 06:20:00 ERROR Executor: failed', 'java.io.IOException: x', '\tat a.B.c(B.java:1)', '\tat a.B.d(B.java:2)', '\tat a.B.e(B.java:3)'];
  d.push(Buffer.from(`${lines.join('\n')}\n24/11/21 06:20:01 INFO Executor: next\n`), 0);
  d.flush(0);
  const evs = d.take();
  assert.deepEqual(evs.map((e) => e.m), [`${lines.slice(0, 3).join('\n')}${TRUNCATION_MARKER}`, lines.slice(3).join('\n'), '24/11/21 06:20:01 INFO Executor: next']);
  assert.deepEqual(evs.map((e) => e.tr), [1, undefined, undefined]);
});

test('the generic profile (every line an event but a Java trace\'s): the exception line, frames and causes stay with the line before', () => {
  const d = new FileDecoder({ format: 'plain', maxLineBytes: 64 * 1024, multiline: { isStart: startTest('continuation'), maxLines: 1000, maxBytes: 512 * 1024 } }, 0, newDecoderStats());
  const trace = ['request failed', 'org.example.RpcException: timeout', '\tat o.e.Rpc.call(Rpc.java:9) ~[rpc-1.0.jar:1.0]', 'Caused by: java.net.SocketTimeoutException: Read timed out', '\t... 4 more'];
  d.push(Buffer.from(`plain line\n${trace.join('\n')}\nException in thread "main" java.lang.Error: x\nnext\n`), 0);
  d.flush(0);
  assert.deepEqual(d.take().map((e) => e.m), ['plain line', trace.join('\n'), 'Exception in thread "main" java.lang.Error: x', 'next']);
});
