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
};

for (const [layout, header] of Object.entries(HEADERS)) {
  const json = header.startsWith('{');
  test(`${layout}: the header starts an event, the aggregator reads its level, and ${json ? 'the object is a whole event: lines after it are not joined to it' : 'a stack trace after it is the same event'}`, () => {
    assert.ok(startsEvent(header), header);
    assert.ok(parseEvent(header, utc).level, `the aggregator reads a level from ${header}`);
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
