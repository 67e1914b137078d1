import type { Names } from './names.js';

// What Elasticsearch stores, written by the aggregator and read by the query
// API. The index templates are installed idempotently at the aggregator's
// start (and by the Kubernetes setup Job); the mappings are strict so that a
// document that does not fit is rejected (and dead-lettered), never guessed.

/** One log event. `_id` is the line id (contract/line-id.ts). Executor ids are unique within an app for its whole life (Spark never reuses one), which the (fileSeq, off) order of one executor relies on. */
export interface LineDoc {
  '@timestamp': number; // event time, ms (parsed from the line; else collection time)
  ingested: number; // collection time, ms
  lid: string;
  appType: string;
  appId: string;
  executorId: string;
  role: string;
  appName?: string;
  namespace?: string;
  pod?: string;
  podUid?: string;
  node?: string;
  container?: string;
  /** The line's stream: its own (a CRI line's `s`) or its source's (a whole-stream capture). */
  stream?: string;
  /**
   * Set on lines of a whole-stream capture (record `src.stream`: the container's
   * stdout or stderr as a plain file the sidecar tails): which capture. Absent
   * for log files and for CRI files (one sequence interleaving both streams).
   * An executor's lines fall into sequences, each numbered on its own: its log
   * file(s) (no `log`), and each capture; the query API's follow keeps a
   * position per sequence, and an executor's 'file' order reads the log file,
   * then stderr, then stdout (keyword order, missing first).
   */
  log?: string;
  file: string;
  fileId: string;
  fileSeq: number;
  off: number;
  /** The event's number in its file (record `n`): consecutive, so a gap shows an event not visible yet. */
  n?: number;
  level?: string;
  logger?: string;
  thread?: string;
  /** The event's text after the parsed header (time, level, logger, thread are fields), then any further lines (stack traces); the whole text when nothing parsed. */
  message: string;
  exception?: string;
  mdc?: Record<string, string>;
  truncated?: boolean;
  /** Set when the parsed time was implausible and collection time was used. */
  timeClamped?: boolean;
}

/**
 * Summary documents, several per executor and per app, told apart by `kind`:
 * 'last' (written with version = lastSeen: the latest wins), 'first'
 * (version = VERSION_HORIZON - firstSeen: the earliest wins) and, for
 * executors, 'lifecycle' (pod facts from the Kubernetes API, version =
 * observation time). Ids: summaryId(). Counts are never stored: they come
 * from aggregations over the line indices.
 */
export type SummaryKind = 'first' | 'last' | 'lifecycle';

export interface ExecutorDoc {
  kind: SummaryKind;
  appType: string;
  appId: string;
  executorId: string;
  role: string;
  appName?: string;
  namespace?: string;
  pod?: string;
  podUid?: string;
  node?: string;
  container?: string;
  firstSeen?: number;
  lastSeen?: number;
  /** lifecycle: the container's exit code and reason (e.g. OOMKilled, Completed, Error). */
  exitCode?: number;
  reason?: string;
  startedAt?: number;
  finishedAt?: number;
}

export interface AppDoc {
  kind: Exclude<SummaryKind, 'lifecycle'>;
  appType: string;
  appId: string;
  appName?: string;
  namespace?: string;
  firstSeen?: number;
  lastSeen?: number;
}

const keyword = { type: 'keyword', ignore_above: 1024 } as const;

/** Fields of the line mapping added after its first release: put on line indices made before them. */
export const LINES_ADDED_FIELDS = ['n', 'log'] as const;

export const LEVELS = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL'] as const;
export type Level = (typeof LEVELS)[number];

export interface TemplateOptions {
  shards?: number;
  replicas?: number;
  refreshInterval?: string;
}

/**
 * How soon a stored line becomes searchable (and so reaches `logs -f`): the
 * line indices refresh every 500 ms, half Elasticsearch's usual 1 s, for the
 * freshness target (a line shown within 1 s); about twice the refreshes (small
 * segments, merged later) on the index being written. Indices no longer
 * written cost next to nothing. The summary indices keep 1 s.
 */
export const LINES_REFRESH_INTERVAL = '500ms';

export function linesTemplate(n: Names, o: TemplateOptions = {}) {
  return {
    name: n.linesTemplate,
    index_patterns: [n.linesIndexPattern],
    priority: 200,
    template: {
      settings: {
        number_of_shards: o.shards ?? 1,
        number_of_replicas: o.replicas ?? 0,
        refresh_interval: o.refreshInterval ?? LINES_REFRESH_INTERVAL,
      },
      mappings: {
        dynamic: 'strict' as const,
        properties: {
          '@timestamp': { type: 'date' },
          ingested: { type: 'date' },
          lid: keyword,
          appType: keyword,
          appId: keyword,
          executorId: keyword,
          role: keyword,
          appName: keyword,
          namespace: keyword,
          pod: keyword,
          podUid: keyword,
          node: keyword,
          container: keyword,
          stream: keyword,
          log: keyword,
          file: keyword,
          fileId: keyword,
          fileSeq: { type: 'integer' },
          off: { type: 'long' },
          n: { type: 'long' },
          level: keyword,
          logger: keyword,
          thread: keyword,
          message: { type: 'text' },
          exception: keyword,
          mdc: { type: 'object', dynamic: true },
          truncated: { type: 'boolean' },
          timeClamped: { type: 'boolean' },
        },
        dynamic_templates: [{ mdc_keywords: { path_match: 'mdc.*', mapping: keyword } }],
      },
    },
  };
}

export function summaryTemplate(n: Names, o: TemplateOptions = {}) {
  return {
    name: n.summaryTemplate,
    index_patterns: [n.appsIndex, n.executorsIndex],
    priority: 200,
    template: {
      settings: { number_of_shards: 1, number_of_replicas: o.replicas ?? 0, refresh_interval: o.refreshInterval ?? '1s' },
      mappings: {
        dynamic: 'strict' as const,
        properties: {
          kind: keyword,
          appType: keyword,
          appId: keyword,
          executorId: keyword,
          role: keyword,
          appName: keyword,
          namespace: keyword,
          pod: keyword,
          podUid: keyword,
          node: keyword,
          container: keyword,
          firstSeen: { type: 'date' },
          lastSeen: { type: 'date' },
          exitCode: { type: 'integer' },
          reason: keyword,
          startedAt: { type: 'date' },
          finishedAt: { type: 'date' },
        },
      },
    },
  };
}

/**
 * Summary documents are written with external_gte versions so that a replay
 * can only move firstSeen earlier and lastSeen later, without scripts (the
 * local Elasticsearch distribution has no scripting module). A 'first' doc's
 * version counts down from this horizon.
 */
export const VERSION_HORIZON = 8_640_000_000_000_000; // max ms of a JS Date

/** `spark/<appId>/<executorId>/last`, `spark/<appId>/first`, … */
export function summaryId(key: string, kind: SummaryKind): string {
  return `${key}/${kind}`;
}
