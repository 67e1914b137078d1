// The query API's only door to Elasticsearch (the one file on this side that
// imports the client). Routes talk to the Store interface; every query the
// API runs is built here, and user text only ever reaches Elasticsearch as the
// value of a match query (or a query_string when the caller asked for Lucene).
import { Client, errors } from '@elastic/elasticsearch';
import { LEVELS, summaryId, type AppDoc, type ExecutorDoc, type Level, type LineDoc } from '../../contract/documents.js';
import type { Names } from '../../contract/names.js';
import { ApiError } from '../errors.js';
import { CAPTURES, parseSequenceKey, sequenceKey, type Capture, type Order, type Position, type Positions, type SortValues } from '../cursor.js';
import {
  appsRequest, appStatus, errorCountsRequest, exceptionsRequest, executorFactsRequest, histogramInterval, histogramRequest,
  readApps, readCounts, readExceptions, readExecutorFacts, readHistogram, readSpan, sortApps, spanRequest,
  type AppRow, type AppSort, type AppStatus, type ExceptionGroup, type HistogramBucket,
} from './aggregations.js';

export interface StoreOptions {
  url: string;
  names: Names;
  requestTimeoutMs: number;
  /** Executors of one app beyond this are not listed (bounds aggregation memory). */
  maxExecutors?: number;
  /** Apps the apps list looks at (the most recently active first); bounds its aggregations. */
  maxApps?: number;
}

export interface ExecutorRef {
  appType?: string;
  appId: string;
  executorId?: string;
}

export interface LineFilter extends ExecutorRef {
  minLevel?: Level;
  from?: number;
  to?: number;
  text?: string;
  /** text is Lucene query syntax (mode=lucene); a syntax error is a BAD_QUERY. */
  lucene?: boolean;
  /** Only lines of this stream (the `stream` field: a capture's lines, and a CRI file's lines of that stream). */
  stream?: Capture;
  /** Only lines of sequences that can hold lines of this stream: log and CRI files, and this stream's capture (a filtered follow's scope). */
  sequencesOf?: Capture;
  /** Only lines after these follow positions (per sequence key, cursor.ts), and of sequences not in them. */
  after?: Positions;
  /** Only lines at or before these follow positions. */
  upTo?: Positions;
  /** Of these sequences, only lines strictly before these positions (a follow held at a gap). */
  before?: Positions;
}

export interface PageRequest {
  order: Exclude<Order, 'apps' | 'search'>;
  size: number;
  after?: SortValues;
  before?: SortValues;
  /** The last `size` lines (with before: the `size` lines just before it). */
  tail?: boolean;
  /** Only where each line is (executor, capture, file, offset, number): a follow's completeness check. */
  positionsOnly?: boolean;
  /** 'file' order by event number within a file (a follow's order; see positionClause); `sort` stays the 'file' cursor's. */
  byNumber?: boolean;
}

export interface StoredLine extends LineDoc {
  sort: SortValues;
}

export interface SearchHit extends StoredLine {
  highlights: string[];
}

/** An app as the summary documents describe it (contract AppDoc, both kinds merged), with its list position. */
export interface AppSummary extends Omit<AppDoc, 'kind'> {
  sort: SortValues;
}

export interface ExecutorView {
  executorId: string;
  role?: string;
  pod?: string;
  node?: string;
  container?: string;
  firstLine?: number;
  lastLine?: number;
  lines: number;
  warn: number;
  error: number;
  lifecycle?: { exitCode?: number; reason?: string; startedAt?: number; finishedAt?: number };
}

export interface AppView extends Omit<AppSummary, 'sort'> {
  executors: ExecutorView[];
}

export interface AppsQuery {
  appType?: string;
  namespace?: string;
  prefix?: string;
  from?: number;
  to?: number;
  size: number;
  after?: SortValues;
}

export interface Histogram {
  /** The range covered: the filter's from/to, else the matching lines' first and last time. */
  from?: number;
  to?: number;
  /** Bucket width, ms. */
  interval?: number;
  buckets: HistogramBucket[];
}

export interface AppListQuery {
  appType?: string;
  namespace?: string;
  /** Part of the app id or app name, any case. */
  name?: string;
  status?: AppStatus[];
  /** Apps whose life overlaps [from, to]. */
  from?: number;
  to?: number;
  sort: AppSort;
  order: 'asc' | 'desc';
  offset: number;
  size: number;
}

export interface AppList {
  apps: (AppRow & { errors: number })[];
  /** Apps matching the filters (of at most maxApps looked at). */
  total: number;
  /** More apps matched than maxApps: the list holds the most recently active. */
  truncated: boolean;
}

export interface Store {
  /** Lines in ascending order of `order`, one page. */
  lines(f: LineFilter, page: PageRequest): Promise<StoredLine[]>;
  /** Where each sequence's newest stored line is (per sequence key, cursor.ts): the start of a follow. */
  positions(ref: ExecutorRef): Promise<Positions>;
  exists(ref: ExecutorRef): Promise<boolean>;
  apps(q: AppsQuery): Promise<AppSummary[]>;
  app(ref: ExecutorRef): Promise<AppView | undefined>;
  search(f: Omit<LineFilter, 'text' | 'after' | 'upTo'> & { text: string; appId?: string }, size: number, after?: SortValues): Promise<SearchHit[]>;
  /** Lines per interval and level over the filter's range (at most maxBuckets + 1 buckets). */
  histogram(f: Omit<LineFilter, 'after' | 'upTo'>, maxBuckets: number): Promise<Histogram>;
  /** Events with a parsed exception, grouped by its class, most frequent first. */
  exceptions(f: Omit<LineFilter, 'after' | 'upTo'>, size: number): Promise<{ groups: ExceptionGroup[]; distinct: number }>;
  /** Apps with status and counts, filtered, sorted and paged (offset). */
  appList(q: AppListQuery): Promise<AppList>;
  /** One executor's events in the order it wrote them (file order). */
  executorLines(ref: ExecutorRef & { executorId: string }, size: number, after?: unknown[]): Promise<{ lines: LineDoc[]; next?: unknown[] }>;
  ping(): Promise<boolean>;
  refresh(): Promise<void>;
  close(): Promise<void>;
}

/**
 * 'file': one executor's log file (no `log`: missing first), then its stderr,
 * then its stdout capture ('stderr' < 'stdout'), each in file order, like the
 * sections of `yarn logs`. A line of the log file has the sort value null
 * there, which search_after takes back both ways (checked on Elasticsearch
 * 8.19: test/query-api/captures.test.ts pages through the sections with
 * `after` and `before`); `unmapped_type` covers line indices made before the
 * field.
 */
const SORT: Record<PageRequest['order'] | 'search', string[]> = {
  time: ['@timestamp', 'fileSeq', 'off', 'lid'],
  search: ['@timestamp', 'fileSeq', 'off', 'lid'],
  file: ['log', 'fileSeq', 'off', 'lid'],
};

const sortBy = (fields: string[], dir: 'asc' | 'desc') =>
  // Backward reads sort descending and reverse the page: missing values then come last, so they are first again.
  fields.map((f) => ({ [f]: f === 'log' ? { order: dir, missing: dir === 'asc' ? '_first' : '_last', unmapped_type: 'keyword' } : { order: dir } }));
// Lines of older collectors (no number) first: a file continued by a newer collector numbers from its checkpoint on.
const BY_NUMBER = [{ fileSeq: { order: 'asc' } }, { n: { order: 'asc', missing: '_first', unmapped_type: 'long' } }, { off: { order: 'asc' } }, { lid: { order: 'asc' } }];

const noCapture = { bool: { must_not: [{ exists: { field: 'log' } }] } };

/** Lines of one sequence (cursor.ts): an executor's log file (no `log`), or one of its captures. */
function sequenceClause(key: string): object {
  const { executorId, log } = parseSequenceKey(key);
  return { bool: { filter: [{ term: { executorId } }, log === undefined ? noCapture : { term: { log } }] } };
}

/** Lines of any of these sequences: one terms query per kind of sequence (log file, stdout, stderr), however many executors. */
function sequencesClause(keys: string[]): object {
  const byLog = new Map<string | undefined, string[]>();
  for (const k of keys) {
    const { executorId, log } = parseSequenceKey(k);
    const ids = byLog.get(log);
    if (ids) ids.push(executorId);
    else byLog.set(log, [executorId]);
  }
  return {
    bool: {
      should: [...byLog].map(([log, ids]) => ({ bool: { filter: [{ terms: { executorId: ids } }, log === undefined ? noCapture : { term: { log } }] } })),
      minimum_should_match: 1,
    },
  };
}

/**
 * Lines of sequence `key` strictly after, at or before, or strictly before its
 * position. Within a file, a position with an event number compares by number
 * (the collector's order, which is Kafka's and the follow's: in a CRI file a
 * line of one stream can be finished, and numbered, before an earlier-starting
 * partial line of the other); one without (lines of older collectors), by
 * offset. Files of one sequence compare by fileSeq; other sequences of the
 * same executor (its log file and its captures, written at the same time) are
 * not compared at all.
 */
function positionClause(key: string, [seq, off, n]: Position, side: 'after' | 'upTo' | 'before'): object {
  const cmp = side === 'after' ? 'gt' : side === 'upTo' ? 'lte' : 'lt';
  // A file continued by a newer collector holds unnumbered lines before numbered ones.
  const byNumber = side === 'after' ? { range: { n: { gt: n } } } : { bool: { should: [{ range: { n: { [cmp]: n } } }, { bool: { must_not: [{ exists: { field: 'n' } }] } }], minimum_should_match: 1 } };
  const inFile = n === undefined ? { range: { off: { [cmp]: off } } } : byNumber;
  return {
    bool: {
      filter: [sequenceClause(key)],
      should: [{ range: { fileSeq: side === 'after' ? { gt: seq } : { lt: seq } } }, { bool: { filter: [{ term: { fileSeq: seq } }, inFile] } }],
      minimum_should_match: 1,
    },
  };
}

function lineQuery(f: LineFilter): object {
  const filter: object[] = [];
  if (f.appId) filter.push({ term: { appId: f.appId } });
  if (f.appType) filter.push({ term: { appType: f.appType } });
  if (f.executorId) filter.push({ term: { executorId: f.executorId } });
  if (f.minLevel) filter.push({ terms: { level: LEVELS.slice(LEVELS.indexOf(f.minLevel)) } });
  if (f.stream) filter.push({ term: { stream: f.stream } });
  if (f.sequencesOf) filter.push({ bool: { should: [noCapture, { term: { log: f.sequencesOf } }], minimum_should_match: 1 } });
  if (f.from !== undefined || f.to !== undefined) {
    filter.push({ range: { '@timestamp': { ...(f.from !== undefined ? { gte: f.from } : {}), ...(f.to !== undefined ? { lte: f.to } : {}), format: 'epoch_millis' } } });
  }
  if (f.after) {
    const known = Object.keys(f.after);
    if (known.length > 0) {
      filter.push({
        bool: {
          // Sequences not in the position (an executor that started later, a capture with no line yet): from their first line.
          should: [...Object.entries(f.after).map(([k, p]) => positionClause(k, p, 'after')), { bool: { must_not: [sequencesClause(known)] } }],
          minimum_should_match: 1,
        },
      });
    }
  }
  if (f.upTo) {
    filter.push({ bool: { should: Object.entries(f.upTo).map(([k, p]) => positionClause(k, p, 'upTo')), minimum_should_match: 1 } });
  }
  if (f.before) {
    for (const [k, p] of Object.entries(f.before)) {
      filter.push({ bool: { should: [{ bool: { must_not: [sequenceClause(k)] } }, positionClause(k, p, 'before')], minimum_should_match: 1 } });
    }
  }
  const must: object[] = [];
  if (f.text !== undefined) {
    must.push(
      f.lucene
        ? { query_string: { query: f.text, default_field: 'message', allow_leading_wildcard: false, default_operator: 'and' } }
        : { match: { message: { query: f.text, operator: 'and' } } },
    );
  }
  return { bool: { filter, must } };
}

function failure(what: string, err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof errors.ResponseError && err.statusCode === 400) {
    // Only a Lucene query can be malformed at this point: every other value was validated before.
    const root = (err.body as { error?: { root_cause?: { reason?: string }[]; caused_by?: { reason?: string } } } | undefined)?.error;
    const reason = root?.caused_by?.reason ?? root?.root_cause?.[0]?.reason ?? 'the query was refused';
    return new ApiError('BAD_QUERY', `q: not a valid Lucene query (${reason.slice(0, 200)})`, { param: 'q', cause: err });
  }
  return new ApiError('STORE_UNAVAILABLE', `Elasticsearch is unavailable (${what}); try again shortly`, { cause: err });
}

export function createStore(o: StoreOptions): Store {
  const client = new Client({ node: o.url, requestTimeout: o.requestTimeoutMs, maxRetries: 0 });
  const n = o.names;
  const maxExecutors = o.maxExecutors ?? 2_000;
  const maxApps = o.maxApps ?? 10_000;
  const lineIndex = { index: n.linesIndexPattern, ignore_unavailable: true, allow_no_indices: true };
  // Pages of lines are the API's hot path (up to thousands of hits per call):
  // Elasticsearch sends only what an API line shows (not the pod uid, file id,
  // app name and namespace each line repeats) and none of each hit's _index,
  // _id and _score, so there is less to serialise, send and parse. With no hit
  // at all, filter_path leaves out `hits` entirely: hitsOf() reads it as none.
  const linePage = { _source: { excludes: ['podUid', 'fileId', 'appName', 'namespace'] }, filter_path: ['hits.hits._source', 'hits.hits.sort', 'hits.hits.highlight'] };
  const hitsOf = <T>(res: { hits?: { hits?: T[] } }): T[] => res.hits?.hits ?? [];

  async function guard<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw failure(what, err);
    }
  }

  // The document parsed from the response becomes the line (no copy per hit).
  const withSort = (h: { _source?: unknown; sort?: unknown[] }): StoredLine => {
    const line = h._source as StoredLine;
    line.sort = (h.sort ?? []) as SortValues;
    return line;
  };

  return {
    lines(f, page) {
      return guard('reading lines', async () => {
        const backward = page.tail === true || page.before !== undefined;
        const cursor = page.before ?? page.after;
        const res = await client.search<LineDoc>({
          ...lineIndex,
          ...linePage,
          ...(page.positionsOnly ? { _source: { includes: ['executorId', 'log', 'fileSeq', 'off', 'n'] } } : {}),
          size: page.size,
          query: lineQuery(f) as never,
          sort: (page.byNumber ? BY_NUMBER : sortBy(SORT[page.order], backward ? 'desc' : 'asc')) as never,
          ...(cursor ? { search_after: cursor } : {}),
          track_total_hits: false,
        });
        const lines = hitsOf(res).map(withSort);
        return backward ? lines.reverse() : lines;
      });
    },

    positions(ref) {
      return guard('reading follow positions', async () => {
        const res = await client.search({
          ...lineIndex,
          size: 0,
          query: lineQuery(ref) as never,
          aggs: {
            ex: {
              terms: { field: 'executorId', size: maxExecutors },
              aggs: {
                // One position per sequence: the log file (no `log`) and each capture.
                seq: {
                  filters: { filters: { '': noCapture, ...Object.fromEntries(CAPTURES.map((c) => [c, { term: { log: c } }])) } },
                  aggs: { last: { top_hits: { size: 1, sort: [{ fileSeq: { order: 'desc' } }, { n: { order: 'desc', missing: '_last', unmapped_type: 'long' } }, { off: { order: 'desc' } }] as never, _source: ['fileSeq', 'off', 'n'] } } },
                },
              },
            },
          },
        });
        type Last = { doc_count: number; last: { hits: { hits: { _source: { fileSeq: number; off: number; n?: number } }[] } } };
        const buckets = (res.aggregations?.ex as { buckets: { key: string; seq: { buckets: Record<string, Last> } }[] }).buckets;
        const out: Positions = {};
        for (const b of buckets) {
          for (const [log, seq] of Object.entries(b.seq.buckets)) {
            const s = seq.last.hits.hits[0]?._source;
            if (s) out[sequenceKey({ executorId: b.key, ...(log ? { log } : {}) })] = s.n === undefined ? [s.fileSeq, s.off] : [s.fileSeq, s.off, s.n];
          }
        }
        return out;
      });
    },

    exists(ref) {
      return guard('checking existence', async () => {
        const res = await client.search({ ...lineIndex, size: 0, terminate_after: 1, query: lineQuery(ref) as never, track_total_hits: 1 });
        const total = res.hits.total;
        if ((typeof total === 'number' ? total : total?.value ?? 0) > 0) return true;
        const summary = await client.search({
          index: ref.executorId ? n.executorsIndex : n.appsIndex,
          ignore_unavailable: true,
          allow_no_indices: true,
          size: 0,
          track_total_hits: 1,
          query: lineQuery({ appId: ref.appId, appType: ref.appType, executorId: ref.executorId }) as never,
        });
        const t = summary.hits.total;
        return (typeof t === 'number' ? t : t?.value ?? 0) > 0;
      });
    },

    apps(q) {
      return guard('listing apps', async () => {
        const filter: object[] = [{ term: { kind: 'last' } }];
        if (q.appType) filter.push({ term: { appType: q.appType } });
        if (q.namespace) filter.push({ term: { namespace: q.namespace } });
        if (q.prefix) filter.push({ bool: { should: [{ prefix: { appId: q.prefix } }, { prefix: { appName: q.prefix } }], minimum_should_match: 1 } });
        if (q.from !== undefined || q.to !== undefined) {
          filter.push({ range: { lastSeen: { ...(q.from !== undefined ? { gte: q.from } : {}), ...(q.to !== undefined ? { lte: q.to } : {}), format: 'epoch_millis' } } });
        }
        const res = await client.search<AppDoc>({
          index: n.appsIndex,
          ignore_unavailable: true,
          allow_no_indices: true,
          size: q.size,
          query: { bool: { filter } } as never,
          sort: sortBy(['lastSeen', 'appId'], 'desc') as never,
          ...(q.after ? { search_after: q.after } : {}),
          track_total_hits: false,
        });
        const lasts = res.hits.hits.map((h) => ({ doc: h._source as AppDoc, sort: (h.sort ?? []) as SortValues }));
        if (lasts.length === 0) return [];
        const firsts = await client.mget<AppDoc>({ index: n.appsIndex, ids: lasts.map((l) => summaryId(`${l.doc.appType}/${l.doc.appId}`, 'first')) });
        return lasts.map(({ doc, sort }, i) => {
          const first = firsts.docs[i] as { found?: boolean; _source?: AppDoc } | undefined;
          return {
            appType: doc.appType,
            appId: doc.appId,
            appName: doc.appName ?? first?._source?.appName,
            namespace: doc.namespace ?? first?._source?.namespace,
            firstSeen: first?._source?.firstSeen,
            lastSeen: doc.lastSeen,
            sort,
          };
        });
      });
    },

    app(ref) {
      return guard('reading an app', async () => {
        const idFilter = lineQuery({ appId: ref.appId, appType: ref.appType });
        const [apps, execs, agg] = await Promise.all([
          client.search<AppDoc>({ index: n.appsIndex, ignore_unavailable: true, allow_no_indices: true, size: 10, query: idFilter as never }),
          client.search<ExecutorDoc>({ index: n.executorsIndex, ignore_unavailable: true, allow_no_indices: true, size: maxExecutors * 3, query: idFilter as never }),
          client.search({
            ...lineIndex,
            size: 0,
            query: idFilter as never,
            aggs: {
              ex: {
                terms: { field: 'executorId', size: maxExecutors },
                aggs: {
                  first: { min: { field: '@timestamp' } },
                  last: { max: { field: '@timestamp' } },
                  warn: { filter: { term: { level: 'WARN' } } },
                  error: { filter: { terms: { level: ['ERROR', 'FATAL'] } } },
                },
              },
            },
          }),
        ]);
        type Bucket = { key: string; doc_count: number; first: { value: number | null }; last: { value: number | null }; warn: { doc_count: number }; error: { doc_count: number } };
        const buckets = (agg.aggregations?.ex as { buckets: Bucket[] }).buckets;
        const appDocs = apps.hits.hits.map((h) => h._source as AppDoc);
        const execDocs = execs.hits.hits.map((h) => h._source as ExecutorDoc);
        if (appDocs.length === 0 && execDocs.length === 0 && buckets.length === 0) return undefined;
        // Identity from a line only for executors without summary documents: a top hit per executor
        // in the aggregation above was most of its cost on a first view (bench-overview.ts).
        const summarised = new Set(execDocs.map((d) => d.executorId));
        const unsummarised = buckets.filter((b) => !summarised.has(b.key)).map((b) => b.key);
        const idOf = new Map<string, Partial<LineDoc>>();
        if (unsummarised.length) {
          const ids = await client.search({
            ...lineIndex,
            size: 0,
            query: idFilter as never,
            aggs: { ex: { terms: { field: 'executorId', size: unsummarised.length, include: unsummarised }, aggs: { id: { top_hits: { size: 1, _source: ['appType', 'appName', 'namespace', 'role', 'pod', 'node', 'container'] } } } } },
          });
          for (const b of (ids.aggregations?.ex as { buckets: { key: string; id: { hits: { hits: { _source: Partial<LineDoc> }[] } } }[] }).buckets) {
            idOf.set(b.key, b.id.hits.hits[0]?._source ?? {});
          }
        }

        const byId = new Map<string, ExecutorView>();
        const view = (id: string) => {
          let v = byId.get(id);
          if (!v) byId.set(id, (v = { executorId: id, lines: 0, warn: 0, error: 0 }));
          return v;
        };
        for (const d of execDocs) {
          const v = view(d.executorId);
          v.role ??= d.role;
          v.pod ??= d.pod;
          v.node ??= d.node;
          v.container ??= d.container;
          if (d.kind === 'lifecycle') v.lifecycle = { exitCode: d.exitCode, reason: d.reason, startedAt: d.startedAt, finishedAt: d.finishedAt };
        }
        let identity: Partial<LineDoc> = {};
        for (const b of buckets) {
          const v = view(b.key);
          const id = idOf.get(b.key) ?? {};
          identity = { ...id, ...identity };
          v.role ??= id.role;
          v.pod ??= id.pod;
          v.node ??= id.node;
          v.container ??= id.container;
          v.lines = b.doc_count;
          v.warn = b.warn.doc_count;
          v.error = b.error.doc_count;
          if (b.first.value !== null) v.firstLine = b.first.value;
          if (b.last.value !== null) v.lastLine = b.last.value;
        }
        const first = appDocs.find((d) => d.kind === 'first');
        const last = appDocs.find((d) => d.kind === 'last');
        const any = appDocs[0] ?? execDocs[0];
        const executors = [...byId.values()].sort((a, b) => (a.executorId === 'driver' ? -1 : b.executorId === 'driver' ? 1 : a.executorId.localeCompare(b.executorId, 'en', { numeric: true })));
        return {
          appType: any?.appType ?? identity.appType ?? ref.appType ?? '',
          appId: ref.appId,
          appName: any?.appName ?? identity.appName,
          namespace: any?.namespace ?? identity.namespace,
          firstSeen: first?.firstSeen ?? Math.min(...executors.map((e) => e.firstLine ?? Infinity)),
          lastSeen: last?.lastSeen ?? Math.max(...executors.map((e) => e.lastLine ?? -Infinity)),
          executors,
        };
      });
    },

    search(f, size, after) {
      return guard('searching', async () => {
        const res = await client.search<LineDoc>({
          ...lineIndex,
          ...linePage,
          size,
          query: lineQuery(f) as never,
          sort: sortBy(SORT.search, 'desc') as never,
          ...(after ? { search_after: after } : {}),
          track_total_hits: false,
          // html encoder: the message is escaped, so <mark> is the only markup a page can receive.
          highlight: { encoder: 'html', pre_tags: ['<mark>'], post_tags: ['</mark>'], fields: { message: { fragment_size: 300, number_of_fragments: 3 } } },
        });
        return hitsOf(res).map((h) => {
          const hit = withSort(h) as SearchHit;
          hit.highlights = (h.highlight?.message ?? []) as string[];
          return hit;
        });
      });
    },

    histogram(f, maxBuckets) {
      return guard('counting lines over time', async () => {
        let from = f.from;
        let to = f.to;
        if ((from === undefined || to === undefined) && f.appId) {
          // An app's or executor's span is in its summary documents: a few documents, not a pass over its lines.
          const summary = { appId: f.appId, appType: f.appType, executorId: f.executorId };
          const res = await client.search({ index: f.executorId ? n.executorsIndex : n.appsIndex, ignore_unavailable: true, allow_no_indices: true, ...spanRequest(lineQuery(summary), ['firstSeen', 'lastSeen']) } as never);
          const span = readSpan(res.aggregations);
          from ??= span.first;
          to ??= span.last;
        }
        if (from === undefined || to === undefined) {
          const span = readSpan((await client.search({ ...lineIndex, ...spanRequest(lineQuery(f)) } as never)).aggregations);
          from ??= span.first;
          to ??= span.last;
        }
        if (from === undefined || to === undefined) return { buckets: [] };
        const interval = histogramInterval(from, to, maxBuckets);
        const res = await client.search({ ...lineIndex, ...histogramRequest(lineQuery({ ...f, from, to }), from, to, interval) } as never);
        return { from, to, interval, buckets: readHistogram(res.aggregations) };
      });
    },

    exceptions(f, size) {
      return guard('grouping exceptions', async () => {
        const res = await client.search({ ...lineIndex, ...exceptionsRequest(lineQuery(f), size) } as never);
        return readExceptions(res.aggregations);
      });
    },

    appList(q) {
      return guard('listing apps', async () => {
        const filter: object[] = [];
        if (q.appType) filter.push({ term: { appType: q.appType } });
        if (q.namespace) filter.push({ term: { namespace: q.namespace } });
        if (q.name) {
          const like = `*${q.name.replace(/[*?\\]/g, '\\$&')}*`;
          filter.push({ bool: { should: [{ wildcard: { appId: { value: like, case_insensitive: true } } }, { wildcard: { appName: { value: like, case_insensitive: true } } }], minimum_should_match: 1 } });
        }
        const summaries = { index: n.appsIndex, ignore_unavailable: true, allow_no_indices: true };
        const found = readApps((await client.search({ ...summaries, ...appsRequest(filter, maxApps + 1) } as never)).aggregations);
        const truncated = found.length > maxApps;
        const apps = found
          .sort((a, b) => (b.lastSeen ?? 0) - (a.lastSeen ?? 0))
          .slice(0, maxApps)
          .filter((a) => (q.from === undefined || (a.lastSeen ?? a.firstSeen ?? 0) >= q.from) && (q.to === undefined || (a.firstSeen ?? a.lastSeen ?? 0) <= q.to));
        if (apps.length === 0) return { apps: [], total: 0, truncated };
        const factsRes = await client.search({ index: n.executorsIndex, ignore_unavailable: true, allow_no_indices: true, ...executorFactsRequest(apps.map((a) => a.appId)) } as never);
        const facts = readExecutorFacts(factsRes.aggregations);
        let rows: AppRow[] = apps.map((a) => {
          const r = { ...a, executors: 0, failedExecutors: 0, oomKilled: 0, running: 0, ...facts.get(a.appId) };
          return { ...r, status: appStatus(r) };
        });
        if (q.status?.length) rows = rows.filter((r) => q.status!.includes(r.status));
        const errorsOf = async (ids: string[]) => (ids.length ? readCounts((await client.search({ ...lineIndex, ...errorCountsRequest(ids) } as never)).aggregations) : new Map<string, number>());
        // Error counts read every ERROR line of the apps asked for: all of them only to sort by it.
        if (q.sort === 'errors') {
          const errors = await errorsOf(rows.map((r) => r.appId));
          for (const r of rows) r.errors = errors.get(r.appId) ?? 0;
        }
        const page = sortApps(rows, q.sort, q.order).slice(q.offset, q.offset + q.size);
        if (q.sort !== 'errors') {
          const errors = await errorsOf(page.map((r) => r.appId));
          for (const r of page) r.errors = errors.get(r.appId) ?? 0;
        }
        return { apps: page as (AppRow & { errors: number })[], total: rows.length, truncated };
      });
    },

    async executorLines(ref, size, after) {
      const lines = await this.lines(ref, { order: 'file', size, ...(after ? { after: after as SortValues } : {}) });
      const last = lines.at(-1);
      return { lines: lines.map(({ sort: _s, ...doc }) => doc), ...(lines.length === size && last ? { next: last.sort } : {}) };
    },

    async ping() {
      try {
        // Not client.ping(): HEAD / answers 405 on this distribution.
        const h = await client.cluster.health({ timeout: '2s' });
        return h.status !== 'red';
      } catch {
        return false;
      }
    },

    async refresh() {
      await guard('refreshing', () => client.indices.refresh({ index: `${n.linesIndexPattern},${n.appsIndex},${n.executorsIndex}`, ignore_unavailable: true, allow_no_indices: true }));
    },

    async close() {
      await client.close();
    },
  };
}
