// sparklogs-collector (started by main.ts): wires config, identity, the Kafka
// sink, metrics and the collector loop, and turns SIGTERM/SIGINT into a
// bounded drain.
import { ConfigError } from '../contract/config.js';
import { createLogger } from '../contract/log.js';
import { names } from '../contract/names.js';
import { Collector } from './collector.js';
import { loadCollectorConfig } from './config.js';
import { CollectorError } from './errors.js';
import { resolveIdentity } from './identity.js';
import { compileLayout, PatternError } from '../contract/pattern-layout.js';
import { createMetrics, serveMetrics } from './metrics.js';
import { createKafkaSink } from './sinks/kafka.js';

async function main(): Promise<number> {
  let loaded;
  let identity;
  try {
    loaded = loadCollectorConfig(process.argv.slice(2), process.env);
    if (loaded.help) {
      process.stdout.write(`${loaded.text}\n`);
      return 0;
    }
    identity = resolveIdentity(loaded.config, process.env);
    if (loaded.config.logPattern !== undefined) compileLayout(loaded.config.logPattern);
  } catch (err) {
    if (err instanceof PatternError) {
      process.stderr.write(`sparklogs-collector: logPattern (--log-pattern, SPARKLOGS_LOG_PATTERN): ${err.message}\n`);
      return 2;
    }
    if (err instanceof ConfigError || err instanceof CollectorError) {
      process.stderr.write(`sparklogs-collector: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  const c = loaded.config;
  const log = createLogger('sparklogs-collector', c.logLevel).child({ pod: identity.pod, executorId: identity.executorId });
  const sink = await createKafkaSink({
    brokers: c.kafkaBrokers,
    clientId: `sparklogs-collector-${identity.executorId}`,
    topic: names(c.prefix).linesTopic,
    compression: c.compression,
    requestTimeoutMs: c.requestTimeoutMs,
    log,
  });
  const collector = new Collector({
    config: c,
    identity,
    sink,
    log,
    metrics: (unread) => {
      const m = createMetrics(unread);
      if (c.metricsPort !== undefined) {
        serveMetrics(m, c.metricsPort).catch((err: Error) => log.error({ event: 'metricsListenError', err }, 'metrics port unavailable'));
      }
      return m;
    },
  });

  let stopping = false;
  const onSignal = (sig: string) => {
    if (stopping) return; // a second signal must not cut the drain short
    stopping = true;
    log.info({ event: 'shutdownRequested', signal: sig, deadlineMs: c.shutdownTimeoutMs }, 'draining: reading every file to its end');
    collector.drain();
    if (c.spoolDir !== undefined) {
      // Kafka has not acknowledged everything and the pod is going away: put
      // the rest where the node keeps it, for sparklogs-spool to ship.
      setTimeout(() => {
        void (async () => {
          const unread = (await collector.unreadNow()).filter((u) => u.bytes > 0);
          log.error({ event: 'spoolStarted', unread, spoolDir: c.spoolDir }, 'the drain will not finish in time: spooling what Kafka has not acknowledged');
          const r = await collector.spoolAndStop();
          if (r instanceof Error) {
            log.fatal({ event: 'spoolFailed', code: 'SPOOL_FAILED', err: r, unread }, `spooling failed: ${r.message}`);
            process.exit(1);
          }
          if (r.leftOut > 0) {
            log.fatal({ event: 'spoolIncomplete', code: 'SPOOL_FULL', entry: r.dir, bytes: r.bytes, leftOut: r.leftOut }, `spool limit reached: ${r.leftOut} bytes not spooled`);
            process.exit(1);
          }
          log.warn({ event: 'spooled', entry: r.dir, files: r.files, bytes: r.bytes }, 'unacknowledged lines are in the spool: sparklogs-spool ships them');
          process.exit(0);
        })();
      }, Math.max(0, c.shutdownTimeoutMs - c.spoolReserveMs)).unref();
    }
    setTimeout(() => {
      void (async () => {
        // The pod's grace period is about to end in a SIGKILL: say what is left.
        const unread = await collector.unreadNow();
        log.fatal({ event: 'shutdownDeadlineMissed', code: 'SHUTDOWN_DEADLINE', unread: unread.filter((u) => u.bytes > 0) }, `lines remain unsent after ${c.shutdownTimeoutMs} ms`);
        collector.abort();
        process.exit(1);
      })();
    }, c.shutdownTimeoutMs).unref();
  };
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  process.on('SIGINT', () => onSignal('SIGINT'));

  try {
    await collector.run();
  } catch (err) {
    const e = err as CollectorError;
    log.fatal({ event: 'collectorFailed', code: e.code, err }, e.message);
    return 1;
  }
  await sink.close();
  log.info({ event: 'collectorStopped' }, 'all lines acknowledged and checkpointed');
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    process.stderr.write(`sparklogs-collector: ${err.stack ?? err.message}\n`);
    process.exit(1);
  },
);
