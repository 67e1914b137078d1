// A6: `kill -9` of the real aggregator after a bulk is stored and before its
// offsets are committed (the test-only pauseAfterBulkMs knob holds the process
// in exactly that window). The restarted aggregator replays the group and the
// store ends with every line exactly once, in order.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { testStack, uniqueNames } from '../helpers/stack.js';
import { batches, cleanup, expected, groupLag, lineCount, produce, seen, source, startAggregator, stopAggregator, storedLines, waitUntil } from './harness.js';

const { brokers, esUrl } = testStack();
const n = uniqueNames('agg-a6');
after(() => cleanup(esUrl, n));

test('A6: kill -9 between the bulk write and the offset commit, then restart: exact', { timeout: 600_000 }, async () => {
  const appId = 'spark-a6a6a6a6';
  const bs = ['driver', '1', '2'].flatMap((e) => batches(source(appId, e), 200, 40));
  const want = expected(bs);
  const setup = startAggregator(n, brokers, esUrl, {}, ['setup']);
  assert.equal((await setup.exited).code, 0);
  await produce(brokers, n.linesTopic, bs);

  const first = startAggregator(n, brokers, esUrl, { SPARKLOGS_PAUSE_AFTER_BULK_MS: '120000', SPARKLOGS_BULK_MAX_DOCS: '120' });
  await first.waitFor('pausingBeforeCommit', 60_000);
  // In the window: documents are in the store, nothing is committed yet.
  const storedBefore = await lineCount(esUrl, n);
  assert.ok(storedBefore >= 120, `stored ${storedBefore}`);
  assert.equal(await groupLag(brokers, n, `${n.prefix}-group`), bs.length);
  first.proc.kill('SIGKILL');
  assert.deepEqual(await first.exited, { code: null, signal: 'SIGKILL' });

  const second = startAggregator(n, brokers, esUrl);
  await second.waitFor('consuming', 60_000);
  await waitUntil('the group to catch up', 90_000, async () => (await groupLag(brokers, n, `${n.prefix}-group`)) === 0);
  assert.equal(await lineCount(esUrl, n), want.length);
  assert.deepEqual((await storedLines(esUrl, n, appId)).map(seen), want);
  assert.equal((await stopAggregator(second)).code, 0);
});
