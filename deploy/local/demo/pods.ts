// A local "pod": a log directory (the pod's emptyDir), the Spark container
// process writing into it and the sparklogs collector beside it as a sidecar
// process with the identity a Kubernetes pod template gives it. Deleting the
// pod follows Kubernetes' order: the Spark container ends, the sidecar gets
// SIGTERM and drains, then the directory is removed.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { closeSync, mkdirSync, rmSync, openSync } from 'node:fs';
import { join } from 'node:path';
import type { Pod as K8sPod } from '../../../aggregator/transforms/pod-lifecycle.js';
import { distDir } from './paths.js';


export interface PodSpec {
  name: string;
  executorId: string; // 'driver' or a number
  role: 'driver' | 'executor';
  appId: string;
  appName: string;
  namespace: string;
  node: string;
}

export interface PodEnv {
  workDir: string;
  runFile: string;
  kafkaBrokers: string;
  prefix: string;
  /** Grace period given to the collector after SIGTERM. */
  graceMs: number;
}

export interface Pod {
  spec: PodSpec;
  uid: string;
  startedAt: number;
  dir: string;
  /** Resolves with the Spark container's exit code. */
  sparkExit: Promise<number>;
  /** SIGTERM to the sidecar, wait for its drain, remove the directory. Resolves with the collector's exit code. */
  delete(): Promise<number | null>;
}

export function exited(p: ChildProcess): Promise<number> {
  return new Promise((resolve) => {
    if (p.exitCode !== null) return resolve(p.exitCode);
    p.once('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}

/** The environment a pod template gives the collector sidecar (Downward API and ConfigMap). */
export function collectorEnv(spec: PodSpec, env: Pick<PodEnv, 'kafkaBrokers' | 'prefix' | 'graceMs'>, logDir: string, podUid: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    SPARKLOGS_KAFKA_BROKERS: env.kafkaBrokers,
    SPARKLOGS_PREFIX: env.prefix,
    SPARKLOGS_PATHS: `${logDir}/spark.log*`,
    SPARKLOGS_STATE_DIR: join(logDir, '.sparklogs'),
    SPARKLOGS_APP_TYPE: 'spark',
    SPARKLOGS_APP_ID: spec.appId,
    SPARKLOGS_EXECUTOR_ID: spec.executorId,
    SPARKLOGS_ROLE: spec.role,
    SPARKLOGS_APP_NAME: spec.appName,
    SPARKLOGS_NAMESPACE: spec.namespace,
    SPARKLOGS_POD_NAME: spec.name,
    SPARKLOGS_POD_UID: podUid,
    SPARKLOGS_NODE_NAME: spec.node,
    SPARKLOGS_CONTAINER: spec.role === 'driver' ? 'spark-kubernetes-driver' : 'spark-kubernetes-executor',
    SPARKLOGS_SHUTDOWN_TIMEOUT_MS: String(env.graceMs - 2000),
  };
}

/** Starts (or, after a crash, restarts) a pod's collector sidecar; its output is appended to <workDir>/<pod>.collector.log. */
export function spawnCollector(spec: PodSpec, env: Pick<PodEnv, 'kafkaBrokers' | 'prefix' | 'graceMs' | 'workDir'>, logDir: string, podUid: string): ChildProcess {
  const out = openSync(join(env.workDir, `${spec.name}.collector.log`), 'a');
  const p = spawn(process.execPath, [join(distDir, 'collector/main.js')], { stdio: ['ignore', out, out], env: collectorEnv(spec, env, logDir, podUid) });
  closeSync(out);
  return p;
}

export function startPod(spec: PodSpec, env: PodEnv): Pod {
  const dir = join(env.workDir, 'pods', spec.name);
  const logDir = join(dir, 'logs');
  mkdirSync(logDir, { recursive: true });
  const uid = randomUUID();
  const startedAt = Date.now();
  const collector = spawnCollector(spec, env, logDir, uid);
  const spark = spawn(process.execPath, [join(distDir, 'deploy/local/demo/spark-pod.js'), env.runFile, spec.executorId, logDir], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const collectorExit = exited(collector);
  return {
    spec,
    uid,
    startedAt,
    dir,
    sparkExit: exited(spark),
    async delete() {
      await exited(spark);
      collector.kill('SIGTERM');
      const code = await Promise.race([collectorExit, new Promise<null>((r) => setTimeout(() => r(null), env.graceMs))]);
      if (code === null) collector.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
      return code;
    },
  };
}

/**
 * The pod as the Kubernetes API shows it once its Spark container ended: what
 * the aggregator's pod watcher reads (transforms/pod-lifecycle.ts), so the
 * demo records the same lifecycle document a cluster would. The reason is the
 * kubelet's: Completed for 0, Error otherwise (OOMKilled is the kernel killing
 * a container over its memory limit, which a JVM exiting on an
 * OutOfMemoryError is not: Spark's exit code 52 tells that).
 */
export function terminatedPod(pod: Pick<Pod, 'spec' | 'uid' | 'startedAt'>, env: Pick<PodEnv, 'kafkaBrokers' | 'prefix' | 'graceMs'>, exitCode: number, finishedAt: number): K8sPod {
  const { spec } = pod;
  const main = spec.role === 'driver' ? 'spark-kubernetes-driver' : 'spark-kubernetes-executor';
  const collectorVars = Object.entries(collectorEnv(spec, env, '/var/log/sparklogs', pod.uid))
    .filter(([k, v]) => k.startsWith('SPARKLOGS_APP_') || ['SPARKLOGS_EXECUTOR_ID', 'SPARKLOGS_ROLE', 'SPARKLOGS_NAMESPACE', 'SPARKLOGS_POD_NAME', 'SPARKLOGS_POD_UID', 'SPARKLOGS_NODE_NAME', 'SPARKLOGS_CONTAINER'].includes(k) && v !== undefined)
    .map(([name, value]) => ({ name, value: value! }));
  const labels: Record<string, string> = { 'spark-app-selector': spec.appId, 'spark-app-name': spec.appName, 'spark-role': spec.role };
  if (spec.role === 'executor') labels['spark-exec-id'] = spec.executorId;
  return {
    metadata: { name: spec.name, namespace: spec.namespace, uid: pod.uid, labels },
    spec: { nodeName: spec.node, restartPolicy: 'Never', initContainers: [{ name: 'sparklogs-collector', env: collectorVars }], containers: [{ name: main }] },
    status: {
      phase: exitCode === 0 ? 'Succeeded' : 'Failed',
      startTime: new Date(pod.startedAt).toISOString(),
      containerStatuses: [{
        name: main,
        state: { terminated: { exitCode, reason: exitCode === 0 ? 'Completed' : 'Error', startedAt: new Date(pod.startedAt).toISOString(), finishedAt: new Date(finishedAt).toISOString() } },
      }],
    },
  };
}
