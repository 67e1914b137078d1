// The aggregator's only door to Elasticsearch (the one file on this side that
// imports the client). It reports every bulk item's outcome; deciding what to
// retry, dead-letter or commit is the pipeline's job.
import { Client, errors } from '@elastic/elasticsearch';
import { LINES_ADDED_FIELDS, linesTemplate, summaryTemplate, type TemplateOptions } from '../../contract/documents.js';
import type { Names } from '../../contract/names.js';

export interface EsSinkOptions {
  url: string;
  names: Names;
  requestTimeoutMs: number;
  template?: TemplateOptions;
}

export interface BulkItem {
  index: string;
  id: string;
  doc: object;
  /** external_gte version: the write wins only if no newer version is stored. */
  version?: number;
}

/** ok: stored (or superseded by a newer version). retry: 429/5xx. reject: other 4xx. */
export type ItemOutcome = { status: 'ok' } | { status: 'retry' | 'reject'; httpStatus: number; reason: string };

export class StoreUnavailableError extends Error {
  readonly code = 'ES_UNAVAILABLE';
  readonly retriable = true;
  /** The client stopped waiting: the store may still be applying the request. */
  readonly timedOut: boolean;
  constructor(message: string, options?: { cause?: unknown; timedOut?: boolean }) {
    super(message, options);
    this.name = 'StoreUnavailableError';
    this.timedOut = options?.timedOut ?? false;
  }
}

export interface EsSink {
  /** How long one request waits for the store unless told otherwise (ms). */
  readonly requestTimeoutMs: number;
  installTemplates(): Promise<void>;
  /** `timeoutMs`: this request's timeout instead of the sink's requestTimeoutMs. */
  bulk(items: BulkItem[], timeoutMs?: number): Promise<ItemOutcome[]>;
  /** Resolves true when the cluster answers and accepts writes. */
  writable(): Promise<boolean>;
  /** Creates an index (its template applies) unless it exists; true when this call created it. */
  createIndex(index: string): Promise<boolean>;
  lineIndices(): Promise<string[]>;
  deleteIndices(indices: string[]): Promise<void>;
  close(): Promise<void>;
}

function unavailable(what: string, err: unknown): StoreUnavailableError {
  return new StoreUnavailableError(`${what}: ${(err as Error).message}`, { cause: err, timedOut: err instanceof errors.TimeoutError });
}

/** A bulk's timeout may grow to this many times the sink's own (the store writer's patience after timeouts). */
export const MAX_BULK_TIMEOUT_FACTOR = 8;

export function createEsSink(o: EsSinkOptions): EsSink {
  // The client's HTTP layer (undici) times out every request at the client's own timeout; a
  // request may only ask for less. So the client gets the longest a bulk may wait, and every
  // request says its own: requestTimeoutMs, or a bulk's grown timeout.
  const client = new Client({ node: o.url, requestTimeout: o.requestTimeoutMs * MAX_BULK_TIMEOUT_FACTOR, maxRetries: 0, compression: false });
  const t = { requestTimeout: o.requestTimeoutMs };
  const n = o.names;
  return {
    requestTimeoutMs: o.requestTimeoutMs,
    async installTemplates() {
      try {
        const lines = linesTemplate(n, o.template);
        for (const t of [lines, summaryTemplate(n, o.template)]) {
          await client.indices.putIndexTemplate({ name: t.name, index_patterns: t.index_patterns, priority: t.priority, template: t.template as never }, { requestTimeout: o.requestTimeoutMs });
        }
        // Line indices made from an older template get the fields added since (their mappings are
        // strict: a new field's documents would be refused). Adding a field to a mapping is allowed.
        // An index whose mapping conflicts with ours (changed by hand) is left as it is: its
        // documents are refused and dead-lettered with the reason, the others stored.
        const added = Object.fromEntries(LINES_ADDED_FIELDS.map((f) => [f, lines.template.mappings.properties[f]]));
        const mappings = await client.indices.getMapping({ index: n.linesIndexPattern, allow_no_indices: true, ignore_unavailable: true }, { requestTimeout: o.requestTimeoutMs });
        for (const [index, m] of Object.entries(mappings)) {
          const has = (m.mappings.properties ?? {}) as Record<string, unknown>;
          if (LINES_ADDED_FIELDS.every((f) => f in has)) continue;
          await client.indices.putMapping({ index, properties: added as never }, { requestTimeout: o.requestTimeoutMs }).catch((err: unknown) => {
            if (!(err instanceof errors.ResponseError && err.statusCode === 400)) throw err;
          });
        }
      } catch (err) {
        if (err instanceof errors.ResponseError && err.statusCode && err.statusCode < 500 && err.statusCode !== 429) throw err;
        throw unavailable('installing index templates failed', err);
      }
    },

    async bulk(items, timeoutMs) {
      if (items.length === 0) return [];
      const operations: object[] = [];
      for (const it of items) {
        const meta: Record<string, unknown> = { _index: it.index, _id: it.id };
        if (it.version !== undefined) Object.assign(meta, { version: it.version, version_type: 'external_gte' });
        operations.push({ index: meta }, it.doc);
      }
      let res;
      try {
        // Only what the outcome needs: parsing the full per-item response costs more CPU than building the request.
        res = await client.bulk(
          { operations, refresh: false, filter_path: 'items.*.status,items.*.error.type,items.*.error.reason' },
          { requestTimeout: Math.min(timeoutMs ?? o.requestTimeoutMs, o.requestTimeoutMs * MAX_BULK_TIMEOUT_FACTOR) },
        );
      } catch (err) {
        throw unavailable('bulk request failed', err);
      }
      return res.items.map((entry): ItemOutcome => {
        const r = entry.index;
        if (!r) return { status: 'reject', httpStatus: 0, reason: 'bulk response item without an index result' };
        // 409 on an external_gte write: a newer version is stored already, which is the point.
        if (r.status < 300 || r.status === 409) return { status: 'ok' };
        const reason = r.error ? `${r.error.type}: ${r.error.reason ?? ''}` : `HTTP ${r.status}`;
        if (r.status === 429 || r.status >= 500) return { status: 'retry', httpStatus: r.status, reason };
        // A read-only (flood stage) index answers 403 per item: the store is full, not the document bad.
        if (r.error?.type === 'cluster_block_exception') return { status: 'retry', httpStatus: r.status, reason };
        return { status: 'reject', httpStatus: r.status, reason };
      });
    },

    async writable() {
      try {
        const h = await client.cluster.health({ timeout: '2s' }, t);
        if (h.status === 'red') return false;
        const s = await client.cluster.getSettings({ flat_settings: true, include_defaults: false }, t);
        const ro = { ...s.persistent, ...s.transient }['cluster.blocks.read_only'];
        return ro !== 'true' && ro !== true;
      } catch {
        return false;
      }
    },

    async createIndex(index) {
      try {
        await client.indices.create({ index }, t);
        return true;
      } catch (err) {
        if (err instanceof errors.ResponseError && err.body?.error?.type === 'resource_already_exists_exception') return false;
        if (err instanceof errors.ResponseError && err.statusCode && err.statusCode < 500 && err.statusCode !== 429) throw err;
        throw unavailable(`creating index ${index} failed`, err);
      }
    },

    async lineIndices() {
      try {
        const r = await client.cat.indices({ index: n.linesIndexPattern, h: 'index', format: 'json', expand_wildcards: 'open' }, t);
        return r.map((x) => x.index ?? '').filter(Boolean).sort();
      } catch (err) {
        throw unavailable('listing line indices failed', err);
      }
    },

    async deleteIndices(indices) {
      if (indices.length === 0) return;
      try {
        await client.indices.delete({ index: indices.join(','), ignore_unavailable: true }, t);
      } catch (err) {
        throw unavailable('deleting indices failed', err);
      }
    },

    async close() {
      await client.close();
    },
  };
}
