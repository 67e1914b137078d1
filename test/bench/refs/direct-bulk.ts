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

/** Stored bytes per line of the line indices under a prefix: the live segments of the primaries, force-merged. */
export async function storedBytesPerLine(esUrl: string, prefix: string): Promise<{ bytesPerLine: number; docs: number } | undefined> {
  const pattern = `${prefix}-lines-*`;
  // Merged to one segment, as a finished daily index ends up. Sizes are read
  // from the live segments, not the index's store size: that also counts the
  // files of merged-away segments until Elasticsearch deletes them, which
  // doubled the figure in one of two runs of the same data (and background
  // merges moved it between 141 and 419 B before the force-merge).
  await fetch(`${esUrl}/${pattern}/_refresh`, { method: 'POST' });
  await fetch(`${esUrl}/${pattern}/_forcemerge?max_num_segments=1`, { method: 'POST', signal: AbortSignal.timeout(600_000) });
  await fetch(`${esUrl}/${pattern}/_refresh`, { method: 'POST' });
  const segs = (await (await fetch(`${esUrl}/_cat/segments/${pattern}?format=json&bytes=b&h=prirep,docs.count,size`)).json()) as { prirep: string; 'docs.count': string; size: string }[];
  const primaries = Array.isArray(segs) ? segs.filter((x) => x.prirep === 'p' || x.prirep === 'primary') : [];
  const docs = primaries.reduce((n, x) => n + Number(x['docs.count']), 0);
  const bytes = primaries.reduce((n, x) => n + Number(x.size), 0);
  if (!docs) return undefined;
  return { bytesPerLine: bytes / docs, docs };
}
