// Issue 16, part 4: what collection costs per pod with one sidecar per pod
// and with one collector per node (--mode node). N executors write 100
// lines/s each. First N sidecars tail their executor's log file (as the pod
// templates deploy them); then one node collector reads the same kind of
// writes as the kubelet stores them (CRI records under
// <podLogDir>/<namespace>_<pod>_<uid>/<container>/0.log). CPU% and RSS of all
// collector processes of each phase are summed; the 10,000-executor sizing
// is printed from them.
//
// The node collector here has no Kubernetes API (SPARKLOGS_WATCH_PODS=false,
// identityWaitMs=0): each pod container ships under its directory's name at
// once. What is measured is the reading, decoding and shipping; the one pod
// watch per node (its events are a node's pod changes) is not.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { COLLECTOR, metric, startCollector, type CollectorProc } from '../collector-run.js';
import { createTopic, freePort, type Ctx } from '../context.js';
import { sampleFootprint, startMeasured, waitFor, type Footprint } from '../proc.js';
import { median } from '../stats.js';
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
  cpu: number[];
  rssMiB: number;
  written: number;
  acked: number;
}

/** Sums CPU% over processes per window and takes the sum of each process's largest RSS. */
async function measure(ctx: Ctx, procs: { p: Parameters<typeof sampleFootprint>[0] }[], windowMs: number): Promise<{ cpu: number[]; rssMiB: number }> {
  const cpu: number[] = [];
  const rssMax = procs.map(() => 0);
  for (let r = 0; r < ctx.rounds; r++) {
    const fs: Footprint[] = await Promise.all(procs.map((x) => sampleFootprint(x.p, windowMs)));
    cpu.push(fs.reduce((a, f) => a + f.cpuPercent, 0));
    fs.forEach((f, i) => (rssMax[i] = Math.max(rssMax[i]!, f.rssMaxBytes)));
  }
  return { cpu, rssMiB: mib(rssMax.reduce((a, b) => a + b, 0)) };
}

export async function nodeMode(ctx: Ctx): Promise<void> {
  // Quick mode (npm test's smoke run of the harness) keeps it to about 20 s.
  const n = ctx.quick ? 2 : 10;
  const windowMs = ctx.quick ? 1500 : 20_000;
  const warmMs = ctx.quick ? 1000 : 10_000;
  const dir = await mkdtemp(join(tmpdir(), 'sparklogs-bench-node-mode-'));
  const results: { sidecar?: Phase; node?: Phase } = {};
  try {
    // Phase 1: one sidecar per executor.
    {
      const prefix = `${ctx.runPrefix}-nm-sidecar`;
      const topic = await createTopic(ctx, prefix);
      const cols: CollectorProc[] = [];
      const writers: Writer[] = [];
      try {
        for (let i = 0; i < n; i++) {
          const file = join(dir, `sidecar-${i}`, 'executor.log');
          await mkdir(join(dir, `sidecar-${i}`));
          await writeFile(file, '');
          cols.push(await startCollector({ brokers: ctx.brokers, prefix, paths: file, executorId: String(i + 1) }));
        }
        await waitFor(async () => (await Promise.all(cols.map((c) => c.acked()))).every((a) => a !== undefined), 30_000);
        for (let i = 0; i < n; i++) writers.push(await startWriter(join(dir, `sidecar-${i}`, 'executor.log'), RATE, { seed: 100 + i }));
        await new Promise((r) => setTimeout(r, warmMs));
        const m = await measure(ctx, cols, windowMs);
        for (const w of writers) await w.stop();
        const written = writers.reduce((a, w) => a + w.written(), 0);
        const ackedAll = async () => (await Promise.all(cols.map((c) => c.acked()))).reduce<number>((a, x) => a + (x ?? 0), 0);
        await waitFor(async () => (await ackedAll()) >= written, 30_000, 200);
        results.sidecar = { ...m, written, acked: await ackedAll() };
      } finally {
        for (const w of writers) await w.stop();
        for (const c of cols) await c.stop();
        await topic.close();
      }
    }
    // Phase 2: one node collector reading every executor's CRI file.
    {
      const prefix = `${ctx.runPrefix}-nm-node`;
      const topic = await createTopic(ctx, prefix);
      const podLogDir = join(dir, 'pods');
      const containers: string[] = [];
      for (let i = 0; i < n; i++) {
        const c = join(podLogDir, `bench_bench-exec-${i + 1}_00000000-0000-4000-8000-${String(i + 1).padStart(12, '0')}`, 'spark-kubernetes-executor');
        await mkdir(c, { recursive: true });
        await writeFile(join(c, '0.log'), '');
        containers.push(c);
      }
      const port = await freePort();
      const p = await startMeasured(process.execPath, [COLLECTOR, '--mode', 'node'], {
        ...process.env,
        SPARKLOGS_KAFKA_BROKERS: ctx.brokers.join(','),
        SPARKLOGS_PREFIX: prefix,
        SPARKLOGS_NODE_NAME: 'bench-node',
        SPARKLOGS_POD_LOG_DIR: podLogDir,
        SPARKLOGS_STATE_DIR: join(dir, 'node-state'),
        SPARKLOGS_WATCH_PODS: 'false',
        SPARKLOGS_IDENTITY_WAIT_MS: '0',
        SPARKLOGS_METRICS_PORT: String(port),
        SPARKLOGS_LOG_LEVEL: 'error',
      });
      const acked = () => metric(`http://127.0.0.1:${port}/metrics`, 'sparklogs_collector_lines_acked_total');
      const writers: Writer[] = [];
      try {
        await waitFor(async () => (await acked()) !== undefined, 30_000);
        for (let i = 0; i < n; i++) writers.push(await startCriWriter(join(containers[i]!, '0.log'), RATE, 100 + i));
        await new Promise((r) => setTimeout(r, warmMs));
        const m = await measure(ctx, [{ p }], windowMs);
        for (const w of writers) await w.stop();
        const written = writers.reduce((a, w) => a + w.written(), 0);
        await waitFor(async () => ((await acked()) ?? 0) >= written, 30_000, 200);
        results.node = { ...m, written, acked: (await acked()) ?? 0 };
      } finally {
        for (const w of writers) await w.stop();
        p.signal('SIGTERM');
        await p.exited(30_000);
        await topic.close();
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }

  const s = results.sidecar!;
  const nd = results.node!;
  const cpuS = median(s.cpu);
  const cpuN = median(nd.cpu);
  ctx.out(`bench:   ${n} executors × ${RATE} lines/s; sidecars acknowledged ${s.acked} of ${s.written} events, the node collector ${nd.acked} of ${nd.written}; load ${loadavg()[0]!.toFixed(2)}\n`);
  const note = (xs: number[]) => `windows of ${windowMs / 1000} s: ${xs.map((v) => v.toFixed(2)).join(', ')}%`;
  const kept = (p: Phase) => (p.acked >= p.written ? '' : `; FELL BEHIND: ${p.acked} of ${p.written} acknowledged`);
  ctx.add({ part: 'node-mode', name: `CPU, ${n} executors at ${RATE} lines/s: node collector (ref: ${n} sidecars)`, value: cpuN, unit: '% of a core', reference: { name: `${n} sidecars`, value: cpuS }, ratio: cpuS ? cpuN / cpuS : null, note: `node: ${note(nd.cpu)}${kept(nd)}; sidecars: ${note(s.cpu)}${kept(s)}` });
  ctx.add({ part: 'node-mode', name: `RSS, ${n} executors at ${RATE} lines/s: node collector (ref: ${n} sidecars, summed)`, value: nd.rssMiB, unit: 'MiB', reference: { name: `${n} sidecars`, value: s.rssMiB }, ratio: s.rssMiB ? nd.rssMiB / s.rssMiB : null });
  // 10,000 executors: sidecars scale per pod; node collectors per node, with the measured pods per node.
  const nodes = Math.ceil(EXECUTORS_AT_SCALE / n);
  const sideCores = (cpuS / n / 100) * EXECUTORS_AT_SCALE;
  const nodeCores = (cpuN / 100) * nodes;
  ctx.add({ part: 'node-mode', name: `sizing: CPU for ${EXECUTORS_AT_SCALE} executors × ${RATE} lines/s, node mode (${nodes} nodes of ${n} executors; ref: sidecars)`, value: nodeCores, unit: 'cores', reference: { name: 'sidecars', value: sideCores }, ratio: sideCores ? nodeCores / sideCores : null });
  const sideGiB = (s.rssMiB / n) * EXECUTORS_AT_SCALE / 1024;
  const nodeGiB = (nd.rssMiB * nodes) / 1024;
  ctx.add({ part: 'node-mode', name: `sizing: memory for ${EXECUTORS_AT_SCALE} executors, node mode (${nodes} nodes of ${n} executors; ref: sidecars)`, value: nodeGiB, unit: 'GiB', reference: { name: 'sidecars', value: sideGiB }, ratio: sideGiB ? nodeGiB / sideGiB : null });
}
