// A2: a batch slower than the session timeout. The first instance stores a
// bulk and then stalls before committing for longer than its session (the
// test-only pauseAfterBulkMs knob); the group rebalances, a second instance
// processes the same records again, and the stalled instance's late commit is
// refused. Duplicates exist only at the Kafka level: the store is exact.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { testStack, uniqueNames } from '../helpers/stack.js';
import { batches, cleanup, expected, groupLag, lineCount, produce, seen, source, startAggregator, stopAggregator, storedLines, waitUntil } from './harness.js';

const { brokers, esUrl } = testStack();
const n = uniqueNames('agg-a2');
after(() => cleanup(esUrl, n));

test('A2: rebalance while a batch is slower than the session timeout: no visible duplicate', { timeout: 240_000 }, async () => {
  const appId = 'spark-a2a2a2a2';
  const bs = ['driver', '1', '2', '3'].flatMap((e) => batches(source(appId, e), 300, 50));
  const want = expected(bs);
  assert.equal((await startAggregator(n, brokers, esUrl, {}, ['setup']).exited).code, 0);
  await produce(brokers, n.linesTopic, bs);

  const slow = startAggregator(n, brokers, esUrl, { SPARKLOGS_SESSION_TIMEOUT_MS: '6000', SPARKLOGS_PAUSE_AFTER_BULK_MS: '15000', SPARKLOGS_BULK_MAX_DOCS: '100' });
  await slow.waitFor('pausingBeforeCommit', 60_000);
  const storedBySlow = await lineCount(esUrl, n);
  assert.ok(storedBySlow >= 100);

  const fast = startAggregator(n, brokers, esUrl);
  await fast.waitFor('consuming', 60_000);
  await waitUntil('the group to commit everything', 120_000, async () => (await groupLag(brokers, n, `${n.prefix}-group`)) === 0);
  assert.equal(await lineCount(esUrl, n), want.length);
  assert.deepEqual((await storedLines(esUrl, n, appId)).map(seen), want);

  slow.proc.kill('SIGKILL');
  await slow.exited;
  assert.equal((await stopAggregator(fast)).code, 0);
  // Stable: nothing arrives later from the stalled instance either.
  assert.equal(await lineCount(esUrl, n), want.length);
});
