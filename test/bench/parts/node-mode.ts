// Issue 16, part 4: what collection costs per pod with one sidecar per pod
// and with one collector per node (--mode node). N executors write 100
// lines/s each. First N sidecars tail their executor's log file (as the pod
// templates deploy them); then one node collector reads the same kind of
// writes as the kubelet stores them (CRI records under
// <podLogDir>/<namespace>_<pod>_<uid>/<container>/0.log). CPU% and RSS of all
// collector processes of each phase are summed; the 10,000-executor sizing
// is printed from them.
//
// In ctx.rounds rounds, the order of the phases rotated each round (sidecars,
// node, node+watch; then node, node+watch, sidecars; ...), each phase started
// afresh and sampled over one window: a ratio is the median of the rounds'
// ratios, with its spread (report.ts fromRounds).
//
// The pod watch: the node collector of phase "node" has no Kubernetes API
// (SPARKLOGS_WATCH_PODS=false, identityWaitMs=0): each pod container ships
// under its directory's name at once; what it measures is the reading,
// decoding and shipping. When SPARKLOGS_BENCH_KUBECONFIG and
// SPARKLOGS_BENCH_NODE_NAME name a real API server and one of its nodes, the
// phase "node+watch" runs the same collector on the same load with its pod
// watch (list + watch of that node's pods, collector/node/pods.ts) against
// that server; the bench's pod directories are not pods of the API, so they
// ship under their directory names once the node's pods are listed. The
// watch's cost is node+watch over node in the same round.
// SPARKLOGS_BENCH_KUBE_LOCK names a file held with flock(1) during that phase
// (for a node shared with tests). Unset, the watch is "not measured".
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { COLLECTOR, metric, startCollector, type CollectorProc } from '../collector-run.js';
import { createTopic, freePort, type Ctx } from '../context.js';
import { sampleFootprint, startMeasured, waitFor, type Footprint } from '../proc.js';
import { fromRounds, withRatio, type Figure } from '../report.js';
import { startWriter, type Writer } from '../writer.js';

const RATE = 100;
const EXECUTORS_AT_SCALE = 10_000;
const mib = (b: number) => b / 2 ** 20;

/** An executor's events as the kubelet stores its stdout: one CRI record per line (`<time> stdout F <text>`). */
function startCriWriter(path: string, eventsPerSec: number, seed: number): Promise<Writer> {
  return startWriter(path, eventsPerSec, {
    seed,
    format: (text) => {
      const at = new Date().toISOString().replace('Z', '000000Z');
      let out = '';
      for (const line of text.split('\n')) out += `${at} stdout F ${line}\n`;
      return out;
    },
  });
}

interface Phase {
  cpu: number;
  rssMiB: number;
  written: number;
  acked: number;
  /** Node collector with its pod watch: pods of the node it knew at the end. */
  podsKnown?: number;
}

type PhaseName = 'sidecars' | 'node' | 'node+watch';

/** The Kubernetes API the node collector's pod watch runs against, from the environment (unset: the watch is not measured). */
interface KubeTarget {
  kubeconfig: string;
  node: string;
  /** A file held with flock(1) while the watch runs (a shared node's convention), if set. */
  lock?: string;
}

function kubeTarget(): KubeTarget | string {
  const kubeconfig = process.env.SPARKLOGS_BENCH_KUBECONFIG;
  const node = process.env.SPARKLOGS_BENCH_NODE_NAME;
  if (!kubeconfig) return 'no Kubernetes API given (SPARKLOGS_BENCH_KUBECONFIG and SPARKLOGS_BENCH_NODE_NAME unset)';
  if (!node) return 'SPARKLOGS_BENCH_KUBECONFIG is set but SPARKLOGS_BENCH_NODE_NAME (the node whose pods are watched) is not';
  if (!existsSync(kubeconfig)) return `SPARKLOGS_BENCH_KUBECONFIG: no such file: ${kubeconfig}`;
  const lock = process.env.SPARKLOGS_BENCH_KUBE_LOCK;
  return { kubeconfig, node, ...(lock ? { lock } : {}) };
}

/** Holds `flock <file>` until release() (at most waitMs to get it). */
async function holdLock(file: string, waitMs: number): Promise<{ release(): Promise<void> }> {
  const child = spawn('flock', ['-w', String(Math.ceil(waitMs / 1000)), file, 'sh', '-c', 'echo locked; exec cat >/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  const got = await Promise.race([waitFor(() => out.includes('locked'), waitMs + 5000, 100), exited.then(() => false)]);
  if (!got) {
    child.kill('SIGKILL');
    throw new Error(`could not take the lock ${file} within ${waitMs / 1000} s${err ? `: ${err.trim()}` : ''}`);
  }
  return {
    async release() {
      child.stdin.end();
      await exited;
    },
  };
}

/** Sums CPU% over processes in one window and takes the sum of each process's largest RSS. */
async function measure(procs: { p: Parameters<typeof sampleFootprint>[0] }[], windowMs: number): Promise<{ cpu: number; rssMiB: number }> {
  const fs: Footprint[] = await Promise.all(procs.map((x) => sampleFootprint(x.p, windowMs)));
  return { cpu: fs.reduce((a, f) => a + f.cpuPercent, 0), rssMiB: mib(fs.reduce((a, f) => a + f.rssMaxBytes, 0)) };
}

interface Setup {
  n: number;
  windowMs: number;
  warmMs: number;
}

/** N sidecars, each tailing its executor's log file, as the pod templates deploy them. */
async function sidecars(ctx: Ctx, dir: string, r: number, o: Setup): Promise<Phase> {
  const prefix = `${ctx.runPrefix}-nm-sidecar-r${r}`;
  const topic = await createTopic(ctx, prefix);
  const cols: CollectorProc[] = [];
  const writers: Writer[] = [];
  try {
    for (let i = 0; i < o.n; i++) {
      const d = join(dir, `sidecar-${i}`);
      await mkdir(d);
      await writeFile(join(d, 'executor.log'), '');
      cols.push(await startCollector({ brokers: ctx.brokers, prefix, paths: join(d, 'executor.log'), executorId: String(i + 1) }));
    }
    await waitFor(async () => (await Promise.all(cols.map((c) => c.acked()))).every((a) => a !== undefined), 30_000);
    for (let i = 0; i < o.n; i++) writers.push(await startWriter(join(dir, `sidecar-${i}`, 'executor.log'), RATE, { seed: 100 + i }));
    await new Promise((res) => setTimeout(res, o.warmMs));
    const m = await measure(cols, o.windowMs);
    for (const w of writers) await w.stop();
    const written = writers.reduce((a, w) => a + w.written(), 0);
    const ackedAll = async () => (await Promise.all(cols.map((c) => c.acked()))).reduce<number>((a, x) => a + (x ?? 0), 0);
    await waitFor(async () => (await ackedAll()) >= written, 30_000, 200);
    return { ...m, written, acked: await ackedAll() };
  } finally {
    for (const w of writers) await w.stop();
    for (const c of cols) await c.stop();
    await topic.close();
  }
}

/** One node collector reading every executor's CRI file; with `kube`, it also watches its node's pods through that API. */
async function nodeCollector(ctx: Ctx, dir: string, r: number, o: Setup, kube?: KubeTarget): Promise<Phase> {
  const prefix = `${ctx.runPrefix}-nm-node${kube ? '-watch' : ''}-r${r}`;
  const topic = await createTopic(ctx, prefix);
  const podLogDir = join(dir, 'pods');
  const containers: string[] = [];
  for (let i = 0; i < o.n; i++) {
    const c = join(podLogDir, `bench_bench-exec-${i + 1}_00000000-0000-4000-8000-${String(i + 1).padStart(12, '0')}`, 'spark-kubernetes-executor');
    await mkdir(c, { recursive: true });
    await writeFile(join(c, '0.log'), '');
    containers.push(c);
  }
  const port = await freePort();
  const lock = kube?.lock ? await holdLock(kube.lock, ctx.quick ? 60_000 : 900_000) : undefined;
  const writers: Writer[] = [];
  let p: Awaited<ReturnType<typeof startMeasured>> | undefined;
  try {
    p = await startMeasured(process.execPath, [COLLECTOR, '--mode', 'node'], {
      ...process.env,
      SPARKLOGS_KAFKA_BROKERS: ctx.brokers.join(','),
      SPARKLOGS_PREFIX: prefix,
      SPARKLOGS_POD_LOG_DIR: podLogDir,
      SPARKLOGS_STATE_DIR: join(dir, 'node-state'),
      // The bench's pod directories are not pods of the API: with the watch they
      // ship under their directory names as soon as the node's pods are listed.
      SPARKLOGS_IDENTITY_WAIT_MS: '0',
      SPARKLOGS_METRICS_PORT: String(port),
      SPARKLOGS_LOG_LEVEL: 'error',
      ...(kube
        ? { SPARKLOGS_WATCH_PODS: 'true', SPARKLOGS_KUBECONFIG: kube.kubeconfig, SPARKLOGS_NODE_NAME: kube.node }
        : { SPARKLOGS_WATCH_PODS: 'false', SPARKLOGS_NODE_NAME: 'bench-node' }),
    });
    const url = `http://127.0.0.1:${port}/metrics`;
    const acked = () => metric(url, 'sparklogs_collector_lines_acked_total');
    await waitFor(async () => (await acked()) !== undefined, 30_000);
    for (let i = 0; i < o.n; i++) writers.push(await startCriWriter(join(containers[i]!, '0.log'), RATE, 100 + i));
    await new Promise((res) => setTimeout(res, o.warmMs));
    const m = await measure([{ p }], o.windowMs);
    for (const w of writers) await w.stop();
    const written = writers.reduce((a, w) => a + w.written(), 0);
    await waitFor(async () => ((await acked()) ?? 0) >= written, 30_000, 200);
    const podsKnown = kube ? await metric(url, 'sparklogs_collector_node_pods_known') : undefined;
    return { ...m, written, acked: (await acked()) ?? 0, ...(podsKnown !== undefined ? { podsKnown } : {}) };
  } finally {
    for (const w of writers) await w.stop();
    if (p) {
      p.signal('SIGTERM');
      await p.exited(30_000);
    }
    await lock?.release();
    await topic.close();
    await rm(podLogDir, { recursive: true, force: true });
    await rm(join(dir, 'node-state'), { recursive: true, force: true });
  }
}

export async function nodeMode(ctx: Ctx): Promise<void> {
  // Quick mode (npm test's smoke run of the harness) keeps it to about 20 s.
  const o: Setup = { n: ctx.quick ? 2 : 10, windowMs: ctx.quick ? 1500 : 20_000, warmMs: ctx.quick ? 1000 : 10_000 };
  const { n, windowMs } = o;
  const kube = kubeTarget();
  const phases: PhaseName[] = typeof kube === 'string' ? ['sidecars', 'node'] : ['sidecars', 'node', 'node+watch'];
  ctx.out(`bench: node-mode: ${n} executors × ${RATE} lines/s; ${ctx.rounds} rounds of ${phases.join(', ')} (order rotated each round), one ${windowMs / 1000} s window each${typeof kube === 'string' ? `; the pod watch is not measured: ${kube}` : `; the pod watch against ${kube.kubeconfig}, node ${kube.node}`}\n`);
  const runs: Partial<Record<PhaseName, Phase>>[] = [];
  const failures: string[] = [];
  for (let r = 0; r < ctx.rounds; r++) {
    const round: Partial<Record<PhaseName, Phase>> = {};
    const k = r % phases.length;
    for (const ph of [...phases.slice(k), ...phases.slice(0, k)]) {
      const dir = await mkdtemp(join(tmpdir(), 'sparklogs-bench-node-mode-'));
      try {
        const res = ph === 'sidecars' ? await sidecars(ctx, dir, r, o) : await nodeCollector(ctx, dir, r, o, ph === 'node+watch' ? (kube as KubeTarget) : undefined);
        // A phase that did not ship every event it was given has no figure from that round.
        if (res.acked >= res.written) round[ph] = res;
        else failures.push(`round ${r + 1} ${ph}: fell behind, ${res.acked} of ${res.written} acknowledged`);
        ctx.out(`bench:   round ${r + 1} ${ph}: CPU ${res.cpu.toFixed(2)}% of a core, RSS ${res.rssMiB.toFixed(1)} MiB, ${res.acked} of ${res.written} events acknowledged${res.podsKnown !== undefined ? `, ${res.podsKnown} pods of the node known` : ''}; load ${loadavg()[0]!.toFixed(2)}\n`);
      } catch (err) {
        failures.push(`round ${r + 1} ${ph}: ${(err as Error).message.slice(0, 200)}`);
        ctx.out(`bench:   round ${r + 1} ${ph} failed: ${(err as Error).message}\n`);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    }
    runs.push(round);
  }

  const of = (ph: PhaseName, f: (x: Phase) => number) => runs.map((x) => (x[ph] ? f(x[ph]) : null));
  const why = failures.join('; ') || undefined;
  const part = 'node-mode';
  const add = (f: Figure, extra?: string) => ctx.add({ ...f, ...(why || extra ? { note: [extra, why].filter(Boolean).join('; ') } : {}) });
  const cpu = fromRounds({ part, name: `CPU, ${n} executors at ${RATE} lines/s: node collector (ref: ${n} sidecars)`, unit: '% of a core' }, of('node', (x) => x.cpu), { name: `${n} sidecars`, values: of('sidecars', (x) => x.cpu) });
  add(cpu);
  const rss = fromRounds({ part, name: `RSS, ${n} executors at ${RATE} lines/s: node collector (ref: ${n} sidecars, summed)`, unit: 'MiB' }, of('node', (x) => x.rssMiB), { name: `${n} sidecars`, values: of('sidecars', (x) => x.rssMiB) });
  add(rss);
  // The pod watch: the same node collector and load with and without it, alternating in the rounds.
  const watchName = (what: string, unit: string) => ({ part, name: `pod watch: ${what}, node collector with its pod watch (ref: without)`, unit });
  if (typeof kube === 'string') {
    for (const [what, unit] of [['CPU', '% of a core'], ['RSS', 'MiB']] as const) ctx.add({ ...watchName(what, unit), value: null, note: `not measured: ${kube}` });
  } else {
    const pods = of('node+watch', (x) => x.podsKnown ?? NaN).filter((x): x is number => x !== null && Number.isFinite(x));
    const podsNote = `against ${kube.node}'s kube-apiserver; pods of the node known at the end of each round: ${pods.join(', ') || 'n/a'}`;
    add(fromRounds(watchName('CPU', '% of a core'), of('node+watch', (x) => x.cpu), { name: 'without', values: of('node', (x) => x.cpu) }), podsNote);
    add(fromRounds(watchName('RSS', 'MiB'), of('node+watch', (x) => x.rssMiB), { name: 'without', values: of('node', (x) => x.rssMiB) }), podsNote);
  }
  // 10,000 executors: sidecars scale per pod; node collectors per node, with the measured pods per node.
  const cpuS = cpu.reference?.value ?? null;
  const cpuN = cpu.value;
  const rssS = rss.reference?.value ?? null;
  const rssN = rss.value;
  const nodes = Math.ceil(EXECUTORS_AT_SCALE / n);
  const sideCores = cpuS === null ? null : (cpuS / n / 100) * EXECUTORS_AT_SCALE;
  const nodeCores = cpuN === null ? null : (cpuN / 100) * nodes;
  ctx.add(withRatio({ part, name: `sizing: CPU for ${EXECUTORS_AT_SCALE} executors × ${RATE} lines/s, node mode (${nodes} nodes of ${n} executors; ref: sidecars)`, value: nodeCores, unit: 'cores', reference: { name: 'sidecars', value: sideCores }, note: 'from the medians above' }));
  const sideGiB = rssS === null ? null : (rssS / n) * EXECUTORS_AT_SCALE / 1024;
  const nodeGiB = rssN === null ? null : (rssN * nodes) / 1024;
  ctx.add(withRatio({ part, name: `sizing: memory for ${EXECUTORS_AT_SCALE} executors, node mode (${nodes} nodes of ${n} executors; ref: sidecars)`, value: nodeGiB, unit: 'GiB', reference: { name: 'sidecars', value: sideGiB }, note: 'from the medians above' }));
}
