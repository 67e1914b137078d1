// A log4j/logback conversion pattern compiles into the collector's cutter and
// the aggregator's parser at once (contract/pattern-layout.ts): the common
// patterns give every field, an unsupported conversion is named at start-up,
// and no pattern or line, however hostile, takes more than bounded time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileLayout, MAX_PATTERN_LENGTH, PatternError } from '../../contract/pattern-layout.js';
import { FileDecoder, newDecoderStats } from '../../collector/transforms/file-decoder.js';
import { startTest, wholeTest } from '../../collector/transforms/multiline.js';
import { parseEvent } from '../../aggregator/transforms/parse-event.js';
import { PatternCache } from '../../aggregator/transforms/pattern-cache.js';
import { lineItems } from '../../aggregator/transforms/to-documents.js';
import { ZonedClock } from '../../aggregator/transforms/zoned-time.js';
import { names } from '../../contract/names.js';
import { decodeBatch, encodeBatch, RecordDecodeError } from '../../contract/record.js';

const utc = new ZonedClock('UTC');
const at = (iso: string) => Date.parse(iso);
const REF = at('2024-11-21T07:00:00Z');

function parse(pattern: string, line: string) {
  const layout = compileLayout(pattern);
  return parseEvent(line, utc, { layout, ref: REF });
}

test('the patterns of real deployments: every field of the header', () => {
  // Hadoop's log4j.properties (log4j 1): ISO8601 with a space, %c without precision.
  assert.deepEqual(parse('%d{ISO8601} %-5p [%t] %c{2}: %m%n', '2024-11-21 06:20:00,123 INFO  [main] yarn.Client: Submitting application 7'), {
    time: at('2024-11-21T06:20:00.123Z'), level: 'INFO', thread: 'main', logger: 'yarn.Client', message: 'Submitting application 7',
  });
  // log4j2's ISO8601 prints the T; thread names with blanks stand in brackets.
  assert.deepEqual(parse('%d{ISO8601} %-5p [%t] %c{1}: %m%n', '2024-11-21T06:20:00,123 ERROR [Executor task launch worker for task 0.0 in stage 1.0 (TID 2)] Executor: Exception in task 0.0: boom'), {
    time: at('2024-11-21T06:20:00.123Z'), level: 'ERROR', thread: 'Executor task launch worker for task 0.0 in stage 1.0 (TID 2)', logger: 'Executor', message: 'Exception in task 0.0: boom',
  });
  // logback's documented default; the day comes from the collection time.
  assert.deepEqual(parse('%d{HH:mm:ss.SSS} [%thread] %-5level %logger{36} - %msg%n', '06:59:58.001 [pool-1-thread-3] WARN  c.e.orders.Loader - slow - 3 s'), {
    time: at('2024-11-21T06:59:58.001Z'), level: 'WARN', thread: 'pool-1-thread-3', logger: 'c.e.orders.Loader', message: 'slow - 3 s',
  });
  // Flume's: %C.%M of the caller (no %c): the logger is Class.method, as the built-in Flume header gives it.
  assert.deepEqual(parse('%d{dd MMM yyyy HH:mm:ss,SSS} %-5p [%t] (%C.%M:%L) %x - %m%n', '21 Nov 2024 06:20:00,123 INFO  [lifecycleSupervisor-1-0] (org.apache.flume.node.Application.startAllComponents:207)  - Starting Channel c1'), {
    time: at('2024-11-21T06:20:00.123Z'), level: 'INFO', thread: 'lifecycleSupervisor-1-0', logger: 'org.apache.flume.node.Application.startAllComponents', message: 'Starting Channel c1',
  });
  // Flink's: a logger padded to 60 and log4j2's empty NDC.
  assert.deepEqual(parse('%d{yyyy-MM-dd HH:mm:ss,SSS} %-5p %-60c %x - %m%n', '2024-11-21 06:20:00,123 INFO  org.apache.flink.runtime.taskexecutor.TaskExecutor           [] - Receive slot request'), {
    time: at('2024-11-21T06:20:00.123Z'), level: 'INFO', logger: 'org.apache.flink.runtime.taskexecutor.TaskExecutor', message: 'Receive slot request',
  });
  // Right-justified level, MDC keys, %C and %M (no %c: the logger is Class.method), %L, %%, a UTC date, the message with its own brackets and colons.
  assert.deepEqual(parse('[%d{yyyy-MM-dd HH:mm:ss.SSS}{UTC}] %5p 100%% %X{trace_id}/%X{user.name} %C{1}:%L [%M] %m%n%throwable', '[2024-11-21 06:20:00.500]  WARN 100% abc123/ann Loader:42 [load] got [x]: y'), {
    time: at('2024-11-21T06:20:00.500Z'), level: 'WARN', logger: 'Loader.load', mdc: { trace_id: 'abc123', user_name: 'ann' }, message: 'got [x]: y',
  });
});

test('date formats: named ones and SimpleDateFormat letters, offsets, zones', () => {
  const t = (pattern: string, line: string) => parse(pattern, line).time;
  assert.equal(t('%d %p %c - %m', '2024-11-21 06:20:00,123 INFO a.B - x'), at('2024-11-21T06:20:00.123Z'));
  assert.equal(t('%d{DEFAULT} %p %c - %m', '2024-11-21 06:20:00,123 INFO a.B - x'), at('2024-11-21T06:20:00.123Z'));
  assert.equal(t('%d{ABSOLUTE} %p %c - %m', '06:20:00,123 INFO a.B - x'), at('2024-11-21T06:20:00.123Z'));
  assert.equal(t('%d{DATE} %p %c - %m', '21 Nov 2024 06:20:00,123 INFO a.B - x'), at('2024-11-21T06:20:00.123Z'));
  assert.equal(t('%d{COMPACT} %p %c - %m', '20241121062000123 INFO a.B - x'), at('2024-11-21T06:20:00.123Z'));
  assert.equal(t('%d{ISO8601_BASIC} %p %c - %m', '20241121T062000,123 INFO a.B - x'), at('2024-11-21T06:20:00.123Z'));
  assert.equal(t('%d{UNIX_MILLIS} %p %c - %m', '1732170000123 INFO a.B - x'), 1732170000123);
  assert.equal(t('%d{UNIX} %p %c - %m', '1732170000 INFO a.B - x'), 1732170000000);
  assert.equal(t('%d{yy/MM/dd HH:mm:ss} %p %c{1}: %m%n%ex', '24/11/21 06:20:00 INFO Executor: x'), at('2024-11-21T06:20:00Z'));
  assert.equal(t("%d{yyyy-MM-dd'T'HH:mm:ss.SSSXXX} %p %c - %m", '2024-11-21T07:20:00.123+01:00 INFO a.B - x'), at('2024-11-21T06:20:00.123Z'));
  assert.equal(t('%d{yyyy-MM-dd HH:mm:ss.SSSZ} %p %c - %m', '2024-11-21 01:20:00.123-0500 INFO a.B - x'), at('2024-11-21T06:20:00.123Z'));
  assert.equal(t('%d{EEE MMM d hh:mm:ss a yyyy} %p %c - %m', 'Thu Nov 21 06:20:00 PM 2024 INFO a.B - x'), at('2024-11-21T18:20:00Z'));
  assert.equal(t('%d{MMM dd HH:mm:ss} %p %c - %m', 'Nov 21 06:20:00 INFO a.B - x'), at('2024-11-21T06:20:00Z'));
  // A zone option: the aggregator reads the date with a clock of that zone (without one, in its configured zone).
  assert.equal(t('%d{ISO8601}{Europe/Berlin} %p %c - %m', '2024-11-21 07:20:00,000 INFO a.B - x'), at('2024-11-21T07:20:00Z'));
  const berlin = new PatternCache().get('%d{ISO8601}{Europe/Berlin} %p %c - %m')!;
  assert.equal(parseEvent('2024-11-21 07:20:00,000 INFO a.B - x', utc, { ...berlin, ref: REF }).time, at('2024-11-21T06:20:00Z'));
  // An impossible date is no header.
  assert.equal(compileLayout('%d %p %c - %m').startsEvent('2024-13-45 06:20:00,123 INFO a.B - x'), true, 'the cutter checks the shape only');
  assert.equal(parse('%d %p %c - %m', '2024-13-45 06:20:00,123 INFO a.B - x').level, undefined);
});

test('modifiers, precision and conversions that carry no field', () => {
  for (const [pattern, line] of [
    ['%-20.30c %5.5p %m', 'org.example.Loader    ERROR x'],
    ['%.-10t %-5p %logger{1.} %m', 'main-thread INFO o.e.Loader x'],
    ['%r [%T] %sn %pid %-5level %lo - %m', '1234 [17] 5 4242 INFO  o.e.Loader - x'],
    ['%d %p %marker %cn %F %l %N - %m', '2024-11-21 06:20:00,123 INFO AUDIT app Loader.java o.e.Loader.load(Loader.java:12) 123456789 - x'],
  ] as const) {
    const p = parse(pattern, line);
    assert.ok(p.level, `${pattern} reads ${line}: ${JSON.stringify(p)}`);
    assert.equal(p.message, 'x', pattern);
  }
});

test('an unsupported or unusable pattern is refused with the conversion named', () => {
  const refused: [string, RegExp][] = [
    ['%d %q %m', /the conversion %q at column 4 is not supported/],
    ['%d %highlight{%-5p} %m', /%highlight at column 4: nested patterns/],
    ['%d %-5(%p %t) %m', /a % at column 4 is followed by no conversion name/],
    ['%d %red(%p) %m', /the conversion %red\(…\) at column 4 is not supported/],
    ['%d{yyyy-MM-dd QQ} %p %m', /the letter Q is not supported/],
    ["%d{yyyy-MM-dd 'T} %p %m", /a quote is not closed/],
    ['%d{ISO8601}{Mars/Olympus} %p %m', /unknown time zone "Mars\/Olympus"/],
    ['%d %p', /it has no %m/],
    ['%m%n', /no conversion before %m/],
    ['%d %p%n%m', /%n at column 6 comes before %m/],
    ['%d %level{WARN=W} %m', /renamed or shortened levels are not supported/],
    [`%d ${'x'.repeat(MAX_PATTERN_LENGTH)} %m`, /longer than 512 characters/],
  ];
  for (const [pattern, re] of refused) {
    assert.throws(() => compileLayout(pattern), (err: unknown) => err instanceof PatternError && err.code === 'PATTERN_INVALID' && re.test(err.message), pattern);
  }
  // Conversions after %m are checked too, though nothing after the message is read.
  assert.throws(() => compileLayout('%d %p %m %bogus'), /%bogus/);
});

test('cut and parsed with the same pattern: headers start events, their traces stay with them', () => {
  const pattern = '%d{ISO8601} %-5p [%t] %c{1}: %m%n';
  const lines = [
    '2024-11-21 06:20:00,123 INFO  [main] Loader: starting',
    '2024-11-21 06:20:01,000 ERROR [worker 1] Loader: failed: record 7',
    'java.io.IOException: gone',
    '\tat o.e.Loader.load(Loader.java:12)',
    'Caused by: java.lang.IllegalStateException: closed',
    '\t... 3 more',
    'a plain line a library printed',
    '2024-11-21 06:20:02,000 WARN  [main] Loader: retrying',
  ];
  const d = new FileDecoder({ format: 'plain', maxLineBytes: 64 * 1024, multiline: { isStart: startTest('timestamped', undefined, pattern), isWhole: wholeTest(), maxLines: 1000, maxBytes: 512 * 1024 } }, 0, newDecoderStats());
  d.push(Buffer.from(`${lines.join('\n')}\n`), REF);
  d.flush(REF);
  const events = d.take();
  assert.deepEqual(events.map((e) => e.m), [lines[0], lines.slice(1, 7).join('\n'), lines[7]]);
  const src = { appType: 'spark', appId: 'spark-1', executorId: '1', role: 'executor', file: '/x.log', fileId: 'f1', fileSeq: 0, pattern };
  const docs = lineItems({ v: 1, src, lines: events }, names('sparklogs'), utc).map((i) => i.doc);
  assert.deepEqual(docs.map((x) => [x.level, x.logger, x.thread, x.exception]), [['INFO', 'Loader', 'main', undefined], ['ERROR', 'Loader', 'worker 1', 'java.io.IOException'], ['WARN', 'Loader', 'main', undefined]]);
  assert.equal(docs[1]!['@timestamp'], at('2024-11-21T06:20:01Z'));
  // A pattern that does not compile (not from this collector) leaves the batch to the built-in layouts.
  const invalid: string[] = [];
  const cache = new PatternCache((err) => invalid.push(err.message));
  const plain = lineItems({ v: 1, src: { ...src, pattern: '%d %bogus %m' }, lines: events }, names('sparklogs'), utc, cache).map((i) => i.doc);
  lineItems({ v: 1, src: { ...src, pattern: '%d %bogus %m' }, lines: events }, names('sparklogs'), utc, cache);
  assert.equal(plain[1]!.level, 'ERROR');
  assert.equal(invalid.length, 1, 'reported once per pattern');
});

test('hostile patterns and lines fail in bounded time', () => {
  const long = 'a'.repeat(1 << 20);
  const cases: [string, string][] = [
    [`${'%t '.repeat(150)}%m`, long],
    [`${'%t '.repeat(150)}%m`, 'a '.repeat(1 << 19)],
    [`${'[%t]'.repeat(100)}%m`, '['.repeat(1 << 20)],
    [`${'%c.'.repeat(150)}%m`, '.'.repeat(1 << 20)],
    [`${'%X{k}:'.repeat(70)}%m`, `${'x:'.repeat(1 << 19)}`],
    ['%d{ISO8601} %-5p [%t] %c{1}: %m%n', `2024-11-21 06:20:00,123 INFO  [${'['.repeat(1 << 20)}`],
    ['%d{ISO8601} %-5p [%t] %c{1}: %m%n', `2024-11-21 06:20:00,123 INFO  ${' '.repeat(1 << 20)}`],
    [`%d %p ${'%x '.repeat(100)}%m`, `2024-11-21 06:20:00,123 INFO ${' '.repeat(1 << 20)}`],
  ];
  for (const [pattern, line] of cases) {
    const layout = compileLayout(pattern);
    // CPU time, not wall time: a busy machine must not fail it; backtracking would take minutes or more.
    const t0 = process.cpuUsage();
    for (let i = 0; i < 20; i++) layout.parse(line);
    const { user, system } = process.cpuUsage(t0);
    const ms = (user + system) / 1000;
    assert.ok(ms < 10_000, `${pattern.slice(0, 40)}: 20 hostile lines took ${ms.toFixed(0)} ms of CPU`);
  }
});

test("the record's src.pattern is optional and validated: old records still decode, a wrong one is refused", () => {
  const src = { appType: 'spark', appId: 'spark-1', executorId: '1', role: 'executor', file: '/x.log', fileId: 'f1', fileSeq: 0 };
  const lines = [{ off: 0, t: 1, m: 'x' }];
  assert.equal(decodeBatch(encodeBatch({ v: 1, src, lines })).src.pattern, undefined);
  assert.equal(decodeBatch(encodeBatch({ v: 1, src: { ...src, pattern: '%d %p %m' }, lines })).src.pattern, '%d %p %m');
  for (const pattern of ['', 'x'.repeat(MAX_PATTERN_LENGTH + 1), 7]) {
    assert.throws(() => decodeBatch(Buffer.from(JSON.stringify({ v: 1, src: { ...src, pattern }, lines }))), (err: unknown) => err instanceof RecordDecodeError && err.code === 'RECORD_INVALID' && /src\/pattern/.test(err.message));
  }
});
