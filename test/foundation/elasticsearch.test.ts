// Documents bulk-written through the aggregator's Elasticsearch sink, into an
// index made from the project's template, are found through the query API's
// store in file order; a document the strict mapping refuses is reported as
// rejected, not silently stored.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createEsSink } from '../../aggregator/sinks/elasticsearch.js';
import { createStore } from '../../query-api/store/elasticsearch.js';
import { dailyIndex, lineId, type LineDoc } from '../../contract/index.js';
import { testStack, uniqueNames } from '../helpers/stack.js';
import { markedRetriable, retrying } from '../helpers/wait.js';

const { esUrl } = testStack();
const n = uniqueNames('es');
after(async () => {
  await fetch(`${esUrl}/${n.linesIndexPattern}`, { method: 'DELETE' });
  await fetch(`${esUrl}/_index_template/${n.linesTemplate}`, { method: 'DELETE' });
  await fetch(`${esUrl}/_index_template/${n.summaryTemplate}`, { method: 'DELETE' });
});

test('index with the template, then search in order', async () => {
  const sink = createEsSink({ url: esUrl, names: n, requestTimeoutMs: 10_000 });
  // ES_UNAVAILABLE is retriable (Elasticsearch slow on a busy machine): tried again, bounded.
  const install = () => retrying(() => sink.installTemplates(), { what: 'installing the templates', retriable: markedRetriable });
  await install();
  await install(); // idempotent

  const src = { appType: 'spark', appId: 'spark-aa', executorId: '1', role: 'executor', podUid: 'uid-1', file: '/l/spark.log', fileId: 'f1', fileSeq: 2 };
  const t0 = Date.UTC(2026, 10, 21, 6, 20, 0);
  const docs: LineDoc[] = Array.from({ length: 50 }, (_, i) => ({
    '@timestamp': t0 + Math.floor(i / 10) * 1000, ingested: t0 + 5000, lid: lineId(src, i * 80),
    ...src, off: i * 80, level: i % 7 === 0 ? 'WARN' : 'INFO', logger: 'Executor', message: `line ${i}`,
  }));
  // Written in reverse: the store must return file order, not write order.
  const outcomes = await sink.bulk(docs.slice().reverse().map((d) => ({ index: dailyIndex(n, d['@timestamp']), id: d.lid, doc: d })));
  assert.ok(outcomes.every((o) => o.status === 'ok'), JSON.stringify(outcomes.find((o) => o.status !== 'ok')));

  const bad = await sink.bulk([{ index: dailyIndex(n, t0), id: 'bad', doc: { ...docs[0], lid: 'bad', surprise: 1 } }]);
  assert.equal(bad[0]?.status, 'reject');
  assert.match((bad[0] as { reason: string }).reason, /strict_dynamic_mapping_exception/);

  const store = createStore({ url: esUrl, names: n, requestTimeoutMs: 10_000 });
  await store.refresh();
  const page1 = await store.executorLines({ appId: 'spark-aa', executorId: '1' }, 30);
  assert.equal(page1.lines.length, 30);
  assert.ok(page1.next);
  const page2 = await store.executorLines({ appId: 'spark-aa', executorId: '1' }, 30, page1.next);
  assert.deepEqual([...page1.lines, ...page2.lines].map((l) => l.message), docs.map((d) => d.message));

  // Writing the same ids again changes nothing: still 50 documents.
  await sink.bulk(docs.map((d) => ({ index: dailyIndex(n, d['@timestamp']), id: d.lid, doc: d })));
  await store.refresh();
  const count = await (await fetch(`${esUrl}/${n.linesIndexPattern}/_count`)).json() as { count: number };
  assert.equal(count.count, 50);

  await sink.close();
  await store.close();
});
