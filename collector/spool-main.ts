#!/usr/bin/env node
// sparklogs-spool: one per node (a DaemonSet with the spool hostPath). Ships
// the entries collectors spooled when their pod was deleted while Kafka was
// unavailable (collector/spool/), then removes them. `--once` drains what is
// there and exits: for a Job, a test, or a hand-run after an incident.
import { ConfigError, loadConfig } from '../contract/config.js';
import { createLogger } from '../contract/log.js';
import { names } from '../contract/names.js';
import { DEFAULT_RETRY, sleep } from '../contract/retry.js';
import { BatchSender } from './sinks/batch-sender.js';
import { createKafkaSink } from './sinks/kafka.js';
import { SpoolConfigSchema } from './spool/config.js';
import { drainSpool } from './spool/drain.js';


async function main(): Promise<number> {
  let loaded;
  try {
    loaded = loadConfig('sparklogs-spool', SpoolConfigSchema, { argv: process.argv.slice(2), env: process.env, envPrefix: 'SPARKLOGS_' });
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
