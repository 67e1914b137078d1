// A4: an item Elasticsearch refuses for good (a mapping conflict: the day's
// index was created by someone else with `message` as a number) and Kafka
// records that cannot be decoded both go to the dead-letter topic with the
// reason in headers; everything else is stored exactly; the partitions move
// on (the group's lag reaches 0) and every drop is counted.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { dailyIndex, decodeBatch, kafkaKey } from '../../contract/index.js';
import { testStack, uniqueNames } from '../helpers/stack.js';
import {
  batches, cleanup, es, expected, groupLag, lineCount, metric, produce, readTopic, seen, source, startAggregator, stopAggregator, storedLines, T0, waitUntil,
} from './harness.js';

const { brokers, esUrl } = testStack();
const n = uniqueNames('agg-a4');
after(() => (process.env.KEEP ? undefined : cleanup(esUrl, n)));

test('A4: mapping conflict and undecodable records are dead-lettered, the partition keeps moving', { timeout: 180_000 }, async () => {
  const appId = 'spark-a4a4a4a4';
  const good = batches(source(appId, '1'), 300, 50);
  const nextDay = T0 + 86_400_000;
  const conflicting = batches(source(appId, '2'), 30, 10, 0, nextDay);
  // The day's index exists already with a mapping the documents do not fit.
  const setup = startAggregator(n, brokers, esUrl, {}, ['setup']);
  assert.equal((await setup.exited).code, 0);
  const created = await es<{ acknowledged?: boolean }>(esUrl, `/${dailyIndex(n, nextDay)}`, { mappings: { properties: { message: { type: 'long' } } } }, 'PUT');
  assert.equal(created.acknowledged, true);

  const key = kafkaKey(source(appId, '1'));
  const raw = [
    { key, value: Buffer.from('this is not JSON') },
    { key, value: Buffer.from(JSON.stringify({ v: 2, src: {}, lines: [] })) },
    { key, value: Buffer.from(JSON.stringify({ v: 1, src: { appType: 'spark', appId: 'bad id with spaces' }, lines: [] })) },
  ];
  await produce(brokers, n.linesTopic, [...good.slice(0, 3), ...conflicting], raw);
  await produce(brokers, n.linesTopic, good.slice(3));

  const a = startAggregator(n, brokers, esUrl, { SPARKLOGS_LOG_LEVEL: process.env.AGG_LEVEL ?? 'info' });
  await a.waitFor('consuming', 60_000);
  await waitUntil('every record processed and committed', 60_000, async () => (await groupLag(brokers, n, `${n.prefix}-group`)) === 0);

  assert.equal(await lineCount(esUrl, n), 300);
  assert.deepEqual((await storedLines(esUrl, n, appId)).map(seen), expected(good));

  const dead = await readTopic(brokers, n.deadLetterTopic, 33, 30_000);
  assert.equal(dead.length, 33);
  const byCode = (c: string) => dead.filter((d) => d.headers['sparklogs-code'] === c);
  assert.equal(byCode('RECORD_NOT_JSON').length, 1);
  assert.equal(byCode('RECORD_BAD_VERSION').length, 1);
  assert.equal(byCode('RECORD_INVALID').length, 1);
  assert.match(byCode('RECORD_BAD_VERSION')[0]!.headers['sparklogs-reason']!, /unknown record version 2/);
  assert.equal(byCode('RECORD_NOT_JSON')[0]!.value?.toString(), 'this is not JSON');
  const refused = byCode('ITEM_REJECTED');
  assert.equal(refused.length, 30);
  assert.ok(refused.every((d) => /HTTP 400.*(document_parsing_exception|mapper_parsing_exception)/.test(d.headers['sparklogs-reason']!)), refused[0]?.headers['sparklogs-reason']);
  // Each refused line comes back as a one-line batch in the input format: fixable and re-producible.
  const lines = refused.map((d) => decodeBatch(d.value)).flatMap((b) => b.lines.map((l) => ({ src: b.src.executorId, off: l.off, m: l.m })));
  assert.deepEqual(lines.sort((x, y) => x.off - y.off), conflicting.flatMap((b) => b.lines.map((l) => ({ src: '2', off: l.off, m: l.m }))));
  assert.match(refused[0]!.headers['sparklogs-source']!, new RegExp(`^${n.linesTopic.replace(/\./g, '\\.')}/\\d+/\\d+$`));

  assert.equal(await metric(a, 'sparklogs_aggregator_lines_dead_lettered_total', 'code="ITEM_REJECTED"'), 30);
  assert.equal(await metric(a, 'sparklogs_aggregator_records_dead_lettered_total'), 3);
  assert.equal(await metric(a, 'sparklogs_aggregator_lines_indexed_total'), 300);
  assert.equal((await stopAggregator(a)).code, 0);
});
