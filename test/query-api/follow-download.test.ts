// Q3: following a live app over SSE: lines written after the stream started
// arrive, an executor that starts later is picked up, a client reconnecting
// with its last event id misses nothing and sees nothing twice, and the
// stream ends cleanly once the pods are gone (lifecycle finished + quiet).
// Q4: a download is streamed (bounded pages) and the client can stop early.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { readEvents, type SseEvent } from '../../query-api/cli/sse.js';
import { batchesOf, source } from '../helpers/seed.js';
import { SLOW_MS } from '../helpers/wait.js';
import { events, fixture, type Fixture } from './fixture.js';

let f: Fixture;
let base: string;
before(async () => {
  f = await fixture('follow', { followPollMs: 200, followQuietMs: 1500, followHeartbeatMs: 400, downloadPageSize: 100 }, { driver: 40, '1': 40 });
  await f.app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(f.app.server.address() as AddressInfo).port}`;
});
after(async () => {
  await f?.close();
});

type Line = { executorId: string; message: string };

/** Reads events until `until` says stop or the timeout passes (then the caller's assertions tell what was missing); returns them and the last id. */
async function collect(url: string, until: (got: Line[], ev: SseEvent) => boolean, timeoutMs: number, headers: Record<string, string> = {}) {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), timeoutMs);
  const got: Line[] = [];
  const evs: SseEvent[] = [];
  let lastId: string | undefined;
  try {
    const res = await fetch(url, { headers, signal: ctl.signal });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/);
    for await (const ev of readEvents(res.body!)) {
      evs.push(ev);
      if (ev.id) lastId = ev.id;
      if (ev.event === 'lines') got.push(...(JSON.parse(ev.data) as { lines: Line[] }).lines);
      if (until(got, ev)) break;
    }
  } catch (err) {
    if ((err as Error).name !== 'AbortError') throw err;
  } finally {
    clearTimeout(timer);
    ctl.abort();
  }
  return { got, evs, lastId };
}

const firstLine = (m: string) => m.split('\n')[0];

test('Q3: follow delivers new lines and late executors; resume by last id loses and repeats nothing; ends when the pods are gone', async () => {
  const url = `${base}/api/v1/apps/${f.appId}/follow?tail=3`;
  // Phase 1: connect, get the tail, then lines written after connecting.
  // Bounded in minutes: the new lines pass Kafka, the aggregator and a refresh first, slow on a busy machine.
  const phase1 = collect(url, (got) => got.length >= 3 + 30, SLOW_MS);
  await new Promise((r) => setTimeout(r, 600));
  const more1 = events('1', 30, f.t0, 40);
  await f.seeder.send(batchesOf(source(f.appId, '1'), more1.lines, 10));
  const p1 = await phase1;
  // The tail: the app's last 3 stored lines (driver and executor 1 share times, both end at task 39, five lines a second).
  assert.ok(p1.got.slice(0, 3).every((l) => /^task 3[5-9] of executor/.test(l.message)), JSON.stringify(p1.got.slice(0, 3)));
  assert.deepEqual(p1.got.slice(3).map((l) => firstLine(l.message)), more1.messages);
  assert.ok(p1.lastId);

  // Phase 2: disconnected while executor 1 writes more and a new executor 3 starts.
  const more2 = events('1', 25, f.t0, 70);
  const late = events('3', 25, f.t0 + 30_000);
  await f.seeder.send([...batchesOf(source(f.appId, '1'), more2.lines, 10), ...batchesOf(source(f.appId, '3'), late.lines, 10)]);
  await f.seeder.waitForLines(f.expected.total + 30 + 25 + 25);

  // Phase 3: resume with Last-Event-ID; then the pods finish and the stream ends by itself.
  const phase3 = collect(`${base}/api/v1/apps/${f.appId}/follow`, (_got, ev) => ev.event === 'end', SLOW_MS, { 'last-event-id': p1.lastId! });
  await new Promise((r) => setTimeout(r, 1000));
  for (const e of ['driver', '1', '3']) await f.seeder.lifecycle(source(f.appId, e), { exitCode: 0, reason: 'Completed', finishedAt: Date.now() });
  const p3 = await phase3;
  const by = (exec: string) => p3.got.filter((l) => l.executorId === exec).map((l) => firstLine(l.message));
  assert.deepEqual(by('1'), more2.messages, 'executor 1 resumed exactly after the last line seen');
  assert.deepEqual(by('3'), late.messages, 'the executor that started later, complete');
  assert.deepEqual(by('driver'), [], 'nothing repeated');
  const end = p3.evs.at(-1);
  assert.equal(end?.event, 'end');
  assert.deepEqual(JSON.parse(end!.data), { reason: 'finished' });
});

test('Q3: heartbeats keep an idle stream alive', async () => {
  const ctl = new AbortController();
  const res = await fetch(`${base}/api/v1/apps/${f.appId}/executors/driver/follow`, { signal: ctl.signal });
  const reader = res.body!.getReader();
  let text = '';
  const deadline = Date.now() + 3000;
  while (Date.now() < deadline && !text.includes(': hb')) {
    const { value, done } = await reader.read();
    if (done) break;
    text += new TextDecoder().decode(value);
  }
  ctl.abort();
  assert.ok(text.includes(': hb'), text);
});

test('Q4: download streams every line as text; a client stopping early ends cleanly', async () => {
  const res = await fetch(`${base}/api/v1/apps/${f.appId}/executors/1/download`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-disposition') ?? '', /attachment; filename=".*-1\.log"/);
  const text = await res.text();
  const heads = text.split('\n').filter((l) => /^\d{4}-/.test(l));
  assert.equal(heads.length, 40 + 30 + 25, 'every event of executor 1, across many pages of 100');
  assert.ok(heads[0]?.includes('task 0 of executor 1'));

  // Stop after the first chunk: the server must neither fail nor keep a stream open.
  const early = await fetch(`${base}/api/v1/apps/${f.appId}/download`);
  const reader = early.body!.getReader();
  await reader.read();
  await reader.cancel();
  await new Promise((r) => setTimeout(r, 300));
  const again = await fetch(`${base}/readyz`);
  assert.equal(again.status, 200);
  const metrics = await (await fetch(`${base}/metrics`)).text();
  assert.doesNotMatch(metrics, /status="5\d\d"/, 'no 5xx recorded');
});
