// A1: the Kafka broker restarts while a batch is between its bulk write and
// its offset commit. The commit fails, the consumer reconnects by itself, the
// batch is replayed, and lines produced after the restart arrive too: no
// acknowledged line lost, none shown twice, a bounded stall.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startPrivateStack, type PrivateStack } from '../helpers/private-stack.js';
import { testStack, uniqueNames } from '../helpers/stack.js';
import { batches, cleanup, expected, groupLag, lineCount, produce, seen, source, startAggregator, stopAggregator, storedLines, waitUntil } from './harness.js';

const { esUrl } = testStack();
const n = uniqueNames('agg-a1');
let priv: PrivateStack | undefined;
after(async () => {
  await cleanup(esUrl, n);
  await priv?.destroy();
});

test('A1: Kafka restart mid-batch: nothing lost, nothing twice', { timeout: 400_000 }, async () => {
  priv = await startPrivateStack({ elasticsearch: false });
  const brokers = priv.brokers;
  const appId = 'spark-a1a1a1a1';
  const before = ['driver', '1'].flatMap((e) => batches(source(appId, e), 200, 50));
  const afterRestart = ['driver', '1'].flatMap((e) => batches(source(appId, e), 200, 50, 200));
  const a = startAggregator(n, brokers, esUrl, { SPARKLOGS_PAUSE_AFTER_BULK_MS: '3000', SPARKLOGS_BULK_MAX_DOCS: '100' });
  await a.waitFor('consuming', 90_000);
  await produce(brokers, n.linesTopic, before);
  await a.waitFor('pausingBeforeCommit', 60_000);

  const t0 = Date.now();
  await priv.stop('kafka');
  await priv.start('kafka');
  await produce(brokers, n.linesTopic, afterRestart);
  await waitUntil('the group to commit everything', 240_000, async () => (await groupLag(brokers, n, `${n.prefix}-group`).catch(() => -1)) === 0);
  const stall = Date.now() - t0;
  assert.equal(a.proc.exitCode, null, 'the aggregator rides out the restart');
  assert.equal(await lineCount(esUrl, n), 800);
  assert.deepEqual((await storedLines(esUrl, n, appId)).map(seen), expected([...before, ...afterRestart]));
  assert.equal((await stopAggregator(a)).code, 0);
  process.stderr.write(`A1: caught up ${stall} ms after the broker went down\n`);
});
