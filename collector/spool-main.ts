#!/usr/bin/env node
// sparklogs-spool: one per node (a DaemonSet with the spool hostPath). Ships
// the entries collectors spooled when their pod was deleted while Kafka was
// unavailable (collector/spool/), then removes them. `--once` drains what is
// there and exits: for a Job, a test, or a hand-run after an incident.
import { Type } from '@sinclair/typebox';
import { ConfigError, loadConfig } from '../contract/config.js';
import { createLogger } from '../contract/log.js';
import { names, DEFAULT_PREFIX } from '../contract/names.js';
import { DEFAULT_RETRY, sleep } from '../contract/retry.js';
import { BatchSender } from './sinks/batch-sender.js';
import { createKafkaSink } from './sinks/kafka.js';
import { drainSpool } from './spool/drain.js';

const Schema = Type.Object({
  spoolDir: Type.String({ minLength: 1, description: 'The spool directory collectors write to (same hostPath).' }),
  kafkaBrokers: Type.Array(Type.String({ minLength: 1 }), { description: 'Kafka bootstrap servers.', default: ['127.0.0.1:9092'], minItems: 1 }),
  prefix: Type.String({ description: 'Name prefix of the topic (<prefix>.lines).', default: DEFAULT_PREFIX, pattern: '^[a-z0-9][a-z0-9._-]*$' }),
  logLevel: Type.Union(['trace', 'debug', 'info', 'warn', 'error', 'fatal'].map((l) => Type.Literal(l)), { description: 'Level of its own logs.', default: 'info' }),
  compression: Type.Union([Type.Literal('gzip'), Type.Literal('none')], { description: 'Compression of Kafka messages.', default: 'gzip' }),
  requestTimeoutMs: Type.Integer({ description: 'How long one produce request waits for acks of all in-sync replicas.', default: 10_000, minimum: 1000, maximum: 300_000 }),
  retryMaxMs: Type.Integer({ description: 'Longest wait between Kafka retries.', default: 10_000, minimum: 100, maximum: 300_000 }),
  scanIntervalMs: Type.Integer({ description: 'How often the directory is looked at for new entries.', default: 2000, minimum: 50, maximum: 600_000 }),
  batchMaxBytes: Type.Integer({ description: 'Most text bytes in one Kafka message.', default: 256 * 1024, minimum: 4096, maximum: 900 * 1024 }),
  chunkBytes: Type.Integer({ description: 'Bytes of an entry decoded and sent at once (bounds memory).', default: 4 << 20, minimum: 65_536, maximum: 256 << 20 }),
  once: Type.Boolean({ description: 'Ship what is there now, then exit (0: all shipped; 1: something failed).', default: false }),
});

async function main(): Promise<number> {
  let loaded;
  try {
    loaded = loadConfig('sparklogs-spool', Schema, { argv: process.argv.slice(2), env: process.env, envPrefix: 'SPARKLOGS_' });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`sparklogs-spool: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  if (loaded.help) {
    process.stdout.write(`${loaded.text}\n`);
    return 0;
  }
  const c = loaded.config;
  const log = createLogger('sparklogs-spool', c.logLevel);
  const sink = await createKafkaSink({ brokers: c.kafkaBrokers, clientId: 'sparklogs-spool', topic: names(c.prefix).linesTopic, compression: c.compression, requestTimeoutMs: c.requestTimeoutMs, log });
  const stop = new AbortController();
  const onSignal = (signal: string) => {
    log.info({ event: 'shutdownRequested', signal }, 'stopping: an entry in progress stays and is sent again next time');
    stop.abort();
    // Bounded: a send in flight is abandoned after a short wait.
    setTimeout(() => process.exit(0), 3000).unref();
  };
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  process.on('SIGINT', () => onSignal('SIGINT'));
  const sender = new BatchSender({ sink, batchMaxBytes: c.batchMaxBytes, retry: { ...DEFAULT_RETRY, maxMs: c.retryMaxMs }, log });
  log.info({ event: 'spoolWatching', spoolDir: c.spoolDir, once: c.once }, 'shipping spooled lines');
  let failed = false;
  while (!stop.signal.aborted) {
    try {
      const n = await drainSpool({ root: c.spoolDir, sender, batchMaxBytes: c.batchMaxBytes, chunkBytes: c.chunkBytes, log, signal: stop.signal });
      if (n.quarantined) failed = true;
      if (c.once) {
        log.info({ event: 'spoolDrained', ...n }, 'spool drained');
        break;
      }
    } catch (err) {
      log.error({ event: 'spoolError', err }, 'draining the spool failed; trying again');
      if (c.once) {
        failed = true;
        break;
      }
    }
    await sleep(c.scanIntervalMs, stop.signal);
  }
  await sink.close();
  return failed ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    process.stderr.write(`sparklogs-spool: ${err.stack ?? err.message}\n`);
    process.exit(1);
  },
);
