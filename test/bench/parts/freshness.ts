// Issue 7, part 4: time from a line being written to the file until the query
// API returns it, at a steady rate of half the pipeline maximum measured
// earlier in the run. The whole chain is real: file -> collector -> Kafka ->
// aggregator -> Elasticsearch (refresh included) -> query API. Each line is
// recognised by its byte offset, which the API returns with it.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { startAggregator } from '../aggregator-run.js';
import { startCollector } from '../collector-run.js';
import type { Ctx } from '../context.js';
import { createTopic, deleteIndices, DIST } from '../context.js';
import { startQueryApi } from '../query-api-run.js';
import { quantile } from '../stats.js';
import { startWriter } from '../writer.js';
import { existsSync } from 'node:fs';
import { waitFor } from '../proc.js';

const APP = 'spark-bench0000000000000000000000000001';
const POLL_MS = 100;
const CLI = join(DIST, 'query-api/cli/main.js');

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
  // `sparklogs logs APP -e 1 -f --json`, the way a reader follows an executor:
  // started once the app exists (the CLI ends on a 404), it counts the lines
  // written after its first line reached its stdout (the stream is up).
  let cli: ChildProcess | undefined;
  let cliFrom = Infinity;
  let cliErr = '';
  const cliSeen = new Map<number, number>();
  const startCli = () => {
    const c = spawn(process.execPath, [CLI, 'logs', APP, '-e', '1', '-f', '--json', '--tail', '1'], { env: { ...process.env, SPARKLOGS_URL: api.url }, stdio: ['ignore', 'pipe', 'pipe'] });
    c.stderr.on('data', (d: Buffer) => (cliErr = (cliErr + d.toString()).slice(-2000)));
    createInterface({ input: c.stdout }).on('line', (line) => {
      const at = performance.now();
      if (cliFrom === Infinity) {
        cliFrom = at;
        return;
      }
      let off: number | undefined;
      try {
        off = (JSON.parse(line) as { off?: number }).off;
      } catch {
        return;
      }
      const t = off === undefined ? undefined : writtenAt.get(off);
      if (t !== undefined && t >= cliFrom && !cliSeen.has(off!)) cliSeen.set(off!, at - t);
    });
    return c;
  };
  const cliExpected = () => {
    let n = 0;
    for (const t of writtenAt.values()) if (t >= cliFrom) n++;
    return n;
  };
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
    // The writer runs for durationMs, and for durationMs after the CLI's
    // stream is up (it starts once the first line is stored), at most a
    // minute longer; lines still in flight then get a bounded grace time.
    const t0 = performance.now();
    const cliBuilt = existsSync(CLI);
    let end: number | undefined;
    const writing = () => {
      const now = performance.now();
      const cliEnd = !cliBuilt ? -Infinity : cliFrom === Infinity ? t0 + durationMs + 60_000 : Math.min(cliFrom + durationMs, t0 + durationMs + 60_000);
      if (end === undefined && now >= Math.max(t0 + durationMs, cliEnd)) end = now;
      return end === undefined;
    };
    while (writing() || (performance.now() < end! + 15_000 && (seen.length < writtenAt.size || (cli && cliSeen.size < cliExpected())))) {
      if (end !== undefined && w.written() > 0) await w.stop();
      if (!cli && seen.length > 0 && cliBuilt) cli = startCli();
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
    cli?.kill('SIGTERM');
    const missing = writtenAt.size - seen.length;
    ctx.out(`bench:   at the end: collector acknowledged ${await col.acked()}, aggregator indexed ${await agg.indexed()}; slowest line: ${(slowest.ms / 1000).toFixed(2)} s, written ${slowest.writtenS.toFixed(1)} s after the start\n`);
    ctx.out(`bench:   ${writtenAt.size} lines written, ${seen.length} returned by the query API, ${missing} not within 15 s of the end\n`);
    const note = `${seen.length} of ${writtenAt.size} lines; polled every ${POLL_MS} ms (adds up to ${POLL_MS} ms)${missing ? `; ${missing} lines not seen` : ''}`;
    const cliLat = [...cliSeen.values()];
    const cliWant = cli ? cliExpected() : 0;
    const cliMissing = cliWant - cliLat.length;
    ctx.out(`bench:   sparklogs logs -f: ${cli ? `${cliWant} lines written after its stream was up, ${cliLat.length} printed${cliErr ? `; stderr: ${cliErr.slice(-300)}` : ''}` : `not run (${existsSync(CLI) ? 'no line reached the API' : `${CLI} is not built`})`}\n`);
    if (cliLat.length) {
      ctx.shared.set('freshness.p99Seconds', quantile(cliLat, 0.99) / 1000);
      ctx.shared.set('freshness.linesPerSec', rate);
      ctx.shared.set('freshness.atHalfMax', max ? 1 : 0);
      ctx.shared.set('freshness.missingLines', cliMissing);
    }
    for (const [q, name] of [[0.5, 'p50'], [0.99, 'p99']] as const) {
      const v = cliLat.length ? quantile(cliLat, q) / 1000 : null;
      ctx.add({
        part: 'freshness', name: `sparklogs logs -f, ${name} at ${rate} lines/s`, value: v, unit: 's',
        ...(name === 'p99' ? { target: { text: '<= 1 s (at half the pipeline maximum)', met: v === null || !max ? null : v <= 1 && cliMissing === 0 } } : {}),
        ...(name === 'p50' ? { note: `${cliLat.length} of ${cliWant} lines written after the CLI's stream was up${cliMissing ? `; ${cliMissing} not printed` : ''}; the follow stream polls the store every followPollMs (1 s by default)` } : {}),
      });
    }
    for (const [q, name] of [[0.5, 'p50'], [0.95, 'p95'], [0.99, 'p99']] as const) {
      const v = seen.length ? quantile(seen, q) / 1000 : null;
      ctx.add({
        part: 'freshness', name: `${name} at ${rate} lines/s`, value: v, unit: 's',
        ...(name === 'p50' ? { note: `${note}; the logs endpoint polled with its cursor (the store's freshness, no follow stream)` } : {}),
      });
    }
  } finally {
    cli?.kill('SIGTERM');
    await col.stop();
    agg.p.signal('SIGTERM');
    await agg.p.exited(30_000);
    await api.stop();
    await topic.close();
    await deleteIndices(ctx, prefix);
    await rm(dir, { recursive: true, force: true });
  }
}
