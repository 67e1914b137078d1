// Issue 7, part 2: RSS and CPU% of one collector tailing one executor's log
// at 1,000 lines/s, and idle. rsyslog tails the same file at the same time
// into its own topic: the reference sees exactly the same writes.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCollector } from '../collector-run.js';
import type { Ctx } from '../context.js';
import { createTopic } from '../context.js';
import { sampleFootprint, startMeasured, waitFor, type Footprint } from '../proc.js';
import { rsyslogConfig } from '../refs/rsyslog.js';
import { fromRounds, type Figure } from '../report.js';
import { rounds } from '../stats.js';
import { recordRounds } from '../targets.js';
import { startWriter } from '../writer.js';

const RATE = 1000;
const mib = (b: number) => b / 2 ** 20;

export async function collectorFootprint(ctx: Ctx): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'sparklogs-bench-footprint-'));
  const file = join(dir, 'executor.log');
  await writeFile(file, '');
  // Each state is sampled in ctx.rounds windows: CPU% is the median of the
  // windows with its spread, RSS the largest of all samples.
  const loadMs = ctx.quick ? 1500 : 20_000;
  const idleMs = ctx.quick ? 1000 : 20_000;
  const warmMs = ctx.quick ? 1000 : 5000;
  const colTopic = await createTopic(ctx, `${ctx.runPrefix}-fp-collector`);
  const rsTopic = await createTopic(ctx, `${ctx.runPrefix}-fp-rsyslog`);
  const col = await startCollector({ brokers: ctx.brokers, prefix: `${ctx.runPrefix}-fp-collector`, paths: file });
  await writeFile(join(dir, 'rsyslog.conf'), rsyslogConfig({ workDir: dir, files: file, brokers: ctx.brokers, topic: rsTopic.name, compression: 'gzip' }));
  const rs = await startMeasured('rsyslogd', ['-n', '-f', join(dir, 'rsyslog.conf'), '-i', join(dir, 'rsyslogd.pid')]).catch(() => undefined);
  try {
    await waitFor(async () => (await col.acked()) !== undefined, 20_000);
    const windows = async (ms: number) => {
      const col: Footprint[] = [];
      const rsys: Footprint[] = [];
      for (let r = 0; r < ctx.rounds; r++) {
        const [c, x] = await Promise.all([sampleFootprint(colP, ms), rs ? sampleFootprint(rs, ms) : Promise.resolve(undefined)]);
        col.push(c);
        if (x) rsys.push(x);
      }
      return { col, rsys: rs ? rsys : undefined };
    };
    const colP = col.p;
    const idle = await windows(idleMs);

    const w = await startWriter(file, RATE);
    await new Promise((r) => setTimeout(r, warmMs));
    const load = await windows(loadMs);
    await w.stop();
    // The collector must have kept up, or its CPU figure describes a collector that fell behind.
    const kept = await waitFor(async () => (await col.acked()) === w.written(), 10_000, 200);
    const acked = await col.acked();
    ctx.out(`bench:   ${w.written()} events written at ${RATE}/s; collector acknowledged ${acked}; rsyslog topic holds ${await rsTopic.messages()} messages; load ${loadavg()[0]!.toFixed(2)}\n`);

    const keptNote = kept ? {} : { note: `the collector fell behind: ${acked} of ${w.written()} acknowledged` };
    const maxRss = (xs: Footprint[] | undefined) => (xs?.length ? mib(Math.max(...xs.map((x) => x.rssMaxBytes))) : null);
    const cpu = (xs: Footprint[] | undefined) => (xs ? xs.map((x) => x.cpuPercent) : []);
    const rssFig = (name: string, st: typeof idle, target?: Figure['target']) => {
      const v = maxRss(st.col);
      const ref = maxRss(st.rsys);
      ctx.add({ part: 'footprint', name, value: v, unit: 'MiB', reference: { name: 'rsyslog', value: ref }, ratio: v !== null && ref ? v / ref : null, ...(target ? { target } : {}), ...keptNote });
      return v;
    };
    const cpuFig = (name: string, st: typeof idle, key: string, target?: { text: string; ok: (v: number) => boolean }) => {
      const f = fromRounds({ part: 'footprint', name, unit: '% of a core' }, cpu(st.col), { name: 'rsyslog', values: st.rsys ? cpu(st.rsys) : cpu(st.col).map(() => null) });
      // The collector's own windows: the spread the idle target rests on.
      const own = rounds(cpu(st.col));
      recordRounds(ctx.shared, key, own);
      const spread = own ? `collector: median of ${own.values.length} windows of ${((st === idle ? idleMs : loadMs) / 1000).toFixed(0)} s, ${own.values.map((v) => v.toFixed(2)).join(', ')}%${own.unstable ? ', UNSTABLE' : ''}` : '';
      ctx.add({ ...f, ...(target ? { target: { text: target.text, met: f.value === null ? null : target.ok(f.value) } } : {}), note: (keptNote.note ? `${keptNote.note}; ` : '') + spread.trim() });
    };
    const rssLoad = rssFig(`RSS at ${RATE} lines/s (max)`, load, undefined);
    if (rssLoad !== null) ctx.shared.set('collector.rssAt1000MiB', rssLoad);
    cpuFig(`CPU at ${RATE} lines/s`, load, 'collector.cpuAt1000Percent', { text: '<= 2% of a core', ok: (v) => v <= 2 });
    rssFig('RSS idle (max)', idle);
    cpuFig('CPU idle', idle, 'collector.idleCpuPercent', { text: '<= 0.1% of a core', ok: (v) => v <= 0.1 });
  } finally {
    await col.stop();
    if (rs) {
      rs.signal('SIGTERM');
      await rs.exited(10_000);
    }
    await colTopic.close();
    await rsTopic.close();
    await rm(dir, { recursive: true, force: true });
  }
}
