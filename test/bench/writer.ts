// A Spark executor writing its log at a steady rate: the input of the
// footprint and freshness benchmarks. Each tick appends the events due so
// far, so the rate holds on average even when a tick is late.
import { open } from 'node:fs/promises';
import { prng, sparkEvent } from './generate.js';

export interface Writer {
  /** Events written so far, and when each was written (ms, performance.now() clock). */
  written(): number;
  stop(): Promise<void>;
}

export async function startWriter(path: string, eventsPerSec: number, o: { seed?: number; tag?: (i: number) => string; onWrite?: (first: number, count: number, at: number) => void } = {}): Promise<Writer> {
  const fh = await open(path, 'a');
  const r = prng(o.seed ?? 11);
  const t0 = performance.now();
  let n = 0;
  let stopped = false;
  let busy: Promise<void> = Promise.resolve();
  const tick = () => {
    const due = Math.floor(((performance.now() - t0) / 1000) * eventsPerSec);
    if (due <= n || stopped) return;
    let chunk = '';
    const first = n;
    for (; n < due; n++) {
      const ev = sparkEvent(r, Date.now(), n);
      // A tag right after the level keeps the line parseable and findable (freshness looks it up).
      chunk += `${o.tag ? ev.text.replace(/^(\S+ \S+ \S+ )/, `$1${o.tag(n)} `) : ev.text}\n`;
    }
    const at = performance.now();
    busy = busy.then(() => fh.appendFile(chunk)).then(() => o.onWrite?.(first, n - first, at));
  };
  const timer = setInterval(tick, 20);
  return {
    written: () => n,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await busy;
      await fh.close();
    },
  };
}
