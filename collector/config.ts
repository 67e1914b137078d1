import { Type, type Static } from '@sinclair/typebox';
import { loadConfig, type Loaded } from '../contract/config.js';
import { APP_TYPES } from '../contract/identity.js';
import { DEFAULT_PREFIX } from '../contract/names.js';

// Every setting of the collector: flags or SPARKLOGS_* environment variables
// (the pod template sets them from the Downward API). Identity fallbacks that
// depend on the app type (SPARK_APPLICATION_ID, …) are applied by identity.ts.

const Str = (description: string) => Type.Optional(Type.String({ description, minLength: 1 }));
const Int = (description: string, dflt: number, minimum: number, maximum: number) =>
  Type.Integer({ description, default: dflt, minimum, maximum });

export const CollectorConfigSchema = Type.Object({
  kafkaBrokers: Type.Array(Type.String({ minLength: 1 }), { description: 'Kafka bootstrap servers.', default: ['127.0.0.1:9092'], minItems: 1 }),
  prefix: Type.String({ description: 'Name prefix of the topic (<prefix>.lines).', default: DEFAULT_PREFIX, pattern: '^[a-z0-9][a-z0-9._-]*$' }),
  logLevel: Type.Union(['trace', 'debug', 'info', 'warn', 'error', 'fatal'].map((l) => Type.Literal(l)), { description: 'Level of the collector\'s own logs.', default: 'info' }),
  paths: Type.Array(Type.String({ minLength: 1 }), {
    description: 'Files to tail: absolute paths, the file name may hold * ? [..] wildcards (/var/log/spark/*.log). Compressed siblings (.gz, .zip, .bz2, .xz, .zst) never match.',
    minItems: 1,
  }),
  format: Type.Union([Type.Literal('auto'), Type.Literal('plain'), Type.Literal('cri')], {
    description: 'Line format: plain text, kubelet CRI (<time> <stream> <P|F> <text>), or auto (decided per file from its first line).',
    default: 'auto',
  }),
  stateDir: Type.String({ description: 'Directory of the checkpoint file (state.json); must survive container restarts (an emptyDir of the pod).', minLength: 1 }),
  appType: Type.Union(APP_TYPES.map((t) => Type.Literal(t)), { description: 'Identity profile: which env variables name the app and executor (see collector/README.md).', default: 'spark' }),
  appId: Str('App id (spark: then SPARK_APPLICATION_ID; flink: cluster id; flume/generic: required).'),
  executorId: Str('Executor id (spark: then SPARK_EXECUTOR_ID, "driver" when role is driver; flink: "jobmanager" or the pod name; flume: agent name).'),
  role: Str('Role (spark: driver/executor; flink: jobmanager/taskmanager; flume: agent; generic: main).'),
  appName: Str('App name (Spark: label spark-app-name).'),
  namespace: Str('Pod namespace.'),
  pod: Type.Optional(Type.String({ description: 'Pod name.', minLength: 1, env: ['SPARKLOGS_POD_NAME'] })),
  podUid: Type.Optional(Type.String({ description: 'Pod uid: part of every line id.', minLength: 1 })),
  node: Type.Optional(Type.String({ description: 'Node name.', minLength: 1, env: ['SPARKLOGS_NODE_NAME'] })),
  container: Str('Name of the container whose logs are read.'),
  firstLine: Str('Regular expression of a line that starts a new event; other lines join the event before (default: the header of any layout of the catalogue, collector/README.md "Layouts"; a JSON object line `{"` is always a whole event).'),
  logPattern: Str('The app\'s log4j/log4j2/logback conversion pattern (`%d{ISO8601} %-5p [%t] %c{1}: %m%n`), when it logs in a layout sparklogs does not know: its lines start events besides the built-in layouts, and the aggregator parses them with it (sent with every batch). A pod annotation reaches it through the Downward API (see collector/README.md). An unsupported conversion stops start-up naming it.'),
  multiline: Type.Boolean({ description: 'Join stack traces and other continuation lines to the event before.', default: true }),
  maxLineBytes: Int('Longer lines are cut here, marked and counted; the rest up to the newline is skipped.', 256 * 1024, 1024, 512 * 1024),
  maxEventLines: Int('Most lines in one multiline event.', 1000, 1, 100_000),
  maxEventBytes: Int('Most bytes in one multiline event.', 512 * 1024, 1024, 512 * 1024),
  flushTimeoutMs: Int('A pending multiline event or unterminated last line is sent after the file was idle this long.', 1000, 10, 600_000),
  pollIntervalMs: Int('How often the files are checked for new data, rotation and truncation while data flows (always, when file events are off or unavailable).', 250, 10, 60_000),
  fileEvents: Type.Boolean({
    description: 'Wake on the kernel\'s file events (inotify) in the directories of the files: while every file is idle, poll only every idlePollIntervalMs and let an event (a write, a new file, a rename) end that sleep. false, or inotify unavailable (its limits; logged once as fileEventsUnavailable): poll every pollIntervalMs.',
    default: true,
  }),
  idlePollIntervalMs: Int('With fileEvents: how often idle files are polled anyway (a safety net for changes no event reports: network file systems, writes through mmap).', 5000, 10, 600_000),
  readChunkBytes: Int('Bytes read from a file at once.', 1 << 20, 4096, 16 << 20),
  maxInFlightBytes: Int('Most bytes read and not yet acknowledged by Kafka: bounds memory (files are the buffer).', 4 << 20, 64 * 1024, 256 << 20),
  batchMaxBytes: Int('Most text bytes in one Kafka message (stays below Kafka\'s 1 MB limit).', 256 * 1024, 4096, 900 * 1024),
  compression: Type.Union([Type.Literal('gzip'), Type.Literal('none')], { description: 'Compression of Kafka messages.', default: 'gzip' }),
  requestTimeoutMs: Int('How long one produce request waits for acks of all in-sync replicas.', 10_000, 1000, 300_000),
  retryMaxMs: Int('Longest wait between Kafka retries (exponential backoff with jitter).', 10_000, 100, 300_000),
  checkpointIntervalMs: Int('Checkpoint at most this often (and always at new files, releases and exit).', 1000, 0, 60_000),
  shutdownTimeoutMs: Int('On SIGTERM/SIGINT: time to read to EOF, send and checkpoint before exiting non-zero.', 25_000, 100, 600_000),
  spoolDir: Type.Optional(Type.String({ description: 'Node-level spool directory (a hostPath shared with sparklogs-spool): when the shutdown deadline is about to pass with lines Kafka has not acknowledged (pod deleted during a Kafka outage), their bytes are copied here and shipped later under the same line ids. Off when unset.', minLength: 1 })),
  spoolReserveMs: Int('With a spool directory: start spooling this long before the shutdown deadline.', 3000, 100, 60_000),
  spoolMaxBytes: Int('Most bytes one collector writes into the spool (the rest is reported as lost).', 1 << 30, 1 << 20, 2 ** 40),
  metricsPort: Type.Optional(Type.Integer({ description: 'Serve Prometheus metrics on this port (off when unset).', minimum: 1, maximum: 65535 })),
});

export type CollectorConfig = Static<typeof CollectorConfigSchema>;

export function loadCollectorConfig(argv: string[], env: Record<string, string | undefined>): Loaded<typeof CollectorConfigSchema> {
  return loadConfig('sparklogs-collector', CollectorConfigSchema, { argv, env, envPrefix: 'SPARKLOGS_' });
}
