import { Type, type Static } from '@sinclair/typebox';
import { basename, dirname, normalize } from 'node:path';
import { ConfigError, loadConfig, type Loaded } from '../contract/config.js';
import { APP_TYPES } from '../contract/identity.js';
import { DEFAULT_PREFIX } from '../contract/names.js';
import { globRegExp } from './sources/scan.js';

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
  stdoutPaths: Type.Optional(
    Type.Array(Type.String({ minLength: 1 }), {
      description: 'Files that hold the app container\'s stdout, copied as they are (/var/log/sparklogs/stdout, Flink\'s /opt/flink/log/flink-*.out): globs as for paths, tailed like them, shipped with src.stream "stdout". Each line is an event of its own, but the lines of a Java stack trace join theirs; format, firstLine and logPattern do not apply. A glob also given in paths or stderrPaths stops start-up; a file that two different globs match is read as the kind of the first of paths, stdoutPaths, stderrPaths that names it (logged as pathsOverlap).',
    }),
  ),
  stderrPaths: Type.Optional(
    Type.Array(Type.String({ minLength: 1 }), {
      description: 'Files that hold the app container\'s stderr (/var/log/sparklogs/stderr, Flink\'s /opt/flink/log/flink-*.err): as stdoutPaths, shipped with src.stream "stderr".',
    }),
  ),
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
  const loaded = loadConfig('sparklogs-collector', CollectorConfigSchema, { argv, env, envPrefix: 'SPARKLOGS_' });
  if (!loaded.help) checkSourceKinds(loaded.config);
  return loaded;
}

/** What a tailed file is: the app's log (paths) or one of the app container's streams, copied whole into a file. */
export type SourceKind = 'paths' | 'stdoutPaths' | 'stderrPaths';

/** The kinds in the order they are tried: a file that globs of two kinds match is read as the first. */
export const SOURCE_KINDS: readonly { setting: SourceKind; env: string; stream?: 'stdout' | 'stderr' }[] = [
  { setting: 'paths', env: 'SPARKLOGS_PATHS' },
  { setting: 'stdoutPaths', env: 'SPARKLOGS_STDOUT_PATHS', stream: 'stdout' },
  { setting: 'stderrPaths', env: 'SPARKLOGS_STDERR_PATHS', stream: 'stderr' },
];

const hasWildcard = (s: string) => /[*?[]/.test(s);

/**
 * A file of two kinds (the app's log and its stdout) is a configuration error when it shows in the
 * settings themselves: the same glob in two of them, or a literal path of one that a glob of another
 * matches. Two different globs that may match one file cannot be told apart here: such a file is read as
 * the kind that comes first in SOURCE_KINDS (and logged as pathsOverlap when it is found).
 */
export function checkSourceKinds(c: Pick<CollectorConfig, SourceKind>): void {
  const all = SOURCE_KINDS.flatMap((k) =>
    (c[k.setting] ?? []).map((glob) => {
      const norm = normalize(glob);
      const name = basename(norm);
      return { kind: k, glob, dir: dirname(norm), name, re: hasWildcard(name) ? globRegExp(name) : undefined };
    }),
  );
  const problems: string[] = [];
  const named = (x: (typeof all)[number]) => `${x.kind.setting} (${x.kind.env}) ${JSON.stringify(x.glob)}`;
  for (let i = 0; i < all.length; i++) {
    for (let j = i + 1; j < all.length; j++) {
      const a = all[i]!;
      const b = all[j]!;
      if (a.kind === b.kind || a.dir !== b.dir) continue;
      const same = a.name === b.name;
      const literalIn = (lit: typeof a, glob: typeof a) => !hasWildcard(lit.name) && glob.re !== undefined && glob.re.test(lit.name);
      if (!same && !literalIn(a, b) && !literalIn(b, a)) continue;
      problems.push(`${named(a)} and ${named(b)} name the same file${same ? '' : 's'}: a file is either the app's log or one of its streams; name it in one of them only.`);
    }
  }
  if (problems.length) throw new ConfigError(problems);
}
