// The demo as a library: start the aggregator and the query API against a
// running stack, run a sample Spark application as local pods with their
// collectors, delete every pod, and wait until the query API serves every
// line. `npm start` (main.ts) and the end-to-end test both drive this.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { names } from '../../../contract/names.js';
import { backoffMs, DEFAULT_RETRY, sleep } from '../../../contract/retry.js';
import { createEsSink, type EsSink } from '../../../aggregator/sinks/elasticsearch.js';
import { lifecycleDoc, lifecycleItem } from '../../../aggregator/transforms/pod-lifecycle.js';
import { distDir, freePort } from './paths.js';
import { planApp, type AppPlan } from './workload.js';
import { startPod, terminatedPod, type Pod, type PodEnv, type PodSpec } from './pods.js';
import type { PodRun } from './spark-pod.js';


export type Progress =
  | { kind: 'service'; name: string; url?: string }
  | { kind: 'pod-running'; pod: string }
  | { kind: 'pod-exited'; pod: string; code: number; reason?: string }
  | { kind: 'pod-deleted'; pod: string; collectorExit: number | null }
  | { kind: 'lines'; written: number; served: number };

export interface DemoOptions {
  kafkaBrokers: string;
  esUrl: string;
  prefix: string;
  apiHost: string;
  apiPort: number;
  executors: number;
  linesPerExecutor: number;
  durationMs: number;
  seed: number;
  appName: string;
  namespace: string;
  workDir: string;
  rotateBytes: number;
  onProgress?: (p: Progress) => void;
}

export interface Services {
  apiUrl: string;
  stop(): Promise<void>;
}

function serviceEnv(o: DemoOptions): NodeJS.ProcessEnv {
  return { ...process.env, SPARKLOGS_KAFKA_BROKERS: o.kafkaBrokers, SPARKLOGS_ES_URL: o.esUrl, SPARKLOGS_PREFIX: o.prefix };
}

function exitCode(p: ChildProcess): Promise<number> {
  return new Promise((resolve) => {
    if (p.exitCode !== null) return resolve(p.exitCode);
    p.once('exit', (code) => resolve(code ?? 1));
  });
}

/**
 * Waits until `check` holds, for as long as the process lives: a busy machine
 * starts a JVM client or a Node process slowly, and that is not a failure. A
 * line on stderr every `noticeMs` says what is awaited; `limitMs` bounds it all.
 */
async function waitFor(what: string, check: () => Promise<boolean>, died: Promise<number>, noticeMs = 30_000, limitMs = 10 * 60_000): Promise<void> {
  const start = Date.now();
  let notice = start + noticeMs;
  let dead: number | undefined;
  void died.then((c) => (dead = c));
  for (;;) {
    if (dead !== undefined) throw new Error(`${what}: the process exited with code ${dead} (see its log in the work directory)`);
    if (await check().catch(() => false)) return;
    if (Date.now() > start + limitMs) throw new Error(`${what}: not ready within ${limitMs / 1000} s, though its process runs (see its log in the work directory)`);
    if (Date.now() > notice) {
      process.stderr.write(`demo: still waiting for the ${what} (${Math.round((Date.now() - start) / 1000)} s; a busy machine is slow to start it)\n`);
      notice += noticeMs;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

export async function startServices(o: DemoOptions): Promise<Services> {
  mkdirSync(o.workDir, { recursive: true });
  const env = serviceEnv(o);
  const log = (name: string) => openSync(join(o.workDir, `${name}.log`), 'a');

  const setup = spawn(process.execPath, [join(distDir, 'aggregator/main.js'), 'setup'], { env, stdio: ['ignore', log('setup'), log('setup')] });
  const setupCode = await exitCode(setup);
  if (setupCode !== 0) throw new Error(`aggregator setup exited with ${setupCode}: see ${join(o.workDir, 'setup.log')}`);

  const metricsPort = await freePort();
  const aggregator = spawn(process.execPath, [join(distDir, 'aggregator/main.js')], {
    env: { ...env, SPARKLOGS_METRICS_PORT: String(metricsPort), SPARKLOGS_GROUP_ID: `${o.prefix}-aggregator` },
    stdio: ['ignore', log('aggregator'), log('aggregator')],
  });
  const aggExit = exitCode(aggregator);
  await waitFor('aggregator', async () => (await fetch(`http://127.0.0.1:${metricsPort}/healthz`)).ok, aggExit);
  o.onProgress?.({ kind: 'service', name: 'aggregator' });

  const port = o.apiPort || (await freePort());
  const api = spawn(process.execPath, [join(distDir, 'query-api/server.js')], {
    env: { ...env, SPARKLOGS_HOST: o.apiHost, SPARKLOGS_PORT: String(port) },
    stdio: ['ignore', log('query-api'), log('query-api')],
  });
  const apiExit = exitCode(api);
  const apiUrl = `http://${o.apiHost === '0.0.0.0' ? '127.0.0.1' : o.apiHost}:${port}`;
  await waitFor('query API', async () => (await fetch(`${apiUrl}/readyz`)).ok, apiExit);
  o.onProgress?.({ kind: 'service', name: 'query-api', url: apiUrl });

  return {
    apiUrl,
    async stop() {
      for (const [p, done] of [[api, apiExit], [aggregator, aggExit]] as const) {
        if (p.exitCode !== null) continue;
        p.kill('SIGTERM');
        const t = setTimeout(() => p.kill('SIGKILL'), 30_000);
        await done;
        clearTimeout(t);
      }
    },
  };
}

export interface AppResult {
  plan: AppPlan;
  /** Every event each pod wrote, in order, by executor id ('driver', '1', …). */
  written: Map<string, { level: string; text: string }[]>;
  collectorExits: Map<string, number | null>;
}

export function readTruth(truthDir: string, ids: string[]): Map<string, { level: string; text: string }[]> {
  const m = new Map<string, { level: string; text: string }[]>();
  for (const id of ids) {
    let raw = '';
    try {
      raw = readFileSync(join(truthDir, `${id}.jsonl`), 'utf8');
    } catch {
      // a pod that never wrote a line
    }
    m.set(id, raw.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { level: string; text: string }));
  }
  return m;
}

/**
 * What the aggregator's pod watcher does on a cluster, done by the demo's
 * "kubelet": the pod's end as the executor's lifecycle document, built and
 * written by the aggregator's own transform and sink.
 */
async function recordEnd(sink: EsSink, o: DemoOptions, pod: Pod, env: Pick<PodEnv, 'kafkaBrokers' | 'prefix' | 'graceMs'>, code: number, finishedAt: number): Promise<string | undefined> {
  const observedAt = Date.now();
  const doc = lifecycleDoc(terminatedPod(pod, env, code, finishedAt), { deleted: false, observedAt });
  if (!doc) throw new Error(`pod ${pod.spec.name}: no lifecycle document (the demo's pod object lacks its collector identity)`);
  const item = lifecycleItem(names(o.prefix), doc, observedAt);
  for (let attempt = 0; attempt < 8; attempt++) {
    const [r] = await sink.bulk([item]).catch((err: Error) => [{ status: 'retry' as const, httpStatus: 0, reason: err.message }]);
    if (r?.status === 'ok') return doc.reason;
    if (r?.status === 'reject') throw new Error(`pod ${pod.spec.name}: lifecycle document refused: ${r.reason}`);
    await sleep(backoffMs(DEFAULT_RETRY, attempt));
  }
  throw new Error(`pod ${pod.spec.name}: lifecycle document not stored (Elasticsearch unavailable)`);
}

/** How many lines the query API serves for the app (sum over its executors), and how many of its executors have their end recorded. */
async function servedState(apiUrl: string, appId: string): Promise<{ lines: number; ended: number }> {
  const r = await fetch(`${apiUrl}/api/v1/apps/${appId}`);
  if (!r.ok) return { lines: 0, ended: 0 };
  const body = (await r.json()) as { executors?: { lines?: number; lifecycle?: unknown }[] };
  const executors = body.executors ?? [];
  return { lines: executors.reduce((s, e) => s + (e.lines ?? 0), 0), ended: executors.filter((e) => e.lifecycle).length };
}

export async function runApp(o: DemoOptions, services: Services): Promise<AppResult> {
  const plan = planApp({ seed: o.seed, appName: o.appName, namespace: o.namespace, executors: o.executors, linesPerExecutor: o.linesPerExecutor, durationMs: o.durationMs });
  const truthDir = join(o.workDir, 'truth', plan.appId);
  mkdirSync(truthDir, { recursive: true });
  const startedAt = Date.now() + 500;
  const run: PodRun = { plan, startedAt, seed: o.seed, rotateBytes: o.rotateBytes, truthDir };
  const runFile = join(o.workDir, `${plan.appId}.json`);
  writeFileSync(runFile, JSON.stringify(run));
  const podEnv = { workDir: o.workDir, runFile, kafkaBrokers: o.kafkaBrokers, prefix: o.prefix, graceMs: 30_000 };

  const specs: (PodSpec & { at: number })[] = [
    { at: 0, name: `${o.appName}-driver`, executorId: 'driver', role: 'driver', appId: plan.appId, appName: o.appName, namespace: o.namespace, node: 'node-a' },
    ...plan.executors.map((e) => ({
      at: e.startAt, name: `${o.appName}-exec-${e.executorId}`, executorId: e.executorId, role: 'executor' as const,
      appId: plan.appId, appName: o.appName, namespace: o.namespace, node: Number(e.executorId) % 2 ? 'node-b' : 'node-c',
    })),
  ];
  const collectorExits = new Map<string, number | null>();
  const sink = createEsSink({ url: o.esUrl, names: names(o.prefix), requestTimeoutMs: 10_000 });
  const lifecycles = specs.map(async (spec) => {
    const wait = startedAt + spec.at - 300 - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const pod: Pod = startPod(spec, podEnv);
    o.onProgress?.({ kind: 'pod-running', pod: spec.name });
    const code = await pod.sparkExit;
    const reason = await recordEnd(sink, o, pod, podEnv, code, Date.now());
    o.onProgress?.({ kind: 'pod-exited', pod: spec.name, code, ...(reason ? { reason } : {}) });
    const collectorExit = await pod.delete();
    collectorExits.set(spec.executorId, collectorExit);
    o.onProgress?.({ kind: 'pod-deleted', pod: spec.name, collectorExit });
  });
  const ids = specs.map((s) => s.executorId);
  let podsDone = false;
  const all = Promise.all(lifecycles).then(() => (podsDone = true)).finally(() => sink.close());
  // Progress while the app runs; then wait until every written line is served.
  // After the last pod, it gives up only when no new line has been served for STALL_MS: a busy
  // machine drains slowly, and a pipeline that still moves is not failing.
  const STALL_MS = 180_000;
  let lastServed = -1;
  let movedAt = Date.now();
  // The pods' ends count too: stored, they are searchable only after the next refresh of the
  // executors' index, which a busy store delays (a CI run read the app a moment before the driver's end).
  let lastEnded = -1;
  for (;;) {
    const written = [...readTruth(truthDir, ids).values()].reduce((s, l) => s + l.length, 0);
    const { lines: served, ended } = await servedState(services.apiUrl, plan.appId).catch(() => ({ lines: 0, ended: 0 }));
    o.onProgress?.({ kind: 'lines', written, served });
    if (podsDone && served >= written && ended >= ids.length) break;
    if (served !== lastServed || ended !== lastEnded || !podsDone) {
      lastServed = served;
      lastEnded = ended;
      movedAt = Date.now();
    }
    if (Date.now() - movedAt > STALL_MS) {
      throw new Error(`${served} of ${written} lines served and ${ended} of ${ids.length} pod ends, and nothing more in the ${STALL_MS / 1000} s since the last pod was deleted`);
    }
    await Promise.race([new Promise((r) => setTimeout(r, podsDone ? 500 : 1000)), podsDone ? undefined : all]);
  }
  await all;
  return { plan, written: readTruth(truthDir, ids), collectorExits };
}
