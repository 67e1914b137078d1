// Holds the collector's cutting and the aggregator's parsing, together, to the
// real-log corpus (test/layouts/make-corpus): every event of every file, its
// boundaries (the exact text of the event) and its fields (time, level,
// logger, thread where the layout has one, exception, the message; context
// fields for JSON objects), against what is known about it independently of
// the parser:
//   <file>.truth.jsonl   what the program itself knew of each event, written
//                        while it ran by a second log4j appender or Python
//                        logging handler (make-corpus);
//   JSON object lines    Spark 4's structured logging describes itself;
//   <file>.others.json   the few events neither knows (the JVM's own lines, a
//                        shell's banner, Spark's executor command header, a
//                        torn line), reviewed by hand, in file order.
// Every event cut must be one of these, and each of these one event cut.
// corpus.test.ts asserts it; run by hand it prints the figures:
//   node --import tsx test/layouts/check-corpus.ts [--show N]
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { decoderOptions, decoderSettings } from '../../collector/spool/spool.js';
import { FileDecoder, newDecoderStats } from '../../collector/transforms/file-decoder.js';
import { lineItems } from '../../aggregator/transforms/to-documents.js';
import { ZonedClock } from '../../aggregator/transforms/zoned-time.js';
import { names } from '../../contract/names.js';
import type { LineDoc } from '../../contract/documents.js';

/**
 * What the program knew of an event. `head`: the header as the layout printed it (else Spark's
 * console layout `%d{yy/MM/dd HH:mm:ss} %p %c{1}: %m%n%ex` is assumed); `text`: the whole event as
 * printed (an uncaught Python traceback); `timeless`: the layout prints no time.
 */
interface Truth {
  head?: string; text?: string; timeless?: boolean; ms?: number;
  level: string; logger?: string; thread?: string; msg?: string; trace?: string; exception?: string;
}

/** A hand-reviewed event: its first line, how many lines, and the fields it must parse to. */
interface Other { first: string; lines: number; level?: string; logger?: string; exception?: string; ms?: number }

const CORPUS = join(import.meta.dirname, 'corpus');
const utc = new ZonedClock('UTC');
const DEFAULTS = { format: 'auto', maxLineBytes: 256 * 1024, multiline: true, maxEventLines: 1000, maxEventBytes: 512 * 1024 } as const;
/** Level names as the store spells them (Python's WARNING and CRITICAL). */
const LEVEL: Record<string, string> = { WARNING: 'WARN', CRITICAL: 'FATAL' };

/** The app type a run's pods would have: Flink's and Flume's runs theirs, the rest Spark's. */
function appTypeOf(run: string): 'spark' | 'flink' | 'flume' {
  return run.startsWith('flink') ? 'flink' : run.startsWith('flume') ? 'flume' : 'spark';
}

export interface Cut { text: string; doc: LineDoc }

/** A file's events as the collector cuts them and the aggregator stores them (each service's own entry points). */
export function pipeline(bytes: Buffer, appType: 'spark' | 'flink' | 'flume', now: number): Cut[] {
  const d = new FileDecoder(decoderOptions(decoderSettings({ ...DEFAULTS, appType })), 0, newDecoderStats());
  d.push(bytes, now);
  d.flush(now);
  const src = { appType, appId: 'corpus', executorId: 'x', role: 'executor', file: '/x.log', fileId: 'f1', fileSeq: 0 };
  return lineItems({ v: 1, src, lines: d.take() }, names('sparklogs'), utc).map((i) => ({ text: i.event.m, doc: i.doc }));
}

/** An event's text less the empty lines at its end (an empty line between two events is the first's; the truth never has it). */
const bare = (text: string) => text.replace(/\n+$/, '');

const two = (n: number) => String(n).padStart(2, '0');
/** The event's header as printed, and its whole text less its last newline. */
function rendered(t: Truth): { head: string; text: string } {
  if (t.text !== undefined) return { head: '', text: bare(t.text) };
  let head = t.head;
  if (head === undefined) {
    const d = new Date(t.ms!);
    head = `${two(d.getUTCFullYear() % 100)}/${two(d.getUTCMonth() + 1)}/${two(d.getUTCDate())} ${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} ${t.level} ${t.logger!.split('.').pop()}: `;
  }
  const trace = (t.trace ?? '').trim().replace(/\n+$/, '');
  return { head, text: bare(`${head}${t.msg}${trace ? `\n${trace}` : ''}`) };
}

/**
 * The exception a trace names: Java's first line; in Python's, the first line after the last
 * `Traceback (most recent call last):` that is not one of its indented frames (the exception's
 * own message may run over many lines: a Py4JJavaError holds the Java trace).
 */
function exceptionOf(t: Truth): string | undefined {
  if (t.exception !== undefined) return t.exception;
  const trace = (t.trace ?? '').trim();
  if (!trace) return undefined;
  let line = trace.split('\n')[0]!;
  if (line === 'Traceback (most recent call last):') {
    const lines = trace.split('\n');
    const from = lines.lastIndexOf('Traceback (most recent call last):');
    line = lines.slice(from + 1).find((l) => !l.startsWith(' ')) ?? '';
  }
  return /^\s*([\w$.]+)(?::|$)/.exec(line)?.[1];
}

function fieldsWrong(doc: LineDoc, want: { ms?: number; level?: string; logger?: string; thread?: string; exception?: string; message?: string; mdc?: Record<string, string> }, secondOnly: boolean): string[] {
  const wrong: string[] = [];
  if (want.ms !== undefined) {
    const off = want.ms - doc['@timestamp'];
    if (doc.timeClamped || off < 0 || off >= (secondOnly ? 1000 : 1)) wrong.push(`time ${doc['@timestamp']} != ${want.ms}`);
  }
  if (doc.level !== want.level) wrong.push(`level ${doc.level} != ${want.level}`);
  if (doc.logger !== want.logger) wrong.push(`logger ${doc.logger} != ${want.logger}`);
  if (want.thread !== undefined && doc.thread !== want.thread) wrong.push(`thread ${doc.thread} != ${want.thread}`);
  if (doc.exception !== want.exception) wrong.push(`exception ${doc.exception} != ${want.exception}`);
  if (want.message !== undefined && bare(doc.message) !== want.message) wrong.push(`message ${JSON.stringify(doc.message.slice(0, 80))} != ${JSON.stringify(want.message.slice(0, 80))}`);
  if (want.mdc !== undefined && JSON.stringify(doc.mdc) !== JSON.stringify(want.mdc)) wrong.push(`mdc ${JSON.stringify(doc.mdc)} != ${JSON.stringify(want.mdc)}`);
  return wrong;
}

/** A JSON object's context as the store keeps it: each value cut at 1024 characters (bounded documents), dots in keys as _. */
function stored(context: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(context).map(([k, v]) => [k.replace(/\./g, '_'), String(v).slice(0, 1024)]));
}

export interface FileResult { file: string; known: number; good: number; cut: number; bad: string[]; unknown: Cut[] }

/** One file of the corpus, checked. */
export function checkFile(run: string, f: string): FileResult {
  const dir = join(CORPUS, run);
  const bytes = readFileSync(join(dir, f));
  const truthFile = join(dir, f.replace(/\.log$/, '.truth.jsonl'));
  const truth = existsSync(truthFile) ? readFileSync(truthFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Truth) : [];
  const othersFile = join(dir, f.replace(/\.log$/, '.others.json'));
  const others = existsSync(othersFile) ? JSON.parse(readFileSync(othersFile, 'utf8')) as Other[] : [];
  // Collected a minute after the last event it knows of, as a collector tailing the file would.
  const lastMs = Math.max(0, ...truth.map((t) => t.ms ?? 0), ...[...bytes.toString('utf8').matchAll(/^\{"ts":"([^"]+)"/gm)].map((m) => Date.parse(m[1]!)));
  const events = pipeline(bytes, appTypeOf(run), (lastMs || Date.parse('2026-11-30T12:00:00Z')) + 60_000);
  const used = new Array<boolean>(events.length).fill(false);
  const bad: string[] = [];
  let good = 0;

  // Several threads (and, in a PySpark driver, two processes) write the log and the truth one
  // after the other: nearby events may stand in another order in one than in the other, so each is
  // looked for near where the last one was, then anywhere.
  let i = 0;
  const find = (text: string): number => {
    for (let k = Math.max(0, i - 50); k < Math.min(events.length, i + 50); k++) if (!used[k] && bare(events[k]!.text) === text) return k;
    return events.findIndex((e, k) => !used[k] && bare(e.text) === text);
  };
  for (const t of truth) {
    const { head, text } = rendered(t);
    const at = find(text);
    if (at < 0) {
      const first = text.split('\n')[0]!;
      const near = events.find((e, k) => !used[k] && e.text.startsWith(first));
      bad.push(`not one event: ${JSON.stringify(text.slice(0, 160))}${near ? `\n      cut as: ${JSON.stringify(near.text.slice(0, 300))}` : ''}`);
      continue;
    }
    used[at] = true;
    i = at + 1;
    // The logger as the layout shows it: Spark's console layout %c{1}, else as the truth gives it.
    const logger = t.text !== undefined ? undefined : t.head === undefined ? t.logger!.split('.').pop() : t.logger;
    const wrong = fieldsWrong(events[at]!.doc, {
      ...(t.timeless ? {} : { ms: t.ms! }),
      level: LEVEL[t.level] ?? t.level,
      logger,
      ...(t.head?.includes(`[${t.thread}]`) ? { thread: t.thread! } : {}),
      exception: exceptionOf(t),
      message: text.slice(head.length),
    }, t.head === undefined || !/[,.]\d{3}/.test(t.head));
    if (wrong.length) bad.push(`${wrong.join(', ')}: ${JSON.stringify(text.slice(0, 120))}`);
    else good++;
  }

  // Structured logging's JSON objects: each line one event, its fields from the object.
  const objects = bytes.toString('utf8').split('\n').filter((l) => l.startsWith('{"ts"'));
  for (const l of objects) {
    const o = JSON.parse(l) as { ts: string; level: string; logger: string; msg: string; context?: Record<string, string>; exception?: { class: string } };
    const at = events.findIndex((e, k) => !used[k] && e.text === l);
    if (at < 0) { bad.push(`not one event: ${l.slice(0, 160)}`); continue; }
    used[at] = true;
    const doc = events[at]!.doc;
    const wrong = fieldsWrong(doc, { ms: Date.parse(o.ts), level: o.level, logger: o.logger, exception: o.exception?.class, ...(o.context ? { mdc: stored(o.context) } : {}) }, false);
    if (!doc.message.startsWith(o.msg)) wrong.push(`message ${JSON.stringify(doc.message.slice(0, 80))} does not start with ${JSON.stringify(o.msg.slice(0, 80))}`);
    if (wrong.length) bad.push(`${wrong.join(', ')}: ${l.slice(0, 120)}`);
    else good++;
  }

  // The rest, in file order, must be the hand-reviewed events.
  const unknown = events.filter((_, k) => !used[k]);
  for (let k = 0; k < Math.max(unknown.length, others.length); k++) {
    const e = unknown[k];
    const o = others[k];
    if (!e || !o) { bad.push(e ? `an event neither known nor reviewed: ${JSON.stringify(e.text.slice(0, 160))}` : `a reviewed event not cut: ${JSON.stringify(o!.first.slice(0, 160))}`); continue; }
    const lines = e.text.split('\n');
    const wrong = lines[0] !== o.first || lines.length !== o.lines ? [`cut as ${lines.length} lines from ${JSON.stringify(lines[0]!.slice(0, 100))}`] : [];
    wrong.push(...fieldsWrong(e.doc, { ...(o.ms !== undefined ? { ms: o.ms } : {}), level: o.level, logger: o.logger, exception: o.exception }, true));
    if (wrong.length) bad.push(`${wrong.join(', ')}: reviewed as ${o.lines} lines from ${JSON.stringify(o.first.slice(0, 100))}`);
    else good++;
  }
  return { file: `${run}/${f}`, known: truth.length + objects.length + others.length, good, cut: events.length, bad, unknown };
}

/** Every file of the corpus, checked. */
export function checkCorpus(): FileResult[] {
  const results: FileResult[] = [];
  for (const run of readdirSync(CORPUS).sort()) {
    for (const f of readdirSync(join(CORPUS, run)).filter((x) => x.endsWith('.log')).sort()) results.push(checkFile(run, f));
  }
  return results;
}

if (process.argv[1]?.endsWith('check-corpus.ts')) {
  const show = Number(process.argv[process.argv.indexOf('--show') + 1]) || 3;
  for (const r of checkCorpus()) {
    console.log(`${r.file}: ${r.good}/${r.known} known events right; ${r.cut} events cut`);
    for (const b of r.bad.slice(0, show)) console.log(`    ${b}`);
  }
}
