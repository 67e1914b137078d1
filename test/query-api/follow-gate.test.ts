// The follow gate: a line is sent only when it is the next of its file, so a
// line that becomes visible after a later one of its executor is still sent,
// in order; a gap that never closes is reported and passed, never silently.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FollowGate, isNext, type GateLine } from '../../query-api/follow-gate.js';

const line = (executorId: string, n: number, fileSeq = 0, log?: string): GateLine => ({ executorId, fileSeq, off: n * 100, n, ...(log ? { log } : {}) });
const ns = (ls: GateLine[]) => ls.map((l) => `${l.executorId}${l.log ? `/${l.log}` : ''}:${l.fileSeq}/${l.n}`);

test('isNext: the next number of the same file, or the first of a later file; lines without a number pass', () => {
  assert.equal(isNext([0, 500, 5], line('1', 6)), true);
  assert.equal(isNext([0, 500, 5], line('1', 7)), false);
  assert.equal(isNext([0, 500, 5], line('1', 0, 1)), true);
  assert.equal(isNext([0, 500, 5], line('1', 3, 1)), false);
  assert.equal(isNext(undefined, line('1', 0)), true);
  assert.equal(isNext(undefined, line('1', 2)), false);
  assert.equal(isNext([0, 500], line('1', 9)), true, 'a position from a line without a number');
  assert.equal(isNext([0, 500, 5], { executorId: '1', fileSeq: 0, off: 900 }), true, 'a line from an older collector');
});

test('a gap holds that executor only; the lines are sent in order once the gap fills', () => {
  let now = 0;
  const gate = new FollowGate({ '1': [0, 0, 0], '2': [0, 0, 0] }, 60_000, () => now);
  // Executor 1's line 2 is not visible yet; executor 2 goes on.
  let r = gate.take([line('1', 1), line('1', 3), line('1', 4), line('2', 1), line('2', 2)]);
  assert.deepEqual(ns(r.send), ['1:0/1', '2:0/1', '2:0/2']);
  assert.deepEqual(r.missing, []);
  assert.equal(gate.holding, true);
  assert.deepEqual(gate.holds(), { '1': [0, 300, 3] }, 'only executor 1 lines before line 3 are asked for next');
  assert.deepEqual(gate.pos['1'], [0, 100, 1], 'the position stops before the gap');
  now = 500;
  r = gate.take([line('1', 2)]);
  assert.deepEqual(ns(r.send), ['1:0/2']);
  assert.equal(gate.holding, false);
  r = gate.take([line('1', 3), line('1', 4)]);
  assert.deepEqual(ns(r.send), ['1:0/3', '1:0/4']);
});

test('a gap still open after gapMs is reported with the missing numbers, then passed', () => {
  let now = 0;
  const gate = new FollowGate({ '1': [0, 0, 0] }, 1000, () => now);
  assert.deepEqual(ns(gate.take([line('1', 4)]).send), []);
  now = 999;
  assert.deepEqual(gate.take([line('1', 4)]).missing, []);
  now = 1000;
  const r = gate.take([line('1', 4)]);
  assert.deepEqual(r.send, []);
  assert.deepEqual(r.missing, [{ executorId: '1', fileSeq: 0, from: 1, to: 3 }]);
  assert.equal(gate.holds(), undefined, 'a passed gap asks for the lines after it again');
  assert.deepEqual(ns(gate.take([line('1', 4), line('1', 5)]).send), ['1:0/4', '1:0/5']);
  assert.equal(gate.holding, false);
});

test('an executor that appears later must start at its file\'s first line', () => {
  const gate = new FollowGate({}, 60_000, () => 0);
  assert.deepEqual(ns(gate.take([line('7', 1)]).send), []);
  assert.deepEqual(ns(gate.take([line('7', 0), line('7', 1)]).send), ['7:0/0', '7:0/1']);
});

test('an executor\'s log file and its captures are sequences of their own: a capture ahead hides no log line, a gap in one holds only that one', () => {
  let now = 0;
  // An older client's position: keyed by the executor id, it is the log file's.
  const gate = new FollowGate({ '3': [0, 400, 4] }, 1000, () => now);
  // The stdout capture (file #1) is visible up to line 2 before the log file's lines 5 and 6 are.
  let r = gate.take([line('3', 0, 1, 'stdout'), line('3', 1, 1, 'stdout'), line('3', 2, 1, 'stdout')]);
  assert.deepEqual(ns(r.send), ['3/stdout:1/0', '3/stdout:1/1', '3/stdout:1/2']);
  assert.deepEqual(gate.pos, { '3': [0, 400, 4], '3/stdout': [1, 200, 2] });
  r = gate.take([line('3', 5), line('3', 6), line('3', 0, 2, 'stderr'), line('3', 3, 1, 'stdout')]);
  assert.deepEqual(ns(r.send), ['3:0/5', '3:0/6', '3/stderr:2/0', '3/stdout:1/3']);
  // A gap in the stderr capture holds it alone.
  r = gate.take([line('3', 2, 2, 'stderr'), line('3', 7), line('3', 4, 1, 'stdout')]);
  assert.deepEqual(ns(r.send), ['3:0/7', '3/stdout:1/4']);
  assert.deepEqual(gate.holds(), { '3/stderr': [2, 200, 2] });
  now = 1000;
  r = gate.take([line('3', 2, 2, 'stderr')]);
  assert.deepEqual(r.missing, [{ executorId: '3', log: 'stderr', fileSeq: 2, from: 1, to: 1 }], 'the warning names the capture');
  assert.deepEqual(ns(gate.take([line('3', 2, 2, 'stderr')]).send), ['3/stderr:2/2']);
});
