// Each UTC day's line index exists before its first line (aggregator/index-ahead.ts):
// today's and tomorrow's are created from the template at start and every hour,
// a second replica's attempt finds them there, and a bulk into one is stored.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createIndicesAhead } from '../../aggregator/index-ahead.js';
import { createEsSink, StoreUnavailableError } from '../../aggregator/sinks/elasticsearch.js';
import { dailyIndex, lineId, type LineDoc } from '../../contract/index.js';
import { testStack, uniqueNames } from '../helpers/stack.js';
import { testLog } from '../helpers/log.js';
import { markedRetriable, retrying } from '../helpers/wait.js';
import { cleanup, es, startAggregator, stopAggregator } from './harness.js';

const { brokers, esUrl } = testStack();
const n = uniqueNames('agg-ahead');
const m = uniqueNames('agg-ahead-run');
after(async () => {
  await cleanup(esUrl, n);
  await cleanup(esUrl, m);
});

interface Mapping { mappings: { dynamic?: string; properties: Record<string, unknown> } }

test('across New Year: 2026.12.31 and 2027.01.01 made from the template; a second round creates nothing', { timeout: 120_000 }, async () => {
  const sink = createEsSink({ url: esUrl, names: n, requestTimeoutMs: 30_000 });
  await retrying(() => sink.installTemplates(), { what: 'installing the templates', retriable: markedRetriable });
  const now = Date.UTC(2026, 11, 31, 23, 30);
  const d = { sink, names: n, log: testLog, now: () => now };
  const wanted = [`${n.linesIndexPrefix}2026.12.31`, `${n.linesIndexPrefix}2027.01.01`];
  // A round that timed out on a busy machine is tried again; what it created may already be there.
  const created = await retrying(() => createIndicesAhead(d), { what: 'creating the indices ahead', retriable: markedRetriable });
  assert.ok(created.length > 0 && created.every((i) => wanted.includes(i)), `created ${JSON.stringify(created)}`);
  for (const index of wanted) {
    const got = await es<Record<string, Mapping>>(esUrl, `/${index}/_mapping`);
    assert.equal(got[index]?.mappings.dynamic, 'strict', `${index} has the lines template's strict mapping`);
    assert.ok('lid' in (got[index]?.mappings.properties ?? {}), `${index} maps the line id`);
  }
  assert.deepEqual(await createIndicesAhead(d), [], 'existing indices are left as they are');

  // The first line of the new day goes into the index made ahead.
  const src = { appType: 'spark', appId: 'spark-ahead', executorId: '1', role: 'executor', podUid: 'uid-1', file: '/l/spark.log', fileId: 'f1', fileSeq: 1 };
  const t = Date.UTC(2027, 0, 1, 0, 0, 1);
  const doc: LineDoc = { '@timestamp': t, ingested: t, lid: lineId(src, 0), ...src, off: 0, level: 'INFO', logger: 'Executor', message: 'first line of the year' };
  const out = await sink.bulk([{ index: dailyIndex(n, t), id: doc.lid, doc }]);
  assert.deepEqual(out, [{ status: 'ok' }]);
  await sink.close();
});

test('a store that does not answer: a retriable error, which the hourly round logs and tries again', { timeout: 60_000 }, async () => {
  const sink = createEsSink({ url: 'http://127.0.0.1:9', names: n, requestTimeoutMs: 2000 });
  await assert.rejects(createIndicesAhead({ sink, names: n, log: testLog }), (err: unknown) => err instanceof StoreUnavailableError && err.retriable);
  await sink.close();
});

test('the running aggregator creates today\'s and tomorrow\'s index at start', { timeout: 180_000 }, async () => {
  const a = startAggregator(m, brokers, esUrl);
  try {
    const logged = await a.waitFor('indicesCreatedAhead', 120_000);
    const now = Date.now();
    // Around midnight the day may turn between the aggregator's round and this line: either pair will do.
    const pairs = [now - 60_000, now].map((t) => [dailyIndex(m, t), dailyIndex(m, t + 86_400_000)]);
    assert.ok(pairs.some((p) => JSON.stringify(p) === JSON.stringify(logged.indices)), `logged ${JSON.stringify(logged.indices)}`);
    const listed = (await es<{ index: string }[]>(esUrl, `/_cat/indices/${m.linesIndexPattern}?format=json&h=index`)).map((x) => x.index).sort();
    assert.deepEqual(listed, logged.indices);
  } finally {
    await stopAggregator(a);
  }
});
