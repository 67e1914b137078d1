// The live follow against what the store makes visible, line by line: a line
// that becomes searchable after a later one of its file (a retried bulk item,
// another index refreshing later) is still sent, before the later one; lines
// numbered in another order than their offsets (a CRI file, where one stream's
// line can finish before an earlier-starting partial line of the other) are
// sent in their numbers' order; a gap that never closes is reported with the
// missing numbers, then passed. The lines are written to the real
// Elasticsearch one at a time, in the order a delayed write would make them
// visible.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { createEsSink } from '../../aggregator/sinks/elasticsearch.js';
import { dailyIndex, lineId, type LineDoc } from '../../contract/index.js';
import { build } from '../../query-api/app.js';
import { readEvents } from '../../query-api/cli/sse.js';
import { cleanup, es } from '../aggregator/harness.js';
import { testStack, uniqueNames } from '../helpers/stack.js';
import { markedRetriable, retrying, waitUntil } from '../helpers/wait.js';
import { testConfig } from './fixture.js';

const { esUrl } = testStack();
const n = uniqueNames('follow-order');
const appId = 'spark-followorder1';
let app: FastifyInstance;
let base: string;

before(async () => {
  const sink = createEsSink({ url: esUrl, names: n, requestTimeoutMs: 30_000 });
  await retrying(() => sink.installTemplates(), { what: 'installing the templates', retriable: markedRetriable });
  app = await build({ cfg: testConfig(n.prefix, esUrl, { followPollMs: 100, followIdlePollMs: 100, followGapMs: 4000 }) });
  await app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
});
after(async () => {
  await app?.close();
  await cleanup(esUrl, n);
});

const T = Date.now() - 60_000;

/** Stores line number `num` (none: a line of an older collector) of an executor's file 0 at byte `off`, searchable at once. */
async function put(num: number | undefined, off: number, executorId = '1'): Promise<void> {
  const src = { podUid: `uid-${executorId}`, fileId: `file-${executorId}` };
  const doc: LineDoc = {
    '@timestamp': T + off, ingested: T + off, lid: lineId(src, off), appType: 'spark', appId, executorId, role: 'executor',
    file: '/logs/spark.log', fileId: src.fileId, fileSeq: 0, off, message: num === undefined ? `old ${off}` : `line ${num}`,
  };
  if (num !== undefined) doc.n = num;
  await es(esUrl, `/${dailyIndex(n, doc['@timestamp'])}/_doc/${doc.lid}?refresh=true`, doc, 'PUT');
}

test('the follow sends every line in its number\'s order, waits at a gap, and reports one that never closes', { timeout: 120_000 }, async () => {
  await put(0, 0);
  const got: string[] = [];
  const warnings: { code: string; from: number; to: number }[] = [];
  const ctl = new AbortController();
  const res = await fetch(`${base}/api/v1/apps/${appId}/executors/1/follow?tail=10`, { signal: ctl.signal });
  assert.equal(res.status, 200);
  const reading = (async () => {
    try {
      for await (const ev of readEvents(res.body!)) {
        if (ev.event === 'lines') got.push(...(JSON.parse(ev.data) as { lines: { message: string }[] }).lines.map((l) => l.message));
        if (ev.event === 'warning') warnings.push(JSON.parse(ev.data) as { code: string; from: number; to: number });
      }
    } catch (err) {
      if ((err as Error).name !== 'AbortError') throw err;
    }
  })();
  await waitUntil(() => got.length === 1, { what: 'the first line', state: () => JSON.stringify(got) });

  // Line 2 is not visible yet; 1 and 3 are: 1 is sent, 3 waits for 2.
  await put(1, 100);
  await put(3, 300);
  await waitUntil(() => got.length === 2, { what: 'line 1', state: () => JSON.stringify(got) });
  await new Promise((r) => setTimeout(r, 1500));
  assert.deepEqual(got, ['line 0', 'line 1'], 'line 3 waits while line 2 is not visible');
  await put(2, 200);
  await waitUntil(() => got.length === 4, { what: 'lines 2 and 3', state: () => JSON.stringify(got) });

  // Numbers in another order than offsets: 5 starts before 4 in the file but finished after it.
  await put(4, 500);
  await put(5, 450);
  await put(6, 600);
  await waitUntil(() => got.length === 7, { what: 'lines 4 to 6', state: () => JSON.stringify(got) });

  // Line 7 never comes: after followGapMs the follow says so and goes on with 8.
  await put(8, 800);
  await waitUntil(() => got.length === 8, { what: 'line 8 after the gap was given up on', timeoutMs: 60_000, state: () => JSON.stringify({ got, warnings }) });
  ctl.abort();
  await reading;
  assert.deepEqual(got, ['line 0', 'line 1', 'line 2', 'line 3', 'line 4', 'line 5', 'line 6', 'line 8']);
  assert.deepEqual(warnings.map((w) => [w.code, w.from, w.to]), [['LINES_MISSING', 7, 7]]);
});

test('a file continued by an upgraded collector: its older, unnumbered lines come first, in the history and the follow', { timeout: 60_000 }, async () => {
  await put(undefined, 0, '2');
  await put(undefined, 100, '2');
  await put(0, 200, '2');
  await put(1, 300, '2');
  const got: string[] = [];
  const ctl = new AbortController();
  const res = await fetch(`${base}/api/v1/apps/${appId}/executors/2/follow?tail=10`, { signal: ctl.signal });
  const reading = (async () => {
    try {
      for await (const ev of readEvents(res.body!)) if (ev.event === 'lines') got.push(...(JSON.parse(ev.data) as { lines: { message: string }[] }).lines.map((l) => l.message));
    } catch (err) {
      if ((err as Error).name !== 'AbortError') throw err;
    }
  })();
  await waitUntil(() => got.length === 4, { what: 'the history', state: () => JSON.stringify(got) });
  await put(2, 400, '2');
  await waitUntil(() => got.length === 5, { what: 'the next line', state: () => JSON.stringify(got) });
  ctl.abort();
  await reading;
  assert.deepEqual(got, ['old 0', 'old 100', 'line 0', 'line 1', 'line 2']);
});
