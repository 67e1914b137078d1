// The delivery run's input: a Spark executor log written at a steady rate,
// like writer.ts's, whose events are numbered (` seq=N` ends each event's
// first line) so the far end can tell every event's copies apart.
import { startWriter, type Writer } from '../writer.js';

/** The event's first line ends with ` seq=N`. */
function numbered(text: string, n: number): string {
  const nl = text.indexOf('\n');
  return nl < 0 ? `${text} seq=${n}\n` : `${text.slice(0, nl)} seq=${n}${text.slice(nl)}\n`;
}

/** Events appended so far are numbered 0..written()-1. */
export function startNumberedWriter(path: string, eventsPerSec: number, seed = 13): Promise<Writer> {
  return startWriter(path, eventsPerSec, { seed, format: numbered });
}
