// The query API's only door to Elasticsearch (the one file on this side that
// imports the client). Routes talk to the Store interface.
import { Client } from '@elastic/elasticsearch';
import type { LineDoc } from '../../contract/documents.js';
import type { Names } from '../../contract/names.js';

export interface StoreOptions {
  url: string;
  names: Names;
  requestTimeoutMs: number;
}

export interface ExecutorRef {
  appType?: string;
  appId: string;
  executorId?: string;
}

export interface Store {
  /** One executor's events in the order it wrote them (file order). */
  executorLines(ref: ExecutorRef & { executorId: string }, size: number, after?: unknown[]): Promise<{ lines: LineDoc[]; next?: unknown[] }>;
  refresh(): Promise<void>;
  close(): Promise<void>;
}

export function createStore(o: StoreOptions): Store {
  const client = new Client({ node: o.url, requestTimeout: o.requestTimeoutMs, maxRetries: 0 });
  const n = o.names;
  return {
    async executorLines(ref, size, after) {
      const filter: object[] = [{ term: { appId: ref.appId } }, { term: { executorId: ref.executorId } }];
      if (ref.appType) filter.push({ term: { appType: ref.appType } });
      const res = await client.search<LineDoc>({
        index: n.linesIndexPattern,
        ignore_unavailable: true,
        allow_no_indices: true,
        size,
        query: { bool: { filter } },
        sort: [{ fileSeq: 'asc' }, { off: 'asc' }],
        ...(after ? { search_after: after as never } : {}),
        track_total_hits: false,
      });
      const hits = res.hits.hits;
      const lines = hits.map((h) => h._source as LineDoc);
      const last = hits.at(-1);
      return { lines, ...(hits.length === size && last?.sort ? { next: last.sort } : {}) };
    },
    async refresh() {
      await client.indices.refresh({ index: n.linesIndexPattern, ignore_unavailable: true, allow_no_indices: true });
    },
    async close() {
      await client.close();
    },
  };
}
