// The delivery run's input: a Spark executor log written at a steady rate,
// like writer.ts's, whose events are numbered (` seq=N` ends each event's
// first line) so the far end can tell every event's copies apart.
import { open } from 'node:fs/promises';
import { prng, sparkEvent } from '../generate.js';

export interface NumberedWriter {
  /** Events appended so far; they are numbered 0..written()-1. */
  written(): number;
  stop(): Promise<void>;
}

export async function startNumberedWriter(path: string, eventsPerSec: number, seed = 13): Promise<NumberedWriter> {
  const fh = await open(path, 'a');
  const r = prng(seed);
  const t0 = performance.now();
  let n = 0;
  let stopped = false;
  let busy: Promise<void> = Promise.resolve();
  const tick = () => {
    const due = Math.floor(((performance.now() - t0) / 1000) * eventsPerSec);
    if (due <= n || stopped) return;
    let chunk = '';
    for (; n < due; n++) {
      const text = sparkEvent(r, Date.now(), n).text;
      const nl = text.indexOf('\n');
      chunk += nl < 0 ? `${text} seq=${n}\n` : `${text.slice(0, nl)} seq=${n}${text.slice(nl)}\n`;
    }
    busy = busy.then(() => fh.appendFile(chunk));
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
