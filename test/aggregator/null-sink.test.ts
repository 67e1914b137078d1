// The null sink (SPARKLOGS_SINK=null, the benchmarks' "own ceiling"): `setup`
// creates the topics without touching Elasticsearch (its URL points nowhere);
// `run` consumes the topic to zero lag, counting every line and committing
// its offsets, dead-letters an undecodable record as usual, stores nothing,
// and exits cleanly on SIGTERM. `retention` refuses the null sink.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { kafkaKey } from '../../contract/index.js';
import { testStack, uniqueNames } from '../helpers/stack.js';
import { BIN, batches, cleanup, es, groupLag, metric, produce, readTopic, source, startAggregator, stopAggregator, waitUntil } from './harness.js';

const { brokers, esUrl } = testStack();
const n = uniqueNames('agg-null');
after(() => cleanup(esUrl, n));

/** Nothing listens there: any attempt to reach Elasticsearch would fail. */
const NOWHERE = 'http://127.0.0.1:1';

test('null sink: setup creates the topics only; run consumes the topic to zero lag and stores nothing', { timeout: 600_000 }, async () => {
  const env = { PATH: process.env.PATH, SPARKLOGS_KAFKA_BROKERS: brokers.join(','), SPARKLOGS_ES_URL: NOWHERE, SPARKLOGS_PREFIX: n.prefix, SPARKLOGS_PARTITIONS: '2', SPARKLOGS_SINK: 'null' };
  const s = spawnSync(process.execPath, [BIN, 'setup'], { env, encoding: 'utf8', timeout: 60_000 });
  assert.equal(s.status, 0, s.stderr + s.stdout);
  assert.match(s.stdout, /topicsReady/);
  assert.match(s.stdout, /templatesSkipped/);
  assert.doesNotMatch(s.stdout, /templatesInstalled/);

  const appId = 'spark-nu11nu11';
  const bs = ['1', '2', '3'].flatMap((e) => batches(source(appId, e), 500, 50));
  const lines = bs.reduce((sum, b) => sum + b.lines.length, 0);
  await produce(brokers, n.linesTopic, bs, [{ key: kafkaKey(source(appId, '1')), value: Buffer.from('not a batch') }]);

  const a = startAggregator(n, brokers, NOWHERE, { SPARKLOGS_SINK: 'null', SPARKLOGS_BULK_MAX_DOCS: '200' });
  await a.waitFor('consuming', 60_000);
  await waitUntil('the null sink to consume the topic to zero lag', 60_000, async () => (await groupLag(brokers, n, `${n.prefix}-group`)) === 0);
  assert.equal(await metric(a, 'sparklogs_aggregator_lines_consumed_total'), lines);
  assert.equal(await metric(a, 'sparklogs_aggregator_lines_indexed_total'), lines);
  assert.equal(await metric(a, 'sparklogs_aggregator_records_dead_lettered_total'), 1);
  const dead = await readTopic(brokers, n.deadLetterTopic, 1, 30_000);
  assert.equal(dead[0]!.value?.toString(), 'not a batch');
  assert.deepEqual(await stopAggregator(a), { code: 0, signal: null });
  assert.ok(a.logs.some((l) => l.msg === 'shutdownComplete'));

  // Nothing reached the real store under this prefix: no templates, no indices.
  const tpl = await fetch(`${esUrl}/_index_template/${n.prefix}-*`);
  assert.ok(tpl.status === 404 || (await tpl.json() as { index_templates: unknown[] }).index_templates.length === 0);
  const indices = await es<unknown[]>(esUrl, `/_cat/indices/${n.prefix}-*?format=json&expand_wildcards=all`);
  assert.deepEqual(indices, []);

  const r = spawnSync(process.execPath, [BIN, 'retention', '--max-age-days', '7'], { env, encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /retention deletes stored indices, so it needs sink=elasticsearch/);
});
