// Everything the chaos run starts and breaks: a private Kafka + Elasticsearch,
// two aggregator instances of one consumer group, the query API, and pods
// (a writer as the Spark container, a collector sidecar) that come and go.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, openSync, closeSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { distDir, freePort } from '../../deploy/local/demo/paths.js';
import { collectorEnv, exited, type PodSpec } from '../../deploy/local/demo/pods.js';
import { startPrivateStack, type PrivateStack } from '../helpers/private-stack.js';
import { aggregatorSetup } from '../helpers/seed.js';
import { waitUntil } from '../helpers/wait.js';

export interface ClusterOptions {
  workDir: string;
  prefix: string;
  appId: string;
  /** Lines per second each pod writes. */
  rate: number;
  rotateBytes: number;
  partitions: number;
}

export interface ChaosPod {
  spec: PodSpec;
  logDir: string;
  uid: string;
  countFile: string;
  writer: ChildProcess;
  collector: ChildProcess;
  deleted: boolean;
}

export class Cluster {
  stack!: PrivateStack;
  readonly aggregators: { proc?: ChildProcess; metricsPort: number }[] = [];
  api?: ChildProcess;
  apiUrl = '';
  /** The node's spool (a hostPath in Kubernetes) and its sparklogs-spool. */
  readonly spoolDir: string;
  spool?: ChildProcess;
  readonly pods = new Map<string, ChaosPod>();
  private nextExecutor = 1;

  constructor(readonly o: ClusterOptions) {
    mkdirSync(join(o.workDir, 'counts'), { recursive: true });
    this.spoolDir = join(o.workDir, 'node-spool');
  }

  private env(): NodeJS.ProcessEnv {
    return {
      ...process.env,
      SPARKLOGS_KAFKA_BROKERS: this.stack.brokers.join(','),
      SPARKLOGS_ES_URL: this.stack.esUrl,
      SPARKLOGS_PREFIX: this.o.prefix,
      SPARKLOGS_PARTITIONS: String(this.o.partitions),
      // The production session timeout (30 s), not a shorter one: the
      // aggregator sends no heartbeat while one bulk request is in flight,
      // and on a busy machine a bulk into the private Elasticsearch takes
      // well over 10 s, so with 10 s every healthy member was evicted
      // mid-bulk, its commit refused, the batch stored again by the next
      // owner, and the store never caught up. A killed instance's partitions
      // move after 30 s instead.
      SPARKLOGS_SESSION_TIMEOUT_MS: '30000',
      SPARKLOGS_RETRY_MAX_MS: '5000',
    };
  }

  private logFile(name: string): number {
    return openSync(join(this.o.workDir, `${name}.log`), 'a');
  }

  async start(): Promise<void> {
    this.stack = await startPrivateStack();
    // Retried while it fails on a retriable error (topic leaders slow to appear on a busy machine), as the setup Job is.
    await aggregatorSetup(this.env(), join(distDir, 'aggregator/main.js'));
    const spoolOut = this.logFile('spool');
    this.spool = spawn(process.execPath, [join(distDir, 'collector/spool-main.js')], { env: { ...this.env(), SPARKLOGS_SPOOL_DIR: this.spoolDir, SPARKLOGS_SCAN_INTERVAL_MS: '1000' }, stdio: ['ignore', spoolOut, spoolOut] });
    closeSync(spoolOut);
    for (let i = 0; i < 2; i++) {
      this.aggregators.push({ metricsPort: await freePort() });
      this.startAggregator(i);
    }
    const port = await freePort();
    const out = this.logFile('query-api');
    this.api = spawn(process.execPath, [join(distDir, 'query-api/server.js')], { env: { ...this.env(), SPARKLOGS_PORT: String(port) }, stdio: ['ignore', out, out] });
    closeSync(out);
    this.apiUrl = `http://127.0.0.1:${port}`;
    // Until it answers (slow to start on a busy machine), or exits.
    const api = this.api;
    await waitUntil(async () => {
      if (api.exitCode !== null) throw new Error(`the query API exited ${api.exitCode} while starting; see ${join(this.o.workDir, 'query-api.log')}`);
      return fetch(`${this.apiUrl}/healthz`, { signal: AbortSignal.timeout(5000) }).then((r) => r.ok, () => false);
    }, { what: `the query API to answer /healthz at ${this.apiUrl}`, intervalMs: 250 });
  }

  startAggregator(i: number): void {
    const a = this.aggregators[i]!;
    const out = this.logFile(`aggregator-${i}`);
    a.proc = spawn(process.execPath, [join(distDir, 'aggregator/main.js')], { env: { ...this.env(), SPARKLOGS_METRICS_PORT: String(a.metricsPort) }, stdio: ['ignore', out, out] });
    closeSync(out);
  }

  /** Sum of the group's lag per the aggregators' own metrics (undefined when none answers). */
  async lag(): Promise<number | undefined> {
    for (const a of this.aggregators) {
      if (!a.proc || a.proc.exitCode !== null) continue;
      const text = await fetch(`http://127.0.0.1:${a.metricsPort}/metrics`, { signal: AbortSignal.timeout(4000) }).then((r) => r.text(), () => '');
      const values = [...text.matchAll(/^sparklogs_aggregator_consumer_lag\{[^}]*\} (\d+)/gm)].map((m) => Number(m[1]));
      if (values.length) return values.reduce((s, v) => s + v, 0);
    }
    return undefined;
  }

  startPod(role: 'driver' | 'executor'): ChaosPod {
    const executorId = role === 'driver' ? 'driver' : String(this.nextExecutor++);
    const name = role === 'driver' ? 'chaos-driver' : `chaos-exec-${executorId}`;
    const spec: PodSpec = { name, executorId, role, appId: this.o.appId, appName: 'chaos', namespace: 'chaos', node: 'node-a' };
    const logDir = join(this.o.workDir, 'pods', name, 'logs');
    mkdirSync(logDir, { recursive: true });
    const uid = randomUUID();
    const countFile = join(this.o.workDir, 'counts', executorId);
    const pod: ChaosPod = { spec, logDir, uid, countFile, deleted: false, collector: this.spawnCollector(spec, logDir, uid), writer: this.spawnWriter(name, logDir, countFile) };
    this.pods.set(executorId, pod);
    return pod;
  }

  private spawnWriter(name: string, logDir: string, countFile: string): ChildProcess {
    return spawn(process.execPath, [join(distDir, 'test/chaos/writer.js'), logDir, name, String(this.o.rate), String(this.o.rotateBytes), countFile], { stdio: ['ignore', 'ignore', 'inherit'] });
  }

  private spawnCollector(spec: PodSpec, logDir: string, uid: string): ChildProcess {
    const out = this.logFile(`${spec.name}.collector`);
    const env = { ...collectorEnv(spec, { kafkaBrokers: this.stack.brokers.join(','), prefix: this.o.prefix, graceMs: 30_000 }, logDir, uid), SPARKLOGS_SPOOL_DIR: this.spoolDir };
    const p = spawn(process.execPath, [join(distDir, 'collector/main.js')], { stdio: ['ignore', out, out], env });
    closeSync(out);
    return p;
  }

  collectorLog(pod: ChaosPod): string {
    try {
      return readFileSync(join(this.o.workDir, `${pod.spec.name}.collector.log`), 'utf8');
    } catch {
      return '';
    }
  }

  /** Complete spool entries not shipped yet. */
  spooled(): number {
    try {
      return readdirSync(this.spoolDir).filter((n) => !n.startsWith('.') && !n.startsWith('_')).length;
    } catch {
      return 0;
    }
  }

  restartCollector(pod: ChaosPod): void {
    pod.collector = this.spawnCollector(pod.spec, pod.logDir, pod.uid);
  }

  /** Kubernetes' order: the Spark container stops, the sidecar gets SIGTERM and drains, the emptyDir goes. */
  async deletePod(pod: ChaosPod): Promise<number | null> {
    pod.deleted = true;
    pod.writer.kill('SIGTERM');
    await exited(pod.writer);
    pod.collector.kill('SIGTERM');
    const code = await Promise.race([exited(pod.collector), new Promise<null>((r) => setTimeout(() => r(null), 30_000))]);
    if (code === null) pod.collector.kill('SIGKILL');
    rmSync(join(this.o.workDir, 'pods', pod.spec.name), { recursive: true, force: true });
    return code;
  }

  written(pod: ChaosPod): number {
    try {
      return Number(readFileSync(pod.countFile, 'utf8'));
    } catch {
      return 0;
    }
  }

  async stop(): Promise<void> {
    const all = [...this.pods.values()].flatMap((p) => [p.writer, p.collector]).concat(this.aggregators.flatMap((a) => (a.proc ? [a.proc] : [])), this.api ? [this.api] : [], this.spool ? [this.spool] : []);
    for (const p of all) if (p.exitCode === null) p.kill('SIGKILL');
    await this.stack?.destroy();
  }
}
