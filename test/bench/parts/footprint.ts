// Issue 7, part 2: RSS and CPU% of one collector tailing one executor's log
// at 1,000 lines/s, and idle. rsyslog tails the same file at the same time
// into its own topic: the reference sees exactly the same writes.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCollector } from '../collector-run.js';
import type { Ctx } from '../context.js';
import { createTopic } from '../context.js';
import { sampleFootprint, startMeasured, waitFor, type Footprint } from '../proc.js';
import { rsyslogConfig } from '../refs/rsyslog.js';
import { withRatio } from '../report.js';
import { startWriter } from '../writer.js';

const RATE = 1000;
const mib = (b: number) => b / 2 ** 20;

export async function collectorFootprint(ctx: Ctx): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'sparklogs-bench-footprint-'));
  const file = join(dir, 'executor.log');
  await writeFile(file, '');
  const loadMs = ctx.quick ? 3000 : 60_000;
  const idleMs = ctx.quick ? 2000 : 30_000;
  const warmMs = ctx.quick ? 1000 : 5000;
  const colTopic = await createTopic(ctx, `${ctx.runPrefix}-fp-collector`);
  const rsTopic = await createTopic(ctx, `${ctx.runPrefix}-fp-rsyslog`);
  const col = await startCollector({ brokers: ctx.brokers, prefix: `${ctx.runPrefix}-fp-collector`, paths: file });
  await writeFile(join(dir, 'rsyslog.conf'), rsyslogConfig({ workDir: dir, files: file, brokers: ctx.brokers, topic: rsTopic.name, compression: 'gzip' }));
  const rs = await startMeasured('rsyslogd', ['-n', '-f', join(dir, 'rsyslog.conf'), '-i', join(dir, 'rsyslogd.pid')]).catch(() => undefined);
  try {
    await waitFor(async () => (await col.acked()) !== undefined, 20_000);
    const idleSample = (p: Parameters<typeof sampleFootprint>[0] | undefined) => (p ? sampleFootprint(p, idleMs) : Promise.resolve(undefined));
    const [colIdle, rsIdle] = await Promise.all([idleSample(col.p), idleSample(rs)]);

    const w = await startWriter(file, RATE);
    await new Promise((r) => setTimeout(r, warmMs));
    const loadSample = (p: Parameters<typeof sampleFootprint>[0] | undefined) => (p ? sampleFootprint(p, loadMs) : Promise.resolve(undefined));
    const [colLoad, rsLoad] = await Promise.all([loadSample(col.p), loadSample(rs)]);
    await w.stop();
    // The collector must have kept up, or its CPU figure describes a collector that fell behind.
    const kept = await waitFor(async () => (await col.acked()) === w.written(), 10_000, 200);
    const acked = await col.acked();
    ctx.out(`bench:   ${w.written()} events written at ${RATE}/s; collector acknowledged ${acked}; rsyslog topic holds ${await rsTopic.messages()} messages\n`);

    const fig = (name: string, c: Footprint | undefined, r: Footprint | undefined, key: 'rssMaxBytes' | 'cpuPercent', target?: { text: string; ok: (v: number) => boolean }) => {
      const v = c ? (key === 'cpuPercent' ? c.cpuPercent : mib(c[key])) : null;
      const ref = r ? (key === 'cpuPercent' ? r.cpuPercent : mib(r[key])) : null;
      ctx.add(withRatio({
        part: 'footprint', name, value: v, unit: key === 'cpuPercent' ? '% of a core' : 'MiB',
        reference: { name: 'rsyslog', value: ref },
        ...(target ? { target: { text: target.text, met: v === null ? null : target.ok(v) } } : {}),
        ...(kept ? {} : { note: `the collector fell behind: ${acked} of ${w.written()} acknowledged` }),
      }));
    };
    fig(`RSS at ${RATE} lines/s (max)`, colLoad, rsLoad, 'rssMaxBytes', { text: '<= 64 MB', ok: (v) => v * 2 ** 20 <= 64e6 });
    fig(`CPU at ${RATE} lines/s`, colLoad, rsLoad, 'cpuPercent', { text: '<= 2% of a core', ok: (v) => v <= 2 });
    fig('RSS idle (max)', colIdle, rsIdle, 'rssMaxBytes');
    fig('CPU idle', colIdle, rsIdle, 'cpuPercent');
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
