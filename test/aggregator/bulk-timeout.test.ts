// A bulk request the client gives up on (its timeout) may still be applied by
// Elasticsearch: the store writer sends it again, but each time with twice the
// patience, bounded at 8x the sink's timeout, so a slow store is not sent the
// same work over and over at the pace that overloaded it; an answer in time
// brings the timeout back. Real Elasticsearch behind a TCP relay that holds
// its answers (a slow store as the client sees it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { createEsSink } from '../../aggregator/sinks/elasticsearch.js';
import { storeAll } from '../../aggregator/sinks/store-writer.js';
import { createMetrics } from '../../aggregator/metrics.js';
import { relay } from '../helpers/relay.js';
import { testStack, uniqueNames } from '../helpers/stack.js';

test('bulk timeouts: sent again with a doubled timeout, bounded at 8x, until stored; every document once', async (t) => {
  const { esUrl } = testStack();
  const n = uniqueNames('bulktimeout');
  const direct = createEsSink({ url: esUrl, names: n, requestTimeoutMs: 30_000 });
  await direct.installTemplates();
  const index = `${n.linesIndexPrefix}2026.11.30`;
  const doc = (i: number) => ({ index, id: `line-${i}`, doc: { appId: 'a', executorId: '1', off: i, message: `line ${i}` } });
  // The index exists before the test: its creation is not what is slow here.
  assert.deepEqual(await direct.bulk([doc(-1)]), [{ status: 'ok' }]);

  const es = new URL(esUrl);
  const r = relay({ host: es.hostname, port: Number(es.port) });
  await r.open();
  const sink = createEsSink({ url: `http://127.0.0.1:${r.port}`, names: n, requestTimeoutMs: 1000 });
  t.after(async () => {
    await fetch(`${esUrl}/${n.prefix}-*`, { method: 'DELETE' });
    for (const tpl of [n.linesTemplate, n.summaryTemplate]) await fetch(`${esUrl}/_index_template/${tpl}`, { method: 'DELETE' });
    await sink.close();
    await direct.close();
    await r.close();
  });

  const logged: { msg?: string; nextTimeoutMs?: number }[] = [];
  const log = pino({ level: 'info' }, new Writable({
    write(chunk: Buffer, _e, cb) {
      for (const l of chunk.toString().split('\n')) if (l) logged.push(JSON.parse(l) as (typeof logged)[number]);
      cb();
    },
  }));
  const m = createMetrics(async () => []);
  const ctl = { heartbeat: async () => undefined, pause: () => () => undefined };
  const policy = { initialMs: 10, maxMs: 100, factor: 2, jitter: 0 };
  const timeouts = () => logged.filter((l) => l.msg === 'bulkTimedOut').map((l) => l.nextTimeoutMs);

  // (The client's timers tick about once a second: the figures are seconds.)
  // Answers held 30 s: the timeout doubles from 1 s and stays at 8 s; when the store is fast again, stored.
  r.delayMs = 30_000;
  const first = storeAll(sink, Array.from({ length: 100 }, (_, i) => doc(i)), ctl, policy, m, log);
  while (timeouts().length < 5) await new Promise((res) => setTimeout(res, 100));
  r.delayMs = 0;
  assert.deepEqual(await first, []);
  const seen = timeouts();
  assert.deepEqual(seen.slice(0, 5), [2000, 4000, 8000, 8000, 8000], 'doubling from the sink\'s 1 s, bounded at 8x');

  // Answers held 2.5 s: a timeout or two, then an attempt patient enough; this bulk started from 1 s again.
  r.delayMs = 2500;
  logged.length = 0;
  // Without a longer wait per attempt, every attempt would time out for ever.
  const stuck = new Promise<'stuck'>((res) => setTimeout(() => res('stuck'), 120_000).unref());
  assert.deepEqual(await Promise.race([storeAll(sink, Array.from({ length: 100 }, (_, i) => doc(100 + i)), ctl, policy, m, log), stuck]), []);
  const second = timeouts();
  assert.ok(second.length >= 1 && second[0] === 2000 && second.every((ms) => ms! <= 8000), `from 1 s again: ${JSON.stringify(second)}`);

  const retries = await m.registry.getSingleMetricAsString('sparklogs_aggregator_bulk_retries_total');
  assert.match(retries, new RegExp(`reason="timeout"} ${seen.length + second.length}\\b`));
  await fetch(`${esUrl}/${index}/_refresh`, { method: 'POST' });
  const count = (await (await fetch(`${esUrl}/${index}/_count`)).json()) as { count: number };
  assert.equal(count.count, 201, 'every document stored once (ids make a re-sent bulk harmless)');
});
