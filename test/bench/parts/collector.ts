// Issue 7, part 1: collector throughput on the data set, beside kcat (the raw
// produce ceiling) and rsyslog (a peer shipper), all into topics with the
// same settings, acks from all replicas, the same compression.
import { join } from 'node:path';
import { startCollector } from '../collector-run.js';
import type { Ctx } from '../context.js';
import { createTopic } from '../context.js';
import { waitFor } from '../proc.js';
import { shipWithKcat } from '../refs/kcat.js';
import { shipWithRsyslog } from '../refs/rsyslog.js';
import { withRatio } from '../report.js';
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
  ctx.out(`bench: collector throughput on ${d.files.length} files, ${d.lines} lines (${d.events} events), ${(d.bytes / 2 ** 20).toFixed(1)} MiB\n`);
  const kcat = await shipWithKcat(ctx, `${ctx.runPrefix}-kcat`, COMPRESSION);
  const col = await shipWithCollector(ctx, `${ctx.runPrefix}-collector`);
  const rsys = await shipWithRsyslog(ctx, `${ctx.runPrefix}-rsyslog`, COMPRESSION);
  for (const r of [kcat, col, rsys]) {
    ctx.out(`bench:   ${r.name}: ${r.failed ? `failed: ${r.failed}` : `${r.seconds.toFixed(2)} s, ${r.cpuSeconds.toFixed(2)} CPU s, peak RSS ${(r.peakRssBytes / 2 ** 20).toFixed(1)} MiB, ${r.messages} messages${r.lost ? ` (${r.lost})` : ''}`}\n`);
  }
  const why = (r: ShipResult) => (r.failed ? `${r.name}: ${r.failed.slice(0, 200)}` : r.lost?.slice(0, 300));
  const colRate = rate(col, d.lines);
  if (colRate !== null) ctx.shared.set('collectorLinesPerSec', colRate);
  const part = 'collector';
  ctx.add({ part, name: 'throughput', value: colRate, unit: 'lines/s', target: { text: '>= 100,000 lines/s on one core', met: colRate === null ? null : colRate >= 100_000 }, note: why(col) });
  const vsKcat = withRatio({ part, name: 'throughput vs kcat', value: colRate, unit: 'lines/s', reference: { name: 'kcat', value: rate(kcat, d.lines) } });
  ctx.add({ ...vsKcat, target: { text: '>= 70% of kcat', met: vsKcat.ratio == null ? null : vsKcat.ratio >= 0.7 }, note: why(kcat) });
  const vsRsyslog = withRatio({ part, name: 'throughput vs rsyslog', value: colRate, unit: 'lines/s', reference: { name: 'rsyslog', value: rate(rsys, d.lines) } });
  ctx.add({ ...vsRsyslog, target: { text: 'faster than rsyslog', met: vsRsyslog.ratio == null ? null : vsRsyslog.ratio > 1 }, note: why(rsys) });
  ctx.add(withRatio({ part, name: 'MB/s', value: col.failed ? null : d.bytes / 1e6 / col.seconds, unit: 'MB/s', reference: { name: 'kcat', value: kcat.failed ? null : d.bytes / 1e6 / kcat.seconds } }));
  ctx.add(withRatio({ part, name: 'CPU s per million lines', value: perMillion(col, d.lines), unit: 's', reference: { name: 'kcat', value: perMillion(kcat, d.lines) } }));
  ctx.add(withRatio({ part, name: 'CPU s per million lines vs rsyslog', value: perMillion(col, d.lines), unit: 's', reference: { name: 'rsyslog', value: perMillion(rsys, d.lines) } }));
  ctx.add(withRatio({ part, name: 'peak RSS', value: mb(col), unit: 'MiB', reference: { name: 'rsyslog', value: mb(rsys) }, note: kcat.failed ? undefined : `kcat ${mb(kcat)?.toFixed(1)} MiB` }));
}
