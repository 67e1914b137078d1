// The aggregator binary (dist/aggregator/main.js) as the benchmarks run it:
// one or more instances of one consumer group, metrics on free ports, and a
// rate measured from the instances' lines_indexed_total counters between the
// first line stored and the last (group join and start-up excluded).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { metric } from './collector-run.js';
import { DIST, freePort, type Ctx } from './context.js';
import { startMeasured, waitFor, type ExitUsage, type Measured } from './proc.js';
import { profileArgs } from './profile.js';

export const AGGREGATOR = join(DIST, 'aggregator/main.js');

export interface AggregatorRun {
  linesPerSec: number | null;
  seconds: number;
  indexed: number;
  usage: ExitUsage[];
  failed?: string;
}

export interface AggregatorProc {
  p: Measured;
  indexed(): Promise<number | undefined>;
  /** In its consumer group with the store writable (GET /readyz). */
  ready(): Promise<boolean>;
}

export async function startAggregator(ctx: Ctx, prefix: string, groupId: string, extraEnv: Record<string, string> = {}): Promise<AggregatorProc> {
  if (!existsSync(AGGREGATOR)) throw new Error(`${AGGREGATOR} is not built (npm run build)`);
  const port = await freePort();
  const p = await startMeasured(process.execPath, [...profileArgs(), AGGREGATOR, 'run'], {
    ...process.env,
    SPARKLOGS_KAFKA_BROKERS: ctx.brokers.join(','),
    SPARKLOGS_ES_URL: ctx.esUrl,
    SPARKLOGS_PREFIX: prefix,
    SPARKLOGS_GROUP_ID: groupId,
    SPARKLOGS_PARTITIONS: String(ctx.partitions),
    SPARKLOGS_METRICS_PORT: String(port),
    SPARKLOGS_METRICS_HOST: '127.0.0.1',
    SPARKLOGS_LOG_LEVEL: 'warn',
    ...extraEnv,
  });
  return {
    p,
    indexed: () => metric(`http://127.0.0.1:${port}/metrics`, 'sparklogs_aggregator_lines_indexed_total'),
    ready: async () => (await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(2000) }).catch(() => undefined))?.ok === true,
  };
}

/**
 * Runs `instances` aggregators of one group over a pre-filled topic until
 * `events` lines are indexed (with SPARKLOGS_SINK=null in `env`: counted and
 * committed, not stored). A new `group` reads the topic again from offset 0.
 */
export async function measureAggregators(ctx: Ctx, prefix: string, events: number, instances: number, timeoutMs: number, o: { group?: string; env?: Record<string, string> } = {}): Promise<AggregatorRun> {
  const group = o.group ?? `${prefix}-group`;
  const procs = await Promise.all(Array.from({ length: instances }, () => startAggregator(ctx, prefix, group, o.env)));
  const total = async () => (await Promise.all(procs.map((a) => a.indexed()))).reduce<number>((s, n) => s + (n ?? 0), 0);
  let first: { t: number; n: number } | undefined;
  let last = { t: performance.now(), n: 0 };
  const done = await waitFor(async () => {
    const n = await total();
    const t = performance.now();
    if (n > 0 && !first) first = { t, n };
    last = { t, n };
    return n >= events || procs.some((a) => a.p.child.exitCode !== null);
  }, timeoutMs, 100);
  for (const a of procs) a.p.signal('SIGTERM');
  const usage = await Promise.all(procs.map((a) => a.p.exited(40_000)));
  const seconds = first ? (last.t - first.t) / 1000 : NaN;
  const rate = first && last.n > first.n && seconds > 0 ? (last.n - first.n) / seconds : null;
  if (!done || last.n < events) {
    const why = procs.map((a) => a.p.stderr().slice(-200) || a.p.stdout().slice(-200)).join(' / ');
    return { linesPerSec: null, seconds, indexed: last.n, usage, failed: `${last.n} of ${events} lines indexed: ${why}` };
  }
  return { linesPerSec: rate, seconds, indexed: last.n, usage };
}
