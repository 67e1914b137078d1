// The aggregator's only door to Elasticsearch (the one file on this side that
// imports the client). It reports every bulk item's outcome; deciding what to
// retry, dead-letter or commit is the pipeline's job.
import { Client, errors } from '@elastic/elasticsearch';
import { linesTemplate, summaryTemplate, type TemplateOptions } from '../../contract/documents.js';
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
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreUnavailableError';
  }
}

export interface EsSink {
  installTemplates(): Promise<void>;
  bulk(items: BulkItem[]): Promise<ItemOutcome[]>;
  /** Resolves true when the cluster answers and accepts writes. */
  writable(): Promise<boolean>;
  lineIndices(): Promise<string[]>;
  deleteIndices(indices: string[]): Promise<void>;
  close(): Promise<void>;
}

function unavailable(what: string, err: unknown): StoreUnavailableError {
  return new StoreUnavailableError(`${what}: ${(err as Error).message}`, { cause: err });
}

export function createEsSink(o: EsSinkOptions): EsSink {
  const client = new Client({ node: o.url, requestTimeout: o.requestTimeoutMs, maxRetries: 0, compression: false });
  const n = o.names;
  return {
    async installTemplates() {
      try {
        for (const t of [linesTemplate(n, o.template), summaryTemplate(n, o.template)]) {
          await client.indices.putIndexTemplate({ name: t.name, index_patterns: t.index_patterns, priority: t.priority, template: t.template as never });
        }
      } catch (err) {
        if (err instanceof errors.ResponseError && err.statusCode && err.statusCode < 500 && err.statusCode !== 429) throw err;
        throw unavailable('installing index templates failed', err);
      }
    },

    async bulk(items) {
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
        res = await client.bulk({ operations, refresh: false, filter_path: 'items.*.status,items.*.error.type,items.*.error.reason' });
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
        const h = await client.cluster.health({ timeout: '2s' });
        if (h.status === 'red') return false;
        const s = await client.cluster.getSettings({ flat_settings: true, include_defaults: false });
        const ro = { ...s.persistent, ...s.transient }['cluster.blocks.read_only'];
        return ro !== 'true' && ro !== true;
      } catch {
        return false;
      }
    },

    async lineIndices() {
      try {
        const r = await client.cat.indices({ index: n.linesIndexPattern, h: 'index', format: 'json', expand_wildcards: 'open' });
        return r.map((x) => x.index ?? '').filter(Boolean).sort();
      } catch (err) {
        throw unavailable('listing line indices failed', err);
      }
    },

    async deleteIndices(indices) {
      if (indices.length === 0) return;
      try {
        await client.indices.delete({ index: indices.join(','), ignore_unavailable: true });
      } catch (err) {
        throw unavailable('deleting indices failed', err);
      }
    },

    async close() {
      await client.close();
    },
  };
}
