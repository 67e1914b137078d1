// Issue 15's promise on real logs: every log4j event of the real-log corpus
// (test/layouts/make-corpus: Spark 3.5 and 4 in their default layout, Spark 4's
// structured logging with its switch from plain to JSON, a Flume agent with
// failing deliveries) comes out of the collector's cutting and the
// aggregator's parsing as exactly one event, with its time, level, logger,
// thread and exception right, checked against what log4j itself knew.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkCorpus } from './check-corpus.js';

test('the real-log corpus: every log4j event cut and parsed right', () => {
  const results = checkCorpus();
  for (const r of results) {
    assert.ok(r.total > 0, `${r.file}: no events in the corpus`);
    assert.deepEqual(r.bad.slice(0, 5), [], `${r.file}: ${r.good}/${r.total} right`);
  }
  const runs = new Set(results.map((r) => r.file.split('/')[0]));
  assert.ok(['spark-3.5-default', 'spark-4-default', 'spark-4-structured', 'flume-1.11'].every((r) => runs.has(r)), [...runs].join(', '));
  assert.ok(results.reduce((s, r) => s + r.total, 0) > 1000);
});
