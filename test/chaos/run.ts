// The chaos run: pods write at a steady rate while a seeded fault schedule
// kills and restarts every component; at the end every line written is
// compared with what the query API serves.
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { prng } from '../../deploy/local/demo/workload.js';
import { exited } from '../../deploy/local/demo/pods.js';
import { Cluster, type ChaosPod } from './cluster.js';
import { SLOW_MS } from '../helpers/wait.js';
import { servedLines, verdict, type PodVerdict } from './verify.js';

export const FAULT_KINDS = ['collector-kill', 'aggregator-kill', 'kafka-restart', 'es-outage', 'pod-delete'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface ChaosOptions {
  durationMs: number;
  seed: number;
  /** Executor pods alive at once (a driver pod writes too and is never deleted). */
  pods: number;
  rate: number;
  rotateBytes: number;
  partitions: number;
  esOutageMs: number;
  /** Faults of each kind to aim for over the run (spread at random). */
  faultsPerKind: number;
  workDir: string;
  log: (msg: string) => void;
}

export interface FaultRecord {
  kind: FaultKind;
  at: number; // ms since the run's start
  healedAt: number;
  /** ms from the heal until a line the probe pod wrote at the heal was served. */
  recoveryMs?: number;
  detail: string;
}

export interface ChaosReport {
  seed: number;
  durationMs: number;
  linesWritten: number;
  faults: Record<FaultKind, number>;
  maxLag: number;
  /** measured: faults whose probe line was served within RECOVERY_WAIT_MS of the heal (the rest took longer). */
  recovery: Record<FaultKind, { median?: number; max?: number; measured: number }>;
  totals: { missing: number; duplicated: number; outOfOrder: number; corrupted: number };
  pods: PodVerdict[];
  records: FaultRecord[];
}

/** How long after a heal the probe line is waited for; a fault not recovered by then counts as "longer". */
const RECOVERY_WAIT_MS = 300_000;

/** Restarts of a collector that exits non-zero when told to drain at the end. */
const DRAIN_ATTEMPTS = 5;

/** With nothing left in Kafka or the spool, how long the served total must stand still (a refresh, a last bulk) before the verdict. */
const IN_FLIGHT_NONE_MS = 30_000;
/** How long the served total may stand still, short of every line and with records still in flight, before the verdict is taken. */
const STORE_STILL_MS = 300_000;
/** The longest wait for the store to catch up after the drain. */
const VERIFY_MAX_MS = 600_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runChaos(o: ChaosOptions): Promise<ChaosReport> {
  const rnd = prng(o.seed);
  const between = (a: number, b: number) => a + rnd() * (b - a);
  const appId = `spark-${randomBytes(16).toString('hex')}`;
  const prefix = `chaos-${o.seed}-${randomBytes(2).toString('hex')}`;
  // A directory left by an earlier run (kept for its logs) holds pods' files and checkpoints: never reuse it.
  rmSync(o.workDir, { recursive: true, force: true });
  const cluster = new Cluster({ workDir: o.workDir, prefix, appId, rate: o.rate, rotateBytes: o.rotateBytes, partitions: o.partitions });
  const records: FaultRecord[] = [];
  let maxLag = 0;
  // Ctrl-C or a kill: stop everything started (servers, pods, aggregators), then exit.
  const onSignal = () => void cluster.stop().finally(() => process.exit(130));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    o.log(`seed ${o.seed}, app ${appId}, prefix ${prefix}, work dir ${o.workDir}`);
    await cluster.start();
    o.log(`stack, 2 aggregators and the query API up (${cluster.apiUrl})`);
    const probe = cluster.startPod('driver');
    for (let i = 0; i < o.pods; i++) cluster.startPod('executor');
    const t0 = Date.now();
    const end = t0 + o.durationMs;
    const live = () => [...cluster.pods.values()].filter((p) => !p.deleted);
    const executors = () => live().filter((p) => p.spec.role === 'executor');

    const lagPoller = (async () => {
      while (Date.now() < end) {
        const lag = await cluster.lag().catch(() => undefined);
        if (lag !== undefined) maxLag = Math.max(maxLag, lag);
        await sleep(2000);
      }
    })();

    const recoveries: Promise<void>[] = [];
    const measureRecovery = (rec: FaultRecord) => {
      const target = cluster.written(probe);
      recoveries.push(
        (async () => {
          const deadline = Date.now() + RECOVERY_WAIT_MS;
          while (Date.now() < deadline) {
            const r = await fetch(`${cluster.apiUrl}/api/v1/apps/${appId}/executors/driver/logs?tail=1`, { signal: AbortSignal.timeout(10_000) }).catch(() => undefined);
            const body = r?.ok ? ((await r.json()) as { lines: { message: string }[] }) : undefined;
            const seq = Number(/seq=(\d+)/.exec(body?.lines[0]?.message ?? '')?.[1] ?? -1);
            if (seq >= target - 1) {
              rec.recoveryMs = Date.now() - rec.healedAt - t0;
              return;
            }
            await sleep(250);
          }
        })(),
      );
    };

    const collectorDown = new Set<ChaosPod>();
    const inject: Record<FaultKind, () => Promise<string>> = {
      'collector-kill': async () => {
        const pods = live();
        const pod = pods[Math.floor(rnd() * pods.length)]!;
        collectorDown.add(pod);
        pod.collector.kill('SIGKILL');
        await exited(pod.collector);
        await sleep(between(200, 3000));
        cluster.restartCollector(pod);
        collectorDown.delete(pod);
        return pod.spec.name;
      },
      'aggregator-kill': async () => {
        const i = rnd() < 0.5 ? 0 : 1;
        const a = cluster.aggregators[i]!;
        a.proc?.kill('SIGKILL');
        if (a.proc) await exited(a.proc);
        await sleep(between(1000, 8000));
        cluster.startAggregator(i);
        return `instance ${i}`;
      },
      'kafka-restart': async () => {
        await cluster.stack.stop('kafka');
        await sleep(between(1000, 10_000));
        await cluster.stack.start('kafka');
        return 'broker';
      },
      'es-outage': async () => {
        await cluster.stack.stop('elasticsearch');
        await sleep(o.esOutageMs);
        await cluster.stack.start('elasticsearch');
        return `${o.esOutageMs / 1000} s`;
      },
      'pod-delete': async () => {
        // Not a pod whose collector is down this very moment: Kubernetes does
        // not restart the containers of a terminating pod, so what that
        // collector had not sent is lost (documented in collector/README.md).
        const ex = executors().filter((p) => !collectorDown.has(p));
        const pod: ChaosPod = ex[Math.floor(rnd() * ex.length)]!;
        const code = await cluster.deletePod(pod);
        cluster.startPod('executor'); // executors come and go: a new one replaces it
        const spooled = cluster.collectorLog(pod).includes('"event":"spooled"');
        return `${pod.spec.name} (collector exit ${code}${spooled ? ', unacknowledged lines spooled on the node' : ''})`;
      },
    };

    // One loop per kind, each at its own random times: faults overlap the way production breaks.
    // Gaps adapt to what is left: a kind whose fault itself lasts long (a 60 s
    // Elasticsearch outage) still reaches its count by the end of the run.
    const loops = FAULT_KINDS.map(async (kind) => {
      const mean = o.durationMs / o.faultsPerKind;
      await sleep(between(0.05, 0.3) * mean);
      let done = 0;
      let lasted = 0;
      while (Date.now() < end) {
        const at = Date.now() - t0;
        const detail = await inject[kind]();
        const rec: FaultRecord = { kind, at, healedAt: Date.now() - t0, detail };
        lasted = rec.healedAt - at;
        done++;
        records.push(rec);
        o.log(`${(at / 1000).toFixed(1).padStart(6)} s  ${kind.padEnd(16)} ${detail}`);
        measureRecovery(rec);
        const left = Math.max(1, o.faultsPerKind - done);
        const slot = (end - Date.now()) / left - lasted;
        await sleep(between(0.3, 1.1) * Math.max(500, done >= o.faultsPerKind ? mean : slot));
      }
    });
    await Promise.all(loops);
    await lagPoller;
    o.log(`faults done after ${((Date.now() - t0) / 1000).toFixed(0)} s; stopping the writers and draining every collector`);

    // Every server is up again (each loop healed its fault). Stop writing, drain.
    for (const p of live()) p.writer.kill('SIGTERM');
    await Promise.all(live().map((p) => exited(p.writer)));
    await Promise.all(live().map(async (p) => {
      // A collector that could not drain in its grace period (Kafka still
      // slow after a restart, a busy machine) is restarted to finish the job,
      // until one drains (exit 0: everything up to EOF acknowledged); bounded.
      for (let attempt = 1; ; attempt++) {
        p.collector.kill('SIGTERM');
        const code = await exited(p.collector);
        if (code === 0) return;
        if (attempt >= DRAIN_ATTEMPTS) {
          o.log(`collector of ${p.spec.name} exited ${code} on each of ${attempt} drains; what it did not send counts as missing`);
          return;
        }
        o.log(`collector of ${p.spec.name} exited ${code}; restarting it to drain (attempt ${attempt + 1} of ${DRAIN_ATTEMPTS})`);
        cluster.restartCollector(p);
        await sleep(15_000);
      }
    }));
    await Promise.all(recoveries);
    // Pods deleted while Kafka was down left their unacknowledged lines in the node's spool.
    for (const end = Date.now() + SLOW_MS; Date.now() < end && cluster.spooled() > 0; ) await sleep(1000);
    if (cluster.spooled() > 0) o.log(`${cluster.spooled()} spool entries still not shipped after ${SLOW_MS / 1000} s`);

    // Wait until the store has caught up: per pod, served == written, or
    // nothing is in flight any more (the group's lag is 0, the spool empty)
    // and the served total has stood still for IN_FLIGHT_NONE_MS. While
    // records wait in Kafka the aggregators store them, however slowly a busy
    // machine lets them (bulk requests time out and are retried): that is
    // waited for, up to STORE_STILL_MS without one more line served, and
    // VERIFY_MAX_MS in all. A page the query API answers 503 (Elasticsearch
    // slow or just back: documented as "try again") is asked again.
    const pods = [...cluster.pods.values()];
    let verdicts: PodVerdict[] = [];
    let lastTotal = -1;
    let stableSince = Date.now();
    const verifyStart = Date.now();
    let retries = 0;
    const onRetry = (why: string) => {
      if (retries++ % 10 === 0) o.log(`query API: ${why}; asking again (${retries} retries so far)`);
    };
    for (;;) {
      verdicts = await Promise.all(pods.map(async (p) => verdict(p.spec.name, p.spec.executorId, cluster.written(p), await servedLines(cluster.apiUrl, appId, p.spec.executorId, onRetry))));
      const total = verdicts.reduce((s, v) => s + v.served, 0);
      if (verdicts.every((v) => v.served >= v.written)) break;
      const now = Date.now();
      if (total !== lastTotal) {
        lastTotal = total;
        stableSince = now;
      }
      const lag = await cluster.lag().catch(() => undefined);
      const still = now - stableSince;
      const why =
        lag === 0 && cluster.spooled() === 0 && still > IN_FLIGHT_NONE_MS ? `nothing in flight (lag 0, spool empty) and ${total} lines served for ${IN_FLIGHT_NONE_MS / 1000} s`
        : still > STORE_STILL_MS ? `${total} lines served, unchanged for ${STORE_STILL_MS / 1000} s (lag ${lag ?? 'unknown'})`
        : now - verifyStart > VERIFY_MAX_MS ? `${total} lines served after ${VERIFY_MAX_MS / 1000} s of waiting (lag ${lag ?? 'unknown'})`
        : undefined;
      if (why) {
        o.log(`${why}; verifying what the store has`);
        break;
      }
      await sleep(3000);
    }

    const faults = Object.fromEntries(FAULT_KINDS.map((k) => [k, records.filter((r) => r.kind === k).length])) as Record<FaultKind, number>;
    const recovery = Object.fromEntries(
      FAULT_KINDS.map((k) => {
        const ms = records.filter((r) => r.kind === k && r.recoveryMs !== undefined).map((r) => r.recoveryMs!).sort((a, b) => a - b);
        return [k, ms.length ? { median: ms[Math.floor(ms.length / 2)], max: ms.at(-1), measured: ms.length } : { measured: 0 }];
      }),
    ) as ChaosReport['recovery'];
    const totals = { missing: 0, duplicated: 0, outOfOrder: 0, corrupted: 0 };
    for (const v of verdicts) {
      totals.missing += v.missing;
      totals.duplicated += v.duplicated;
      totals.outOfOrder += v.outOfOrder;
      totals.corrupted += v.corrupted;
    }
    return { seed: o.seed, durationMs: o.durationMs, linesWritten: verdicts.reduce((s, v) => s + v.written, 0), faults, maxLag, recovery, totals, pods: verdicts, records };
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await cluster.stop();
  }
}

export function formatReport(r: ChaosReport): string {
  const lines = [
    `chaos report (seed ${r.seed}, ${r.durationMs / 1000} s)`,
    `  lines written         ${r.linesWritten}`,
    `  max consumer lag      ${r.maxLag}`,
    `  faults                count  recovery median / max (s) of those recovered within ${RECOVERY_WAIT_MS / 1000} s`,
    ...FAULT_KINDS.map((k) => {
      const rec = r.recovery[k];
      const times = rec.median !== undefined ? `${(rec.median / 1000).toFixed(1)} / ${(rec.max! / 1000).toFixed(1)}` : '-';
      const late = r.faults[k] - rec.measured;
      return `    ${k.padEnd(20)}${String(r.faults[k]).padStart(5)}  ${times}${late > 0 ? `  (${late} took longer)` : ''}`;
    }),
    `  missing               ${r.totals.missing}`,
    `  duplicated            ${r.totals.duplicated}`,
    `  out of order          ${r.totals.outOfOrder}`,
    `  corrupted             ${r.totals.corrupted}`,
  ];
  const bad = r.pods.filter((p) => p.missing || p.duplicated || p.outOfOrder || p.corrupted);
  for (const p of bad) lines.push(`    executor ${p.executorId}: written ${p.written}, served ${p.served}, missing ${p.missing}${p.firstMissing !== undefined ? ` (first seq ${p.firstMissing})` : ''}, duplicated ${p.duplicated}, out of order ${p.outOfOrder}, corrupted ${p.corrupted}`);
  return lines.join('\n');
}
