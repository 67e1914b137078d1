// A9: a reader paging forward while the aggregator writes (the web page's
// polling with `after`, `sparklogs logs -f`) sees every line of an executor
// exactly once, in order. An executor's later lines must never become
// searchable before its earlier ones: a reader whose cursor passed them would
// never see the earlier lines (the freshness benchmark lost 3% of its lines
// that way with a version of the aggregator that kept two bulks of one
// partition in flight).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createStore } from '../../query-api/store/elasticsearch.js';
import type { SortValues } from '../../query-api/cursor.js';
import type { ApiError } from '../../query-api/errors.js';
import { testStack, uniqueNames } from '../helpers/stack.js';
import { batches, cleanup, es, expected, produce, source, startAggregator, stopAggregator } from './harness.js';

const { brokers, esUrl } = testStack();
const n = uniqueNames('agg-a9');
after(() => cleanup(esUrl, n));

test('A9: a reader paging forward during the writes sees every line once, in order', { timeout: 240_000 }, async () => {
  const appId = 'spark-a9a9a9a9';
  // One executor: one key, one partition, many small groups.
  const bs = batches(source(appId, '1'), 30_000, 100);
  const want = expected(bs).map((s) => `${s.off} ${s.message}`);
  assert.equal((await startAggregator(n, brokers, esUrl, {}, ['setup']).exited).code, 0);
  await produce(brokers, n.linesTopic, bs);

  const agg = startAggregator(n, brokers, esUrl, { SPARKLOGS_BULK_MAX_DOCS: '300', SPARKLOGS_PARTITIONS_CONCURRENCY: '4' });
  const store = createStore({ url: esUrl, names: n, requestTimeoutMs: 10_000 });
  const seen: string[] = [];
  let cursor: SortValues | undefined;
  let unavailable = 0;
  // A shard of a daily index the aggregator has just created answers 503 for a moment: a reader tries again.
  const tolerant = async <T>(f: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await f();
    } catch (err) {
      if (!/HTTP 503/.test((err as Error).message) || ++unavailable > 50) throw err;
      await new Promise((r) => setTimeout(r, 100));
      return undefined;
    }
  };
  const deadline = Date.now() + 180_000;
  try {
    while (seen.length < want.length && Date.now() < deadline) {
      // Refresh at arbitrary moments: whatever is stored becomes searchable now, as a reader would find it.
      if (!(await tolerant(() => es(esUrl, `/${n.linesIndexPattern}/_refresh`, undefined, 'POST')))) continue;
      const page = await store.lines({ appId, executorId: '1' }, { order: 'file', size: 2_000, ...(cursor ? { after: cursor } : {}) }).catch(async (err: ApiError) => {
        if (err.code !== 'STORE_UNAVAILABLE' || ++unavailable > 50) throw err;
        await new Promise((r) => setTimeout(r, 100));
        return undefined;
      });
      if (!page) continue;
      for (const l of page) seen.push(`${l.off} ${l.message}`);
      cursor = page.at(-1)?.sort ?? cursor;
      if (page.length === 0) {
        // Everything stored and nothing more after the cursor: what was skipped stays skipped.
        const counted = await tolerant(() => es<{ count: number }>(esUrl, `/${n.linesIndexPattern}/_count`));
        if (counted && counted.count >= want.length) break;
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  } finally {
    await store.close();
    await stopAggregator(agg);
  }
  assert.equal((await agg.exited).code, 0, agg.stderr.join('').slice(-500));
  // What the reader saw is exactly what was written: nothing skipped behind its cursor.
  assert.equal(seen.length, want.length, `the reader saw ${seen.length} of ${want.length} lines`);
  assert.deepEqual(seen, want);
});
