// Issue 7, part 3: aggregator throughput from Kafka into Elasticsearch,
// beside the direct-bulk ceiling of the store (same documents, same ids),
// and beside its own ceiling: the same binary with SPARKLOGS_SINK=null
// (fetch, decode, parse, build documents, commit; the write discarded),
// reading the same topic again from offset 0 under a group of its own.
//
// Issue 16: the store is warmed first (one unmeasured direct bulk of the same
// records), then the aggregator and its references alternate in rounds
// (direct, aggregator, null sink; then null sink, aggregator, direct; ...),
// and each ratio is the median of the rounds' ratios with its spread. One
// window on each side decided the ratio before: the direct-bulk ceiling moved
// from 8,838 to 20,441 lines/s between its two windows of one run while
// Elasticsearch warmed up.
import { loadavg } from 'node:os';
import { measureAggregators, type AggregatorRun } from '../aggregator-run.js';
import { dataBatches } from '../batches.js';
import type { Ctx } from '../context.js';
import { deleteIndices } from '../context.js';
import { fillTopic } from '../produce.js';
import { directBulk, storedBytesPerLine, type BulkResult } from '../refs/direct-bulk.js';
import { fromRounds } from '../report.js';
import { median, rounds as summarise } from '../stats.js';
import { recordRounds } from '../targets.js';

/** Bulk size and requests in flight of the aggregator's defaults (bulkMaxDocs, maxBulksInFlight). */
const BULK_DOCS = 5000;
const IN_FLIGHT = 2;

interface Round {
  direct?: BulkResult;
  agg?: AggregatorRun;
  nul?: AggregatorRun;
}

export async function aggregatorThroughput(ctx: Ctx): Promise<void> {
  const { records, events, bytes } = await dataBatches(ctx.data, ctx.events ?? (ctx.quick ? Infinity : 300_000));
  ctx.out(`bench: aggregator throughput on ${events} events (${(bytes / 2 ** 20).toFixed(1)} MiB) in ${records.length} records, ${ctx.rounds} rounds\n`);
  const aggPrefix = `${ctx.runPrefix}-agg`;
  const directPrefix = `${ctx.runPrefix}-direct`;
  const timeoutMs = ctx.quick ? 120_000 : 900_000;
  const rounds: Round[] = [];
  try {
    await fillTopic(ctx, aggPrefix, records);
    // Warm-up, not measured: the first bulks into a fresh node run at half
    // the speed of the later ones (JIT, caches, the first indices' mappings).
    const warm = await directBulk(ctx.esUrl, `${directPrefix}-warm`, records, { docsPerBulk: BULK_DOCS, concurrency: IN_FLIGHT });
    ctx.out(`bench:   store warm-up (not measured): direct bulk of ${warm.docs} docs at ${Math.round(warm.docs / warm.seconds).toLocaleString('en-US')} lines/s\n`);
    await deleteIndices(ctx, `${directPrefix}-warm`);

    for (let r = 0; r < ctx.rounds; r++) {
      const round: Round = {};
      rounds.push(round);
      const steps = {
        direct: async () => {
          // The last round's indices stay for the stored-bytes figure.
          if (r > 0) await deleteIndices(ctx, `${directPrefix}-r${r - 1}`);
          round.direct = await directBulk(ctx.esUrl, `${directPrefix}-r${r}`, records, { docsPerBulk: BULK_DOCS, concurrency: IN_FLIGHT });
          ctx.out(`bench:   round ${r + 1} direct bulk: ${round.direct.docs} docs in ${round.direct.seconds.toFixed(2)} s (${Math.round(round.direct.docs / round.direct.seconds).toLocaleString('en-US')} lines/s), ${round.direct.failedItems} items refused; load ${loadavg()[0]!.toFixed(2)}\n`);
        },
        agg: async () => {
          // A new group reads the topic again from offset 0, into indices emptied before it.
          await deleteIndices(ctx, aggPrefix);
          round.agg = await measureAggregators(ctx, aggPrefix, events, 1, timeoutMs, { group: `${aggPrefix}-group-${r}` });
          const a = round.agg;
          ctx.out(`bench:   round ${r + 1} aggregator: ${a.failed ?? `${a.indexed} lines in ${a.seconds.toFixed(2)} s (${Math.round(a.linesPerSec ?? NaN).toLocaleString('en-US')} lines/s)`}, CPU ${a.usage[0]?.cpuSeconds.toFixed(2)} s, peak RSS ${((a.usage[0]?.peakRssBytes ?? NaN) / 2 ** 20).toFixed(1)} MiB; load ${loadavg()[0]!.toFixed(2)}\n`);
        },
        nul: async () => {
          round.nul = await measureAggregators(ctx, aggPrefix, events, 1, timeoutMs, { group: `${aggPrefix}-null-group-${r}`, env: { SPARKLOGS_SINK: 'null' } });
          const a = round.nul;
          ctx.out(`bench:   round ${r + 1} aggregator, null sink: ${a.failed ?? `${a.indexed} lines in ${a.seconds.toFixed(2)} s (${Math.round(a.linesPerSec ?? NaN).toLocaleString('en-US')} lines/s)`}, CPU ${a.usage[0]?.cpuSeconds.toFixed(2)} s\n`);
        },
      };
      const order = r % 2 === 0 ? (['direct', 'agg', 'nul'] as const) : (['nul', 'agg', 'direct'] as const);
      for (const step of order) await steps[step]();
    }

    const aggRate = rounds.map((x) => (x.agg?.failed ? null : x.agg?.linesPerSec ?? null));
    const directRate = rounds.map((x) => (!x.direct || x.direct.failedItems ? null : x.direct.docs / x.direct.seconds));
    const nulRate = rounds.map((x) => (x.nul?.failed ? null : x.nul?.linesPerSec ?? null));
    const cpuPerM = (a: AggregatorRun | undefined) => (a && !a.failed && a.usage[0]?.cpuSeconds ? (a.usage[0].cpuSeconds / events) * 1e6 : null);
    const failures = rounds.flatMap((x, i) => [
      x.agg?.failed && `round ${i + 1} aggregator: ${x.agg.failed.slice(0, 200)}`,
      x.nul?.failed && `round ${i + 1} null sink: ${x.nul.failed.slice(0, 200)}`,
      x.direct?.failedItems && `round ${i + 1}: ${x.direct.failedItems} items refused by the direct loader`,
    ]).filter(Boolean).join('; ');

    const okRates = aggRate.filter((x): x is number => x !== null);
    if (okRates.length) ctx.shared.set('pipelineLinesPerSec', median(okRates));
    const cpus = rounds.map((x) => cpuPerM(x.agg));
    const okCpus = cpus.filter((c): c is number => c !== null);
    if (okCpus.length) ctx.shared.set('aggregatorCpuSecondsPerLine', median(okCpus) / 1e6);

    const vsDirect = fromRounds({ part: 'aggregator', name: 'throughput', unit: 'lines/s' }, aggRate, { name: 'direct bulk', values: directRate });
    recordRounds(ctx.shared, 'pipeline.vsDirectBulk', summarise(aggRate.map((a, i) => (a !== null && directRate[i] ? a / directRate[i]! : null))));
    ctx.add({
      ...vsDirect,
      target: { text: '>= 90% of direct bulk (median of rounds)', met: vsDirect.ratio == null ? null : vsDirect.ratio >= 0.9 },
      note: failures || `rounds' ratios ${vsDirect.rounds?.values.map((v) => v.toFixed(2)).join(', ')}; direct bulk ${directRate.map((v) => Math.round(v ?? NaN).toLocaleString('en-US')).join(', ')} lines/s; warmed first`,
    });
    ctx.add({
      ...fromRounds({ part: 'aggregator', name: 'throughput vs its own ceiling', unit: 'lines/s' }, aggRate, { name: 'aggregator, null sink', values: nulRate }),
      note: 'the reference is the same binary with SPARKLOGS_SINK=null on the same topic (its own group, from offset 0): everything but the store',
    });
    ctx.add({
      ...fromRounds({ part: 'aggregator', name: 'CPU s per million lines', unit: 's' }, cpus, { name: 'aggregator, null sink', values: rounds.map((x) => cpuPerM(x.nul)) }),
      note: 'whole process, start-up included: the difference is the Elasticsearch client (serialising bulks, parsing responses) and its GC',
    });
    const stored = await storedBytesPerLine(ctx.esUrl, `${directPrefix}-r${ctx.rounds - 1}`);
    if (stored) ctx.shared.set('storedBytesPerLine', stored.bytesPerLine);
    ctx.shared.set('rawBytesPerLine', bytes / events);
    ctx.add({
      part: 'aggregator', name: 'stored bytes per line', value: stored?.bytesPerLine ?? null, unit: 'B', reference: { name: 'raw text', value: bytes / events },
      ratio: stored ? stored.bytesPerLine / (bytes / events) : null, note: `primary store, force-merged to one segment, 0 replicas; ${stored?.docs ?? 0} documents`,
    });
  } finally {
    await deleteIndices(ctx, aggPrefix);
    await deleteIndices(ctx, directPrefix);
  }
}
