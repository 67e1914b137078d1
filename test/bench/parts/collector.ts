// Issue 7, part 1: collector throughput on the data set, beside kcat (the raw
// produce ceiling) and rsyslog (a peer shipper), all into topics with the
// same settings, acks from all replicas, the same compression.
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { startCollector } from '../collector-run.js';
import type { Ctx } from '../context.js';
import { createTopic } from '../context.js';
import { waitFor } from '../proc.js';
import { shipWithKcat } from '../refs/kcat.js';
import { shipWithRsyslog } from '../refs/rsyslog.js';
import { fromRounds } from '../report.js';
import { rounds } from '../stats.js';
import { recordRounds } from '../targets.js';
import { failed, type ShipResult } from '../shipper.js';

const COMPRESSION = 'gzip';

async function shipWithCollector(ctx: Ctx, prefix: string): Promise<ShipResult> {
  const topic = await createTopic(ctx, prefix);
  try {
    const t0 = performance.now();
    const c = await startCollector({ brokers: ctx.brokers, prefix, paths: join(ctx.data.dir, 'executor-*.log'), compression: COMPRESSION });
    let acked: number | undefined;
    const done = await waitFor(async () => (acked = await c.acked()) === ctx.data.events || c.p.child.exitCode !== null, 600_000, 100);
    const seconds = (performance.now() - t0) / 1000;
    const usage = await c.stop();
    if (!done || acked !== ctx.data.events) return failed('collector', `${acked ?? 0} of ${ctx.data.events} events acknowledged (exit ${usage.code}): ${c.p.stderr().slice(-300) || c.p.stdout().slice(-300)}`);
    return { name: 'collector', seconds, cpuSeconds: usage.cpuSeconds, peakRssBytes: usage.peakRssBytes, messages: await topic.messages() };
  } catch (err) {
    return failed('collector', (err as Error).message);
  } finally {
    await topic.close();
  }
}

const rate = (r: ShipResult, n: number) => (r.failed ? null : n / r.seconds);
const perMillion = (r: ShipResult, n: number) => (r.failed ? null : (r.cpuSeconds / n) * 1e6);
const mb = (r: ShipResult) => (r.failed ? null : r.peakRssBytes / 2 ** 20);

export async function collectorThroughput(ctx: Ctx): Promise<void> {
  const d = ctx.data;
  ctx.out(`bench: collector throughput on ${d.files.length} files, ${d.lines} lines (${d.events} events), ${(d.bytes / 2 ** 20).toFixed(1)} MiB, ${ctx.rounds} rounds\n`);
  // The collector and its references alternate in rounds (kcat, collector,
  // rsyslog; then rsyslog, collector, kcat; ...): each ratio is the median of
  // the rounds' ratios, each round's topics its own.
  const runs: { kcat: ShipResult; col: ShipResult; rsys: ShipResult }[] = [];
  for (let r = 0; r < ctx.rounds; r++) {
    const round = {} as (typeof runs)[number];
    const steps = {
      kcat: async () => (round.kcat = await shipWithKcat(ctx, `${ctx.runPrefix}-kcat-r${r}`, COMPRESSION)),
      col: async () => (round.col = await shipWithCollector(ctx, `${ctx.runPrefix}-collector-r${r}`)),
      rsys: async () => (round.rsys = await shipWithRsyslog(ctx, `${ctx.runPrefix}-rsyslog-r${r}`, COMPRESSION)),
    };
    for (const s of r % 2 === 0 ? (['kcat', 'col', 'rsys'] as const) : (['rsys', 'col', 'kcat'] as const)) await steps[s]();
    runs.push(round);
    for (const x of [round.kcat, round.col, round.rsys]) {
      ctx.out(`bench:   round ${r + 1} ${x.name}: ${x.failed ? `failed: ${x.failed}` : `${x.seconds.toFixed(2)} s, ${x.cpuSeconds.toFixed(2)} CPU s, peak RSS ${(x.peakRssBytes / 2 ** 20).toFixed(1)} MiB, ${x.messages} messages${x.lost ? ` (${x.lost})` : ''}`}\n`);
    }
    ctx.out(`bench:   round ${r + 1} load ${loadavg()[0]!.toFixed(2)}\n`);
  }
  const all = (k: 'kcat' | 'col' | 'rsys', f: (x: ShipResult) => number | null) => runs.map((x) => f(x[k]));
  const why = (k: 'kcat' | 'col' | 'rsys') => runs.map((x, i) => (x[k].failed ? `round ${i + 1} ${x[k].name}: ${x[k].failed!.slice(0, 200)}` : x[k].lost?.slice(0, 300))).filter(Boolean).join('; ') || undefined;
  const colRates = all('col', (x) => rate(x, d.lines));
  const colRate = rounds(colRates);
  if (colRate) ctx.shared.set('collectorLinesPerSec', colRate.median);
  recordRounds(ctx.shared, 'collector.linesPerCpuSecond', rounds(all('col', (x) => (x.failed ? null : d.lines / x.cpuSeconds))));
  const part = 'collector';
  const tput = fromRounds({ part, name: 'throughput', unit: 'lines/s' }, colRates);
  ctx.add({ ...tput, target: { text: '>= 100,000 lines/s on one core', met: tput.value === null ? null : tput.value >= 100_000 }, note: why('col') });
  const vsKcat = fromRounds({ part, name: 'throughput vs kcat', unit: 'lines/s' }, colRates, { name: 'kcat', values: all('kcat', (x) => rate(x, d.lines)) });
  ctx.add({ ...vsKcat, target: { text: '>= 70% of kcat', met: vsKcat.ratio == null ? null : vsKcat.ratio >= 0.7 }, note: why('kcat') });
  const vsRsyslog = fromRounds({ part, name: 'throughput vs rsyslog', unit: 'lines/s' }, colRates, { name: 'rsyslog', values: all('rsys', (x) => rate(x, d.lines)) });
  ctx.add({ ...vsRsyslog, target: { text: 'faster than rsyslog', met: vsRsyslog.ratio == null ? null : vsRsyslog.ratio > 1 }, note: why('rsys') });
  const mbs = (x: ShipResult) => (x.failed ? null : d.bytes / 1e6 / x.seconds);
  ctx.add(fromRounds({ part, name: 'MB/s', unit: 'MB/s' }, all('col', mbs), { name: 'kcat', values: all('kcat', mbs) }));
  ctx.add(fromRounds({ part, name: 'CPU s per million lines', unit: 's' }, all('col', (x) => perMillion(x, d.lines)), { name: 'kcat', values: all('kcat', (x) => perMillion(x, d.lines)) }));
  ctx.add(fromRounds({ part, name: 'CPU s per million lines vs rsyslog', unit: 's' }, all('col', (x) => perMillion(x, d.lines)), { name: 'rsyslog', values: all('rsys', (x) => perMillion(x, d.lines)) }));
  const kcatRss = rounds(all('kcat', mb));
  ctx.add({ ...fromRounds({ part, name: 'peak RSS', unit: 'MiB' }, all('col', mb), { name: 'rsyslog', values: all('rsys', mb) }), ...(kcatRss ? { note: `kcat ${kcatRss.median.toFixed(1)} MiB` } : {}) });
}
