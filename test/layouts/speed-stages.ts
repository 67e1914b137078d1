// Cutting and parsing timed apart, per event, for one tree: the collector's
// decoder over the bench's corpus and synthetic data in 1 MiB chunks, then the
// aggregator's parseEvent of every event, CPU ms, median of 5 (not a test):
//   node --import tsx test/layouts/speed-stages.ts /tmp/pre    # the tree from before the catalogue (see speed-data-pre-catalogue.ts)
//   node --import tsx test/layouts/speed-stages.ts "$PWD"      # this tree
// Prints events found, cut ms and parse ms per data set: per MB and per event differ when one tree finds more events.
import { resolve } from 'node:path';
import { speedSets } from './speed-data.js';

if (!process.argv[2]) throw new Error('usage: speed-stages.ts TREE');
const tree = resolve(process.argv[2]);
const { FileDecoder, newDecoderStats } = await import(`${tree}/collector/transforms/file-decoder.ts`);
const ml = await import(`${tree}/collector/transforms/multiline.ts`);
const pe = await import(`${tree}/aggregator/transforms/parse-event.ts`);
const { ZonedClock } = await import(`${tree}/aggregator/transforms/zoned-time.ts`);
const utc = new ZonedClock('UTC');
// The tree from before the catalogue has no whole-event test and no parse hints.
const current = typeof ml.wholeTest === 'function';

function cpuMs(f: () => void): number {
  const c = process.cpuUsage();
  f();
  const d = process.cpuUsage(c);
  return (d.user + d.system) / 1000;
}

for (const [name, text] of speedSets(0.5).slice(0, 2)) {
  let events: string[] = [];
  const cut: number[] = [];
  const parse: number[] = [];
  for (let r = 0; r < 5; r++) {
    cut.push(
      cpuMs(() => {
        const multiline = current ? { isStart: ml.startTest('timestamped'), isWhole: ml.wholeTest(), maxLines: 1000, maxBytes: 512 * 1024 } : { isStart: ml.startTest('timestamped'), maxLines: 1000, maxBytes: 512 * 1024 };
        const d = new FileDecoder({ format: 'plain', maxLineBytes: 256 * 1024, multiline }, 0, newDecoderStats());
        events = [];
        for (let at = 0; at < text.length; at += 1 << 20) {
          d.push(text.subarray(at, at + (1 << 20)), 0);
          for (const e of d.take()) events.push(e.m);
        }
        d.flush(0);
        for (const e of d.take()) events.push(e.m);
      }),
    );
    parse.push(
      cpuMs(() => {
        const o = current ? { hint: pe.newParseHint() } : undefined;
        for (const m of events) pe.parseEvent(m, utc, o);
      }),
    );
  }
  const med = (x: number[]) => [...x].sort((a, b) => a - b)[2]!;
  const [c, p] = [med(cut), med(parse)];
  console.log(`${name}: ${events.length} events; cut ${c.toFixed(0)} ms, parse ${p.toFixed(0)} ms (CPU, median of 5): ${(((c + p) * 1000) / events.length).toFixed(2)} µs per event`);
}
