// The HTTP API over data the real aggregator stored: order, cursor paging
// both ways, tail, filters, formats, app and executor views, search.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { fixture, injectRetrying, type Fixture } from './fixture.js';

let f: Fixture;
before(async () => {
  f = await fixture('api');
});
after(async () => {
  await f?.close();
});

// A 503 (store slow on a busy machine) is asked again, as the API documents; any other answer is asserted on.
const get = async (url: string) => {
  const r = await injectRetrying(f.app, { url });
  return { status: r.statusCode, body: r.headers['content-type']?.toString().startsWith('application/json') ? r.json() : r.body, headers: r.headers };
};
type Line = { message: string; executorId: string; time: number; cursor: string; level?: string; off: number; fileSeq: number };
const first = (m: string) => m.split('\n')[0];

test('one executor, paged forward to the end, is exactly what it wrote, in order', async () => {
  const seen: string[] = [];
  let after: string | undefined;
  for (let i = 0; i < 10; i++) {
    const r = await get(`/api/v1/apps/${f.appId}/executors/1/logs?size=100${after ? `&after=${after}` : ''}`);
    assert.equal(r.status, 200);
    const lines = r.body.lines as Line[];
    if (lines.length === 0) break;
    seen.push(...lines.map((l) => l.message.split('\n')[0] ?? ''));
    after = r.body.next;
  }
  assert.deepEqual(seen, f.expected.byExecutor['1']);
});

test('tail=N is the last N lines; paging back with before reaches the first line without overlap', async () => {
  const tail = await get(`/api/v1/apps/${f.appId}/executors/2/logs?tail=50`);
  assert.equal(tail.status, 200);
  const want = f.expected.byExecutor['2'] ?? [];
  assert.deepEqual((tail.body.lines as Line[]).map((l) => first(l.message)), want.slice(-50));
  const seen: string[] = (tail.body.lines as Line[]).map((l) => first(l.message) ?? '');
  let prev: string = tail.body.prev;
  for (;;) {
    const r = await get(`/api/v1/apps/${f.appId}/executors/2/logs?size=70&before=${prev}`);
    const lines = r.body.lines as Line[];
    if (lines.length === 0) break;
    seen.unshift(...lines.map((l) => first(l.message) ?? ''));
    prev = r.body.prev;
  }
  assert.deepEqual(seen, want);
});

test('a whole app is interleaved by event time, then file position', async () => {
  const r = await get(`/api/v1/apps/${f.appId}/logs?size=1000`);
  const lines = r.body.lines as Line[];
  assert.equal(lines.length, f.expected.total);
  for (let i = 1; i < lines.length; i++) assert.ok(lines[i - 1]!.time <= lines[i]!.time, `line ${i} out of time order`);
  // Every executor's own order is kept inside the interleaving.
  for (const [exec, msgs] of Object.entries(f.expected.byExecutor)) {
    assert.deepEqual(lines.filter((l) => l.executorId === exec).map((l) => first(l.message)), msgs);
  }
});

test('filters: minimum level, text (all words), time range', async () => {
  const warn = await get(`/api/v1/apps/${f.appId}/executors/1/logs?level=WARN&size=1000`);
  const levels = new Set((warn.body.lines as Line[]).map((l) => l.level));
  assert.deepEqual([...levels].sort(), ['ERROR', 'WARN']);
  assert.equal(warn.body.lines.length, (f.expected.warn['1'] ?? 0) + (f.expected.error['1'] ?? 0));

  const text = await get(`/api/v1/apps/${f.appId}/logs?q=${encodeURIComponent('task 17 executor')}&size=100`);
  assert.deepEqual((text.body.lines as Line[]).map((l) => l.executorId).sort(), ['1', '2', 'driver']);

  const from = f.t0 + 10_000;
  const to = f.t0 + 12_000;
  const range = await get(`/api/v1/apps/${f.appId}/executors/driver/logs?from=${from}&to=${new Date(to).toISOString()}`);
  // Spark prints whole seconds: 5 lines a second, seconds 10, 11 and 12 included.
  assert.equal(range.body.lines.length, 15);
  assert.ok((range.body.lines as Line[]).every((l) => l.time >= from && l.time <= to));
});

test('formats: ndjson and text carry the same lines, cursors in headers', async () => {
  const nd = await get(`/api/v1/apps/${f.appId}/executors/driver/logs?tail=5&format=ndjson`);
  assert.match(String(nd.headers['content-type']), /ndjson/);
  const rows = String(nd.body).trim().split('\n').map((l) => JSON.parse(l) as Line);
  assert.deepEqual(rows.map((l) => l.message), (f.expected.byExecutor.driver ?? []).slice(-5));
  assert.ok(nd.headers['sparklogs-next']);
  const txt = await get(`/api/v1/apps/${f.appId}/executors/1/logs?size=50&format=text`);
  assert.match(String(txt.headers['content-type']), /text\/plain/);
  const body = String(txt.body);
  assert.match(body, /^\d{4}-\d\d-\d\dT[\d:.]+Z INFO {2}Executor: task 0 of executor 1/);
  assert.ok(body.includes('\tat org.apache.spark.Shuffle.fetch'), 'stack trace kept in text');
});

test('app view: executors with role, pod, times, line/WARN/ERROR counts', async () => {
  const r = await get(`/api/v1/apps/${f.appId}`);
  assert.equal(r.status, 200);
  assert.equal(r.body.appName, 'etl-daily');
  const execs = r.body.executors as { executorId: string; role: string; pod: string; lines: number; warn: number; error: number; firstLine: number; lastLine: number; status: string }[];
  assert.deepEqual(execs.map((e) => e.executorId), ['driver', '1', '2']);
  for (const e of execs) {
    assert.equal(e.lines, f.expected.byExecutor[e.executorId]?.length);
    assert.equal(e.warn, f.expected.warn[e.executorId]);
    assert.equal(e.error, f.expected.error[e.executorId]);
    assert.equal(e.role, e.executorId === 'driver' ? 'driver' : 'executor');
    assert.ok(e.firstLine >= f.t0 && e.lastLine > e.firstLine);
    assert.equal(e.status, 'unknown');
  }
});

test('apps list and prefix search; app lifecycle shows once recorded', async () => {
  const list = await get('/api/v1/apps?size=10');
  assert.equal(list.status, 200);
  assert.ok((list.body.apps as { appId: string }[]).some((a) => a.appId === f.appId));
  const byPrefix = await get(`/api/v1/apps?prefix=${f.appId.slice(0, 10)}`);
  assert.deepEqual((byPrefix.body.apps as { appId: string }[]).map((a) => a.appId), [f.appId]);
  const none = await get('/api/v1/apps?prefix=nothing-like-this');
  assert.deepEqual(none.body.apps, []);

  await f.seeder.lifecycle(f.src('2'), { exitCode: 137, reason: 'OOMKilled', startedAt: f.t0, finishedAt: f.t0 + 60_000 });
  const app = await get(`/api/v1/apps/${f.appId}`);
  const e2 = (app.body.executors as { executorId: string; status: string; lifecycle?: { reason: string; exitCode: number } }[]).find((e) => e.executorId === '2');
  assert.equal(e2?.status, 'failed');
  assert.deepEqual([e2?.lifecycle?.reason, e2?.lifecycle?.exitCode], ['OOMKilled', 137]);
  assert.equal((e2?.lifecycle as { exitMeaning?: string } | undefined)?.exitMeaning, 'killed (SIGKILL)');
});

test('search across apps: text with highlights, escaped; Lucene only when asked', async () => {
  const r = await get(`/api/v1/search?q=${encodeURIComponent('Connection refused')}&appId=${f.appId}`);
  assert.equal(r.status, 200);
  const hits = r.body.hits as { line: Line; highlights: string[] }[];
  assert.equal(hits.length, Object.values(f.expected.error).reduce((a, b) => a + b, 0));
  assert.ok(hits.every((h) => h.highlights.some((x) => x.includes('<mark>Connection</mark>'))));
  // As text, `task 1*` is the words "task" and "1": no wildcard expansion.
  const asText = await get(`/api/v1/search?q=${encodeURIComponent('executor:1 OR task')}&appId=${f.appId}&size=1000`);
  assert.equal(asText.body.hits.length, 0, 'executor:1 OR task must be taken as words, not syntax');
  const q = 'block AND 119 AND NOT driver';
  assert.equal((await get(`/api/v1/search?q=${encodeURIComponent(q)}&appId=${f.appId}`)).body.hits.length, 0);
  const lucene = await get(`/api/v1/search?q=${encodeURIComponent(q)}&mode=lucene&appId=${f.appId}`);
  assert.equal(lucene.status, 200);
  assert.deepEqual((lucene.body.hits as { line: Line }[]).map((h) => h.line.executorId).sort(), ['1', '1', '2', '2']); // task 17 (block 119) and task 119
});

test('OpenAPI document lists every /api/v1 route; metrics count requests by route', async () => {
  const doc = await get('/docs/json');
  assert.equal(doc.status, 200);
  const paths = Object.keys(doc.body.paths);
  for (const p of ['/api/v1/apps', '/api/v1/apps/{appId}', '/api/v1/apps/{appId}/logs', '/api/v1/apps/{appId}/executors/{executorId}/logs', '/api/v1/apps/{appId}/follow', '/api/v1/apps/{appId}/download', '/api/v1/search']) {
    assert.ok(paths.includes(p), `${p} in OpenAPI`);
  }
  const m = await get('/metrics');
  assert.match(String(m.body), /sparklogs_http_requests_total\{route="\/api\/v1\/apps\/:appId\/executors\/:executorId\/logs",method="GET",status="200"\} \d+/);
});

test('Spark UI link redirects to the executor view; health and readiness', async () => {
  const r = await f.app.inject({ method: 'GET', url: `/spark/${f.appId}/3` });
  assert.equal(r.statusCode, 302);
  assert.equal(r.headers.location, `/#/apps/${f.appId}/logs?executor=3`);
  assert.equal((await get('/healthz')).status, 200);
  assert.equal((await get('/readyz')).status, 200);
  const page = await get('/');
  assert.match(String(page.body), /<html/i);
});

test('pages of lines and search hits match their response schemas exactly (no field missing, none extra)', async () => {
  // These routes serialise with JSON.stringify, not the schema's serialiser:
  // the schema must still describe every body, and nothing unlisted may leak
  // (the pod uid, file id, app name and namespace stay inside the store).
  const { Value } = await import('@sinclair/typebox/value');
  const { Line: LineSchema, LogsResponse, SearchResponse } = await import('../../query-api/schemas.js');
  const allowed = new Set(Object.keys(LineSchema.properties));
  const bodies = [
    [LogsResponse, (await get(`/api/v1/apps/${f.appId}/executors/1/logs?tail=20`)).body],
    [LogsResponse, (await get(`/api/v1/apps/${f.appId}/logs?size=50`)).body],
  ] as const;
  for (const [schema, body] of bodies) {
    assert.ok(Value.Check(schema, body), JSON.stringify([...Value.Errors(schema, body)].slice(0, 3)));
    assert.ok(body.lines.length > 0);
    for (const l of body.lines as Record<string, unknown>[]) {
      assert.deepEqual(Object.keys(l).filter((k) => !allowed.has(k)), []);
      assert.equal(typeof l.pod, 'string', 'pod is shown');
    }
  }
  const s = (await get(`/api/v1/search?q=${encodeURIComponent(first(f.expected.byExecutor['1']![0]!)!.split(' ').at(-1)!)}`)).body;
  assert.ok(Value.Check(SearchResponse, s), JSON.stringify([...Value.Errors(SearchResponse, s)].slice(0, 3)));
  assert.ok(s.hits.length > 0, 'the search finds the line');
  for (const h of s.hits as { line: Record<string, unknown> }[]) assert.deepEqual(Object.keys(h.line).filter((k) => !allowed.has(k)), []);
});
