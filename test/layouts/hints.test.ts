// Detection per file (issue 15): the collector's cutting and the aggregator's
// parsing each remember, per file and stream, the layout of the last header
// they found and try it first; a line it does not take still goes through the
// full detection. Held here: the answers are the full detection's for every
// line and event of the real-log corpus and the samples, whatever layout is
// hinted; a file in one layout is detected once; a switch mid-file (Spark 4's
// executors going from plain lines to JSON, and back) is followed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FileDecoder, newDecoderStats } from '../../collector/transforms/file-decoder.js';
import { startTest, wholeTest } from '../../collector/transforms/multiline.js';
import { headerLayout, newHint, startsEvent, startsEventIn, type LayoutName } from '../../contract/layouts.js';
import { newParseHint, ParseHints, parseEvent, type ParserName } from '../../aggregator/transforms/parse-event.js';
import { ZonedClock } from '../../aggregator/transforms/zoned-time.js';

const utc = new ZonedClock('UTC');
const LAYOUTS: LayoutName[] = ['spark', 'iso', 'flume', 'time', 'json', 'gc', 'python', 'jvm', 'console'];
const PARSERS: ParserName[] = ['spark', 'flume', 'time', 'iso', 'bracketed', 'json', 'traceback', 'python', 'vmWarning'];

/** Every real log the tests hold: the corpus's files and the samples. */
function realLogs(): [string, string][] {
  const out: [string, string][] = [];
  const corpus = join(import.meta.dirname, 'corpus');
  for (const run of readdirSync(corpus).sort()) {
    for (const f of readdirSync(join(corpus, run)).filter((x) => x.endsWith('.log')).sort()) out.push([`${run}/${f}`, readFileSync(join(corpus, run, f), 'utf8')]);
  }
  const samples = join(import.meta.dirname, 'samples');
  for (const f of readdirSync(samples).filter((x) => x.endsWith('.log')).sort()) out.push([`samples/${f}`, readFileSync(join(samples, f), 'utf8')]);
  return out;
}

function decoder(format: 'plain' | 'auto' = 'plain'): FileDecoder {
  return new FileDecoder({ format, maxLineBytes: 256 * 1024, multiline: { isStart: startTest('timestamped'), isWhole: wholeTest(), maxLines: 1000, maxBytes: 512 * 1024 } }, 0, newDecoderStats());
}

function cut(text: string): { d: FileDecoder; events: string[] } {
  const d = decoder();
  d.push(Buffer.from(text), 0);
  d.flush(0);
  return { d, events: d.take().map((e) => e.m) };
}

test('whatever layout a file is hinted to be in, every line of every real log starts an event exactly when the full detection says so', () => {
  let lines = 0;
  for (const [name, text] of realLogs()) {
    let prev: string | undefined;
    for (const line of text.split('\n')) {
      const want = startsEvent(line, prev);
      for (const l of LAYOUTS) {
        const hint = { layout: l, detections: 0 };
        assert.equal(startsEventIn(hint, line, prev), want, `${name}, hinted ${l}: ${JSON.stringify(line.slice(0, 120))}`);
        // The hint moves only to the layout the line is a header of.
        if (hint.layout !== l) assert.equal(hint.layout, headerLayout(line, prev));
      }
      if (line !== '') prev = line;
      lines++;
    }
  }
  assert.ok(lines > 2000, `${lines} lines`);
});

test('whatever parser a file is hinted to be read by, every event of every real log parses as the full detection parses it', () => {
  let events = 0;
  for (const [name, text] of realLogs()) {
    const ref = Date.parse('2026-11-30T20:00:00Z');
    for (const ev of cut(text).events) {
      const want = parseEvent(ev, utc, { ref });
      for (const p of PARSERS) {
        assert.deepEqual(parseEvent(ev, utc, { ref, hint: { layout: p, detections: 0 } }), want, `${name}, hinted ${p}: ${JSON.stringify(ev.slice(0, 120))}`);
      }
      events++;
    }
  }
  assert.ok(events > 1500, `${events} events`);
});

test("a file in one layout is detected once by the cutter and once by the parser: a Spark executor's log, a Flink MiniCluster's, a Hadoop client's", () => {
  for (const [file, layout, parser] of [
    ['spark-3.5-default/executor-0.log', 'spark', 'spark'],
    ['flink-2.3/minicluster.log', 'iso', 'iso'],
    ['hadoop-3.4/client.log', 'iso', 'iso'],
    ['flume-1.11/agent.log', 'flume', 'flume'],
  ] as const) {
    const { d, events } = cut(readFileSync(join(import.meta.dirname, 'corpus', file), 'utf8'));
    assert.ok(events.length > 20, file);
    assert.deepEqual(d.layoutHint(), { layout, detections: 1 }, file);
    const hint = newParseHint();
    for (const e of events) parseEvent(e, utc, { hint });
    assert.deepEqual(hint, { layout: parser, detections: 1 }, file);
  }
});

test("a switch mid-file is followed: Spark's plain lines, its JSON objects, plain again; each event still cut and parsed right", () => {
  const plain = (s: number, msg: string) => `26/11/30 09:29:0${s} INFO Executor: ${msg}`;
  const json = (s: number, msg: string) => `{"ts":"2026-11-30T09:29:0${s}.123Z","level":"WARN","msg":"${msg}","logger":"Executor"}`;
  const text = [
    plain(1, 'one'), plain(2, 'two'), 'java.io.IOException: gone', '\tat x.Y.z(Y.java:1)', plain(3, 'three'),
    'Using Spark\'s default log4j profile: org/apache/spark/log4j2-defaults.properties',
    json(4, 'four'), json(5, 'five'), json(6, 'six'),
    plain(7, 'seven'), plain(8, 'eight'), '',
  ].join('\n');
  const { d, events } = cut(text);
  assert.deepEqual(events.map((e) => e.split('\n').length), [1, 3, 1, 1, 1, 1, 1, 1, 1]);
  // spark (the second line), console, spark again: each switch one full detection, every other header taken by the hint
  // (a JSON object is a whole event before any start test: it neither asks nor moves the hint).
  assert.deepEqual(d.layoutHint(), { layout: 'spark', detections: 3 });
  const hint = newParseHint();
  const parsed = events.map((e) => parseEvent(e, utc, { hint }));
  assert.deepEqual(parsed.map((p) => [p.level, p.logger, p.time]), [
    ['INFO', 'Executor', Date.parse('2026-11-30T09:29:01Z')], ['INFO', 'Executor', Date.parse('2026-11-30T09:29:02Z')], ['INFO', 'Executor', Date.parse('2026-11-30T09:29:03Z')],
    [undefined, undefined, undefined],
    ['WARN', 'Executor', Date.parse('2026-11-30T09:29:04.123Z')], ['WARN', 'Executor', Date.parse('2026-11-30T09:29:05.123Z')], ['WARN', 'Executor', Date.parse('2026-11-30T09:29:06.123Z')],
    ['INFO', 'Executor', Date.parse('2026-11-30T09:29:07Z')], ['INFO', 'Executor', Date.parse('2026-11-30T09:29:08Z')],
  ]);
  assert.equal(parsed[1]!.exception, 'java.io.IOException');
  // The parser: spark, json, spark (the console line is no header it reads: the hint stays).
  assert.deepEqual(hint, { layout: 'spark', detections: 3 });
  // The real switch: a Spark 4 executor with structured logging ends in JSON.
  const real = cut(readFileSync(join(import.meta.dirname, 'corpus', 'spark-4-structured', 'executor-0.log'), 'utf8'));
  const hint2 = newParseHint();
  for (const e of real.events) parseEvent(e, utc, { hint: hint2 });
  assert.equal(hint2.layout, 'json');
  assert.ok(real.d.layoutHint().detections <= 4 && hint2.detections <= 4, JSON.stringify([real.d.layoutHint(), hint2]));
});

test("a CRI log's two streams keep a hint each; the aggregator's hints are per file and stream, and bounded", () => {
  const d = decoder('auto');
  const cri = (s: string, m: string) => `2026-11-30T09:29:01.000000000Z ${s} F ${m}`;
  d.push(Buffer.from([cri('stdout', '{"ts":"2026-11-30T09:29:01Z","level":"INFO","msg":"a","logger":"x"}'), cri('stderr', '26/11/30 09:29:01 INFO Executor: a'), cri('stdout', '{"ts":"2026-11-30T09:29:02Z","level":"INFO","msg":"b","logger":"x"}'), cri('stderr', '26/11/30 09:29:02 INFO Executor: b'), cri('stderr', '26/11/30 09:29:03 INFO Executor: c'), ''].join('\n')), 0);
  d.flush(0);
  assert.equal(d.take().length, 5);
  assert.deepEqual([d.layoutHint('stderr'), d.layoutHint('stdout').layout], [{ layout: 'spark', detections: 1 }, undefined]);
  const hints = new ParseHints(3);
  const a = hints.get('f1', 'stderr');
  assert.notEqual(hints.get('f1', 'stdout'), a);
  assert.equal(hints.get('f1', 'stderr'), a);
  hints.get('f2');
  hints.get('f3');
  assert.equal(hints.size, 3);
  // f1/stdout was the longest unused: forgotten; f1/stderr kept.
  assert.equal(hints.get('f1', 'stderr'), a);
  a.layout = 'spark';
  assert.equal(hints.get('f1', 'stderr').layout, 'spark');
  assert.equal(newHint().detections, 0);
});
