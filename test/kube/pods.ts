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
import { parse } from 'yaml';
import { kubectl, kubectlJson, REPO, type Cluster, type Installed } from './cluster.js';

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
  metadata: { name: string; uid: string; deletionTimestamp?: string };
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

export interface ApiLine { executorId: string; message: string; pod?: string; node?: string }
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
export async function executorLines(s: Installed, appId: string, executorId: string): Promise<ApiLine[]> {
  const out: ApiLine[] = [];
  let after: string | undefined;
  for (let i = 0; i < 1000; i++) {
    const q = new URLSearchParams({ size: '1000', ...(after ? { after } : {}) });
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
