import { Type, type TSchema } from '@sinclair/typebox';
import { LEVELS } from '../contract/documents.js';
import { ID_PART } from '../contract/identity.js';

// Request and response schemas of /api/v1 (validated by Fastify, published in
// the OpenAPI document). Every request object refuses unknown keys, so a typo
// (`levle=WARN`) is a 400 naming it instead of a silently unfiltered answer.

const strict = { additionalProperties: false } as const;
const IdPart = (description: string) => Type.String({ pattern: ID_PART.source, maxLength: 253, description });

/** ISO 8601, epoch milliseconds, or a duration back from now (30s, 15m, 1h, 7d). */
export const TIME_PATTERN = '^(\\d{1,15}|\\d{1,6}[smhd]|\\d{4}-\\d{2}-\\d{2}(T\\d{2}:\\d{2}(:\\d{2}(\\.\\d{1,9})?)?(Z|[+-]\\d{2}:?\\d{2})?)?)$';
const Time = (description: string) => Type.String({ pattern: TIME_PATTERN, maxLength: 40, description: `${description}: ISO 8601, epoch ms, or a duration back from now (30s, 15m, 1h, 7d).` });
const Cursor = (description: string) => Type.String({ minLength: 1, maxLength: 65_536, description });

export const AppParams = Type.Object({ appId: IdPart('Application id (Spark spark-app-selector, Flink cluster id, …).') }, strict);
export const ExecutorParams = Type.Object({ appId: IdPart('Application id.'), executorId: IdPart('Executor id: driver, 1, 2, … (Flink: jobmanager / task manager id).') }, strict);
export const SparkParams = Type.Object({ appId: IdPart('{{APP_ID}}'), executorId: IdPart('{{EXECUTOR_ID}}'), '*': Type.Optional(Type.String({ maxLength: 1024 })) }, strict);

const Level = Type.Union(LEVELS.map((l) => Type.Literal(l)), { description: 'Minimum level: lines of this level or more severe (lines without a level are left out).' });
const Mode = Type.Union([Type.Literal('text'), Type.Literal('lucene')], { default: 'text', description: 'text (default): q is matched as words, all of them required. lucene: q is Lucene query syntax on the message field; a syntax error is a 400.' });
const AppType = Type.String({ pattern: ID_PART.source, maxLength: 64, description: 'Restrict to one app type (spark, flink, flume, …).' });
const Text = Type.String({ minLength: 1, maxLength: 1000, description: 'Text the message must contain (all words).' });
const Stream = Type.Union([Type.Literal('stdout'), Type.Literal('stderr')], {
  description: "Only lines of this stream of the container: the whole-stream capture of an executor's stdout or stderr (sidecar mode), and a CRI file's lines of that stream (node mode). Lines of log files have no stream and are left out.",
});

export function logsQuery(maxPage: number) {
  return Type.Object(
    {
      appType: Type.Optional(AppType),
      level: Type.Optional(Level),
      stream: Type.Optional(Stream),
      from: Type.Optional(Time('Lines at or after this time')),
      to: Type.Optional(Time('Lines at or before this time')),
      q: Type.Optional(Text),
      mode: Type.Optional(Mode),
      size: Type.Optional(Type.Integer({ minimum: 1, maximum: maxPage, default: 500, description: 'Lines per page.' })),
      after: Type.Optional(Cursor('Page of lines after this cursor (a `next` from a previous answer).')),
      before: Type.Optional(Cursor('Page of lines before this cursor (a `prev` from a previous answer).')),
      tail: Type.Optional(Type.Integer({ minimum: 1, maximum: maxPage, description: 'The last N lines (no cursor).' })),
      format: Type.Optional(Type.Union([Type.Literal('json'), Type.Literal('ndjson'), Type.Literal('text')], { default: 'json', description: 'json (default), ndjson (one line object per line; cursors in headers Sparklogs-Next / Sparklogs-Prev) or text.' })),
    },
    strict,
  );
}

export function followQuery(maxPage: number) {
  return Type.Object(
    {
      appType: Type.Optional(AppType),
      level: Type.Optional(Level),
      stream: Type.Optional(Stream),
      q: Type.Optional(Text),
      mode: Type.Optional(Mode),
      cursor: Type.Optional(Cursor('Resume after this follow cursor (the id of the last event received; the Last-Event-ID header does the same).')),
      tail: Type.Optional(Type.Integer({ minimum: 0, maximum: maxPage, default: 0, description: 'Send the last N lines first (ignored when resuming).' })),
      from: Type.Optional(Time('Start here: every stored line at or after this time is sent first (with tail: only the last N of them), then new lines; later lines with an event time before it are left out too')),
    },
    strict,
  );
}

export const DownloadQuery = Type.Object(
  { appType: Type.Optional(AppType), level: Type.Optional(Level), stream: Type.Optional(Stream), from: Type.Optional(Time('Lines at or after this time')), to: Type.Optional(Time('Lines at or before this time')), q: Type.Optional(Text), mode: Type.Optional(Mode) },
  strict,
);

export const AppQuery = Type.Object({ appType: Type.Optional(AppType) }, strict);

export const AppsQuery = Type.Object(
  {
    appType: Type.Optional(AppType),
    namespace: Type.Optional(Type.String({ pattern: '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$', description: 'Kubernetes namespace.' })),
    prefix: Type.Optional(Type.String({ minLength: 1, maxLength: 253, pattern: '^[A-Za-z0-9._:-]+$', description: 'App id or app name prefix.' })),
    from: Type.Optional(Time('Apps last seen at or after this time')),
    to: Type.Optional(Time('Apps last seen at or before this time')),
    size: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 50 })),
    after: Type.Optional(Cursor('Next page: the `next` of a previous answer.')),
  },
  strict,
);

export const SearchQuery = Type.Object(
  {
    q: Text,
    mode: Type.Optional(Mode),
    appId: Type.Optional(IdPart('Restrict to one app.')),
    appType: Type.Optional(AppType),
    level: Type.Optional(Level),
    stream: Type.Optional(Stream),
    from: Type.Optional(Time('Lines at or after this time')),
    to: Type.Optional(Time('Lines at or before this time')),
    size: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
    after: Type.Optional(Cursor('Next page: the `next` of a previous answer.')),
  },
  strict,
);

const Opt = <T extends TSchema>(t: T) => Type.Optional(t);
const Str = Type.String();
const Int = Type.Integer();

export const Line = Type.Object({
  lid: Str,
  cursor: Type.String({ description: 'Position of this line: use as after/before.' }),
  time: Type.Number({ description: 'Event time, ms since the epoch.' }),
  ingested: Type.Number(),
  appType: Str,
  appId: Str,
  executorId: Str,
  role: Str,
  pod: Opt(Str),
  node: Opt(Str),
  container: Opt(Str),
  stream: Opt(Type.String({ description: 'stdout or stderr: the stream of a whole-stream capture\'s line, or of a CRI file\'s line (node mode); absent for a log file\'s line.' })),
  log: Opt(Type.String({ description: 'Set on lines of a whole-stream capture (stdout or stderr, sidecar mode): which capture. Absent for log files and CRI files. A line\'s sequence (a follow position\'s key) is `executorId`, or `executorId/log` when set.' })),
  file: Str,
  fileSeq: Int,
  off: Type.Number(),
  level: Opt(Str),
  logger: Opt(Str),
  thread: Opt(Str),
  message: Str,
  exception: Opt(Str),
  mdc: Opt(Type.Record(Type.String(), Type.String())),
  truncated: Opt(Type.Boolean()),
  timeClamped: Opt(Type.Boolean()),
});

export const LogsResponse = Type.Object({
  lines: Type.Array(Line),
  next: Opt(Type.String({ description: 'Cursor for the lines after this page (poll it for new lines).' })),
  prev: Opt(Type.String({ description: 'Cursor for the lines before this page.' })),
});

export const SearchResponse = Type.Object({
  hits: Type.Array(Type.Object({ line: Line, executorCursor: Type.String({ description: 'The hit\'s position in its executor\'s own logs (line.cursor is its position in the whole app\'s): `after`/`before` of …/executors/:executorId/logs, for the context within one executor.' }), highlights: Type.Array(Type.String(), { description: 'Message fragments, HTML-escaped, matches inside <mark>.' }) })),
  next: Opt(Str),
});

const AppSummary = Type.Object({ appType: Str, appId: Str, appName: Opt(Str), namespace: Opt(Str), firstSeen: Opt(Type.Number()), lastSeen: Opt(Type.Number()) });
export const AppsResponse = Type.Object({ apps: Type.Array(AppSummary), next: Opt(Str) });

export const Executor = Type.Object({
  executorId: Str,
  role: Opt(Str),
  pod: Opt(Str),
  node: Opt(Str),
  container: Opt(Str),
  firstLine: Opt(Type.Number()),
  lastLine: Opt(Type.Number()),
  lines: Int,
  warn: Int,
  error: Type.Integer({ description: 'ERROR and FATAL lines.' }),
  status: Type.Union([Type.Literal('running'), Type.Literal('succeeded'), Type.Literal('failed'), Type.Literal('removed'), Type.Literal('unknown')], { description: 'removed: an executor its driver let go (exit 0: dynamic allocation, the app\'s end), or stopped because its pod was deleted while it ran; not a failure' }),
  lifecycle: Opt(Type.Object({
    exitCode: Opt(Type.Integer()),
    reason: Opt(Type.String({ description: 'Kubernetes\' reason: Completed, Error, OOMKilled (the kernel killed it over its memory limit), Evicted, Deleted (its pod was deleted while it ran; with no exit code when it was gone before it reported one), …' })),
    exitMeaning: Opt(Type.String({ description: 'What the exit code says, when known (Spark: 52 = JVM out of memory; any: 137 = SIGKILL, 143 = SIGTERM).' })),
    startedAt: Opt(Type.Number()),
    finishedAt: Opt(Type.Number()),
  })),
});

export const AppResponse = Type.Object({ ...AppSummary.properties, executors: Type.Array(Executor) });

export const ErrorResponse = Type.Object({
  error: Type.Object({ code: Str, message: Str, param: Opt(Str), retriable: Type.Boolean() }),
});

export const errorResponses = { 400: ErrorResponse, 401: ErrorResponse, 403: ErrorResponse, 404: ErrorResponse, 429: ErrorResponse, 503: ErrorResponse };

// ---- The page's overview: aggregations, never a read of every line ----------

const Buckets = Type.Integer({ minimum: 10, maximum: 500, default: 120, description: 'Most buckets: the interval is the smallest round one (100 ms … 30 d) that covers the range in this many.' });

export const HistogramQuery = Type.Object(
  {
    appType: Type.Optional(AppType),
    level: Type.Optional(Level),
    stream: Type.Optional(Stream),
    from: Type.Optional(Time('Start of the range (default: the first matching line)')),
    to: Type.Optional(Time('End of the range (default: the last matching line)')),
    q: Type.Optional(Text),
    mode: Type.Optional(Mode),
    buckets: Type.Optional(Buckets),
  },
  strict,
);

export const SearchHistogramQuery = Type.Object(
  { ...HistogramQuery.properties, q: Text, appId: Type.Optional(IdPart('Restrict to one app.')) },
  strict,
);

export const HistogramResponse = Type.Object({
  from: Opt(Type.Number({ description: 'Start of the range covered, ms (absent: no matching line).' })),
  to: Opt(Type.Number()),
  interval: Opt(Type.Integer({ description: 'Bucket width, ms.' })),
  levels: Type.Array(Str, { description: 'Levels present, least severe first; NONE: lines without a parsed level.' }),
  total: Int,
  buckets: Type.Array(Type.Object({ t: Type.Number({ description: 'Bucket start, ms.' }), total: Int, levels: Type.Record(Type.String(), Type.Integer(), { description: 'Lines per level.' }) })),
});

export const ExceptionsQuery = Type.Object(
  {
    appType: Type.Optional(AppType),
    stream: Type.Optional(Stream),
    from: Type.Optional(Time('Events at or after this time')),
    to: Type.Optional(Time('Events at or before this time')),
    size: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50, description: 'Most exception classes (most frequent first).' })),
  },
  strict,
);

export const ExceptionsResponse = Type.Object({
  distinct: Type.Integer({ description: 'Exception classes in the app (approximate above a few thousand).' }),
  exceptions: Type.Array(Type.Object({
    exception: Type.String({ description: 'Class, e.g. java.lang.OutOfMemoryError.' }),
    count: Int,
    executors: Type.Integer({ description: 'Executors it occurred on.' }),
    last: Type.Number(),
    first: Type.Object({ time: Type.Number(), executorId: Str, level: Opt(Str), message: Type.String({ description: 'First line of the first event.' }), cursor: Type.String({ description: 'The first event\'s position in the app\'s logs: `line` of the page, `after`/`before` of …/logs.' }) }),
  })),
});

const AppStatusT = Type.Union([Type.Literal('running'), Type.Literal('succeeded'), Type.Literal('failed'), Type.Literal('unknown')], {
  description: 'From the lifecycle of the driver (Flink: job manager, Flume: agent): running until it ends, succeeded on exit 0, failed otherwise; without one, running while any pod runs, else unknown.',
});

export const TimelineResponse = Type.Object({
  ...AppSummary.properties,
  status: AppStatusT,
  from: Opt(Type.Number({ description: 'Earliest bar start, ms.' })),
  to: Opt(Type.Number({ description: 'Latest bar end, ms.' })),
  executors: Type.Array(Type.Object({
    executorId: Str,
    role: Opt(Str),
    pod: Opt(Str),
    node: Opt(Str),
    start: Opt(Type.Number({ description: 'Pod start when known, else first line.' })),
    end: Opt(Type.Number({ description: 'Pod finish when known, else last line.' })),
    firstLine: Opt(Type.Number()),
    lastLine: Opt(Type.Number()),
    lines: Int,
    warn: Int,
    error: Int,
    status: Executor.properties.status,
    reason: Opt(Str),
    exitCode: Opt(Int),
    exitMeaning: Opt(Str),
    oomKilled: Type.Boolean({ description: 'Killed over its memory limit (OOMKilled) or exit 52 (JVM out of memory).' }),
  })),
});

export const AppListQuery = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 253, pattern: '^[A-Za-z0-9._:-]+$', description: 'Part of the app id or app name (any case).' })),
    namespace: Type.Optional(Type.String({ pattern: '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$', description: 'Kubernetes namespace.' })),
    appType: Type.Optional(AppType),
    status: Type.Optional(Type.String({ pattern: '^(running|succeeded|failed|unknown)(,(running|succeeded|failed|unknown)){0,3}$', description: 'One status or several, comma-separated: running, succeeded, failed, unknown.' })),
    from: Type.Optional(Time('Apps active at or after this time')),
    to: Type.Optional(Time('Apps active at or before this time')),
    sort: Type.Optional(Type.Union(['start', 'end', 'duration', 'name', 'type', 'namespace', 'status', 'executors', 'errors'].map((s) => Type.Literal(s)), { default: 'end', description: 'end: last activity; status: failed, running, unknown, succeeded.' })),
    order: Type.Optional(Type.Union([Type.Literal('asc'), Type.Literal('desc')], { default: 'desc' })),
    offset: Type.Optional(Type.Integer({ minimum: 0, maximum: 100_000, default: 0 })),
    size: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
  },
  strict,
);

export const AppListResponse = Type.Object({
  total: Type.Integer({ description: 'Apps matching the filters.' }),
  truncated: Type.Boolean({ description: 'More apps are stored than the list looks at: it holds the most recently active.' }),
  apps: Type.Array(Type.Object({
    ...AppSummary.properties,
    status: AppStatusT,
    start: Opt(Type.Number()),
    end: Opt(Type.Number({ description: 'Last activity.' })),
    duration: Opt(Type.Number({ description: 'ms from start to last activity.' })),
    executors: Type.Integer({ description: 'Pods: driver and executors.' }),
    failedExecutors: Int,
    oomKilled: Int,
    errors: Type.Integer({ description: 'ERROR and FATAL lines.' }),
  })),
});
