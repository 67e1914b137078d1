// A Spark executor writing its log at a steady rate: the input of the
// footprint and freshness benchmarks. Each tick appends the events due so
// far, so the rate holds on average even when a tick is late.
import { open } from 'node:fs/promises';
import { prng, sparkEvent } from './generate.js';

export interface Writer {
  /** Events due so far (handed to the file or about to be). */
  written(): number;
  stop(): Promise<void>;
}

export interface WriterOptions {
  seed?: number;
  /** After each append: the byte size of every event in it, and when the append completed (performance.now()). */
  onChunk?: (sizes: number[], at: number) => void;
  /** What the file gets for event `n` (its text, lines joined by \n, no final newline): the text and a newline by default. */
  format?: (text: string, n: number) => string;
}

export async function startWriter(path: string, eventsPerSec: number, o: WriterOptions = {}): Promise<Writer> {
  const fh = await open(path, 'a');
  const r = prng(o.seed ?? 11);
  const format = o.format ?? ((text: string) => `${text}\n`);
  const t0 = performance.now();
  let n = 0;
  let stopped = false;
  let busy: Promise<void> = Promise.resolve();
  const tick = () => {
    const due = Math.floor(((performance.now() - t0) / 1000) * eventsPerSec);
    if (due <= n || stopped) return;
    let chunk = '';
    const sizes: number[] = [];
    for (; n < due; n++) {
      const text = format(sparkEvent(r, Date.now(), n).text, n);
      chunk += text;
      sizes.push(Buffer.byteLength(text));
    }
    busy = busy.then(() => fh.appendFile(chunk)).then(() => o.onChunk?.(sizes, performance.now()));
  };
  const timer = setInterval(tick, 20);
  return {
    written: () => n,
    async stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      await busy;
      await fh.close();
    },
  };
}
