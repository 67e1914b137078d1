// Holds the collector's cutting and the aggregator's parsing, together, to the
// real-log corpus (test/layouts/make-corpus): per file, how many of log4j's
// events came out as exactly one event with the right text, time, level,
// logger, thread (where the layout has it) and exception, and which did not.
// corpus.test.ts asserts it; run by hand it prints the figures:
//   node --import tsx test/layouts/check-corpus.ts [--show N]
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { FileDecoder, newDecoderStats } from '../../collector/transforms/file-decoder.js';
import { startTest, wholeTest } from '../../collector/transforms/multiline.js';
import { parseEvent } from '../../aggregator/transforms/parse-event.js';
import { ZonedClock } from '../../aggregator/transforms/zoned-time.js';

/** What log4j knew of an event; `head`: the header as the layout printed it (else Spark's console layout is assumed). */
interface Truth { head?: string; ms: number; level: string; logger: string; thread: string; msg: string; trace: string }

const CORPUS = join(import.meta.dirname, 'corpus');
const utc = new ZonedClock('UTC');

/** The events of a file as the collector cuts them (Spark profile, defaults). */
export function cut(bytes: Buffer): string[] {
  const d = new FileDecoder({ format: 'plain', maxLineBytes: 256 * 1024, multiline: { isStart: startTest('timestamped'), isWhole: wholeTest(), maxLines: 1000, maxBytes: 512 * 1024 } }, 0, newDecoderStats());
  d.push(bytes, 0);
  d.flush(0);
  return d.take().map((e) => e.m);
}

const two = (n: number) => String(n).padStart(2, '0');
/** What Spark's console layout (`%d{yy/MM/dd HH:mm:ss} %p %c{1}: %m%n%ex`) printed for the event, less its last newline. */
function rendered(t: Truth): string {
  if (t.head !== undefined) return `${t.head}${t.msg}${t.trace.trim() ? `\n${t.trace.trim().replace(/\n+$/, '')}` : ''}`;
  const d = new Date(t.ms);
  const date = `${two(d.getUTCFullYear() % 100)}/${two(d.getUTCMonth() + 1)}/${two(d.getUTCDate())} ${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())}`;
  const trace = t.trace.trim();
  return `${date} ${t.level} ${t.logger.split('.').pop()}: ${t.msg}${trace ? `\n${trace.replace(/\n+$/, '')}` : ''}`;
}

export interface FileResult { file: string; total: number; good: number; cut: number; bad: string[] }

/** Every file of the corpus, checked. */
export function checkCorpus(): FileResult[] {
  const results: FileResult[] = [];
  for (const run of readdirSync(CORPUS).sort()) {
    for (const f of readdirSync(join(CORPUS, run)).filter((x) => x.endsWith('.log')).sort()) {
      const events = cut(readFileSync(join(CORPUS, run, f)));
      const truthFile = join(CORPUS, run, f.replace(/\.log$/, '.truth.jsonl'));
      const bad: string[] = [];
      let good = 0;
      let total = 0;
      if (existsSync(truthFile)) {
        const truth = readFileSync(truthFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Truth);
        total = truth.length;
        // Two appenders take events from several threads one after the other, so nearby events may stand
        // in another order in the truth than in the log: each is looked for near where the last one was.
        const used = new Set<number>();
        let i = 0;
        for (const t of truth) {
          const want = rendered(t);
          let at = -1;
          for (let k = Math.max(0, i - 50); k < Math.min(events.length, i + 50); k++) {
            if (!used.has(k) && events[k] === want) { at = k; break; }
          }
          if (at < 0) {
            const near = events.slice(Math.max(0, i - 50), i + 50).find((e) => e.startsWith(want.split('\n')[0]!));
            bad.push(`not one event: ${JSON.stringify(want.slice(0, 160))}${near ? `\n      cut as: ${JSON.stringify(near.slice(0, 300))}` : ''}`);
            continue;
          }
          used.add(at);
          i = at + 1;
          const p = parseEvent(events[at]!, utc);
          const exception = /^\s*([\w$.]+)(?::|$)/m.exec(t.trace.trim())?.[1];
          // The layout shows the logger as Spark's %c{1} or, with a head, as printed (Flume's %C.%M); the
          // time to the second or to the millisecond; the thread only where the layout has it.
          const logger = t.head !== undefined ? t.logger : t.logger.split('.').pop();
          const wrong = [
            (p.time === undefined || p.time > t.ms || t.ms - p.time >= 1000) && `time ${p.time} != ${t.ms}`,
            p.level !== t.level && `level ${p.level} != ${t.level}`,
            p.logger !== logger && `logger ${p.logger} != ${logger}`,
            t.head?.includes(`[${t.thread}]`) && p.thread !== t.thread && `thread ${p.thread} != ${t.thread}`,
            (p.exception ?? undefined) !== exception && `exception ${p.exception} != ${exception}`,
          ].filter(Boolean);
          if (wrong.length) bad.push(`${wrong.join(', ')}: ${JSON.stringify(want.slice(0, 120))}`);
          else good++;
        }
      } else {
        // Self-describing JSON lines: each must be one event, parsed with a level and a message.
        const lines = readFileSync(join(CORPUS, run, f), 'utf8').split('\n').filter((l) => l.startsWith('{"ts"'));
        total = lines.length;
        for (const l of lines) {
          const o = JSON.parse(l) as { level: string; msg: string };
          if (!events.includes(l)) { bad.push(`not one event: ${l.slice(0, 160)}`); continue; }
          const p = parseEvent(l, utc);
          if (p.level !== o.level || !p.message.startsWith(o.msg)) bad.push(`parsed wrong: ${l.slice(0, 160)}`);
          else good++;
        }
      }
      results.push({ file: `${run}/${f}`, total, good, cut: events.length, bad });
    }
  }
  return results;
}

if (process.argv[1]?.endsWith('check-corpus.ts')) {
  const show = Number(process.argv[process.argv.indexOf('--show') + 1]) || 3;
  for (const r of checkCorpus()) {
    console.log(`${r.file}: ${r.good}/${r.total} log4j events right; ${r.cut} events cut`);
    for (const b of r.bad.slice(0, show)) console.log(`    ${b}`);
  }
}
