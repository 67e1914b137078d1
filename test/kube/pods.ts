// Small pods built from the repository's Spark executor pod template
// (deploy/spark/executor-pod-template.yaml) for the real-cluster fault tests:
// the collector sidecar, its volumes, spool mount and settings exactly as
// deployed, the labels Spark would set, and in place of Spark's JVM a writer
// that appends numbered lines in the layout of deploy/spark/log4j2.properties
// to the same file. Each line says which pod wrote it and its number, so a
// test can say "every line written is served exactly once, in order".
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { kubectl, kubectlJson, REPO, type Cluster, type Installed } from './cluster.js';

const execFileP = promisify(execFile);

export const NAMESPACE = 'spark-jobs';

/**
 * What the writer does, step by step: `burst:N` (N lines at once), `rate:N:MS`
 * (N lines, one every MS), `sleep:MS`, `wait:FILE` (until FILE exists in the
 * log directory; a test creates it with `kubectl exec`), `exit:CODE`. After
 * the last step it waits. On SIGTERM it writes `termLines` more, then exits 143.
 */
export interface WriterPlan {
  steps: string[];
  termLines?: number;
}

// The log4j file layout: %d{yyyy-MM-dd'T'HH:mm:ss.SSSXXX}{UTC} %p [%t] %c: %m%n
const WRITER = `
const fs = require('fs');
const dir = '/var/log/sparklogs';
const fd = fs.openSync(dir + '/spark.log', 'a');
const tag = process.env.WRITER_TAG;
let seq = 0;
const line = () => { seq++; fs.writeSync(fd, new Date().toISOString() + ' INFO [main] dev.sparklogs.test.Writer: sparklogs-line ' + tag + ' seq=' + seq + '\\n'); };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
process.on('SIGTERM', () => { for (let i = 0; i < Number(process.env.WRITER_TERM_LINES || 0); i++) line(); fs.fsyncSync(fd); process.exit(143); });
(async () => {
  for (const step of process.env.WRITER_STEPS.split(',')) {
    const [kind, a, b] = step.split(':');
    if (kind === 'burst') for (let i = 0; i < Number(a); i++) line();
    else if (kind === 'rate') for (let i = 0; i < Number(a); i++) { line(); await sleep(Number(b)); }
    else if (kind === 'sleep') await sleep(Number(a));
    else if (kind === 'wait') while (!fs.existsSync(dir + '/' + a)) await sleep(200);
    else if (kind === 'exit') { fs.fsyncSync(fd); process.exit(Number(a)); }
  }
  setInterval(() => undefined, 1 << 30);
})();
`;

/** The executor pod template with Spark's labels and the writer as its main container. */
export function templatePod(o: { name: string; appId: string; executorId: string; plan: WriterPlan }): string {
  const pod = parse(readFileSync(join(REPO, 'deploy/spark/executor-pod-template.yaml'), 'utf8')) as {
    metadata: { name?: string; namespace?: string; labels: Record<string, string> };
    spec: { restartPolicy?: string; containers: Record<string, unknown>[] };
  };
  pod.metadata.name = o.name;
  pod.metadata.namespace = NAMESPACE;
  Object.assign(pod.metadata.labels, {
    'spark-app-selector': o.appId,
    'spark-app-name': o.appId,
    'spark-exec-id': o.executorId,
    'spark-role': 'executor',
  });
  // As Spark sets it for executors.
  pod.spec.restartPolicy = 'Never';
  const main = pod.spec.containers.find((c) => c.name === 'spark-kubernetes-executor');
  assert.ok(main, 'the executor template names the container spark-kubernetes-executor');
  Object.assign(main, {
    image: 'sparklogs/collector:0.1.0',
    imagePullPolicy: 'Never',
    command: ['/usr/local/bin/node', '-e', WRITER],
    env: [
      { name: 'WRITER_TAG', value: o.name },
      { name: 'WRITER_STEPS', value: o.plan.steps.join(',') },
      { name: 'WRITER_TERM_LINES', value: String(o.plan.termLines ?? 0) },
    ],
    resources: { requests: { cpu: '20m', memory: '48Mi' }, limits: { memory: '128Mi' } },
  });
  return JSON.stringify(pod);
}

/** Creates a file in the pod's log directory (a writer's `wait:` step). */
export async function signalWriter(c: Cluster, pod: string, file: string): Promise<void> {
  await kubectl(c, ['-n', NAMESPACE, 'exec', pod, '-c', 'spark-kubernetes-executor', '--', '/usr/local/bin/node', '-e', `require('fs').writeFileSync('/var/log/sparklogs/${file}', '')`]);
}

export interface PodState {
  metadata: { name: string; uid: string; deletionTimestamp?: string; labels?: Record<string, string> };
  spec: { nodeName?: string };
  status: {
    phase: string;
    initContainerStatuses?: { name: string; restartCount: number; ready: boolean; state?: Record<string, unknown> }[];
    containerStatuses?: { name: string; restartCount: number; state?: { terminated?: { exitCode: number; reason?: string }; running?: unknown } }[];
  };
}

export async function podState(c: Cluster, name: string): Promise<PodState | undefined> {
  try {
    return await kubectlJson<PodState>(c, ['-n', NAMESPACE, 'get', 'pod', name]);
  } catch (err) {
    if (/NotFound|not found/.test((err as Error).message)) return undefined;
    throw err;
  }
}

export interface ApiLine {
  executorId: string;
  message: string;
  pod?: string;
  node?: string;
  level?: string;
  logger?: string;
  thread?: string;
  exception?: string;
  time?: number;
  /** stdout or stderr: a line the app printed (not a log line). */
  stream?: string;
}
export interface ApiExecutor {
  executorId: string;
  role: string;
  pod?: string;
  node?: string;
  lines: number;
  status: string;
  lifecycle?: { reason?: string; exitCode?: number; pod?: string; node?: string; finishedAt?: number | string };
}

/** The query API, retrying what it documents as retriable (503) and a Service not answering yet. */
export async function api<T>(s: Installed, path: string, allow404 = false): Promise<T | undefined> {
  for (let i = 0; ; i++) {
    let r: Response;
    try {
      r = await fetch(`${s.apiUrl}${path}`, { headers: { authorization: `Bearer ${s.token}` }, signal: AbortSignal.timeout(30_000) });
    } catch (err) {
      if (i < 30) {
        await new Promise((res) => setTimeout(res, 2000));
        continue;
      }
      throw err;
    }
    if (r.status === 503 && i < 30) {
      await new Promise((res) => setTimeout(res, 2000));
      continue;
    }
    if (r.status === 404 && allow404) return undefined;
    assert.equal(r.status, 200, `${path}: ${await r.clone().text()}`);
    return (await r.json()) as T;
  }
}

/** Every line the query API serves for one executor, in the order served. */
export async function executorLines(s: Installed, appId: string, executorId: string, stream?: 'stdout' | 'stderr'): Promise<ApiLine[]> {
  const out: ApiLine[] = [];
  let after: string | undefined;
  for (let i = 0; i < 1000; i++) {
    const q = new URLSearchParams({ size: '1000', ...(stream ? { stream } : {}), ...(after ? { after } : {}) });
    const body = await api<{ lines: ApiLine[]; next?: string }>(s, `/api/v1/apps/${appId}/executors/${encodeURIComponent(executorId)}/logs?${q}`, true);
    if (!body) return out;
    out.push(...body.lines);
    if (!body.next || body.lines.length === 0) return out;
    after = body.next;
  }
  throw new Error('too many pages');
}

/** The writer's sequence numbers as served (other lines, e.g. Spark's, are ignored; lines of another writer fail). */
export function servedSeqs(lines: ApiLine[], tag: string): number[] {
  const seqs: number[] = [];
  for (const l of lines) {
    const m = /^sparklogs-line (\S+) seq=(\d+)$/.exec(l.message);
    if (!m) continue;
    assert.equal(m[1], tag, `a line of another pod: ${l.message}`);
    seqs.push(Number(m[2]));
  }
  return seqs;
}

/** Asserts exactly 1..n, once each, in order. */
export function assertExact(seqs: number[], n: number, what: string): void {
  const dup = seqs.length - new Set(seqs).size;
  const missing = Array.from({ length: n }, (_, i) => i + 1).filter((x) => !seqs.includes(x));
  assert.deepEqual(seqs, Array.from({ length: n }, (_, i) => i + 1), `${what}: ${seqs.length} served of ${n} written; ${missing.length} missing (first ${missing.slice(0, 5).join(',')}), ${dup} duplicated`);
}

export function uniqueSuffix(): string {
  return `${Date.now().toString(36)}${Math.floor(Math.random() * 1296).toString(36)}`;
}

/** The sparklogs CLI (the built one in dist/), pointed at the installed query API. */
export async function sparklogsCli(s: Installed, args: string[]): Promise<string> {
  const { stdout } = await execFileP(process.execPath, [join(REPO, 'dist/query-api/cli/main.js'), ...args], {
    env: { ...process.env, SPARKLOGS_URL: s.apiUrl, SPARKLOGS_TOKEN: s.token, NO_COLOR: '1' },
    maxBuffer: 64 << 20,
  });
  return stdout;
}

/** What a pod's app container printed, from `kubectl logs -f` while the pod lived: the truth a test compares the served lines with. */
export interface Followed {
  pod: string;
  text: () => string;
  /** Resolves when the container has ended and its whole output is read (the stream's end). */
  ended: Promise<void>;
  stop: () => void;
}

/**
 * Follows one container's console from its start to its end (the kubelet
 * keeps it until the pod goes), retrying while the container has not
 * started; with --timestamps off, the text is exactly what it printed.
 */
export function followLogs(c: Cluster, namespace: string, pod: string, container: string): Followed {
  let out = '';
  let stopped = false;
  let child: ChildProcess | undefined;
  const ended = (async () => {
    for (let attempt = 0; !stopped && attempt < 600; attempt++) {
      let err = '';
      const code = await new Promise<number>((res) => {
        child = spawn(c.kubectlPath, ['-n', namespace, 'logs', '-f', pod, '-c', container], { env: { ...process.env, KUBECONFIG: c.kubeconfig } });
        child.stdout!.on('data', (d) => (out += d));
        child.stderr!.on('data', (d) => (err += d));
        child.on('close', (code) => res(code ?? -1));
      });
      // Not started yet ("waiting to start", ContainerCreating): nothing was printed, ask again.
      // Gone before its container started (Flink gives up a TaskManager it asked for): it printed nothing.
      if (code === 0 || out !== '' || stopped || /NotFound|not found/.test(err)) return;
      if (!/waiting to start|ContainerCreating|PodInitializing|is not valid/i.test(err)) throw new Error(`kubectl logs -f ${pod}: exit ${code}: ${err}`);
      await new Promise((r) => setTimeout(r, 1000));
    }
  })();
  ended.catch(() => undefined);
  return { pod, text: () => out, ended, stop: () => { stopped = true; child?.kill('SIGTERM'); } };
}

/**
 * The events of a console (a header line, with groups level and msg, starts
 * one; other lines continue it) as [level, first line of the message], as a
 * sorted list: the console and the file are compared as multisets of events.
 * Threads that log at once may reach the two in opposite orders (each
 * appender is written in turn; found with Flink's shutdown threads), and the
 * file's time stamp may even be another thread's (log4j's cached date under
 * contention; found with Flume: the file said ,200 where the console said
 * ,202). The order of one thread's lines is for the numbered markers to show.
 */
export function consoleEvents(text: string, header: RegExp): [string, string][] {
  const out: [string, string][] = [];
  for (const line of text.split('\n')) {
    const m = header.exec(line);
    if (m?.groups) out.push([m.groups.level!, m.groups.msg!]);
  }
  return sorted(out);
}

/** The same of the served lines. */
export function servedEvents(lines: ApiLine[]): [string, string][] {
  return sorted(lines.map((l) => [l.level ?? '', l.message.split('\n')[0]!]));
}

function sorted(events: [string, string][]): [string, string][] {
  const key = (e: [string, string]) => e.join('\0');
  return events.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

/** Every pod with these labels, as Kubernetes named it while it lived, polled until stop(). */
export function watchPods(c: Cluster, namespace: string, selector: string, onPod: (p: PodState) => void): { stop: () => Promise<void> } {
  let watching = true;
  const loop = (async () => {
    while (watching) {
      try {
        const list = await kubectlJson<{ items: PodState[] }>(c, ['-n', namespace, 'get', 'pods', '-l', selector]);
        for (const p of list.items) onPod(p);
      } catch { /* the API server answers the next time */ }
      await new Promise((res) => setTimeout(res, 1000));
    }
  })();
  return { stop: async () => { watching = false; await loop; } };
}
