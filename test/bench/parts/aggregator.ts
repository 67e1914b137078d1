// Issue 7, part 3: aggregator throughput from Kafka into Elasticsearch,
// beside the direct-bulk ceiling of the store (same documents, same ids).
// The aggregator has no null-sink switch yet, so its own ceiling is stood in
// for by its transform (decode, parse, build documents) run in-process.
import { decodeBatch, encodeBatch, names } from '../../../contract/index.js';
import { lineItems } from '../../../aggregator/transforms/to-documents.js';
import { ZonedClock } from '../../../aggregator/transforms/zoned-time.js';
import { measureAggregators } from '../aggregator-run.js';
import { dataBatches } from '../batches.js';
import type { Ctx } from '../context.js';
import { deleteIndices } from '../context.js';
import { fillTopic } from '../produce.js';
import { directBulk, storedBytesPerLine } from '../refs/direct-bulk.js';
import { withRatio } from '../report.js';

/** Bulk size and requests in flight of the aggregator's defaults (bulkMaxDocs, partitionsConcurrency). */
const BULK_DOCS = 5000;
const IN_FLIGHT = 2;

export async function aggregatorThroughput(ctx: Ctx): Promise<void> {
  const { records, events, bytes } = await dataBatches(ctx.data, ctx.quick ? Infinity : 300_000);
  ctx.out(`bench: aggregator throughput on ${events} events (${(bytes / 2 ** 20).toFixed(1)} MiB) in ${records.length} records\n`);
  const aggPrefix = `${ctx.runPrefix}-agg`;
  const directPrefix = `${ctx.runPrefix}-direct`;
  try {
    await fillTopic(ctx, aggPrefix, records);
    const agg = await measureAggregators(ctx, aggPrefix, events, 1, ctx.quick ? 120_000 : 900_000);
    ctx.out(`bench:   aggregator: ${agg.failed ?? `${agg.indexed} lines in ${agg.seconds.toFixed(2)} s`}, CPU ${agg.usage[0]?.cpuSeconds.toFixed(2)} s, peak RSS ${((agg.usage[0]?.peakRssBytes ?? NaN) / 2 ** 20).toFixed(1)} MiB\n`);
    const direct = await directBulk(ctx.esUrl, directPrefix, records, { docsPerBulk: BULK_DOCS, concurrency: IN_FLIGHT });
    ctx.out(`bench:   direct bulk: ${direct.docs} docs in ${direct.seconds.toFixed(2)} s, ${direct.failedItems} items refused\n`);

    const clock = new ZonedClock('UTC');
    const n = names(aggPrefix);
    const encoded = records.map((r) => encodeBatch(r.batch));
    const t0 = performance.now();
    let built = 0;
    for (const v of encoded) built += lineItems(decodeBatch(v), n, clock).length;
    const transformRate = built / ((performance.now() - t0) / 1000);

    const directRate = direct.failedItems ? null : direct.docs / direct.seconds;
    if (agg.linesPerSec !== null) ctx.shared.set('pipelineLinesPerSec', agg.linesPerSec);
    const cpu = agg.usage[0]?.cpuSeconds;
    if (!agg.failed && cpu) ctx.shared.set('aggregatorCpuSecondsPerLine', cpu / events);
    const vsDirect = withRatio({ part: 'aggregator', name: 'throughput', value: agg.linesPerSec, unit: 'lines/s', reference: { name: 'direct bulk', value: directRate } });
    ctx.add({ ...vsDirect, target: { text: '>= 90% of direct bulk', met: vsDirect.ratio == null ? null : vsDirect.ratio >= 0.9 }, note: agg.failed?.slice(0, 200) ?? (direct.failedItems ? `${direct.failedItems} items refused by the direct loader` : undefined) });
    ctx.add({
      ...withRatio({ part: 'aggregator', name: 'throughput vs its own ceiling', value: agg.linesPerSec, unit: 'lines/s', reference: { name: 'transform in-process', value: transformRate } }),
      note: 'no null-sink switch in the aggregator yet: the reference is decode + parse + build documents in one process, without Kafka',
    });
    const stored = await storedBytesPerLine(ctx.esUrl, directPrefix);
    if (stored) ctx.shared.set('storedBytesPerLine', stored.bytesPerLine);
    ctx.shared.set('rawBytesPerLine', bytes / events);
    ctx.add(withRatio({ part: 'aggregator', name: 'stored bytes per line', value: stored?.bytesPerLine ?? null, unit: 'B', reference: { name: 'raw text', value: bytes / events }, note: 'primary store after a flush, not force-merged, 0 replicas' }));
  } finally {
    await deleteIndices(ctx, aggPrefix);
    await deleteIndices(ctx, directPrefix);
  }
}
