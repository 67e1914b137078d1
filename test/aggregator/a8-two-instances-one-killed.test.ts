// A8: two real aggregator processes share the group while collectors keep
// producing; one is killed with SIGKILL mid-stream. The survivor takes its
// partitions (after the session timeout) and the store ends exact: every
// line once, in (fileSeq, off) order.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { testStack, uniqueNames } from '../helpers/stack.js';
import { batches, cleanup, expected, groupLag, lineCount, metric, produce, seen, source, startAggregator, stopAggregator, storedLines, waitUntil } from './harness.js';

const { brokers, esUrl } = testStack();
const n = uniqueNames('agg-a8');
after(() => cleanup(esUrl, n));

test('A8: two instances, one killed with SIGKILL while lines keep arriving: exact', { timeout: 240_000 }, async () => {
  const appId = 'spark-a8a8a8a8';
  const executors = ['driver', '1', '2', '3', '4', '5'];
  const rounds = 16;
  const perRound = 50;
  const all = executors.map((e) => batches(source(appId, e), rounds * perRound, perRound));
  const want = expected(all.flat());
  const env = { SPARKLOGS_PARTITIONS: '4', SPARKLOGS_BULK_MAX_DOCS: '100' };
  assert.equal((await startAggregator(n, brokers, esUrl, env, ['setup']).exited).code, 0);

  const a = startAggregator(n, brokers, esUrl, env);
  const b = startAggregator(n, brokers, esUrl, env);
  await Promise.all([a.waitFor('consuming', 60_000), b.waitFor('consuming', 60_000)]);

  let killedAt = -1;
  for (let r = 0; r < rounds; r++) {
    await produce(brokers, n.linesTopic, all.map((bs) => bs[r]!));
    // Kill once the victim has stored something of its own, so it dies holding partitions mid-stream.
    if (killedAt < 0 && r >= rounds / 2 && (await metric(a, 'sparklogs_aggregator_lines_indexed_total')) > 0) {
      a.proc.kill('SIGKILL');
      killedAt = r;
    }
    await new Promise((res) => setTimeout(res, 150));
  }
  assert.ok(killedAt >= 0, 'the first instance never stored anything: the group did not share partitions');
  assert.equal((await a.exited).signal, 'SIGKILL');

  await waitUntil('the survivor to drain every partition', 120_000, async () => (await groupLag(brokers, n, `${n.prefix}-group`)) === 0);
  assert.equal(await lineCount(esUrl, n), want.length);
  assert.deepEqual((await storedLines(esUrl, n, appId)).map(seen), want);
  assert.equal((await stopAggregator(b)).code, 0);
});
