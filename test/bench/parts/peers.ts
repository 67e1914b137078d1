// Issue 16: the collector beside the shippers a platform team would pick
// instead (Filebeat, the OpenTelemetry Collector) and kcat as the raw produce
// reference, on the same files into the same Kafka in the same run, each into
// its own topic with the same guarantees asked of it: acks from all replicas,
// gzip, stack traces joined into one event (kcat sends lines as they are).
// Three measurements:
//   1. throughput on the data set: lines/s, CPU s per million lines, peak RSS;
//   2. footprint tailing one executor's log at 1,000 lines/s and idle (all
//      shippers tail the same file at the same time);
//   3. delivery: each shipper is killed with SIGKILL while an executor writes
//      numbered events, restarted on its read position, and every number is
//      counted at the far end (lost, duplicated).
// A peer that is not built (test/bench/peers/build) is skipped with one line
// naming the command that builds it; the rest of the part still runs.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Ctx, Topic } from '../context.js';
import { createTopic as createTopicOnce } from '../context.js';
import { peerBinary, type PeerName } from '../peers/binaries.js';
import { countTopic, type Count } from '../peers/count.js';
import { startNumberedWriter } from '../peers/numbered-writer.js';
import { collector, COMPRESSION, filebeat, kcatTail, otelcol, type Running, type Shipper } from '../peers/shippers.js';
import { sampleFootprint, waitFor, type Footprint } from '../proc.js';
import { ensureKcat, shipWithKcat } from '../refs/kcat.js';
import { withRatio } from '../report.js';
import type { ShipResult } from '../shipper.js';
import { startWriter } from '../writer.js';

const PART = 'peers';
const RATE = 1000;
/** A shipper whose topic (or acked counter) has not grown for this long has sent all it will. */
const STALL_MS = 20_000;
const mib = (b: number) => b / 2 ** 20;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Topic creation on a busy broker sometimes answers "does not host this topic-partition" once: retried, bounded. */
async function createTopic(ctx: Ctx, prefix: string): Promise<Topic> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await createTopicOnce(ctx, prefix);
    } catch (err) {
      if (attempt >= 4) throw err;
      await sleep(1000 * 2 ** attempt);
    }
  }
}

interface Shipped extends ShipResult {
  count?: Count;
}

/** The peers that are built; one line for each that is not. */
function availablePeers(ctx: Ctx): Shipper[] {
  const make: Record<PeerName, () => Shipper> = { filebeat, otelcol };
  const out: Shipper[] = [];
  for (const name of ['otelcol', 'filebeat'] as PeerName[]) {
    const b = peerBinary(name);
    if (b.built) {
      out.push(make[name]());
      continue;
    }
    ctx.out(`bench: peers: ${b.version} is not built: skipped (build it with: ${b.buildCommand})\n`);
    ctx.note(`peers: ${b.version} was not built (${b.buildCommand}): not measured`);
  }
  return out;
}

async function withState<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'sparklogs-bench-peers-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Waits until `delivered` reaches `want`, the process exits, or nothing moved for stallMs; returns the count and when it last grew. */
async function untilDelivered(r: Running, want: number, stallMs: number, t0: number): Promise<{ seen: number; lastAt: number }> {
  let seen = 0;
  let lastAt = t0;
  await waitFor(async () => {
    const n = (await r.delivered()) ?? 0;
    if (n > seen) {
      seen = n;
      lastAt = performance.now();
    }
    return seen >= want || r.p.child.exitCode !== null || performance.now() - lastAt > stallMs;
  }, 1_800_000, 200);
  return { seen, lastAt };
}

/** 1. One shipper ships the whole data set (every file from its start); its topic is then read back and counted. */
async function shipDataSet(ctx: Ctx, s: Shipper): Promise<Shipped> {
  const topic = await createTopic(ctx, `${ctx.runPrefix}-peers-${s.name}`);
  try {
    return await withState(async (stateDir) => {
      const t0 = performance.now();
      const r = await s.start({ brokers: ctx.brokers, paths: join(ctx.data.dir, 'executor-*.log'), topic, stateDir });
      const { seen, lastAt } = await untilDelivered(r, ctx.data.events, STALL_MS, t0);
      const usage = await r.stop();
      const base = { name: s.name, seconds: (lastAt - t0) / 1000, cpuSeconds: usage.cpuSeconds, peakRssBytes: usage.peakRssBytes, messages: await topic.messages() };
      if (seen === 0) return { ...base, failed: `nothing delivered (exit ${usage.code}): ${r.p.stderr().slice(-400) || r.p.stdout().slice(-400)}` };
      const count = await countTopic(ctx.brokers, topic, s.events);
      const whole = count.events - count.fragments;
      const lost = whole !== ctx.data.events || count.fragments > 0
        ? `${whole} whole events of ${ctx.data.events} in Kafka, ${count.fragments} stack-trace lines shipped alone` : undefined;
      return { ...base, count, ...(lost ? { lost } : {}) };
    });
  } catch (err) {
    return { name: s.name, seconds: NaN, cpuSeconds: NaN, peakRssBytes: NaN, messages: 0, failed: (err as Error).message };
  } finally {
    await topic.close();
  }
}

async function throughput(ctx: Ctx, peers: Shipper[]): Promise<void> {
  const d = ctx.data;
  ctx.out(`bench: peers: throughput on ${d.files.length} files, ${d.lines} lines (${d.events} events), ${mib(d.bytes).toFixed(1)} MiB, ${COMPRESSION}, acks=all\n`);
  const results: Shipped[] = [await shipWithKcat(ctx, `${ctx.runPrefix}-peers-kcat`, COMPRESSION)];
  for (const s of [collector, ...peers]) results.push(await shipDataSet(ctx, s));
  for (const r of results) {
    ctx.out(`bench:   ${r.name}: ${r.failed ? `failed: ${r.failed}` : `${r.seconds.toFixed(2)} s, ${r.cpuSeconds.toFixed(2)} CPU s, peak RSS ${mib(r.peakRssBytes).toFixed(1)} MiB, ${r.messages} messages${r.count ? `, ${r.count.events} events (${r.count.withTrace} with a joined stack trace, ${r.count.fragments} trace lines alone)` : ''}${r.lost ? ` (${r.lost})` : ''}`}\n`);
  }
  const col = results.find((r) => r.name === 'collector')!;
  const ok = (r: Shipped) => !r.failed;
  const rate = (r: Shipped) => (ok(r) ? d.lines / r.seconds : null);
  const perM = (r: Shipped) => (ok(r) ? (r.cpuSeconds / d.lines) * 1e6 : null);
  const rss = (r: Shipped) => (ok(r) ? mib(r.peakRssBytes) : null);
  const why = (r: Shipped) => (r.failed ? r.failed.slice(0, 200) : r.lost?.slice(0, 200));
  // The issue's targets (targets.ts) compare the collector with Filebeat measured in these same runs.
  for (const r of results) {
    if (ok(r) && r.cpuSeconds > 0) ctx.shared.set(`${r.name === 'collector' ? 'peers.collector' : r.name}.linesPerCpuSecond`, d.lines / r.cpuSeconds);
  }
  for (const r of results) {
    const ref = r === col ? undefined : { name: 'collector', value: null as number | null };
    const add = (what: string, unit: string, f: (x: Shipped) => number | null) => ctx.add(withRatio({
      part: PART, name: `${r.name} ${what}`, value: f(r), unit,
      ...(ref ? { reference: { ...ref, value: f(col) } } : {}),
      note: why(r) ?? (r.name === 'kcat' ? 'raw produce of every line, no joining, no read position' : undefined),
    }));
    add('throughput', 'lines/s', rate);
    add('CPU s per million lines', 's', perM);
    add('peak RSS', 'MiB', rss);
  }
}

/** 2. All shippers tail one file at once: idle, then at RATE events/s. */
async function footprint(ctx: Ctx, peers: Shipper[]): Promise<void> {
  const loadMs = ctx.quick ? 3000 : 60_000;
  const idleMs = ctx.quick ? 2000 : 30_000;
  const warmMs = ctx.quick ? 1000 : 5000;
  const shippers = [collector, ...peers];
  const kcatMissing = await ensureKcat(ctx);
  if (kcatMissing) ctx.out(`bench: peers: footprint without kcat: ${kcatMissing}\n`);
  else shippers.push(kcatTail);
  await withState(async (dir) => {
    const file = join(dir, 'executor.log');
    await writeFile(file, '');
    const topics: Topic[] = [];
    const running: { s: Shipper; r: Running }[] = [];
    try {
      for (const s of shippers) {
        const topic = await createTopic(ctx, `${ctx.runPrefix}-peers-fp-${s.name}`);
        topics.push(topic);
        const stateDir = join(dir, s.name);
        await mkdir(stateDir);
        running.push({ s, r: await s.start({ brokers: ctx.brokers, paths: file, topic, stateDir }) });
      }
      // Started: the collector answers on its metrics port; the others get the same time.
      await waitFor(async () => (await running[0]!.r.delivered()) !== undefined, 20_000);
      await sleep(warmMs);
      const idle = await Promise.all(running.map(({ r }) => sampleFootprint(r.p, idleMs)));
      const w = await startWriter(file, RATE);
      await sleep(warmMs);
      const load = await Promise.all(running.map(({ r }) => sampleFootprint(r.p, loadMs)));
      await w.stop();
      const written = w.written();
      // Each must have kept up, or its CPU figure describes a shipper that fell behind.
      const kept = await Promise.all(running.map(async ({ s, r }) => {
        if (s.name === 'kcat') return true;
        const t0 = performance.now();
        return (await untilDelivered(r, written, 10_000, t0)).seen >= written;
      }));
      ctx.out(`bench:   ${written} events written at ${RATE}/s; ${running.map(({ s }, i) => `${s.name} ${kept[i] ? 'kept up' : 'FELL BEHIND'}`).join(', ')}\n`);
      const ci = 0;
      for (const [i, { s }] of running.entries()) {
        if (kept[i] && Number.isFinite(load[i]!.rssMaxBytes)) ctx.shared.set(`${s.name === 'collector' ? 'peers.collector' : s.name}.rssAt1000MiB`, mib(load[i]!.rssMaxBytes));
      }
      for (const [i, { s }] of running.entries()) {
        const fig = (name: string, f: Footprint[], key: 'rssMaxBytes' | 'cpuPercent') => {
          const val = (x: Footprint | undefined) => (x ? (key === 'cpuPercent' ? x.cpuPercent : mib(x[key])) : null);
          ctx.add(withRatio({
            part: PART, name: `${s.name} ${name}`, value: val(f[i]), unit: key === 'cpuPercent' ? '% of a core' : 'MiB',
            ...(i === ci ? {} : { reference: { name: 'collector', value: val(f[ci]) } }),
            ...(kept[i] ? {} : { note: `fell behind: not all of ${written} events delivered 10 s after the writer stopped` }),
          }));
        };
        fig(`RSS at ${RATE} lines/s (max)`, load, 'rssMaxBytes');
        fig(`CPU at ${RATE} lines/s`, load, 'cpuPercent');
        fig('RSS idle (max)', idle, 'rssMaxBytes');
        fig('CPU idle', idle, 'cpuPercent');
      }
    } finally {
      for (const { r } of running) await r.stop().catch(() => undefined);
      for (const t of topics) await t.close();
    }
  });
}

/** 3. kill -9 mid-run and restart, then every numbered event counted at the far end. */
async function delivery(ctx: Ctx, peers: Shipper[]): Promise<void> {
  const rate = ctx.quick ? 500 : 2000;
  const runMs = ctx.quick ? 4000 : 30_000;
  const killAtMs = ctx.quick ? 1500 : 12_000;
  const downMs = 1000;
  const shippers = [collector, ...peers];
  await withState(async (dir) => {
    const file = join(dir, 'executor.log');
    await writeFile(file, '');
    const entries: { s: Shipper; topic: Topic; stateDir: string; r?: Running }[] = [];
    try {
      for (const s of shippers) {
        const topic = await createTopic(ctx, `${ctx.runPrefix}-peers-kill-${s.name}`);
        const stateDir = join(dir, s.name);
        await mkdir(stateDir);
        entries.push({ s, topic, stateDir });
      }
      const start = async (e: (typeof entries)[number]) => {
        e.r = await e.s.start({ brokers: ctx.brokers, paths: file, topic: e.topic, stateDir: e.stateDir });
      };
      for (const e of entries) await start(e);
      await waitFor(async () => (await entries[0]!.r!.delivered()) !== undefined, 20_000);
      const w = await startNumberedWriter(file, rate);
      await sleep(killAtMs);
      const atKill = w.written();
      for (const e of entries) e.r!.p.signal('SIGKILL');
      for (const e of entries) await e.r!.p.exited(10_000);
      await sleep(downMs);
      for (const e of entries) await start(e);
      await sleep(Math.max(0, runMs - killAtMs - downMs));
      await w.stop();
      const written = w.written();
      ctx.out(`bench: peers: delivery: ${written} numbered events written at ${rate}/s; every shipper killed (SIGKILL) after ${atKill}, restarted ${downMs} ms later\n`);
      // Peers count one message per event: done at `written` (or when stalled); the collector's counter restarted at 0, so it waits for a stall.
      await Promise.all(entries.map(async (e) => {
        if (e.s === collector) {
          // Its counter restarted at 0: wait for it to be up again, then until its topic stops growing.
          await waitFor(async () => (await e.r!.delivered()) !== undefined, 60_000);
          let last = -1;
          let lastAt = performance.now();
          await waitFor(async () => {
            const n = await e.topic.messages();
            if (n !== last) {
              last = n;
              lastAt = performance.now();
            }
            return performance.now() - lastAt > (ctx.quick ? 8000 : 15_000);
          }, 600_000, 500);
        } else {
          await untilDelivered(e.r!, written, ctx.quick ? 8000 : STALL_MS, performance.now());
        }
      }));
      for (const e of entries) await e.r!.stop();
      for (const e of entries) {
        let c: Count | undefined;
        let err: string | undefined;
        try {
          c = await countTopic(ctx.brokers, e.topic, e.s.events, written);
        } catch (x) {
          err = (x as Error).message;
        }
        ctx.out(`bench:   ${e.s.name}: ${c ? `${written - (c.missing ?? 0)} distinct of ${written} events, ${c.missing} lost, ${c.duplicates} duplicate copies (of ${c.duplicated} events), ${c.fragments} stack-trace lines shipped alone${c.missing ? `; first lost: ${c.missingFirst!.join(', ')}` : ''}` : `count failed: ${err}`}\n`);
        const note = c ? `${written} written, killed after ${atKill}; ${c.duplicated} events arrived more than once; ${c.fragments} trace lines alone${c.missing ? `; first lost: ${c.missingFirst!.slice(0, 5).join(', ')}` : ''}` : err;
        ctx.add({ part: PART, name: `${e.s.name} kill -9: events lost`, value: c?.missing ?? null, unit: 'events', note });
        ctx.add({ part: PART, name: `${e.s.name} kill -9: duplicate copies`, value: c?.duplicates ?? null, unit: 'events', note });
      }
    } finally {
      for (const e of entries) await e.r?.stop().catch(() => undefined);
      for (const e of entries) await e.topic.close();
    }
  });
}

export async function peerShippers(ctx: Ctx): Promise<void> {
  const peers = availablePeers(ctx);
  for (const s of [collector, ...peers]) ctx.note(`peers: ${s.name} = ${s.version}`);
  await throughput(ctx, peers);
  await footprint(ctx, peers);
  await delivery(ctx, peers);
}
