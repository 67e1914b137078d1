// The API's line formatting helpers on their own (no store needed): the time
// formatter that keeps a minute's text must write exactly what toISOString
// writes, and cursors encoded a page at a time must decode to each line's
// position, as the per-line encoder's do.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeCursor, decodePositions, encodeCursor, encodeCursors, encodePositions, parseSequenceKey, sequenceKey, type Positions, type SortValues } from '../../query-api/cursor.js';
import { formatText, isoTime } from '../../query-api/lines.js';

test('isoTime writes what toISOString writes, across minute, day and year edges and in any order', () => {
  const times = [0, -1, 59_999, 60_000, 60_001, -60_000, -60_001, 86_399_999, 86_400_000, 1_796_048_793_000, 253_402_300_799_999, 253_402_300_800_000, 8.64e15, -8.64e15, -62_167_219_200_001];
  let t = 1_700_000_000_000;
  // Lines of a page: mostly in one minute, sometimes across it, sometimes back in time (an app's interleaved executors).
  for (let i = 0; i < 5_000; i++) times.push((t += (i * 7919) % 4_001 - (i % 13 === 0 ? 90_000 : 0)));
  for (const x of times) assert.equal(isoTime(x), new Date(x).toISOString(), `time ${x}`);
  assert.equal(isoTime(1.5), new Date(1.5).toISOString());
  assert.throws(() => isoTime(NaN), RangeError);
  assert.throws(() => isoTime(8.64e15 + 1), RangeError);
  assert.equal(formatText({ time: 1_796_048_793_123, level: 'WARN', executorId: '3', logger: 'a.B', message: 'm' }, true), '2026-11-30T14:26:33.123Z WARN  [3] a.B: m\n');
  // A line of a whole-stream capture is marked with its stream, with the executor column and without it.
  assert.equal(formatText({ time: 1_796_048_793_123, executorId: '3', log: 'stdout', message: 'println' }, true), '2026-11-30T14:26:33.123Z -     [3/stdout] println\n');
  assert.equal(formatText({ time: 1_796_048_793_123, executorId: '3', log: 'stderr', message: 'e' }, false), '2026-11-30T14:26:33.123Z -     [stderr] e\n');
  assert.equal(formatText({ time: 1_796_048_793_123, executorId: '3', message: 'm' }, false), '2026-11-30T14:26:33.123Z -     m\n');
});

test('encodeCursors: every cursor of a page decodes to its line\'s position; non-ASCII ids too', () => {
  const sorts: SortValues[] = [];
  for (let i = 0; i < 1_000; i++) sorts.push([[null, 'stderr', 'stdout'][i % 3]!, i % 3, i * 131, `lid${'x'.repeat(i % 7)}${i}`]);
  const cursors = encodeCursors('file', sorts);
  assert.equal(cursors.length, sorts.length);
  cursors.forEach((c, i) => {
    assert.match(c, /^[A-Za-z0-9_-]+$/);
    assert.deepEqual(decodeCursor('after', c, 'file'), sorts[i]);
  });
  const odd: SortValues[] = [[1_700_000_000_000, 1, 2, 'é'], [1_700_000_000_001, 0, 5, 'a"b\\c']];
  encodeCursors('time', odd).forEach((c, i) => assert.deepEqual(decodeCursor('after', c, 'time'), odd[i]));
  assert.deepEqual(encodeCursors('time', []), []);
  // A cursor of one order is refused by another, as encodeCursor's is.
  assert.throws(() => decodeCursor('after', encodeCursors('file', [[null, 0, 1, 'a']])[0]!, 'time'), /does not belong/);
  assert.deepEqual(decodeCursor('after', encodeCursor('file', [null, 0, 1, 'a']), 'file'), [null, 0, 1, 'a']);
});

test("'file' cursors: the capture leads (null: the log file); one of a release before captures is a log file line; others are refused", () => {
  assert.deepEqual(decodeCursor('after', encodeCursor('file', ['stdout', 2, 10, 'a']), 'file'), ['stdout', 2, 10, 'a']);
  // A permalink kept from before captures: (fileSeq, off, lid).
  assert.deepEqual(decodeCursor('after', encodeCursor('file', [0, 1, 'a']), 'file'), [null, 0, 1, 'a']);
  for (const bad of [['syslog', 0, 1, 'a'], [1, 0, 1, 'a'], [null, 'x', 1, 'a'], [null, 0, 1], [null, null, 0, 1, 'a'], ['stdout', 0, 1, 2]]) {
    assert.throws(() => decodeCursor('after', encodeCursor('file', bad as SortValues), 'file'), /not a cursor returned by this API/, JSON.stringify(bad));
  }
});

test('follow positions: keyed by sequence (executor, or executor/capture); an older client\'s executor keys read as they are', () => {
  const pos = { '1': [0, 10, 3], '1/stdout': [1, 5, 0], 'driver/stderr': [2, 0], '7': [0, 0] } as const;
  assert.deepEqual(decodePositions('cursor', encodePositions(pos as unknown as Positions), 10), pos);
  assert.deepEqual(sequenceKey({ executorId: '1' }), '1');
  assert.deepEqual(sequenceKey({ executorId: '1', log: 'stdout' }), '1/stdout');
  assert.deepEqual(parseSequenceKey('driver/stderr'), { executorId: 'driver', log: 'stderr' });
  assert.deepEqual(parseSequenceKey('driver'), { executorId: 'driver' });
  const raw = (f: unknown) => Buffer.from(JSON.stringify({ f })).toString('base64url');
  for (const bad of [{ '1/syslog': [0, 1] }, { '1/': [0, 1] }, { '/stdout': [0, 1] }, { '1/stdout/x': [0, 1] }]) {
    assert.throws(() => decodePositions('cursor', raw(bad), 10), /not a follow cursor/, JSON.stringify(bad));
  }
  assert.throws(() => decodePositions('cursor', raw({ a: [0, 1], b: [0, 1], c: [0, 1] }), 2), /more than 2 sequences/);
});

test('one position has one cursor: encodeCursor gives what encodeCursors gives for it (the page finds a linked line by its cursor)', () => {
  const sorts: SortValues[] = [[1_700_000_000_000, 1, 2, 'é'], [1_700_000_000_001, 0, 5, 'a"b\\c']];
  for (let i = 0; i < 12; i++) sorts.push([1_700_000_000_000 + i, i, i * 17, `lid${'x'.repeat(i)}`]);
  const page = encodeCursors('time', sorts);
  sorts.forEach((s, i) => assert.equal(encodeCursor('time', s), page[i], `position ${JSON.stringify(s)}`));
  const ascii = sorts.slice(2);
  encodeCursors('time', ascii).forEach((c, i) => assert.equal(c, encodeCursor('time', ascii[i]!)));
});
