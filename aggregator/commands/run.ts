// The long-running consumer: templates and topics first (retried until the
// stores answer), then the day's line indices ahead of time, the pod watcher
// (watchPods), the consumer group, the metrics server and the SIGTERM path
// (finish the batch in flight, commit, stop the watcher, disconnect, exit
// within the deadline).
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { Names } from '../../contract/names.js';
import type { Logger } from '../../contract/log.js';
import { backoffMs, sleep, type RetryPolicy } from '../../contract/retry.js';
import type { Config } from '../config.js';
import { AggregatorError } from '../errors.js';
import { createMetrics, startMetricsServer } from '../metrics.js';
import { indexAhead } from '../index-ahead.js';
import { createPipeline } from '../pipeline.js';
import type { EsSink } from '../sinks/elasticsearch.js';
import type { KafkaSource } from '../sources/kafka.js';
import { startLeasedPodWatcher, startPodWatcher, type LeaseOptions, type PodWatcher } from '../sources/kubernetes.js';
import type { ZonedClock } from '../transforms/zoned-time.js';
import { setup } from './setup.js';

export interface RunDeps {
  config: Config;
  names: Names;
  source: KafkaSource;
  sink: EsSink;
  clock: ZonedClock;
  log: Logger;
}

export async function run({ config: c, names, source, sink, clock, log }: RunDeps): Promise<void> {
  const retry: RetryPolicy = { initialMs: c.retryInitialMs, maxMs: c.retryMaxMs, factor: 2, jitter: 0.5 };
  const metrics = createMetrics(() => source.lag());
  metrics.storeAvailable.set(1);
  let started = false;
  let stopping = false;
  let pods: PodWatcher | undefined;
  const ahead = indexAhead({ sink, names, log });
  const server = await startMetricsServer(metrics, c.metricsHost, c.metricsPort, () => started && !stopping);
  const addr = server.address();
  log.info({ port: typeof addr === 'object' && addr ? addr.port : c.metricsPort }, 'metricsListening');

  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal, deadlineMs: c.shutdownTimeoutMs }, 'shutdownStarted');
    const deadline = setTimeout(() => {
      const err = new AggregatorError('SHUTDOWN_DEADLINE_MISSED', `batch in flight not stored within ${c.shutdownTimeoutMs} ms; it will be replayed`);
      log.error({ code: err.code, err: err.message }, 'shutdownDeadlineMissed');
      process.exit(1);
    }, c.shutdownTimeoutMs);
    // The consumer's disconnect waits for the batch in flight, which commits when stored.
    ahead.stop();
    await source.stop();
    await pods?.stop();
    await sink.close().catch(() => undefined);
    await new Promise((res) => server.close(res));
    clearTimeout(deadline);
    log.info('shutdownComplete');
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));

  // The stores may come up after us (a fresh cluster, a restarting node): wait for them, bounded only by SIGTERM.
  for (let attempt = 0; !stopping; attempt++) {
    try {
      await setup(source, sink, c, log);
      break;
    } catch (err) {
      if (!(err as { retriable?: boolean }).retriable) throw err;
      const ms = backoffMs(retry, attempt);
      log.warn({ err: (err as Error).message, retryInMs: ms }, 'setupRetry');
      await sleep(ms);
    }
  }
  if (stopping) return;

  // Today's and tomorrow's line index before their first lines (index-ahead.ts).
  ahead.start();

  // Pod ends (exit code, OOMKilled, finish) as executor facts; the templates are installed by now.
  if (c.watchPods) {
    const o = { namespaces: c.watchNamespaces, sink, names, log, retry, byLabels: c.watchPodsByLabels };
    const lease = podWatchLease(c.watchLease);
    pods = lease ? startLeasedPodWatcher(o, lease) : startPodWatcher(o);
  }

  const handle = createPipeline({
    source, sink, names, clock, metrics, log, retry,
    bulkMaxDocs: c.bulkMaxDocs, bulkMaxBytes: c.bulkMaxBytes, pauseAfterBulkMs: c.pauseAfterBulkMs,
  });
  await source.run(handle, c.partitionsConcurrency);
  started = true;
  log.info({ groupId: c.groupId, topic: names.linesTopic }, 'consuming');
}

// Where a pod runs, its service account's namespace is in this file.
const SA_NAMESPACE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

function podWatchLease(setting: string): LeaseOptions | undefined {
  if (setting === 'none') return undefined;
  let namespace: string;
  let name = 'sparklogs-pod-watcher';
  if (setting === 'auto') {
    if (!existsSync(SA_NAMESPACE)) return undefined;
    namespace = readFileSync(SA_NAMESPACE, 'utf8').trim();
  } else {
    [namespace, name] = setting.split('/') as [string, string];
  }
  // The pod's name (its hostname) says who holds it; the suffix keeps two processes of one pod apart.
  return { namespace, name, identity: `${hostname()}_${randomBytes(4).toString('hex')}` };
}
