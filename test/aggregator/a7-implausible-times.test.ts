// A7: timestamps far in the future or the past, or missing. Both times are
// kept (@timestamp, ingested); the clamp rule (parsed time more than 1 day
// after collection or 30 days before it -> collection time, timeClamped) keeps
// such lines in today's index and in their executor's order.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { dailyIndex, lineId } from '../../contract/index.js';
import { testStack, uniqueNames } from '../helpers/stack.js';
import { cleanup, es, groupLag, produce, source, startAggregator, stopAggregator, storedLines, T0, waitUntil } from './harness.js';

const { brokers, esUrl } = testStack();
const n = uniqueNames('agg-a7');
after(() => cleanup(esUrl, n));

test('A7: future, past and missing event times', { timeout: 120_000 }, async () => {
  const src = source('spark-a7a7a7a7', '1');
  const t = T0 + 123;
  const lines = [
    { off: 0, t, m: '24/11/21 06:20:00 INFO Executor: plausible' }, // parsed: far in the past relative to T0 (2026)
    { off: 100, t, m: '26/01/15 06:19:59 INFO Executor: one second early' },
    { off: 200, t, m: '26/01/17 06:20:00 WARN Executor: two days in the future' },
    { off: 300, t, m: 'no time at all' },
    { off: 400, t, m: '2025-12-01 06:20:00,000 INFO  org.x.Y [] - 45 days old' },
    { off: 500, t, m: '2026-01-01 06:20:00,000 INFO  org.x.Y [] - 14 days old: believed' },
  ];
  assert.equal((await startAggregator(n, brokers, esUrl, {}, ['setup']).exited).code, 0);
  await produce(brokers, n.linesTopic, [{ v: 1, src, lines }]);
  const a = startAggregator(n, brokers, esUrl);
  await a.waitFor('consuming', 60_000);
  await waitUntil('committed', 60_000, async () => (await groupLag(brokers, n, `${n.prefix}-group`)) === 0);
  const stored = await storedLines(esUrl, n, src.appId);
  assert.deepEqual(stored.map((d) => ({ off: d.off, ts: d['@timestamp'], ingested: d.ingested, clamped: d.timeClamped ?? false, level: d.level })), [
    { off: 0, ts: t, ingested: t, clamped: true, level: 'INFO' },
    { off: 100, ts: Date.UTC(2026, 0, 15, 6, 19, 59), ingested: t, clamped: false, level: 'INFO' },
    { off: 200, ts: t, ingested: t, clamped: true, level: 'WARN' },
    { off: 300, ts: t, ingested: t, clamped: false, level: undefined },
    { off: 400, ts: t, ingested: t, clamped: true, level: 'INFO' },
    { off: 500, ts: Date.UTC(2026, 0, 1, 6, 20), ingested: t, clamped: false, level: 'INFO' },
  ]);
  // Each line lives in the daily index of its @timestamp.
  const doc = await es<{ _index: string }>(esUrl, `/${dailyIndex(n, Date.UTC(2026, 0, 1))}/_doc/${lineId(src, 500)}`);
  assert.equal(doc._index, dailyIndex(n, Date.UTC(2026, 0, 1)));
  assert.equal((await stopAggregator(a)).code, 0);
});
