// Issue 7, part 4: time from a line being written to the file until the query
// API returns it, at a steady rate of half the pipeline maximum measured
// earlier in the run. The whole chain is real: file -> collector -> Kafka ->
// aggregator -> Elasticsearch (refresh included) -> query API. Each line is
// recognised by its byte offset, which the API returns with it.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAggregator } from '../aggregator-run.js';
import { startCollector } from '../collector-run.js';
import type { Ctx } from '../context.js';
import { createTopic, deleteIndices } from '../context.js';
import { startQueryApi } from '../query-api-run.js';
import { quantile } from '../stats.js';
import { startWriter } from '../writer.js';
import { waitFor } from '../proc.js';

const APP = 'spark-bench0000000000000000000000000001';
const POLL_MS = 100;

export async function freshness(ctx: Ctx): Promise<void> {
  const max = ctx.shared.get('pipelineLinesPerSec');
  const rate = Math.round(max ? max / 2 : ctx.quick ? 200 : 1000);
  const durationMs = ctx.quick ? 5000 : 60_000;
  const prefix = `${ctx.runPrefix}-fresh`;
  const dir = await mkdtemp(join(tmpdir(), 'sparklogs-bench-fresh-'));
  const file = join(dir, 'executor.log');
  await writeFile(file, '');
  const topic = await createTopic(ctx, prefix);
  const agg = await startAggregator(ctx, prefix, `${prefix}-group`);
  const api = await startQueryApi(ctx.esUrl, prefix);
  const col = await startCollector({ brokers: ctx.brokers, prefix, paths: file, executorId: '1' });
  const writtenAt = new Map<number, number>();
  const seen: number[] = [];
  const seenOff = new Set<number>();
  try {
    ctx.out(`bench: freshness at ${rate} lines/s (${max ? 'half the pipeline maximum measured above' : 'no pipeline maximum measured in this run: a fixed rate'}) for ${durationMs / 1000} s\n`);
    // Steady state only: the clock starts once the aggregator is in its group and the collector is up.
    const up = await waitFor(async () => (await agg.ready()) && (await col.acked()) !== undefined, 60_000, 200);
    if (!up) throw new Error(`the aggregator or the collector did not get ready within 60 s: ${agg.p.stdout().slice(-300)}`);
    let offset = 0;
    const startedAt = performance.now();
    let slowest = { ms: 0, writtenS: 0 };
    const w = await startWriter(file, rate, {
      onChunk: (sizes, at) => {
        for (const size of sizes) {
          writtenAt.set(offset, at);
          offset += size;
        }
      },
    });
    const logs = `${api.url}/api/v1/apps/${APP}/executors/1/logs`;
    let cursor: string | undefined;
    const end = performance.now() + durationMs;
    // After the writer stops, lines still in flight get a bounded grace time.
    const grace = end + 15_000;
    while (performance.now() < grace && (performance.now() < end || seen.length < writtenAt.size)) {
      if (performance.now() >= end && w.written() > 0) await w.stop();
      // From the first line (404 until the app exists), then forward from the last cursor.
      const res = await fetch(`${logs}?size=5000${cursor ? `&after=${encodeURIComponent(cursor)}` : ''}`, { signal: AbortSignal.timeout(10_000) }).catch(() => undefined);
      const at = performance.now();
      if (res?.ok) {
        const page = (await res.json()) as { lines: { off: number }[]; next?: string };
        for (const l of page.lines) {
          const t = writtenAt.get(l.off);
          if (t !== undefined && !seenOff.has(l.off)) {
            seenOff.add(l.off);
            seen.push(at - t);
            if (at - t > slowest.ms) slowest = { ms: at - t, writtenS: (t - startedAt) / 1000 };
          }
        }
        cursor = page.next ?? cursor;
      } else {
        await res?.body?.cancel();
      }
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
    await w.stop();
    const missing = writtenAt.size - seen.length;
    ctx.out(`bench:   at the end: collector acknowledged ${await col.acked()}, aggregator indexed ${await agg.indexed()}; slowest line: ${(slowest.ms / 1000).toFixed(2)} s, written ${slowest.writtenS.toFixed(1)} s after the start\n`);
    ctx.out(`bench:   ${writtenAt.size} lines written, ${seen.length} returned by the query API, ${missing} not within 15 s of the end\n`);
    const note = `${seen.length} of ${writtenAt.size} lines; polled every ${POLL_MS} ms (adds up to ${POLL_MS} ms)${missing ? `; ${missing} lines not seen` : ''}`;
    for (const [q, name] of [[0.5, 'p50'], [0.95, 'p95'], [0.99, 'p99']] as const) {
      const v = seen.length ? quantile(seen, q) / 1000 : null;
      ctx.add({
        part: 'freshness', name: `${name} at ${rate} lines/s`, value: v, unit: 's',
        ...(name === 'p99' ? { target: { text: '<= 3 s', met: v === null ? null : v <= 3 && missing === 0 } } : {}),
        ...(name === 'p50' ? { note } : {}),
      });
    }
  } finally {
    await col.stop();
    agg.p.signal('SIGTERM');
    await agg.p.exited(30_000);
    await api.stop();
    await topic.close();
    await deleteIndices(ctx, prefix);
    await rm(dir, { recursive: true, force: true });
  }
}
