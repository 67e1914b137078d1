// A3: Elasticsearch answers 429 for some items of a bulk. A private node with
// one write thread and a write queue of one rejects shard-level requests
// when a bulk touches many indices at once (here: events spread over 20
// days, one daily index each): those items, and only those, are retried with
// backoff; offsets are committed after all of them are stored.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startPrivateStack, type PrivateStack } from '../helpers/private-stack.js';
import { testStack, uniqueNames } from '../helpers/stack.js';
import { batches, expected, groupLag, lineCount, metric, produce, seen, source, startAggregator, stopAggregator, storedLines, T0, waitUntil } from './harness.js';

const { brokers } = testStack();
const n = uniqueNames('agg-a3');
let priv: PrivateStack | undefined;
after(() => priv?.destroy());

test('A3: items refused with 429 are retried alone until stored; exact', { timeout: 400_000 }, async () => {
  priv = await startPrivateStack({ kafka: false, esSettings: { 'thread_pool.write.size': '1', 'thread_pool.write.queue_size': '1' } });
  const appId = 'spark-a3a3a3a3';
  const bs = ['driver', '1', '2'].flatMap((e) => Array.from({ length: 20 }, (_, d) => batches(source(appId, e), 40, 40, d * 40, T0 - d * 86_400_000)).flat());
  const want = expected(bs);
  const a = startAggregator(n, brokers, priv.esUrl, { SPARKLOGS_BULK_MAX_DOCS: '2400', SPARKLOGS_RETRY_INITIAL_MS: '100', SPARKLOGS_LOG_LEVEL: 'debug' });
  await a.waitFor('consuming', 60_000);
  await produce(brokers, n.linesTopic, bs);
  await waitUntil('the group to commit everything', 120_000, async () => (await groupLag(brokers, n, `${n.prefix}-group`)) === 0);

  const retried = await metric(a, 'sparklogs_aggregator_bulk_retries_total', 'reason="rejected_for_now"');
  assert.ok(retried > 0, 'the node never answered 429: the scenario did not happen');
  // Only the refused items go again: some retry rounds resend part of a bulk, not all of it.
  const partial = a.logs.filter((l) => l.msg === 'bulkItemsRetry' && (l.items as number) < (l.of as number));
  assert.ok(partial.length > 0, 'no retry round resent a subset');
  assert.ok(a.logs.some((l) => l.msg === 'bulkItemsRetry' && /es_rejected_execution_exception/.test(String(l.reason))));
  assert.equal(await lineCount(priv.esUrl, n), want.length);
  assert.deepEqual((await storedLines(priv.esUrl, n, appId)).map(seen), want);
  assert.equal((await stopAggregator(a)).code, 0);
});
