// Cutting and parsing throughput, together, on the real-log corpus repeated
// and on a synthetic mix of layouts (not a test: run by hand, it prints MB/s
// and events/s, best of a few rounds):
//   node --import tsx test/layouts/speed.ts [rounds]
// The last figure: an app's own PatternLayout (contract/pattern-layout.ts) cut and parsed with it.
// The benchmark measures the same beside a reference: npm run bench -- --only layouts.
import { cutAndParse, speedSets } from './speed-data.js';

const rounds = Number(process.argv[2]) || 5;
for (const [name, text, pattern] of speedSets()) {
  let best = Infinity;
  let events = 0;
  for (let r = 0; r < rounds; r++) {
    const x = cutAndParse(text, pattern);
    best = Math.min(best, x.ms);
    events = x.events;
  }
  console.log(`${name}: ${(text.length / 1e6).toFixed(1)} MB, ${events} events, best ${best.toFixed(0)} ms: ${(text.length / 1e6 / (best / 1000)).toFixed(1)} MB/s, ${Math.round(events / (best / 1000))} events/s`);
}
