// Whole-stream captures (sidecar mode: the container's stdout or stderr as a
// plain file the sidecar tails) become a sequence of their own: their lines
// carry `log` = the source's stream. A log file's lines and a CRI file's
// lines (one file interleaving both streams, a stream per line) have none;
// `stream` stays the line's own stream, else the source's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lineItems } from '../../aggregator/transforms/to-documents.js';
import { ZonedClock } from '../../aggregator/transforms/zoned-time.js';
import { names, type Batch } from '../../contract/index.js';

const clock = new ZonedClock('UTC');
const n = names('captures-unit');
const src = (over: Partial<Batch['src']> = {}): Batch['src'] => ({ appType: 'spark', appId: 'spark-cap', executorId: '3', role: 'executor', file: '/var/log/spark/executor.log', fileId: 'f1', fileSeq: 0, ...over });
const t = Date.UTC(2026, 0, 15, 6, 20, 0);

test('a capture\'s lines carry `log` (its stream); a log file\'s and a CRI file\'s do not', () => {
  const logFile = lineItems({ v: 1, src: src(), n: 0, lines: [{ off: 0, t, m: '26/01/15 06:20:00 INFO Executor: started' }] }, n, clock);
  assert.equal(logFile[0]!.doc.log, undefined);
  assert.equal(logFile[0]!.doc.stream, undefined);

  const stdout = lineItems({ v: 1, src: src({ stream: 'stdout', file: '/var/log/spark/stdout', fileId: 'f2', fileSeq: 1 }), n: 4, lines: [{ off: 0, t, m: 'hello from println' }, { off: 19, t, m: 'again' }] }, n, clock);
  assert.deepEqual(stdout.map((i) => [i.doc.log, i.doc.stream, i.doc.n]), [['stdout', 'stdout', 4], ['stdout', 'stdout', 5]]);

  const stderr = lineItems({ v: 1, src: src({ stream: 'stderr', file: '/var/log/spark/stderr', fileId: 'f3', fileSeq: 2 }), n: 0, lines: [{ off: 0, t, m: 'warning: x' }] }, n, clock);
  assert.deepEqual([stderr[0]!.doc.log, stderr[0]!.doc.stream], ['stderr', 'stderr']);

  const cri = lineItems({ v: 1, src: src({ file: '/var/log/pods/x/spark/0.log', fileId: 'f4' }), n: 0, lines: [{ off: 0, t, m: 'out', s: 'stdout' }, { off: 60, t, m: 'err', s: 'stderr' }] }, n, clock);
  assert.deepEqual(cri.map((i) => [i.doc.log, i.doc.stream]), [[undefined, 'stdout'], [undefined, 'stderr']]);
});
