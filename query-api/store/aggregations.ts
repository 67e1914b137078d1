// Request bodies and answer readers of the aggregations behind the page's
// overview (log-volume histogram, exceptions, the apps list with status).
// Pure: store/elasticsearch.ts sends them. Every bucket count is bounded here,
// so no request can ask Elasticsearch for an unbounded number of buckets.
import { LEVELS, type AppDoc } from '../../contract/documents.js';
import type { SortValues } from '../cursor.js';

/** Level key of lines without a parsed level. */
export const NO_LEVEL = 'NONE';

/** Fixed intervals a histogram may use, in ms (round numbers a reader can take in). */
const STEPS = [
  100, 200, 500, 1_000, 2_000, 5_000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000, 900_000, 1_800_000,
  3_600_000, 7_200_000, 10_800_000, 21_600_000, 43_200_000, 86_400_000, 172_800_000, 604_800_000, 2_592_000_000,
];

/** The smallest listed interval that covers [from, to] in at most maxBuckets buckets. */
export function histogramInterval(from: number, to: number, maxBuckets: number): number {
  const span = Math.max(0, to - from);
  for (const s of STEPS) if (Math.floor(to / s) - Math.floor(from / s) + 1 <= maxBuckets) return s;
  // Longer than the last step allows (decades): a whole multiple of it.
  const last = STEPS[STEPS.length - 1]!;
  return last * Math.ceil(span / last / Math.max(1, maxBuckets - 1));
}

/** First and last time of what the query matches: lines (@timestamp) or summary documents (firstSeen, lastSeen). */
export function spanRequest(query: object, [firstField, lastField] = ['@timestamp', '@timestamp']) {
  return { size: 0, query, aggs: { first: { min: { field: firstField } }, last: { max: { field: lastField } } } };
}

export function readSpan(aggs: unknown): { first?: number; last?: number } {
  const a = aggs as { first?: { value: number | null }; last?: { value: number | null } } | undefined;
  return { ...(a?.first?.value != null ? { first: a.first.value } : {}), ...(a?.last?.value != null ? { last: a.last.value } : {}) };
}

export function histogramRequest(query: object, from: number, to: number, interval: number) {
  return {
    size: 0,
    query,
    aggs: {
      t: {
        date_histogram: { field: '@timestamp', fixed_interval: `${interval}ms`, min_doc_count: 0, extended_bounds: { min: from, max: to } },
        aggs: { level: { terms: { field: 'level', size: LEVELS.length + 4, missing: NO_LEVEL } } },
      },
    },
  };
}

export interface HistogramBucket {
  /** Start of the bucket, ms. */
  t: number;
  total: number;
  /** Lines per level (NONE: no parsed level). */
  levels: Record<string, number>;
}

export function readHistogram(aggs: unknown): HistogramBucket[] {
  type B = { key: number; doc_count: number; level: { buckets: { key: string; doc_count: number }[] } };
  const buckets = (aggs as { t?: { buckets: B[] } } | undefined)?.t?.buckets ?? [];
  return buckets.map((b) => ({ t: b.key, total: b.doc_count, levels: Object.fromEntries(b.level.buckets.map((l) => [l.key, l.doc_count])) }));
}

/** The event sort of a whole app (cursor order 'time'): the first hit of a group is its first event. */
const TIME_SORT = ['@timestamp', 'fileSeq', 'off', 'lid'].map((f) => ({ [f]: { order: 'asc' } }));

export function exceptionsRequest(query: object, size: number) {
  return {
    size: 0,
    query: { bool: { filter: [query, { exists: { field: 'exception' } }] } },
    aggs: {
      total: { cardinality: { field: 'exception' } },
      ex: {
        terms: { field: 'exception', size, order: { _count: 'desc' } },
        aggs: {
          last: { max: { field: '@timestamp' } },
          executors: { cardinality: { field: 'executorId' } },
          first: { top_hits: { size: 1, sort: TIME_SORT, _source: ['executorId', 'level', 'message', '@timestamp'] } },
        },
      },
    },
  };
}

export interface ExceptionGroup {
  exception: string;
  count: number;
  /** Executors it occurred on (exact up to a few thousand). */
  executors: number;
  last: number;
  first: { time: number; executorId: string; level?: string; message: string; sort: SortValues };
}

export function readExceptions(aggs: unknown): { groups: ExceptionGroup[]; distinct: number } {
  type Hit = { _source: { executorId: string; level?: string; message: string; '@timestamp': number }; sort: SortValues };
  type B = { key: string; doc_count: number; last: { value: number }; executors: { value: number }; first: { hits: { hits: Hit[] } } };
  const a = aggs as { total: { value: number }; ex: { buckets: B[] } };
  const groups: ExceptionGroup[] = [];
  for (const b of a.ex.buckets) {
    const h = b.first.hits.hits[0];
    if (!h) continue;
    const s = h._source;
    // The first line of the event: a stack trace can be thousands of lines.
    const message = s.message.split('\n', 1)[0]!.slice(0, 500);
    groups.push({ exception: b.key, count: b.doc_count, executors: b.executors.value, last: b.last.value, first: { time: s['@timestamp'], executorId: s.executorId, ...(s.level ? { level: s.level } : {}), message, sort: h.sort } });
  }
  return { groups, distinct: a.total.value };
}

// ---- Apps list -------------------------------------------------------------

export type AppStatus = 'running' | 'succeeded' | 'failed' | 'unknown';

/** Roles whose pod's end is the app's end: Spark's driver, Flink's job manager, a Flume agent. */
export const LEAD_ROLES = ['driver', 'jobmanager', 'agent'];

/** An app's summary document, with what its executors' lifecycle facts add. */
export interface AppFacts extends Omit<AppDoc, 'kind'> {
  executors: number;
  /** Executors (not the lead) that failed: non-zero exit, OOMKilled. */
  failedExecutors: number;
  oomKilled: number;
  lead?: { exitCode?: number; reason?: string; finishedAt?: number };
  /** Executors whose pod still runs (a lifecycle record without a finish). */
  running: number;
}

/** running / succeeded / failed from the lead pod's lifecycle; without one, running while any pod runs. */
export function appStatus(f: AppFacts): AppStatus {
  const l = f.lead;
  if (l) {
    if (l.finishedAt === undefined && l.exitCode === undefined) return 'running';
    if (l.exitCode === 0) return 'succeeded';
    if (l.exitCode !== undefined || l.reason === 'OOMKilled' || l.reason === 'Error') return 'failed';
    return 'unknown';
  }
  return f.running > 0 ? 'running' : 'unknown';
}

/** Summary documents of every app matching the filters, one bucket per app (first and last folded). */
export function appsRequest(filter: object[], maxApps: number) {
  return {
    size: 0,
    query: { bool: { filter } },
    aggs: {
      apps: {
        // The most recently active first, so a cut at maxApps keeps the apps a person looks for.
        terms: { field: 'appId', size: maxApps, order: { last: 'desc' } },
        aggs: {
          first: { min: { field: 'firstSeen' } },
          last: { max: { field: 'lastSeen' } },
          id: { top_hits: { size: 1, _source: ['appType', 'appName', 'namespace'] } },
        },
      },
    },
  };
}

export function readApps(aggs: unknown): Omit<AppFacts, 'executors' | 'failedExecutors' | 'oomKilled' | 'running'>[] {
  type B = { key: string; first: { value: number | null }; last: { value: number | null }; id: { hits: { hits: { _source: { appType: string; appName?: string; namespace?: string } }[] } } };
  const buckets = (aggs as { apps: { buckets: B[] } }).apps.buckets;
  return buckets.map((b) => {
    const id = b.id.hits.hits[0]?._source;
    return {
      appType: id?.appType ?? '',
      appId: b.key,
      ...(id?.appName ? { appName: id.appName } : {}),
      ...(id?.namespace ? { namespace: id.namespace } : {}),
      ...(b.first.value !== null ? { firstSeen: b.first.value } : {}),
      ...(b.last.value !== null ? { lastSeen: b.last.value } : {}),
    };
  });
}

/** Per app: executors, and the lifecycle facts its status comes from. */
export function executorFactsRequest(appIds: string[]) {
  const lifecycle = { term: { kind: 'lifecycle' } };
  const notLead = { bool: { must_not: [{ terms: { role: LEAD_ROLES } }] } };
  return {
    size: 0,
    query: { terms: { appId: appIds } },
    aggs: {
      apps: {
        terms: { field: 'appId', size: appIds.length },
        aggs: {
          executors: { cardinality: { field: 'executorId', precision_threshold: 40_000 } },
          running: { filter: { bool: { filter: [lifecycle], must_not: [{ exists: { field: 'finishedAt' } }, { exists: { field: 'exitCode' } }] } } },
          failed: {
            // As executorStatus() reads one executor: a deleted pod was removed, not failed.
            filter: { bool: { filter: [lifecycle, notLead], must_not: [{ term: { reason: 'Deleted' } }], should: [{ bool: { filter: [{ exists: { field: 'exitCode' } }], must_not: [{ term: { exitCode: 0 } }] } }, { term: { reason: 'OOMKilled' } }], minimum_should_match: 1 } },
          },
          oom: { filter: { bool: { filter: [lifecycle, { term: { reason: 'OOMKilled' } }] } } },
          lead: {
            filter: { bool: { filter: [lifecycle, { terms: { role: LEAD_ROLES } }] } },
            aggs: { doc: { top_hits: { size: 1, sort: [{ startedAt: { order: 'desc', unmapped_type: 'date' } }], _source: ['exitCode', 'reason', 'finishedAt'] } } },
          },
        },
      },
    },
  };
}

export type ExecutorFacts = Pick<AppFacts, 'executors' | 'failedExecutors' | 'oomKilled' | 'running' | 'lead'>;

export function readExecutorFacts(aggs: unknown): Map<string, ExecutorFacts> {
  type B = {
    key: string;
    executors: { value: number };
    running: { doc_count: number };
    failed: { doc_count: number };
    oom: { doc_count: number };
    lead: { doc: { hits: { hits: { _source: { exitCode?: number; reason?: string; finishedAt?: number } }[] } } };
  };
  const out = new Map<string, ExecutorFacts>();
  for (const b of (aggs as { apps: { buckets: B[] } }).apps.buckets) {
    const lead = b.lead.doc.hits.hits[0]?._source;
    out.set(b.key, { executors: b.executors.value, running: b.running.doc_count, failedExecutors: b.failed.doc_count, oomKilled: b.oom.doc_count, ...(lead ? { lead } : {}) });
  }
  return out;
}

/** ERROR and FATAL lines per app, for the apps given. */
export function errorCountsRequest(appIds: string[]) {
  return {
    size: 0,
    query: { bool: { filter: [{ terms: { appId: appIds } }, { terms: { level: ['ERROR', 'FATAL'] } }] } },
    aggs: { apps: { terms: { field: 'appId', size: appIds.length } } },
  };
}

export function readCounts(aggs: unknown): Map<string, number> {
  const buckets = (aggs as { apps: { buckets: { key: string; doc_count: number }[] } }).apps.buckets;
  return new Map(buckets.map((b) => [b.key, b.doc_count]));
}

export const APP_SORTS = ['start', 'end', 'duration', 'name', 'type', 'namespace', 'status', 'executors', 'errors'] as const;
export type AppSort = (typeof APP_SORTS)[number];

export interface AppRow extends AppFacts {
  status: AppStatus;
  errors?: number;
}

const STATUS_ORDER: Record<AppStatus, number> = { failed: 0, running: 1, unknown: 2, succeeded: 3 };

function sortKey(a: AppRow, by: AppSort): number | string {
  switch (by) {
    case 'start': return a.firstSeen ?? 0;
    case 'end': return a.lastSeen ?? 0;
    case 'duration': return (a.lastSeen ?? 0) - (a.firstSeen ?? a.lastSeen ?? 0);
    case 'name': return (a.appName ?? a.appId).toLowerCase();
    case 'type': return a.appType;
    case 'namespace': return a.namespace ?? '';
    case 'status': return STATUS_ORDER[a.status];
    case 'executors': return a.executors;
    case 'errors': return a.errors ?? 0;
  }
}

/** Sorted in place by `by`, ties by app id, so every page of a list is stable. */
export function sortApps(rows: AppRow[], by: AppSort, dir: 'asc' | 'desc'): AppRow[] {
  const sign = dir === 'asc' ? 1 : -1;
  return rows.sort((x, y) => {
    const a = sortKey(x, by);
    const b = sortKey(y, by);
    if (a !== b) return (a < b ? -1 : 1) * sign;
    return x.appId < y.appId ? -1 : x.appId > y.appId ? 1 : 0;
  });
}
