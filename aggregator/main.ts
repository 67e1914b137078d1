#!/usr/bin/env node
// sparklogs-aggregator [run | setup | retention]: reads the settings, builds
// the Kafka source and the Elasticsearch sink, and starts the subcommand.
import { hostname } from 'node:os';
import { ConfigError, loadConfig } from '../contract/config.js';
import { createLogger } from '../contract/log.js';
import { names } from '../contract/names.js';
import { retention } from './commands/retention.js';
import { run } from './commands/run.js';
import { setup } from './commands/setup.js';
import { ConfigSchema, ENV_PREFIX } from './config.js';
import { AggregatorError } from './errors.js';
import { createEsSink } from './sinks/elasticsearch.js';
import { createNullSink } from './sinks/null.js';
import { createKafkaSource } from './sources/kafka.js';
import { ZonedClock } from './transforms/zoned-time.js';

const PROGRAM = 'sparklogs-aggregator';
const COMMANDS = ['run', 'setup', 'retention'] as const;
const USAGE = ` [${COMMANDS.join('|')}]\n\n  run        consume the lines topic into Elasticsearch (default)\n  setup      create the topics and install the index templates, then exit\n  retention  delete daily line indices older than --max-age-days (--dry-run lists them)`;

function configError(msg: string): never {
  process.stderr.write(`${PROGRAM}: invalid configuration:\n${msg}\n`);
  process.exit(2);
}

async function main(): Promise<void> {
  let loaded;
  try {
    loaded = loadConfig(PROGRAM, ConfigSchema, { argv: process.argv.slice(2), env: process.env, envPrefix: ENV_PREFIX }, USAGE);
  } catch (err) {
    if (err instanceof ConfigError) configError(err.message);
    throw err;
  }
  if (loaded.help) {
    process.stdout.write(`${loaded.text}\n`);
    return;
  }
  const { config: c, positionals } = loaded;
  const command = positionals[0] ?? 'run';
  if (!(COMMANDS as readonly string[]).includes(command) || positionals.length > 1) {
    configError(`command: expected one of ${COMMANDS.join(', ')}, got ${JSON.stringify(positionals.join(' '))}.`);
  }
  let clock: ZonedClock;
  try {
    clock = new ZonedClock(c.timeZone);
  } catch (err) {
    const e = new AggregatorError('TIME_ZONE_UNKNOWN', `timeZone (--time-zone, ${ENV_PREFIX}TIME_ZONE): expected an IANA zone name such as UTC or Europe/Berlin, got ${JSON.stringify(c.timeZone)}.`, { cause: err });
    configError(e.message);
  }
  if (command === 'retention' && c.maxAgeDays === undefined) {
    configError(new AggregatorError('RETENTION_AGE_MISSING', `maxAgeDays (--max-age-days, ${ENV_PREFIX}MAX_AGE_DAYS): required by retention, not set. Expected a whole number >= 1.`).message);
  }
  if (command === 'retention' && c.sink === 'null') {
    configError(new AggregatorError('SINK_NULL', `sink (--sink, ${ENV_PREFIX}SINK): retention deletes stored indices, so it needs sink=elasticsearch, got null.`).message);
  }

  const log = createLogger('sparklogs-aggregator', c.logLevel);
  const n = names(c.prefix);
  const sink = c.sink === 'null' ? createNullSink() : createEsSink({ url: c.esUrl, names: n, requestTimeoutMs: c.esRequestTimeoutMs });
  const source = createKafkaSource({
    brokers: c.kafkaBrokers, clientId: `${PROGRAM}-${hostname()}`, groupId: c.groupId, topic: n.linesTopic, deadLetterTopic: n.deadLetterTopic,
    sessionTimeoutMs: c.sessionTimeoutMs, maxBytesPerPartition: c.maxBytesPerPartition, log: log.child({ component: 'kafka' }),
    onFatal: (err) => {
      log.fatal({ err: err.message }, 'consumerCrashed');
      process.exit(1);
    },
  });

  if (command === 'run') {
    await run({ config: c, names: n, source, sink, clock, log });
    return;
  }
  try {
    if (command === 'setup') await setup(source, sink, c, log);
    else {
      const expired = await retention(sink, n, c.maxAgeDays!, c.dryRun, log);
      for (const i of expired) process.stdout.write(`${c.dryRun ? 'would delete' : 'deleted'} ${i}\n`);
    }
  } finally {
    await source.stop();
    await sink.close();
  }
}

main().catch((err: Error & { code?: string }) => {
  process.stderr.write(`${PROGRAM}: ${err.code ? `${err.code}: ` : ''}${err.message}\n`);
  process.exit(1);
});
