// Issue 7, part 6: aggregator throughput with 1 and 2 instances of one group
// on a topic of at least 4 partitions, each run on its own pre-filled topic
// of the same records.
import { measureAggregators } from '../aggregator-run.js';
import { dataBatches } from '../batches.js';
import type { Ctx } from '../context.js';
import { deleteIndices } from '../context.js';
import { fillTopic } from '../produce.js';
import { withRatio } from '../report.js';

export async function aggregatorScale(ctx: Ctx): Promise<void> {
  const partitions = Math.max(4, ctx.partitions);
  const sub = { ...ctx, partitions };
  const { records, events } = await dataBatches(ctx.data, ctx.events ?? (ctx.quick ? Infinity : 200_000));
  const rates: (number | null)[] = [];
  for (const instances of [1, 2]) {
    const prefix = `${ctx.runPrefix}-scale${instances}`;
    try {
      await fillTopic(sub, prefix, records);
      const r = await measureAggregators(sub, prefix, events, instances, ctx.quick ? 120_000 : 900_000);
      ctx.out(`bench:   ${instances} instance(s) on ${partitions} partitions: ${r.failed ?? `${events} lines, ${r.seconds.toFixed(2)} s from the first line stored to the last`}; CPU ${r.usage.map((u) => u.cpuSeconds.toFixed(2)).join(' + ')} s\n`);
      rates.push(r.linesPerSec);
      if (r.failed) ctx.note(`scale, ${instances} instance(s): ${r.failed.slice(0, 300)}`);
    } finally {
      await deleteIndices(ctx, prefix);
    }
  }
  if (rates[0]) ctx.shared.set('aggregatorLinesPerSec', rates[0]);
  ctx.add({ part: 'scale', name: `1 aggregator, ${partitions} partitions`, value: rates[0] ?? null, unit: 'lines/s' });
  ctx.add(withRatio({
    part: 'scale', name: `2 aggregators, ${partitions} partitions`, value: rates[1] ?? null, unit: 'lines/s',
    reference: { name: '1 aggregator', value: rates[0] ?? null },
    note: 'both instances share the machine (and its cores) with Kafka and Elasticsearch',
  }));
}
