// Issue 7, part 4: time from a line being written to the file until the query
// API returns it, at a steady rate of half the pipeline maximum measured
// earlier in the run. The whole chain is real: file -> collector -> Kafka ->
// aggregator -> Elasticsearch (refresh included) -> query API. Each line is
// recognised by its byte offset, which the API returns with it.
//
// Where the time goes: the collector's and the aggregator's counters are read
// every STAGE_POLL_MS, and since one executor's lines travel in order, the
// n-th line is acknowledged by Kafka (collector) or stored by a bulk
// (aggregator) once the counter passes n. Searchable is the logs endpoint
// polled every POLL_MS; printed is `sparklogs logs -f`. Each stage's
// percentiles are printed, so the part says which component eats the time.
//
// Knobs for comparing settings (environment variables of `npm run bench`):
//   SPARKLOGS_BENCH_FRESHNESS_RATE     lines/s when the run measured no pipeline
//                                      maximum (--only freshness); default 1000
//   SPARKLOGS_BENCH_FRESHNESS_SECONDS  how long the writer runs (60)
//   SPARKLOGS_BENCH_FRESHNESS_REFRESH  the line index's refresh_interval instead
//                                      of the template's (e.g. 1s to compare)
//   SPARKLOGS_BENCH_FRESHNESS_FOLLOWERS extra follow streams of the executor, to
//                                      see the query API's CPU per follower
//   SPARKLOGS_FOLLOW_POLL_MS           reaches the query API (followPollMs)
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { startAggregator } from '../aggregator-run.js';
import { metric, startCollector } from '../collector-run.js';
import type { Ctx } from '../context.js';
import { createTopic, deleteIndices, DIST, freePort } from '../context.js';
import { startQueryApi } from '../query-api-run.js';
import { quantile } from '../stats.js';
import { startWriter } from '../writer.js';
import { existsSync } from 'node:fs';
import { waitFor } from '../proc.js';
import { names } from '../../../contract/names.js';

const APP = 'spark-bench0000000000000000000000000001';
const POLL_MS = 100;
const STAGE_POLL_MS = 100;
const IDLE_WINDOW_MS = 10_000;
const CLI = join(DIST, 'query-api/cli/main.js');

function envNumber(name: string, min: number, max: number): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return undefined;
  const v = Number(raw);
  if (!Number.isFinite(v) || v < min || v > max) throw new Error(`${name}: expected a number from ${min} to ${max}, got ${raw}`);
  return v;
}

const pct = (xs: number[]) => (xs.length ? [0.5, 0.95, 0.99].map((q) => (quantile(xs, q) / 1000).toFixed(2)).join(' / ') + ' s' : 'none');

/** An SSE follower that only counts what it receives (the cost of one more reader). */
function follower(url: string, signal: AbortSignal): { bytes: () => number; done: Promise<void> } {
  let bytes = 0;
  const done = (async () => {
    const res = await fetch(url, { signal });
    if (!res.ok || !res.body) throw new Error(`follow: HTTP ${res.status}`);
    for await (const chunk of res.body) bytes += (chunk as Uint8Array).length;
  })().catch((err: unknown) => {
    if (!signal.aborted) throw err;
  });
  return { bytes: () => bytes, done };
}

export async function freshness(ctx: Ctx): Promise<void> {
  const max = ctx.shared.get('pipelineLinesPerSec');
  const rate = Math.round(max ? max / 2 : (envNumber('SPARKLOGS_BENCH_FRESHNESS_RATE', 1, 1e6) ?? (ctx.quick ? 200 : 1000)));
  const durationMs = ctx.quick ? 5000 : (envNumber('SPARKLOGS_BENCH_FRESHNESS_SECONDS', 1, 3600) ?? 60) * 1000;
  const refresh = process.env.SPARKLOGS_BENCH_FRESHNESS_REFRESH || undefined;
  const followers = envNumber('SPARKLOGS_BENCH_FRESHNESS_FOLLOWERS', 0, 1000) ?? 0;
  const prefix = `${ctx.runPrefix}-fresh`;
  const dir = await mkdtemp(join(tmpdir(), 'sparklogs-bench-fresh-'));
  const file = join(dir, 'executor.log');
  await writeFile(file, '');
  const topic = await createTopic(ctx, prefix);
  // Its metrics port is chosen here (its ready() and indexed() ask the port
  // startAggregator picked, which this replaces): the part reads more counters.
  const aggPort = await freePort();
  const aggMetrics = `http://127.0.0.1:${aggPort}/metrics`;
  const agg = await startAggregator(ctx, prefix, `${prefix}-group`, { SPARKLOGS_METRICS_PORT: String(aggPort) });
  const aggReady = async () => (await fetch(`http://127.0.0.1:${aggPort}/readyz`, { signal: AbortSignal.timeout(2000) }).catch(() => undefined))?.ok === true;
  const aggIndexed = () => metric(aggMetrics, 'sparklogs_aggregator_lines_indexed_total');
  // Whatever is started is stopped, and the run's indices and templates go, however the part ends.
  const cleanUp = async (o: { api?: { stop(): Promise<void> }; col?: { stop(): Promise<unknown> } }) => {
    await o.col?.stop();
    agg.p.signal('SIGTERM');
    await agg.p.exited(30_000);
    await o.api?.stop();
    await topic.close();
    await deleteIndices(ctx, prefix);
    for (const t of [names(prefix).linesTemplate, names(prefix).summaryTemplate]) await fetch(`${ctx.esUrl}/_index_template/${t}`, { method: 'DELETE' }).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  };
  const { api, col } = await (async () => {
    let api: Awaited<ReturnType<typeof startQueryApi>> | undefined;
    try {
      api = await startQueryApi(ctx.esUrl, prefix);
      return { api, col: await startCollector({ brokers: ctx.brokers, prefix, paths: file, executorId: '1' }) };
    } catch (err) {
      await cleanUp({ api });
      throw err;
    }
  })();
  const writtenAt = new Map<number, number>();
  // Write times in file order: the n-th line's, for the counters' stages.
  const writeTimes: number[] = [];
  const stages = { acked: [] as number[], consumed: [] as number[], stored: [] as number[] };
  const counted = { acked: 0, consumed: 0, stored: 0 };
  // When each counter last moved, and the longest stills between moves while lines were waiting:
  // a cycle stalled (a slow bulk, a late fetch) shows as a gap here.
  const lastMove = { acked: 0, consumed: 0, stored: 0 };
  const gaps = { acked: [] as { ms: number; atS: number; lines: number }[], consumed: [] as { ms: number; atS: number; lines: number }[], stored: [] as { ms: number; atS: number; lines: number }[] };
  const extra = new AbortController();
  let scraping = true;
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
    const up = await waitFor(async () => (await aggReady()) && (await col.acked()) !== undefined, 60_000, 200);
    if (!up) throw new Error(`the aggregator or the collector did not get ready within 60 s: ${agg.p.stdout().slice(-300)}`);
    const n = names(prefix);
    if (refresh) {
      // The aggregator installed its template at start; the line index is made at the first bulk.
      const url = `${ctx.esUrl}/_index_template/${n.linesTemplate}`;
      const got = (await (await fetch(url)).json()) as { index_templates: { index_template: { template: { settings: { index: Record<string, unknown> } } } & Record<string, unknown> }[] };
      const tpl = got.index_templates[0]?.index_template;
      if (!tpl) throw new Error(`no index template ${n.linesTemplate}`);
      tpl.template.settings.index.refresh_interval = refresh;
      const put = await fetch(url, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(tpl) });
      if (!put.ok) throw new Error(`setting refresh_interval ${refresh}: HTTP ${put.status} ${await put.text()}`);
    }
    const tplNow = (await (await fetch(`${ctx.esUrl}/_index_template/${n.linesTemplate}`)).json()) as { index_templates: { index_template: { template: { settings?: { index?: { refresh_interval?: string } } } } }[] };
    const refreshShown = tplNow.index_templates[0]?.index_template.template.settings?.index?.refresh_interval ?? 'not set';
    ctx.out(`bench:   line index refresh_interval ${refreshShown}; query API followPollMs ${process.env.SPARKLOGS_FOLLOW_POLL_MS ?? 'default'}; ${followers} extra followers\n`);
    let offset = 0;
    const startedAt = performance.now();
    let slowest = { ms: 0, writtenS: 0 };
    const w = await startWriter(file, rate, {
      onChunk: (sizes, at) => {
        for (const size of sizes) {
          writtenAt.set(offset, at);
          writeTimes.push(at);
          offset += size;
        }
      },
    });
    const logs = `${api.url}/api/v1/apps/${APP}/executors/1/logs`;
    // The counters' stages, read until the main loop ends.
    const scraper = (async () => {
      while (scraping) {
        const [acked, consumed, stored] = await Promise.all([col.acked(), metric(aggMetrics, 'sparklogs_aggregator_lines_consumed_total'), aggIndexed()]);
        const at = performance.now();
        for (const [k, v] of [['acked', acked], ['consumed', consumed], ['stored', stored]] as const) {
          const before = counted[k];
          for (; v !== undefined && counted[k] < Math.min(v, writeTimes.length); counted[k]++) stages[k].push(at - writeTimes[counted[k]]!);
          if (counted[k] > before) {
            if (lastMove[k]) gaps[k].push({ ms: at - lastMove[k], atS: (at - startedAt) / 1000, lines: counted[k] - before });
            lastMove[k] = at;
          }
        }
        await new Promise((r) => setTimeout(r, STAGE_POLL_MS));
      }
    })();
    const extras: ReturnType<typeof follower>[] = [];
    let apiCpu: { at: number; cpu: number } | undefined;
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
      if (!cli && seen.length > 0 && cliBuilt) {
        cli = startCli();
        for (let i = 0; i < followers; i++) extras.push(follower(`${api.url}/api/v1/apps/${APP}/executors/1/follow?tail=1`, extra.signal));
        apiCpu = { at: performance.now(), cpu: api.p.cpuNow() ?? NaN };
      }
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
    scraping = false;
    await scraper;
    const apiCpuEnd = { at: performance.now(), cpu: api.p.cpuNow() ?? NaN };
    // The same streams with nothing new to send: what idle followers cost.
    let idleCpu: number | undefined;
    if (extras.length) {
      // Past the query API's followActiveMs (5 s by default), after which an idle stream polls less often.
      await new Promise((r) => setTimeout(r, 7000));
      const c0 = api.p.cpuNow() ?? NaN;
      await new Promise((r) => setTimeout(r, IDLE_WINDOW_MS));
      idleCpu = ((api.p.cpuNow() ?? NaN) - c0) / (IDLE_WINDOW_MS / 1000);
    }
    extra.abort();
    await Promise.all(extras.map((e) => e.done));
    cli?.kill('SIGTERM');
    const stats = (await (await fetch(`${ctx.esUrl}/${n.linesIndexPattern}/_stats/refresh,merge,segments`).catch(() => undefined))?.json().catch(() => undefined)) as
      | { _all?: { primaries?: { refresh?: { total: number; total_time_in_millis: number }; merges?: { total: number }; segments?: { count: number } } } }
      | undefined;
    const pr = stats?._all?.primaries;
    if (pr) ctx.out(`bench:   line index: ${pr.refresh?.total} refreshes (${pr.refresh?.total_time_in_millis} ms in all), ${pr.merges?.total} merges, ${pr.segments?.count} segments at the end\n`);
    if (apiCpu) ctx.out(`bench:   query API CPU while ${1 + extras.length} streams followed the writer: ${((apiCpuEnd.cpu - apiCpu.cpu) / ((apiCpuEnd.at - apiCpu.at) / 1000)).toFixed(3)} s/s${idleCpu !== undefined ? `; with the ${extras.length + 1} streams idle: ${idleCpu.toFixed(3)} s/s` : ''}\n`);
    const [bulks, bulkSec, bulkItems] = await Promise.all(['count', 'sum'].map((x) => metric(aggMetrics, `sparklogs_aggregator_bulk_seconds_${x}`)).concat(metric(aggMetrics, 'sparklogs_aggregator_bulk_items_sum')));
    if (bulks) ctx.out(`bench:   aggregator: ${bulks} bulk requests, ${((bulkSec ?? NaN) / bulks).toFixed(3)} s and ${((bulkItems ?? NaN) / bulks).toFixed(0)} items each on average\n`);
    const aggLog = (agg.p.stdout() + agg.p.stderr()).trim();
    if (aggLog) ctx.out(`bench:   the aggregator logged (warn and above, last 600 characters): ${aggLog.slice(-600)}\n`);
    ctx.out(`bench:   where the time goes, p50 / p95 / p99 since written (counters read every ${STAGE_POLL_MS} ms):\n`);
    ctx.out(`bench:     acknowledged by Kafka (collector)  ${pct(stages.acked)} (${stages.acked.length} lines)\n`);
    ctx.out(`bench:     fetched from Kafka (aggregator)     ${pct(stages.consumed)} (${stages.consumed.length} lines)\n`);
    ctx.out(`bench:     stored by a bulk (aggregator)       ${pct(stages.stored)} (${stages.stored.length} lines)\n`);
    // Each stage's own share, line by line (the n-th line's later stage minus its earlier one): percentiles of the totals do not add up.
    const share = (a: number[], b: number[]) => b.slice(0, Math.min(a.length, b.length)).map((x, i) => x - a[i]!);
    ctx.out(`bench:     own share per line: Kafka to fetched ${pct(share(stages.acked, stages.consumed))}; fetched to stored ${pct(share(stages.consumed, stages.stored))}\n`);
    for (const k of ['consumed', 'stored'] as const) {
      const top = [...gaps[k]].sort((a, b) => b.ms - a.ms).slice(0, 5);
      ctx.out(`bench:     longest stills of the ${k} counter (then +lines, s into the run): ${top.map((g) => `${(g.ms / 1000).toFixed(2)} s (+${g.lines}, ${g.atS.toFixed(1)} s)`).join(', ')}\n`);
    }
    const hist = await fetch(aggMetrics, { signal: AbortSignal.timeout(2000) }).then((r) => r.text()).catch(() => '');
    const buckets = [...hist.matchAll(/^sparklogs_aggregator_bulk_seconds_bucket\{le="([^"]+)"\} (\d+)/gm)].map((x) => `<=${x[1]}: ${x[2]}`);
    if (buckets.length) ctx.out(`bench:   aggregator bulk seconds, cumulative: ${buckets.join(', ')}\n`);
    const missing = writtenAt.size - seen.length;
    ctx.out(`bench:   at the end: collector acknowledged ${await col.acked()}, aggregator indexed ${await aggIndexed()}; slowest line: ${(slowest.ms / 1000).toFixed(2)} s, written ${slowest.writtenS.toFixed(1)} s after the start\n`);
    ctx.out(`bench:   ${writtenAt.size} lines written, ${seen.length} returned by the query API, ${missing} not within 15 s of the end\n`);
    const note = `${seen.length} of ${writtenAt.size} lines; polled every ${POLL_MS} ms (adds up to ${POLL_MS} ms)${missing ? `; ${missing} lines not seen` : ''}`;
    const cliLat = [...cliSeen.values()];
    const cliWant = cli ? cliExpected() : 0;
    const cliMissing = cliWant - cliLat.length;
    ctx.out(`bench:     searchable (logs endpoint)          ${pct(seen)} (${seen.length} lines)\n`);
    ctx.out(`bench:     printed by sparklogs logs -f         ${pct([...cliSeen.values()])} (${cliSeen.size} lines written after its stream was up)\n`);
    if (cliSeen.size) {
      // By when the line was written (10 s windows from the stream's start): is the tail the start-up's backlog or spread over the run?
      const win = new Map<number, number[]>();
      for (const [off, ms] of cliSeen) {
        const w = Math.floor((writtenAt.get(off)! - cliFrom) / 10_000);
        (win.get(w) ?? win.set(w, []).get(w)!).push(ms);
      }
      const rows = [...win.entries()].sort((a, b) => a[0] - b[0]).map(([w, xs]) => `${w * 10}-${w * 10 + 10} s: ${pct(xs)}, max ${(Math.max(...xs) / 1000).toFixed(2)} s`);
      ctx.out(`bench:     printed by logs -f, by when written (p50 / p95 / p99): ${rows.join('; ')}\n`);
    }
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
        ...(name === 'p50' ? { note: `${cliLat.length} of ${cliWant} lines written after the CLI's stream was up${cliMissing ? `; ${cliMissing} not printed` : ''}; the follow stream polls the store every followPollMs (250 ms by default while lines come)` } : {}),
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
    scraping = false;
    extra.abort();
    cli?.kill('SIGTERM');
    await cleanUp({ api, col });
  }
}
