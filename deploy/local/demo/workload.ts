// What a Spark application on Kubernetes writes: the driver's and each
// executor's log4j lines, in Spark's default layout
// (`yy/MM/dd HH:mm:ss LEVEL Logger: message`), with stages and task sets,
// shuffle and GC warnings, dynamic allocation, and an executor that dies of
// an OutOfMemoryError. Deterministic for a seed, so a run can be replayed.

export interface SparkEvent {
  level: 'INFO' | 'WARN' | 'ERROR';
  logger: string;
  message: string; // may hold a stack trace after a newline
}

/** Small, fast, seedable PRNG (mulberry32): the same seed gives the same app. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function sparkTime(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(d.getUTCFullYear() % 100)}/${p(d.getUTCMonth() + 1)}/${p(d.getUTCDate())} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}`;
}

export function formatEvent(ms: number, e: SparkEvent): string {
  return `${sparkTime(ms)} ${e.level} ${e.logger}: ${e.message}\n`;
}

const OOM_TRACE = [
  'java.lang.OutOfMemoryError: Java heap space',
  '\tat java.base/java.util.Arrays.copyOf(Arrays.java:3537)',
  '\tat java.base/java.io.ByteArrayOutputStream.ensureCapacity(ByteArrayOutputStream.java:100)',
  '\tat java.base/java.io.ByteArrayOutputStream.write(ByteArrayOutputStream.java:132)',
  '\tat org.apache.spark.util.io.ChunkedByteBufferOutputStream.write(ChunkedByteBufferOutputStream.scala:82)',
  '\tat org.apache.spark.storage.memory.SerializedValuesHolder.storeValue(MemoryStore.scala:727)',
  '\tat org.apache.spark.storage.memory.MemoryStore.putIterator(MemoryStore.scala:224)',
  '\tat org.apache.spark.storage.BlockManager.doPutIterator(BlockManager.scala:1507)',
  '\tat org.apache.spark.rdd.RDD.getOrCompute(RDD.scala:378)',
  '\tat org.apache.spark.scheduler.ResultTask.runTask(ResultTask.scala:93)',
  '\tat org.apache.spark.executor.Executor$TaskRunner.run(Executor.scala:620)',
  '\tat java.base/java.util.concurrent.ThreadPoolExecutor.runWorker(ThreadPoolExecutor.java:1136)',
  '\tat java.base/java.lang.Thread.run(Thread.java:840)',
].join('\n');

export interface ExecutorPlan {
  executorId: string;
  /** ms after the app's start when the pod starts and when it goes away. */
  startAt: number;
  endAt: number;
  fate: 'completed' | 'idle-removed' | 'oom';
  host: string;
}

export interface AppPlan {
  appId: string;
  appName: string;
  namespace: string;
  durationMs: number;
  executors: ExecutorPlan[];
  /** Events per executor (the driver writes about a third as many). */
  linesPerExecutor: number;
}

export function planApp(o: { seed: number; appName: string; namespace: string; executors: number; linesPerExecutor: number; durationMs: number }): AppPlan {
  const rnd = prng(o.seed);
  const hex = Array.from({ length: 32 }, () => Math.floor(rnd() * 16).toString(16)).join('');
  const n = Math.max(2, o.executors);
  const d = o.durationMs;
  const executors: ExecutorPlan[] = [];
  for (let i = 1; i <= n; i++) {
    // Two executors from the start; the rest are added by dynamic allocation as tasks back up.
    const startAt = i <= 2 ? 0.05 * d : (0.1 + (0.4 * (i - 2)) / n) * d;
    const fate: ExecutorPlan['fate'] = i === 3 ? 'oom' : i === 2 ? 'idle-removed' : 'completed';
    const endAt = fate === 'oom' ? startAt + 0.3 * d : fate === 'idle-removed' ? 0.55 * d : 0.92 * d;
    executors.push({ executorId: String(i), startAt: Math.round(startAt), endAt: Math.round(Math.min(endAt, 0.92 * d)), fate, host: `10.0.1.${10 + i}` });
  }
  return { appId: `spark-${hex}`, appName: o.appName, namespace: o.namespace, durationMs: d, executors, linesPerExecutor: o.linesPerExecutor };
}

/**
 * The events of one pod, each with the fraction of the pod's life at which it
 * is written. `lost` lines on the driver match the executors' fates.
 */
export function driverEvents(app: AppPlan, seed: number): { at: number; e: SparkEvent }[] {
  const rnd = prng(seed);
  const out: { at: number; e: SparkEvent }[] = [];
  const add = (atMs: number, level: SparkEvent['level'], logger: string, message: string) => out.push({ at: atMs, e: { level, logger, message } });
  const d = app.durationMs;
  add(0, 'INFO', 'SparkContext', 'Running Spark version 3.5.3');
  add(0, 'INFO', 'SparkContext', 'OS info Linux, 6.1.0-27-cloud-amd64, amd64');
  add(0, 'INFO', 'SparkContext', 'Java version 17.0.13');
  add(1, 'INFO', 'SparkContext', `Submitted application: ${app.appName}`);
  add(2, 'INFO', 'Utils', "Successfully started service 'sparkDriver' on port 7078.");
  add(3, 'INFO', 'SparkEnv', 'Registering MapOutputTracker');
  add(4, 'INFO', 'SparkUI', 'Bound SparkUI to 0.0.0.0, and started at http://spark-driver-svc:4040');
  add(5, 'INFO', 'ExecutorAllocationManager', 'Dynamic allocation is enabled with shuffle tracking');
  const stages = 4;
  const tasksPerStage = Math.max(8, Math.floor(app.linesPerExecutor / 8));
  for (const ex of app.executors) {
    add(ex.startAt - 1, 'INFO', 'ExecutorAllocationManager', `Requesting 1 new executor because tasks are backlogged (new desired total will be ${ex.executorId} for resource profile id: 0)`);
    add(ex.startAt + 500, 'INFO', 'KubernetesClusterSchedulerBackend$KubernetesDriverEndpoint', `Registered executor NettyRpcEndpointRef(spark-client://Executor) (${ex.host}:41234) with ID ${ex.executorId},  ResourceProfileId 0`);
    if (ex.fate === 'oom') {
      add(ex.endAt + 200, 'ERROR', 'TaskSchedulerImpl', `Lost executor ${ex.executorId} on ${ex.host}: The executor with id ${ex.executorId} exited with exit code 52(JVM OOM).`);
      add(ex.endAt + 201, 'WARN', 'TaskSetManager', `Lost task 17.0 in stage 2.0 (TID 1017) (${ex.host} executor ${ex.executorId}): ExecutorLostFailure (executor ${ex.executorId} exited caused by one of the running tasks) Reason: The executor with id ${ex.executorId} exited with exit code 52(JVM OOM).`);
    } else if (ex.fate === 'idle-removed') {
      add(ex.endAt - 100, 'INFO', 'ExecutorAllocationManager', `Request to remove executorIds: (${ex.executorId}), (new desired total will be ${app.executors.length - 1})`);
      add(ex.endAt + 200, 'INFO', 'KubernetesClusterSchedulerBackend', `Executor ${ex.executorId} removed: Executor decommissioned (idle for 60 seconds)`);
    }
  }
  const nDriver = Math.max(20, Math.floor(app.linesPerExecutor / 3));
  for (let i = 0; i < nDriver; i++) {
    const at = 0.06 * d + (0.84 * d * i) / nDriver;
    const stage = Math.min(stages - 1, Math.floor((i / nDriver) * stages));
    const task = i % tasksPerStage;
    const ex = app.executors[Math.floor(rnd() * app.executors.length)]!;
    if (task === 0) {
      add(at, 'INFO', 'DAGScheduler', `Submitting ${tasksPerStage} missing tasks from ResultStage ${stage} (MapPartitionsRDD[${stage * 3 + 3}] at save at Etl.scala:${42 + stage})`);
      add(at, 'INFO', 'TaskSchedulerImpl', `Adding task set ${stage}.0 with ${tasksPerStage} tasks resource profile 0`);
    } else if (rnd() < 0.5) {
      add(at, 'INFO', 'TaskSetManager', `Starting task ${task}.0 in stage ${stage}.0 (TID ${i}) (${ex.host}, executor ${ex.executorId}, partition ${task}, PROCESS_LOCAL, 9090 bytes)`);
    } else {
      add(at, 'INFO', 'TaskSetManager', `Finished task ${task}.0 in stage ${stage}.0 (TID ${i}) in ${200 + Math.floor(rnd() * 2000)} ms on ${ex.host} (executor ${ex.executorId}) (${task}/${tasksPerStage})`);
    }
  }
  add(0.95 * d, 'INFO', 'DAGScheduler', `Job 0 finished: save at Etl.scala:45, took ${(0.9 * d / 1000).toFixed(3)} s`);
  add(0.96 * d, 'INFO', 'SparkUI', 'Stopped Spark web UI at http://spark-driver-svc:4040');
  add(0.97 * d, 'INFO', 'KubernetesClusterSchedulerBackend', 'Shutting down all executors');
  add(0.99 * d, 'INFO', 'SparkContext', 'Successfully stopped SparkContext');
  add(d, 'INFO', 'ShutdownHookManager', 'Shutdown hook called');
  return out.sort((a, b) => a.at - b.at);
}

export function executorEvents(app: AppPlan, ex: ExecutorPlan, seed: number): { at: number; e: SparkEvent }[] {
  const rnd = prng(seed);
  const out: { at: number; e: SparkEvent }[] = [];
  const life = ex.endAt - ex.startAt;
  const add = (frac: number, level: SparkEvent['level'], logger: string, message: string) => out.push({ at: ex.startAt + frac * life, e: { level, logger, message } });
  add(0, 'INFO', 'CoarseGrainedExecutorBackend', `Started daemon with process name: 14@${app.appName}-exec-${ex.executorId}`);
  add(0, 'INFO', 'SecurityManager', 'Changing view acls to: spark');
  add(0.01, 'INFO', 'Executor', `Starting executor ID ${ex.executorId} on host ${ex.host}`);
  add(0.01, 'INFO', 'Executor', 'Java version 17.0.13');
  const n = ex.fate === 'idle-removed' ? Math.floor(app.linesPerExecutor / 2) : app.linesPerExecutor;
  for (let i = 0; i < n; i++) {
    const frac = 0.02 + (0.93 * i) / n;
    const stage = Math.floor((i / n) * 4);
    const tid = i * 7 + Number(ex.executorId);
    const r = rnd();
    if (r < 0.3) add(frac, 'INFO', 'Executor', `Running task ${i}.0 in stage ${stage}.0 (TID ${tid})`);
    else if (r < 0.6) add(frac, 'INFO', 'Executor', `Finished task ${i}.0 in stage ${stage}.0 (TID ${tid}). ${1500 + Math.floor(rnd() * 3000)} bytes result sent to driver`);
    else if (r < 0.8) add(frac, 'INFO', 'ShuffleBlockFetcherIterator', `Getting ${50 + Math.floor(rnd() * 150)} (${(rnd() * 40).toFixed(1)} MiB) non-empty blocks including 12 (1.2 MiB) local and 0 (0.0 B) host-local and 0 (0.0 B) push-merged-local and ${38 + Math.floor(rnd() * 100)} remote blocks`);
    else if (r < 0.9) add(frac, 'INFO', 'MemoryStore', `Block rdd_${stage * 3 + 3}_${i} stored as values in memory (estimated size ${(rnd() * 64).toFixed(1)} MiB, free ${(rnd() * 900).toFixed(1)} MiB)`);
    else if (r < 0.95) add(frac, 'WARN', 'TaskMemoryManager', `Failed to allocate a page (67108864 bytes), try again.`);
    else if (r < 0.98) add(frac, 'WARN', 'Executor', `Long GC pause: ${(0.5 + rnd() * 4).toFixed(2)} s (G1 Evacuation Pause)`);
    else add(frac, 'WARN', 'ShuffleBlockFetcherIterator', `Started 3 remote fetches in ${Math.floor(rnd() * 300)} ms; slow shuffle read from ${app.executors[0]!.host}:7337`);
  }
  if (ex.fate === 'oom') {
    add(0.97, 'WARN', 'MemoryStore', 'Not enough space to cache rdd_9_17 in memory! (computed 96.0 MiB so far)');
    add(0.98, 'ERROR', 'Executor', `Exception in task 17.0 in stage 2.0 (TID 1017)\n${OOM_TRACE}`);
    add(0.99, 'ERROR', 'SparkUncaughtExceptionHandler', `Uncaught exception in thread Thread[Executor task launch worker for task 17.0 in stage 2.0 (TID 1017),5,main]\n${OOM_TRACE}`);
  } else if (ex.fate === 'idle-removed') {
    add(0.99, 'INFO', 'CoarseGrainedExecutorBackend', 'Driver commanded a shutdown');
  } else {
    add(0.98, 'INFO', 'CoarseGrainedExecutorBackend', 'Driver commanded a shutdown');
    add(0.99, 'INFO', 'MemoryStore', 'MemoryStore cleared');
  }
  add(1, 'INFO', 'ShutdownHookManager', 'Shutdown hook called');
  return out;
}
