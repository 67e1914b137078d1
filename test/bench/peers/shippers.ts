// The shippers the peers part compares, each started the same way: tail these
// files into this topic, keep the read position in this directory (so a
// restart after kill -9 resumes from it), acks from all replicas, gzip,
// stack traces joined to the line before them. Each runs as a child of the
// harness under /usr/bin/time (proc.ts) with its own config and data
// directory; nothing of the system's is touched.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { COLLECTOR, metric } from '../collector-run.js';
import { freePort, type Topic } from '../context.js';
import { startMeasured, type ExitUsage, type Measured } from '../proc.js';
import { decodeBatch } from '../../../contract/record.js';
import { peerBinary } from './binaries.js';

export const COMPRESSION = 'gzip';
/** The start of a Spark event (log4j's default "yy/MM/dd HH:mm:ss"): every other line belongs to the event before it. */
export const EVENT_START = /^\d{2}\/\d{2}\/\d{2} \d{2}:\d{2}:\d{2} /;

export interface TailSpec {
  brokers: string[];
  /** One glob (or file) of the files to tail from their start. */
  paths: string;
  topic: Topic;
  /** Where the shipper keeps its read position and config; kept across a restart. */
  stateDir: string;
}

export interface Running {
  p: Measured;
  /** Events delivered so far as the shipper says (the collector's acked counter) or as its topic holds them. */
  delivered(): Promise<number | undefined>;
  /** SIGTERM, then /usr/bin/time's figures at exit. */
  stop(timeoutMs?: number): Promise<ExitUsage>;
}

export interface Shipper {
  name: string;
  version: string;
  start(s: TailSpec): Promise<Running>;
  /** The event texts one Kafka message of this shipper holds. */
  events(value: Buffer): string[];
}

const stopper = (p: Measured) => async (timeoutMs = 30_000) => {
  p.signal('SIGTERM');
  return p.exited(timeoutMs);
};

const oneEvent = (value: Buffer) => [value.toString('utf8')];

/** The sparklogs collector (dist/collector/main.js): one batch of events per Kafka message. */
export const collector: Shipper = {
  name: 'collector',
  version: 'sparklogs collector (this tree, dist/)',
  events: (value) => decodeBatch(value).lines.map((l) => l.m),
  async start(s) {
    if (!existsSync(COLLECTOR)) throw new Error(`${COLLECTOR} is not built (npm run build)`);
    const port = await freePort();
    const p = await startMeasured(process.execPath, [COLLECTOR], {
      ...process.env,
      SPARKLOGS_KAFKA_BROKERS: s.brokers.join(','),
      // The collector writes to `<prefix>.lines`, which is what createTopic names the topic.
      SPARKLOGS_PREFIX: s.topic.name.replace(/\.lines$/, ''),
      SPARKLOGS_PATHS: s.paths,
      SPARKLOGS_STATE_DIR: s.stateDir,
      SPARKLOGS_APP_TYPE: 'spark',
      SPARKLOGS_APP_ID: 'spark-bench0000000000000000000000000001',
      SPARKLOGS_EXECUTOR_ID: '1',
      SPARKLOGS_ROLE: 'executor',
      SPARKLOGS_APP_NAME: 'bench',
      SPARKLOGS_NAMESPACE: 'bench',
      SPARKLOGS_POD: 'bench-exec-1',
      SPARKLOGS_POD_UID: '00000000-0000-0000-0000-000000000001',
      SPARKLOGS_METRICS_PORT: String(port),
      SPARKLOGS_LOG_LEVEL: 'warn',
      SPARKLOGS_COMPRESSION: COMPRESSION,
    });
    const url = `http://127.0.0.1:${port}/metrics`;
    return { p, delivered: () => metric(url, 'sparklogs_collector_lines_acked_total'), stop: stopper(p) };
  },
};

const yamlList = (xs: string[]) => `[${xs.map((x) => JSON.stringify(x)).join(', ')}]`;

export function filebeatConfig(s: TailSpec): string {
  return `# Written by the sparklogs benchmark (test/bench/peers/shippers.ts).
filebeat.inputs:
  - type: filestream
    id: sparklogs-bench
    paths: ${yamlList([s.paths])}
    prospector.scanner.check_interval: 1s
    parsers:
      - multiline:
          type: pattern
          pattern: '^[0-9]{2}/[0-9]{2}/[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2} '
          negate: true
          match: after
          timeout: 1s
output.kafka:
  hosts: ${yamlList(s.brokers)}
  topic: ${JSON.stringify(s.topic.name)}
  version: "2.6.0"
  required_acks: -1
  compression: ${COMPRESSION}
  codec.format.string: '%{[message]}'
path.data: ${JSON.stringify(join(s.stateDir, 'data'))}
path.logs: ${JSON.stringify(join(s.stateDir, 'logs'))}
logging.level: warning
logging.to_stderr: true
http.enabled: false
monitoring.enabled: false
`;
}

/** Filebeat: filestream input with a multiline parser, Kafka output; one event per Kafka message (its text only). */
export function filebeat(): Shipper {
  const bin = peerBinary('filebeat');
  return {
    name: 'filebeat',
    version: bin.version,
    events: oneEvent,
    async start(s) {
      const conf = join(s.stateDir, 'filebeat.yml');
      await writeFile(conf, filebeatConfig(s), { mode: 0o600 });
      const p = await startMeasured(bin.path, ['-e', '--strict.perms=false', '-c', conf, '--path.home', s.stateDir]);
      return { p, delivered: () => s.topic.messages(), stop: stopper(p) };
    },
  };
}

export function otelcolConfig(s: TailSpec): string {
  return `# Written by the sparklogs benchmark (test/bench/peers/shippers.ts).
extensions:
  file_storage:
    directory: ${JSON.stringify(join(s.stateDir, 'storage'))}
receivers:
  file_log:
    include: ${yamlList([s.paths])}
    start_at: beginning
    storage: file_storage
    multiline:
      line_start_pattern: '^[0-9]{2}/[0-9]{2}/[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2} '
processors:
  batch: {}
exporters:
  kafka:
    brokers: ${yamlList(s.brokers)}
    logs:
      topic: ${JSON.stringify(s.topic.name)}
      encoding: raw
    producer:
      required_acks: -1
      compression: ${COMPRESSION}
service:
  extensions: [file_storage]
  telemetry:
    logs:
      level: warn
    metrics:
      level: none
  pipelines:
    logs:
      receivers: [file_log]
      processors: [batch]
      exporters: [kafka]
`;
}

/** The OpenTelemetry Collector: file log receiver (offsets in file storage), batch processor, Kafka exporter with raw encoding (the event's text per message). */
export function otelcol(): Shipper {
  const bin = peerBinary('otelcol');
  return {
    name: 'otelcol',
    version: bin.version,
    // The Kafka exporter's raw encoding writes a string body as a JSON string ("..." with escapes).
    events: (value) => {
      const text = value.toString('utf8');
      return [text.startsWith('"') ? JSON.parse(text) as string : text];
    },
    async start(s) {
      const conf = join(s.stateDir, 'otelcol.yaml');
      await writeFile(conf, otelcolConfig(s));
      await mkdir(join(s.stateDir, 'storage'), { recursive: true });
      const p = await startMeasured(bin.path, ['--config', conf]);
      return { p, delivered: () => s.topic.messages(), stop: stopper(p) };
    },
  };
}

/**
 * kcat as the raw reference of a tailing shipper: `tail -F` of the file piped
 * into `kcat -P`, one message per physical line (no joining, no read position
 * of its own: it is not in the delivery run). Only kcat is measured.
 */
export const kcatTail: Shipper = {
  name: 'kcat',
  version: 'kcat (librdkafka) fed by tail -F',
  events: oneEvent,
  async start(s) {
    const p = await startMeasured('kcat', [
      '-P', '-b', s.brokers.join(','), '-t', s.topic.name,
      '-X', 'acks=all', '-X', `compression.codec=${COMPRESSION}`, '-X', 'linger.ms=5',
    ], process.env, 'pipe');
    const tail = spawn('tail', ['-n', '+1', '-F', s.paths], { stdio: ['ignore', 'pipe', 'ignore'] });
    tail.stdout.pipe(p.child.stdin!);
    p.child.stdin!.on('error', () => undefined);
    return {
      p,
      delivered: () => s.topic.messages(),
      async stop(timeoutMs = 30_000) {
        tail.kill('SIGTERM');
        // kcat sends what it holds once its input ends.
        return p.exited(timeoutMs);
      },
    };
  },
};
