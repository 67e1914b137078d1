// Reference: the store's ceiling. The same records the aggregator consumes,
// turned into the same documents with the same ids by the aggregator's own
// transform, serialised before the clock starts, then sent as plain _bulk
// requests of the aggregator's size, several in flight. What remains is
// Elasticsearch's own indexing cost.
import { names } from '../../../contract/names.js';
import { createEsSink } from '../../../aggregator/sinks/elasticsearch.js';
import { lineItems } from '../../../aggregator/transforms/to-documents.js';
import { ZonedClock } from '../../../aggregator/transforms/zoned-time.js';
import type { Record_ } from '../batches.js';

export interface BulkResult {
  seconds: number;
  docs: number;
  failedItems: number;
}

export async function installTemplates(esUrl: string, prefix: string): Promise<void> {
  const sink = createEsSink({ url: esUrl, names: names(prefix), requestTimeoutMs: 60_000 });
  try {
    await sink.installTemplates();
  } finally {
    await sink.close();
  }
}

export function bulkBodies(prefix: string, records: Record_[], docsPerBulk: number): string[] {
  const n = names(prefix);
  const clock = new ZonedClock('UTC');
  const bodies: string[] = [];
  let body = '';
  let docs = 0;
  for (const r of records) {
    for (const it of lineItems(r.batch, n, clock)) {
      body += `${JSON.stringify({ index: { _index: it.index, _id: it.id } })}\n${JSON.stringify(it.doc)}\n`;
      if (++docs === docsPerBulk) {
        bodies.push(body);
        body = '';
        docs = 0;
      }
    }
  }
  if (body) bodies.push(body);
  return bodies;
}

export async function directBulk(esUrl: string, prefix: string, records: Record_[], o: { docsPerBulk: number; concurrency: number }): Promise<BulkResult> {
  await installTemplates(esUrl, prefix);
  const bodies = bulkBodies(prefix, records, o.docsPerBulk);
  let next = 0;
  let docs = 0;
  let failedItems = 0;
  const t0 = performance.now();
  const worker = async () => {
    while (next < bodies.length) {
      const body = bodies[next++]!;
      const res = await fetch(`${esUrl}/_bulk`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body, signal: AbortSignal.timeout(120_000) });
      const out = (await res.json()) as { errors?: boolean; items?: { index?: { status: number } }[] };
      if (!res.ok) throw new Error(`_bulk answered HTTP ${res.status}`);
      docs += out.items?.length ?? 0;
      if (out.errors) failedItems += out.items?.filter((i) => (i.index?.status ?? 500) >= 300).length ?? 0;
    }
  };
  await Promise.all(Array.from({ length: o.concurrency }, worker));
  return { seconds: (performance.now() - t0) / 1000, docs, failedItems };
}

/** Stored bytes per line of the line indices under a prefix (primary store, force-merged, after a flush). */
export async function storedBytesPerLine(esUrl: string, prefix: string): Promise<{ bytesPerLine: number; docs: number } | undefined> {
  const pattern = `${prefix}-lines-*`;
  // Merged to one segment, as a finished daily index ends up: without it the
  // figure depends on how far background merges got (141-419 B in three runs).
  await fetch(`${esUrl}/${pattern}/_forcemerge?max_num_segments=1`, { method: 'POST', signal: AbortSignal.timeout(600_000) });
  await fetch(`${esUrl}/${pattern}/_flush`, { method: 'POST' });
  const s = (await (await fetch(`${esUrl}/${pattern}/_stats/docs,store`)).json()) as { _all?: { primaries?: { docs?: { count: number }; store?: { size_in_bytes: number } } } };
  const p = s._all?.primaries;
  if (!p?.docs?.count || !p.store) return undefined;
  return { bytesPerLine: p.store.size_in_bytes / p.docs.count, docs: p.docs.count };
}
