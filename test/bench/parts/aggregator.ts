// Issue 7, part 3: aggregator throughput from Kafka into Elasticsearch,
// beside the direct-bulk ceiling of the store (same documents, same ids),
// and beside its own ceiling: the same binary with SPARKLOGS_SINK=null
// (fetch, decode, parse, build documents, commit; the write discarded),
// reading the same topic again from offset 0 under a group of its own.
import { measureAggregators } from '../aggregator-run.js';
import { dataBatches } from '../batches.js';
import type { Ctx } from '../context.js';
import { deleteIndices } from '../context.js';
import { fillTopic } from '../produce.js';
import { directBulk, storedBytesPerLine } from '../refs/direct-bulk.js';
import { withRatio } from '../report.js';

/** Bulk size and requests in flight of the aggregator's defaults (bulkMaxDocs, maxBulksInFlight). */
const BULK_DOCS = 5000;
const IN_FLIGHT = 2;

export async function aggregatorThroughput(ctx: Ctx): Promise<void> {
  const { records, events, bytes } = await dataBatches(ctx.data, ctx.quick ? Infinity : 300_000);
  ctx.out(`bench: aggregator throughput on ${events} events (${(bytes / 2 ** 20).toFixed(1)} MiB) in ${records.length} records\n`);
  const aggPrefix = `${ctx.runPrefix}-agg`;
  const directPrefix = `${ctx.runPrefix}-direct`;
  try {
    await fillTopic(ctx, aggPrefix, records);
    // The store's ceiling is measured before and after the aggregator and the
    // two rates averaged: on a shared machine the load drifts between windows
    // of half a minute, and a single window on one side decided the ratio
    // (0.53-1.05 for the same code in back-to-back runs).
    const direct1 = await directBulk(ctx.esUrl, `${directPrefix}1`, records, { docsPerBulk: BULK_DOCS, concurrency: IN_FLIGHT });
    ctx.out(`bench:   direct bulk (before): ${direct1.docs} docs in ${direct1.seconds.toFixed(2)} s, ${direct1.failedItems} items refused\n`);
    await deleteIndices(ctx, `${directPrefix}1`);
    const agg = await measureAggregators(ctx, aggPrefix, events, 1, ctx.quick ? 120_000 : 900_000);
    ctx.out(`bench:   aggregator: ${agg.failed ?? `${agg.indexed} lines in ${agg.seconds.toFixed(2)} s`}, CPU ${agg.usage[0]?.cpuSeconds.toFixed(2)} s, peak RSS ${((agg.usage[0]?.peakRssBytes ?? NaN) / 2 ** 20).toFixed(1)} MiB\n`);
    const nul = await measureAggregators(ctx, aggPrefix, events, 1, ctx.quick ? 120_000 : 900_000, { group: `${aggPrefix}-null-group`, env: { SPARKLOGS_SINK: 'null' } });
    ctx.out(`bench:   aggregator, null sink: ${nul.failed ?? `${nul.indexed} lines in ${nul.seconds.toFixed(2)} s`}, CPU ${nul.usage[0]?.cpuSeconds.toFixed(2)} s, peak RSS ${((nul.usage[0]?.peakRssBytes ?? NaN) / 2 ** 20).toFixed(1)} MiB\n`);
    const direct = await directBulk(ctx.esUrl, directPrefix, records, { docsPerBulk: BULK_DOCS, concurrency: IN_FLIGHT });
    ctx.out(`bench:   direct bulk (after): ${direct.docs} docs in ${direct.seconds.toFixed(2)} s, ${direct.failedItems} items refused\n`);

    const rates = [direct1, direct].map((d) => d.docs / d.seconds);
    const directRate = direct.failedItems || direct1.failedItems ? null : (rates[0]! + rates[1]!) / 2;
    if (agg.linesPerSec !== null) ctx.shared.set('pipelineLinesPerSec', agg.linesPerSec);
    const cpu = agg.usage[0]?.cpuSeconds;
    if (!agg.failed && cpu) ctx.shared.set('aggregatorCpuSecondsPerLine', cpu / events);
    const vsDirect = withRatio({ part: 'aggregator', name: 'throughput', value: agg.linesPerSec, unit: 'lines/s', reference: { name: 'direct bulk', value: directRate } });
    ctx.add({ ...vsDirect, target: { text: '>= 90% of direct bulk', met: vsDirect.ratio == null ? null : vsDirect.ratio >= 0.9 }, note: agg.failed?.slice(0, 200) ?? (direct.failedItems || direct1.failedItems ? `${direct1.failedItems + direct.failedItems} items refused by the direct loader` : `direct bulk: mean of ${rates.map((r) => Math.round(r).toLocaleString('en-US')).join(' (before) and ')} (after) lines/s`) });
    ctx.add({
      ...withRatio({ part: 'aggregator', name: 'throughput vs its own ceiling', value: agg.linesPerSec, unit: 'lines/s', reference: { name: 'aggregator, null sink', value: nul.linesPerSec } }),
      note: nul.failed?.slice(0, 200) ?? 'the reference is the same binary with SPARKLOGS_SINK=null on the same topic (its own group, from offset 0): everything but the store',
    });
    const nulCpu = nul.usage[0]?.cpuSeconds;
    ctx.add(withRatio({
      part: 'aggregator', name: 'CPU s per million lines', value: !agg.failed && cpu ? (cpu / events) * 1e6 : null, unit: 's',
      reference: { name: 'aggregator, null sink', value: !nul.failed && nulCpu ? (nulCpu / events) * 1e6 : null },
      note: 'whole process, start-up included: the difference is the Elasticsearch client (serialising bulks, parsing responses) and its GC',
    }));
    const stored = await storedBytesPerLine(ctx.esUrl, directPrefix);
    if (stored) ctx.shared.set('storedBytesPerLine', stored.bytesPerLine);
    ctx.shared.set('rawBytesPerLine', bytes / events);
    ctx.add(withRatio({ part: 'aggregator', name: 'stored bytes per line', value: stored?.bytesPerLine ?? null, unit: 'B', reference: { name: 'raw text', value: bytes / events }, note: `primary store, force-merged to one segment, 0 replicas; ${stored?.docs ?? 0} documents` }));
  } finally {
    await deleteIndices(ctx, aggPrefix);
    await deleteIndices(ctx, directPrefix);
    await deleteIndices(ctx, `${directPrefix}1`);
  }
}
