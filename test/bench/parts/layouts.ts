// Issue 15: the layout catalogue's speed. Cutting (the collector's decoder and
// multiline) and parsing (the aggregator's parseEvent) together, in MB/s, on
// the real-log corpus repeated, a synthetic mix of layouts and an app's own
// PatternLayout; the reference, alternating with it in rounds, is the same
// bytes only split into lines. In-process, one core: no stack needed.
import type { Ctx } from '../context.js';
import { fromRounds } from '../report.js';
import { cutAndParse, speedSets, splitLines } from '../../layouts/speed-data.js';

export async function layoutSpeed(ctx: Ctx): Promise<void> {
  for (const [name, text, pattern] of speedSets(ctx.quick ? 0.05 : 1)) {
    const mb = text.length / 1e6;
    const values: number[] = [];
    const refs: number[] = [];
    let events = 0;
    cutAndParse(text, pattern); // warm-up: compiled code, not the first run's
    for (let r = 0; r < ctx.rounds; r++) {
      const x = cutAndParse(text, pattern);
      events = x.events;
      values.push(mb / (x.ms / 1000));
      refs.push(mb / (splitLines(text).ms / 1000));
      await new Promise((res) => setImmediate(res));
    }
    ctx.add(fromRounds(
      { part: 'layouts', name: `cut + parse, ${name}`, unit: 'MB/s', note: `${mb.toFixed(1)} MB, ${events.toLocaleString('en-US')} events` },
      values,
      { name: 'lines split only', values: refs },
    ));
  }
}
