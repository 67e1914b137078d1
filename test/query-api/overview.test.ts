// The page's overview routes over data the real aggregator stored: the log
// volume histogram adds up to the lines stored, per level; exceptions grouped
// by class point at their first event; the executor timeline has a bar per
// executor with how it ended; the apps list derives status from lifecycle
// facts and filters, sorts and pages. On the fixture's app and on a generated
// app of 200 executors with churn, OOM kills and failures.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { summaryId } from '../../contract/documents.js';
import { fixture, injectRetrying, type Fixture } from './fixture.js';
import { seedBigApp, type BigApp } from './big-app.js';

let f: Fixture;
let big: BigApp;
before(async () => {
  f = await fixture('overview');
  big = await seedBigApp(f);
});
after(async () => {
  await f?.close();
});

const get = async (url: string) => {
  const r = await injectRetrying(f.app, { url });
  return { status: r.statusCode, body: r.json() };
};
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
type Bucket = { t: number; total: number; levels: Record<string, number> };

test('histogram: bucket totals add up to the stored lines, per level, in at most the buckets asked', async () => {
  const r = await get(`/api/v1/apps/${f.appId}/histogram?buckets=30`);
  assert.equal(r.status, 200);
  const buckets = r.body.buckets as Bucket[];
  assert.ok(buckets.length >= 2 && buckets.length <= 31, `${buckets.length} buckets`);
  assert.equal(sum(buckets.map((b) => b.total)), f.expected.total);
  assert.equal(r.body.total, f.expected.total);
  assert.equal(sum(buckets.map((b) => b.levels.ERROR ?? 0)), sum(Object.values(f.expected.error)));
  assert.equal(sum(buckets.map((b) => b.levels.WARN ?? 0)), sum(Object.values(f.expected.warn)));
  assert.deepEqual(r.body.levels, ['INFO', 'WARN', 'ERROR']);
  for (let i = 1; i < buckets.length; i++) assert.equal(buckets[i]!.t - buckets[i - 1]!.t, r.body.interval);

  // Same filters as the lines: one executor, a time range, words.
  const one = await get(`/api/v1/apps/${f.appId}/executors/1/histogram`);
  assert.equal(one.body.total, f.expected.byExecutor['1']!.length);
  const from = f.t0 + 10_000;
  const to = f.t0 + 19_999;
  const ranged = await get(`/api/v1/apps/${f.appId}/histogram?from=${from}&to=${to}`);
  // 200 ms per line, three executors writing from t0: 50 lines each in those 10 s.
  assert.equal(ranged.body.total, 150);
  assert.ok((ranged.body.buckets as Bucket[]).every((b) => b.t >= from - ranged.body.interval && b.t <= to));
  const words = await get(`/api/v1/apps/${f.appId}/histogram?q=${encodeURIComponent('Connection refused')}`);
  assert.equal(words.body.total, sum(Object.values(f.expected.error)));

  const across = await get(`/api/v1/search/histogram?q=${encodeURIComponent('Connection refused')}&level=ERROR`);
  assert.equal(across.status, 200);
  // The fixture's app and the generated app's failed executors.
  assert.equal(across.body.total, sum(Object.values(f.expected.error)) + big.failed.length);

  assert.equal((await get('/api/v1/apps/spark-nothing-here/histogram')).status, 404);
  assert.equal((await get(`/api/v1/apps/${f.appId}/histogram?buckets=5`)).status, 400);
});

test('exceptions grouped by class, with the first event to open', async () => {
  const r = await get(`/api/v1/apps/${f.appId}/exceptions`);
  assert.equal(r.status, 200);
  assert.equal(r.body.distinct, 1);
  const [g] = r.body.exceptions as { exception: string; count: number; executors: number; first: { time: number; executorId: string; message: string; cursor: string } }[];
  assert.equal(g?.exception, 'java.lang.IllegalStateException');
  assert.equal(g?.count, sum(Object.values(f.expected.error)));
  assert.equal(g?.executors, 3);
  // The first ERROR: line 49 of each executor, logged at t0 + 9.8 s (Spark's layout keeps whole seconds).
  assert.equal(g?.first.time, f.t0 + 9_000);
  assert.match(g?.first.message ?? '', /^task 49 of executor/);
  const page = await get(`/api/v1/apps/${f.appId}/logs?size=1&after=${(await get(`/api/v1/apps/${f.appId}/logs?size=1&before=${g!.first.cursor}`)).body.next}`);
  assert.equal(page.body.lines[0].message.split('\n')[0], g?.first.message);

  const b = await get(`/api/v1/apps/${big.appId}/exceptions`);
  const byClass = Object.fromEntries((b.body.exceptions as { exception: string; count: number }[]).map((e) => [e.exception, e.count]));
  assert.deepEqual(byClass, { 'java.lang.OutOfMemoryError': big.oomKilled.length, 'java.lang.IllegalStateException': big.failed.length });
});

test('timeline: one bar per executor, coloured by how it ended, 200 executors', async () => {
  const r = await get(`/api/v1/apps/${big.appId}/timeline`);
  assert.equal(r.status, 200);
  type Bar = { executorId: string; start: number; end: number; lines: number; status: string; oomKilled: boolean; reason?: string };
  const bars = r.body.executors as Bar[];
  assert.equal(bars.length, big.executors + 1);
  assert.equal(r.body.status, 'running', 'the driver has not finished');
  assert.deepEqual(bars.filter((b) => b.oomKilled).map((b) => b.executorId), big.oomKilled);
  assert.deepEqual(bars.filter((b) => b.status === 'failed' && !b.oomKilled).map((b) => b.executorId), big.failed);
  assert.equal(bars.filter((b) => b.status === 'removed').length, big.executors - big.oomKilled.length - big.failed.length);
  for (const b of bars) {
    assert.equal(b.lines, big.perExecutor[b.executorId]);
    assert.ok(b.end > b.start && b.start >= r.body.from && b.end <= r.body.to);
  }

  const small = await get(`/api/v1/apps/${f.appId}/timeline`);
  assert.deepEqual((small.body.executors as Bar[]).map((b) => [b.executorId, b.status, b.lines]), [['driver', 'unknown', 120], ['1', 'unknown', 260], ['2', 'unknown', 260]]);
  assert.equal(small.body.status, 'unknown', 'no lifecycle facts: not guessed');
});

test('apps list: status from lifecycle facts, filters, sorting, paging', async () => {
  type Row = { appId: string; status: string; executors: number; errors: number; oomKilled: number; failedExecutors: number; duration: number; appName: string };
  const all = await get('/api/v1/app-list');
  assert.equal(all.status, 200);
  assert.equal(all.body.total, 2);
  const rows = all.body.apps as Row[];
  const b = rows.find((a) => a.appId === big.appId)!;
  assert.deepEqual([b.status, b.executors, b.oomKilled, b.failedExecutors, b.errors], ['running', big.executors + 1, big.oomKilled.length, big.oomKilled.length + big.failed.length, big.oomKilled.length + big.failed.length]);
  const s = rows.find((a) => a.appId === f.appId)!;
  assert.deepEqual([s.status, s.executors, s.errors], ['unknown', 3, sum(Object.values(f.expected.error))]);

  assert.deepEqual(((await get('/api/v1/app-list?status=running')).body.apps as Row[]).map((a) => a.appId), [big.appId]);
  assert.deepEqual(((await get('/api/v1/app-list?status=failed,succeeded')).body.apps as Row[]), []);
  assert.deepEqual(((await get('/api/v1/app-list?name=CHURN')).body.apps as Row[]).map((a) => a.appId), [big.appId]);
  assert.deepEqual(((await get(`/api/v1/app-list?name=${f.appId.slice(-6)}`)).body.apps as Row[]).map((a) => a.appId), [f.appId]);
  assert.equal((await get('/api/v1/app-list?namespace=other')).body.total, 0);
  assert.equal((await get('/api/v1/app-list?appType=flink')).body.total, 0);
  assert.equal((await get(`/api/v1/app-list?to=${f.t0 - 60_000}`)).body.total, 0);

  const byErrors = (await get('/api/v1/app-list?sort=errors&order=asc')).body.apps as Row[];
  assert.deepEqual(byErrors.map((a) => a.errors), [...byErrors.map((a) => a.errors)].sort((x, y) => x - y));
  const byDuration = (await get('/api/v1/app-list?sort=duration')).body.apps as Row[];
  assert.deepEqual(byDuration.map((a) => a.appId), [big.appId, f.appId], 'the generated app lasts longer');
  const p1 = await get('/api/v1/app-list?sort=duration&size=1');
  const p2 = await get('/api/v1/app-list?sort=duration&size=1&offset=1');
  assert.deepEqual([p1.body.apps[0].appId, p2.body.apps[0].appId, p1.body.total], [big.appId, f.appId, 2]);

  assert.equal((await get('/api/v1/app-list?status=broken')).status, 400);
  assert.equal((await get('/api/v1/app-list?sort=size')).status, 400);
});

test('the overview routes are in the OpenAPI description', async () => {
  const r = await f.app.inject({ url: '/docs/json' });
  const paths = Object.keys((r.json() as { paths: Record<string, unknown> }).paths);
  for (const p of ['/api/v1/app-list', '/api/v1/apps/{appId}/timeline', '/api/v1/apps/{appId}/histogram', '/api/v1/apps/{appId}/executors/{executorId}/histogram', '/api/v1/apps/{appId}/exceptions', '/api/v1/search/histogram']) {
    assert.ok(paths.includes(p), `${p} missing from the OpenAPI description`);
  }
});

test('apps list pages through thousands of apps: each once, in order, with the status filter applied before paging', async () => {
  // Summary and lifecycle documents as the aggregator and the pod watcher write them (no lines needed).
  const many = 2_000;
  const body: string[] = [];
  for (let i = 0; i < many; i++) {
    const appId = `spark-many-${String(i).padStart(5, '0')}`;
    const key = `spark/${appId}`;
    const t = f.t0 - 86_400_000 + i * 1_000;
    body.push(JSON.stringify({ index: { _index: f.n.appsIndex, _id: summaryId(key, 'first') } }), JSON.stringify({ kind: 'first', appType: 'spark', appId, namespace: 'batch', firstSeen: t }));
    body.push(JSON.stringify({ index: { _index: f.n.appsIndex, _id: summaryId(key, 'last') } }), JSON.stringify({ kind: 'last', appType: 'spark', appId, namespace: 'batch', lastSeen: t + 60_000 }));
    // Every 4th app's driver exited 1.
    body.push(JSON.stringify({ index: { _index: f.n.executorsIndex, _id: summaryId(`${key}/driver`, 'lifecycle') } }), JSON.stringify({ kind: 'lifecycle', appType: 'spark', appId, executorId: 'driver', role: 'driver', exitCode: i % 4 === 0 ? 1 : 0, startedAt: t, finishedAt: t + 60_000 }));
  }
  const res = await fetch(`${f.esUrl}/_bulk?refresh=true`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body: body.join('\n') + '\n' });
  assert.equal(((await res.json()) as { errors: boolean }).errors, false);

  const seen: string[] = [];
  for (let offset = 0; ; offset += 500) {
    const r = await get(`/api/v1/app-list?namespace=batch&sort=start&order=asc&size=500&offset=${offset}`);
    assert.equal(r.body.total, many);
    if (r.body.apps.length === 0) break;
    seen.push(...(r.body.apps as { appId: string }[]).map((a) => a.appId));
  }
  assert.equal(seen.length, many);
  assert.deepEqual(seen, [...seen].sort(), 'oldest first, each once');
  const failed = await get('/api/v1/app-list?namespace=batch&status=failed&size=500&offset=400');
  assert.equal(failed.body.total, many / 4);
  assert.equal(failed.body.apps.length, many / 4 - 400);
  assert.ok((failed.body.apps as { status: string }[]).every((a) => a.status === 'failed'));
  assert.equal((await get('/api/v1/app-list?namespace=batch&status=succeeded&size=1')).body.total, many - many / 4);
});
