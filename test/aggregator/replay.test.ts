// The binary end to end: `setup` creates the topics and templates; `run`
// stores collector batches of three executors exactly (count, content, order
// by (fileSeq, off)) with their summary documents; SIGTERM exits cleanly with
// everything committed; and a second group replaying the topic from offset 0
// leaves the number of stored documents and their content unchanged.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { testStack, uniqueNames } from '../helpers/stack.js';
import { BIN, batches, cleanup, es, expected, groupLag, lineCount, produce, seen, source, startAggregator, stopAggregator, storedLines, waitUntil } from './harness.js';

const { brokers, esUrl } = testStack();
const n = uniqueNames('agg-replay');
after(() => cleanup(esUrl, n));

test('setup, consume, SIGTERM, then replay from offset 0 changes nothing', { timeout: 240_000 }, async () => {
  const env = { SPARKLOGS_KAFKA_BROKERS: brokers.join(','), SPARKLOGS_ES_URL: esUrl, SPARKLOGS_PREFIX: n.prefix, SPARKLOGS_PARTITIONS: '3', PATH: process.env.PATH };
  const s = spawnSync(process.execPath, [BIN, 'setup'], { env, encoding: 'utf8', timeout: 60_000 });
  assert.equal(s.status, 0, s.stderr + s.stdout);
  assert.match(s.stdout, /templatesInstalled/);
  const tpl = await es<{ index_templates: { name: string }[] }>(esUrl, `/_index_template/${n.prefix}-*`);
  assert.deepEqual(tpl.index_templates.map((t) => t.name).sort(), [n.linesTemplate, n.summaryTemplate]);
  // Idempotent: a second setup succeeds and changes nothing.
  assert.equal(spawnSync(process.execPath, [BIN, 'setup'], { env, encoding: 'utf8', timeout: 60_000 }).status, 0);

  const appId = 'spark-0123456789abcdef';
  const bs = ['driver', '1', '2'].flatMap((e) => batches(source(appId, e), 400, 50));
  await produce(brokers, n.linesTopic, bs);
  const want = expected(bs);

  const a = startAggregator(n, brokers, esUrl, { SPARKLOGS_BULK_MAX_DOCS: '300' });
  await a.waitFor('consuming', 60_000);
  await waitUntil('1200 stored lines', 90_000, async () => (await lineCount(esUrl, n)) >= want.length);
  const stored = await storedLines(esUrl, n, appId);
  assert.equal(stored.length, want.length);
  assert.deepEqual(stored.map(seen), want);
  assert.ok(stored.filter((d) => d.exception === 'java.lang.IllegalStateException').length > 100);
  assert.ok(stored.every((d) => d.pod === `etl-daily-exec-${d.executorId}` && d.logger === 'Executor' && d.timeClamped === undefined));

  await waitUntil('the group to commit everything', 30_000, async () => (await groupLag(brokers, n, `${n.prefix}-group`)) === 0);
  const t0 = Date.now();
  const r = await stopAggregator(a);
  assert.deepEqual(r, { code: 0, signal: null });
  assert.ok(Date.now() - t0 < 25_000);
  assert.ok(a.logs.some((l) => l.msg === 'shutdownComplete'));

  const summaries = async () => {
    await es(esUrl, `/${n.executorsIndex},${n.appsIndex}/_refresh`, undefined, 'POST');
    const r = await es<{ hits: { hits: { _id: string; _version: number; _source: Record<string, unknown> }[] } }>(esUrl, `/${n.executorsIndex},${n.appsIndex}/_search?version=true`, { size: 100, sort: [{ kind: 'asc' }] });
    return r.hits.hits.map((h) => ({ id: h._id, v: h._version, first: h._source.firstSeen, last: h._source.lastSeen })).sort((x, y) => x.id.localeCompare(y.id));
  };
  const before = await summaries();
  const firstTs = want.filter((w) => w.executorId === '1').map((w) => w.ts);
  assert.deepEqual(before.find((x) => x.id === `spark/${appId}/1/first`)?.first, Math.min(...firstTs));
  assert.deepEqual(before.find((x) => x.id === `spark/${appId}/1/last`)?.last, Math.max(...firstTs));
  assert.deepEqual(before.find((x) => x.id === `spark/${appId}/last`)?.last, Math.max(...want.map((w) => w.ts)));
  assert.equal(before.length, 8); // 3 executors + 1 app, first and last each

  // A new group starts from offset 0: every record is processed again.
  const replay = startAggregator(n, brokers, esUrl, { SPARKLOGS_GROUP_ID: `${n.prefix}-replay` });
  await replay.waitFor('consuming', 60_000);
  await waitUntil('the replay group to catch up', 90_000, async () => (await groupLag(brokers, n, `${n.prefix}-replay`)) === 0);
  assert.equal((await stopAggregator(replay)).code, 0);
  assert.equal(await lineCount(esUrl, n), want.length);
  assert.deepEqual((await storedLines(esUrl, n, appId)).map(seen), want);
  assert.deepEqual((await summaries()).map(({ id, first, last }) => ({ id, first, last })), before.map(({ id, first, last }) => ({ id, first, last })));
});
