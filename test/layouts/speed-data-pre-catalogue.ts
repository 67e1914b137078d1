// speed-ab.ts's "before" side for the code from before the layout catalogue
// (26955b8^), which has no speed-data.ts, no hints and no patterns. Copied into
// that tree as its test/layouts/speed-data.ts:
//   git archive 26955b8^ | tar -x -C /tmp/pre && ln -s "$PWD/node_modules" /tmp/pre/
//   cp test/layouts/speed-data-pre-catalogue.ts /tmp/pre/test/layouts/speed-data.ts
//   node --import tsx test/layouts/speed-ab.ts /tmp/pre . 8 0.5
// (the "own pattern" set then runs the old built-in detection: not comparable).
import { FileDecoder, newDecoderStats } from '../../collector/transforms/file-decoder.js';
import { startTest } from '../../collector/transforms/multiline.js';
import { parseEvent } from '../../aggregator/transforms/parse-event.js';
import { ZonedClock } from '../../aggregator/transforms/zoned-time.js';

const utc = new ZonedClock('UTC');

export function cutAndParse(text: Buffer): { ms: number; events: number } {
  const t0 = performance.now();
  // The old decoder's options (no whole-event test); typed loosely so this file also compiles in today's tree.
  const d = new FileDecoder({ format: 'plain', maxLineBytes: 256 * 1024, multiline: { isStart: startTest('timestamped'), maxLines: 1000, maxBytes: 512 * 1024 } } as never, 0, newDecoderStats());
  const step = 1 << 20;
  let events = 0;
  for (let at = 0; at < text.length; at += step) {
    d.push(text.subarray(at, at + step), 0);
    for (const e of d.take()) {
      parseEvent(e.m, utc);
      events++;
    }
  }
  d.flush(0);
  for (const e of d.take()) {
    parseEvent(e.m, utc);
    events++;
  }
  return { ms: performance.now() - t0, events };
}
