// Issue 16: the collector beside the shippers a platform team would pick
// instead (Filebeat, the OpenTelemetry Collector) and kcat as the raw produce
// reference, on the same files into the same Kafka in the same run, each into
// its own topic with the same guarantees asked of it: acks from all replicas,
// gzip, stack traces joined into one event (kcat sends lines as they are).
// Three measurements:
//   1. throughput on the data set: lines/s, CPU s per million lines, peak RSS;
//      in ctx.rounds rounds, each shipper shipping the whole data set once per
//      round, the order rotated each round (kcat, collector, peers...; then
//      collector, peers..., kcat; ...);
//   2. footprint tailing one executor's log at 1,000 lines/s and idle (all
//      shippers tail the same file at the same time, started afresh in each
//      of ctx.rounds rounds, the start order rotated);
//   3. delivery: each shipper is killed with SIGKILL while an executor writes
//      numbered events, restarted on its read position, and every number is
//      counted at the far end (lost, duplicated). Once per run: its figures
//      are counts of lost and duplicated events, not ratios, and a run takes
//      a minute or more.
// Each peer's ratio to the collector is the median of the rounds' ratios
// (a round pairs the peer with the collector measured in the same round),
// with min..max and spread; past ±10% it is UNSTABLE; a failed round is left
// out and counted (report.ts fromRounds, stats.ts rounds).
// A peer that is not built (test/bench/peers/build) is skipped with one line
// naming the command that builds it; the rest of the part still runs.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Ctx, Topic } from '../context.js';
import { createTopic as createTopicOnce } from '../context.js';
import { peerBinary, type PeerName } from '../peers/binaries.js';
import { countTopic, type Count } from '../peers/count.js';
import { startNumberedWriter } from '../peers/numbered-writer.js';
import { collector, COMPRESSION, filebeat, kcatTail, otelcol, type Running, type Shipper } from '../peers/shippers.js';
import { sampleFootprint, waitFor, type Footprint } from '../proc.js';
import { ensureKcat, shipWithKcat } from '../refs/kcat.js';
import { fromRounds } from '../report.js';
import { failed, type ShipResult } from '../shipper.js';
import { rounds } from '../stats.js';
import { recordRounds } from '../targets.js';
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
async function shipDataSet(ctx: Ctx, s: Shipper, round: number): Promise<Shipped> {
  const topic = await createTopic(ctx, `${ctx.runPrefix}-peers-${s.name}-r${round}`);
  try {
    return await withState(async (stateDir) => {
      const t0 = performance.now();
      const r = await s.start({ brokers: ctx.brokers, paths: join(ctx.data.dir, 'executor-*.log'), topic, stateDir });
      const { seen, lastAt } = await untilDelivered(r, ctx.data.events, STALL_MS, t0);
      const usage = await r.stop();
      const base = { name: s.name, seconds: (lastAt - t0) / 1000, cpuSeconds: usage.cpuSeconds, peakRssBytes: usage.peakRssBytes, messages: await topic.messages() };
      if (seen === 0) return { ...base, failed: `nothing delivered (exit ${usage.code}): ${r.p.stderr().slice(-400) || r.p.stdout().slice(-400)}` };
      // Quick mode (npm test's smoke run) reads the topic back in its first round only: later rounds check the delivered count.
      if (ctx.quick && round > 0) return { ...base, ...(seen < ctx.data.events ? { lost: `${seen} of ${ctx.data.events} events delivered` } : {}) };
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

/** The order of round r: the list rotated by r, so each shipper runs first (or starts first) in turn. */
export function rotated<T>(xs: readonly T[], r: number): T[] {
  const k = xs.length ? r % xs.length : 0;
  return [...xs.slice(k), ...xs.slice(0, k)];
}

const key = (name: string) => (name === 'collector' ? 'peers.collector' : name);

/**
 * Every peer's figure beside the collector's from the same round: the ratio is
 * the median of the rounds' ratios (report.ts fromRounds), the collector's own
 * figure carries its spread. A round where either failed is left out and counted.
 */
function addRounds(ctx: Ctx, names: string[], what: string, unit: string, values: (name: string) => (number | null)[], note: (name: string) => string | undefined): void {
  const col = values('collector');
  for (const name of names) {
    // A round whose collector figure is 0 (an idle window with no CPU tick) has no ratio: said, not counted as failed silently.
    const zero = name === 'collector' ? [] : col.flatMap((c, i) => (c === 0 ? [`round ${i + 1}: the collector's figure was 0, no ratio`] : []));
    const n = [note(name), ...zero].filter(Boolean).join('; ') || undefined;
    const f = name === 'collector'
      ? fromRounds({ part: PART, name: `${name} ${what}`, unit }, col)
      : fromRounds({ part: PART, name: `${name} ${what}`, unit }, values(name), { name: 'collector', values: col });
    ctx.add({ ...f, ...(n ? { note: n } : {}) });
  }
}

/** Records a shipper's figure over the rounds (median and spread) under its target key, and the collector / Filebeat ratio's rounds. */
function record(ctx: Ctx, names: string[], what: string, values: (name: string) => (number | null)[]): void {
  for (const name of names) recordRounds(ctx.shared, `${key(name)}.${what}`, rounds(values(name)));
  if (!names.includes('filebeat')) return;
  const col = values('collector');
  const fb = values('filebeat');
  recordRounds(ctx.shared, `peers.collectorOverFilebeat.${what}`, rounds(col.map((c, i) => (c !== null && fb[i] ? c / fb[i] : null))));
}

async function throughput(ctx: Ctx, peers: Shipper[]): Promise<void> {
  const d = ctx.data;
  ctx.out(`bench: peers: throughput on ${d.files.length} files, ${d.lines} lines (${d.events} events), ${mib(d.bytes).toFixed(1)} MiB, ${COMPRESSION}, acks=all; ${ctx.rounds} rounds, the order rotated each round\n`);
  const shippers: (Shipper | 'kcat')[] = ['kcat', collector, ...peers];
  const names = shippers.map((s) => (s === 'kcat' ? 'kcat' : s.name));
  // One map per round: shipper name -> its run of the whole data set into a topic of that round.
  const runs: Map<string, Shipped>[] = [];
  for (let r = 0; r < ctx.rounds; r++) {
    const round = new Map<string, Shipped>();
    for (const s of rotated(shippers, r)) {
      const res: Shipped = s === 'kcat'
        ? await shipWithKcat(ctx, `${ctx.runPrefix}-peers-kcat-r${r}`, COMPRESSION).catch((err: Error) => failed('kcat', err.message))
        : await shipDataSet(ctx, s, r).catch((err: Error): Shipped => failed(s.name, err.message));
      round.set(res.name, res);
      ctx.out(`bench:   round ${r + 1} ${res.name}: ${res.failed ? `failed: ${res.failed}` : `${res.seconds.toFixed(2)} s, ${res.cpuSeconds.toFixed(2)} CPU s, peak RSS ${mib(res.peakRssBytes).toFixed(1)} MiB, ${res.messages} messages${res.count ? `, ${res.count.events} events (${res.count.withTrace} with a joined stack trace, ${res.count.fragments} trace lines alone)` : ''}${res.lost ? ` (${res.lost})` : ''}`}\n`);
    }
    ctx.out(`bench:   round ${r + 1} order ${rotated(names, r).join(', ')}; load ${loadavg()[0]!.toFixed(2)}\n`);
    runs.push(round);
  }
  const of = (f: (x: Shipped) => number | null) => (name: string) => runs.map((round) => {
    const x = round.get(name);
    return x && !x.failed ? f(x) : null;
  });
  const why = (name: string) => runs.map((round, i) => {
    const x = round.get(name)!;
    return x.failed ? `round ${i + 1}: ${x.failed.slice(0, 200)}` : x.lost ? `round ${i + 1}: ${x.lost.slice(0, 200)}` : undefined;
  }).filter(Boolean).join('; ') || (name === 'kcat' ? 'raw produce of every line, no joining, no read position' : undefined);
  // The issue's targets (targets.ts) compare the collector with Filebeat measured in these same rounds.
  record(ctx, names, 'linesPerCpuSecond', of((x) => (x.cpuSeconds > 0 ? d.lines / x.cpuSeconds : null)));
  addRounds(ctx, names, 'throughput', 'lines/s', of((x) => d.lines / x.seconds), why);
  addRounds(ctx, names, 'CPU s per million lines', 's', of((x) => (x.cpuSeconds / d.lines) * 1e6), why);
  addRounds(ctx, names, 'peak RSS', 'MiB', of((x) => mib(x.peakRssBytes)), why);
}

interface FootprintRound {
  idle: Footprint;
  load: Footprint;
  kept: boolean;
}

/**
 * 2. All shippers tail one file at the same time (the same writes for all):
 * idle, then at RATE events/s. Each round starts them afresh (the start order
 * rotated) on a new file and new topics, so a ratio pairs the collector and a
 * peer sampled in the same windows, and the rounds give its spread.
 */
async function footprintRound(ctx: Ctx, shippers: Shipper[], r: number, ms: { load: number; idle: number; warm: number }): Promise<Map<string, FootprintRound>> {
  return withState(async (dir) => {
    const file = join(dir, 'executor.log');
    await writeFile(file, '');
    const topics: Topic[] = [];
    const running: { s: Shipper; r: Running }[] = [];
    try {
      for (const s of rotated(shippers, r)) {
        const topic = await createTopic(ctx, `${ctx.runPrefix}-peers-fp-${s.name}-r${r}`);
        topics.push(topic);
        const stateDir = join(dir, s.name);
        await mkdir(stateDir);
        running.push({ s, r: await s.start({ brokers: ctx.brokers, paths: file, topic, stateDir }) });
      }
      // Started: the collector answers on its metrics port; the others get the same time.
      const col = running.find((x) => x.s === collector)!;
      await waitFor(async () => (await col.r.delivered()) !== undefined, 20_000);
      await sleep(ms.warm);
      const idle = await Promise.all(running.map(({ r }) => sampleFootprint(r.p, ms.idle)));
      const w = await startWriter(file, RATE);
      await sleep(ms.warm);
      const load = await Promise.all(running.map(({ r }) => sampleFootprint(r.p, ms.load)));
      await w.stop();
      const written = w.written();
      // Each must have kept up, or its CPU figure describes a shipper that fell behind.
      const kept = await Promise.all(running.map(async ({ s, r }) => {
        if (s.name === 'kcat') return true;
        return (await untilDelivered(r, written, 10_000, performance.now())).seen >= written;
      }));
      ctx.out(`bench:   round ${r + 1}: ${written} events written at ${RATE}/s; ${running.map(({ s }, i) => `${s.name} ${kept[i] ? 'kept up' : 'FELL BEHIND'}`).join(', ')}; load ${loadavg()[0]!.toFixed(2)}\n`);
      return new Map(running.map(({ s }, i) => [s.name, { idle: idle[i]!, load: load[i]!, kept: kept[i]! }]));
    } finally {
      for (const { r } of running) await r.stop().catch(() => undefined);
      for (const t of topics) await t.close();
    }
  });
}

async function footprint(ctx: Ctx, peers: Shipper[]): Promise<void> {
  const ms = { load: ctx.quick ? 2000 : 30_000, idle: ctx.quick ? 1000 : 20_000, warm: ctx.quick ? 500 : 5000 };
  const shippers = [collector, ...peers];
  const kcatMissing = await ensureKcat(ctx);
  if (kcatMissing) ctx.out(`bench: peers: footprint without kcat: ${kcatMissing}\n`);
  else shippers.push(kcatTail);
  const names = shippers.map((s) => s.name);
  ctx.out(`bench: peers: footprint: ${names.join(', ')} tail one file at once, ${ctx.rounds} rounds of ${ms.idle / 1000} s idle and ${ms.load / 1000} s at ${RATE} lines/s\n`);
  const runs: (Map<string, FootprintRound> | undefined)[] = [];
  const failures: string[] = [];
  for (let r = 0; r < ctx.rounds; r++) {
    try {
      runs.push(await footprintRound(ctx, shippers, r, ms));
    } catch (err) {
      // A failed round is counted in every figure ("2 of 3 rounds"), not fatal.
      ctx.out(`bench:   round ${r + 1} failed: ${(err as Error).message}\n`);
      failures.push(`round ${r + 1} failed: ${(err as Error).message.slice(0, 200)}`);
      runs.push(undefined);
    }
  }
  // A shipper that fell behind in a round has no figure from that round.
  const of = (f: (x: FootprintRound) => number) => (name: string) => runs.map((round) => {
    const x = round?.get(name);
    return x?.kept ? f(x) : null;
  });
  const why = (name: string) => [...failures, ...runs.flatMap((round, i) => (round && !round.get(name)?.kept ? [`round ${i + 1}: fell behind (not all events delivered 10 s after the writer stopped)`] : []))].join('; ') || undefined;
  record(ctx, names, 'rssAt1000MiB', of((x) => mib(x.load.rssMaxBytes)));
  addRounds(ctx, names, `RSS at ${RATE} lines/s (max)`, 'MiB', of((x) => mib(x.load.rssMaxBytes)), why);
  addRounds(ctx, names, `CPU at ${RATE} lines/s`, '% of a core', of((x) => x.load.cpuPercent), why);
  addRounds(ctx, names, 'RSS idle (max)', 'MiB', of((x) => mib(x.idle.rssMaxBytes)), why);
  addRounds(ctx, names, 'CPU idle', '% of a core', of((x) => x.idle.cpuPercent), why);
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
