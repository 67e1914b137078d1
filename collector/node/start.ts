// sparklogs-collector --mode node (started by main.ts): one collector per
// node (the sparklogs-node-collector DaemonSet) reading the kubelet's pod log
// files, identity from the pods' labels through the Kubernetes API.
import { ConfigError } from '../../contract/config.js';
import { createLogger } from '../../contract/log.js';
import { names } from '../../contract/names.js';
import { DEFAULT_RETRY } from '../../contract/retry.js';
import { createMetrics, serveMetrics, type CollectorMetrics } from '../metrics.js';
import { createKafkaSink } from '../sinks/kafka.js';
import { CollectorError } from '../errors.js';
import { loadNodeConfig } from './config.js';
import { NodeCollector } from './node-collector.js';
import { watchNodePods, type NodePods } from './pods.js';

async function main(): Promise<number> {
  let loaded;
  try {
    loaded = loadNodeConfig(process.argv.slice(2), process.env);
    if (loaded.help) {
      process.stdout.write(`${loaded.text}\n`);
      return 0;
    }
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`sparklogs-collector --mode node: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  const c = loaded.config;
  const log = createLogger('sparklogs-collector', c.logLevel).child({ mode: 'node', node: c.node });
  let collector: NodeCollector | undefined;
  const pods: NodePods = c.watchPods
    ? watchNodePods({ node: c.node, namespaces: c.namespaces, maxKnown: c.maxKnownPods, log, retry: { ...DEFAULT_RETRY, maxMs: c.retryMaxMs }, kubeconfig: c.kubeconfig, onChange: () => collector?.poke() })
    : { get: () => undefined, listedAt: () => 0, size: 0, listed: Promise.resolve(), stop: () => undefined };
  const sink = await createKafkaSink({
    brokers: c.kafkaBrokers,
    clientId: `sparklogs-collector-node-${c.node}`,
    topic: names(c.prefix).linesTopic,
    compression: c.compression,
    requestTimeoutMs: c.requestTimeoutMs,
    log,
  });
  const nc: NodeCollector = (collector = new NodeCollector({
    config: c,
    sink,
    log,
    pods,
    metrics: (unread) => {
      const m = createMetrics(unread);
      const text: () => Promise<string> = m.text.bind(m);
      const g = (name: string, help: string, type: 'gauge' | 'counter', v: number) => `# HELP sparklogs_collector_${name} ${help}\n# TYPE sparklogs_collector_${name} ${type}\nsparklogs_collector_${name} ${v}\n`;
      const withNode: CollectorMetrics = {
        ...m,
        text: async () =>
          (await text()) +
          g('node_pods_waiting', 'Pod containers whose files are held open while the API has not described their pod.', 'gauge', nc.waiting) +
          g('node_pods_active', 'Pod containers being read.', 'gauge', nc.active) +
          g('node_pods_known', 'Pods of this node whose identity is remembered (alive and recently deleted).', 'gauge', pods.size) +
          g('node_unidentified_total', 'Pod containers shipped under their directory\'s namespace/pod because their pod was never described.', 'counter', nc.counts.unidentified) +
          g('node_skipped_total', 'Pod containers left out (no Spark/Flink labels nor sparklogs.dev/app-type, or a sidecar of their own).', 'counter', nc.counts.skipped),
      };
      if (c.metricsPort !== undefined) serveMetrics(withNode, c.metricsPort).catch((err: Error) => log.error({ event: 'metricsListenError', err }, 'metrics port unavailable'));
      return withNode;
    },
  }));

  let stopping = false;
  const onSignal = (sig: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ event: 'shutdownRequested', signal: sig }, 'stopping: finishing the round in flight and checkpointing');
    nc.stop();
    pods.stop();
    setTimeout(() => {
      log.fatal({ event: 'shutdownDeadlineMissed', code: 'SHUTDOWN_DEADLINE', unread: nc.unread().filter((u: { bytes: number }) => u.bytes > 0) }, `the round in flight was not acknowledged within ${c.shutdownTimeoutMs} ms`);
      process.exit(1);
    }, c.shutdownTimeoutMs).unref();
  };
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  process.on('SIGINT', () => onSignal('SIGINT'));

  try {
    await nc.run();
  } catch (err) {
    const e = err as CollectorError;
    log.fatal({ event: 'collectorFailed', code: e.code, err }, e.message);
    return 1;
  }
  pods.stop();
  await sink.close();
  log.info({ event: 'collectorStopped' }, 'every acknowledged line checkpointed');
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    process.stderr.write(`sparklogs-collector --mode node: ${err.stack ?? err.message}\n`);
    process.exit(1);
  },
);
