// Turns the text of one log event (one line, or a first line plus a stack
// trace joined with \n) into time, level, logger, thread, message and
// exception. Only the first line is parsed; the rest stays in the message
// (read only for the exception's class). The app's own PatternLayout, when
// its collector sent one, is tried first, then every layout of the catalogue.
// Every pattern is anchored at the start and has no nested quantifiers, so a
// line that matches nothing fails in a few steps (no catastrophic backtracking
// on hostile input) and parsing stays one pass.
import type { Level } from '../../contract/documents.js';
import {
  FLUME_HEADER, GC_LEGACY, ISO_BRACKETED, GC_LEGACY_DATED, GC_UNIFIED_HEADER, ISO_HEADER, ISO_REST, PY_ASCTIME_REST, PY_DEFAULT, PY_TRACEBACK,
  SPARK_HEADER, SPARK_START, TIME_HEADER, UNCAUGHT, VM_WARNING, javaException,
} from '../../contract/layouts.js';
import type { CompiledLayout } from '../../contract/pattern-layout.js';
import { normalizeLevel } from './levels.js';
import { parseStructuredJson } from './parse-json.js';
import { zoneOffsetMs, type WallClock, type ZonedClock } from './zoned-time.js';

export interface ParsedEvent {
  /** Event time from the line (ms), undefined when the line carries none we can read. */
  time?: number;
  level?: Level;
  logger?: string;
  thread?: string;
  message: string;
  exception?: string;
  mdc?: Record<string, string>;
}

// The headers come from the layout catalogue the collector cuts events with (contract/layouts.ts).
const SPARK = SPARK_HEADER;
const ISO = ISO_HEADER;
const REST = ISO_REST;
const FLUME = FLUME_HEADER;
const MONTHS: Record<string, number> = { Jan: 1, Feb: 2, Mar: 3, Apr: 4, May: 5, Jun: 6, Jul: 7, Aug: 8, Sep: 9, Oct: 10, Nov: 11, Dec: 12 };
// A Python exception line: `ValueError: bad`, `py4j.protocol.Py4JJavaError: An error…`, `KeyboardInterrupt`.
const PY_EXCEPTION = /^([A-Za-z_][\w]{0,128}(?:\.[A-Za-z_][\w]{0,128}){0,32})(?::|$)/;
// Where a layout is unknown but the line begins with a date: a level word among the header's first characters.
const LEVEL_WORD = /(?:^|[\s[(|:-])(TRACE|DEBUG|INFO|WARN|WARNING|ERROR|FATAL|SEVERE|CRITICAL)(?=$|[\s\]):|,-])/;
const LEVEL_WINDOW = 64;
const GC_LEVELS: Record<string, Level> = { trace: 'TRACE', debug: 'DEBUG', info: 'INFO', warning: 'WARN', error: 'ERROR' };

export interface ParseOptions {
  /** The app's PatternLayout (src.pattern, compiled). */
  layout?: CompiledLayout;
  /** Clock of the layout's own zone (`%d{…}{Europe/Berlin}`). */
  layoutClock?: ZonedClock;
  /** Collection time: completes a date printed without a day or year (logback's HH:mm:ss.SSS). */
  ref?: number;
  /** The file's (stream's) layout so far: its parser is tried first, and moved by what the full detection finds. */
  hint?: ParseHint;
}

const num = (s: string | undefined) => (s === undefined ? 0 : Number(s));
const millis = (frac: string | undefined) => (frac === undefined ? 0 : Number(frac.length >= 3 ? frac.slice(0, 3) : frac.padEnd(3, '0')));

const isoWall = (m: RegExpExecArray): WallClock => ({ year: num(m[1]), month: num(m[2]), day: num(m[3]), hour: num(m[4]), minute: num(m[5]), second: num(m[6]), ms: millis(m[7]) });

function withRest(head: string, rest: string | undefined): string {
  return rest === undefined ? head : `${head}\n${rest}`;
}

function exceptionOf(rest: string | undefined): string | undefined {
  if (rest === undefined) return undefined;
  return rest.startsWith(PY_TRACEBACK) ? pythonException(rest) : javaException(rest);
}

/**
 * The class of the exception a Python traceback ends with: the first line
 * that is not indented after its last `Traceback (most recent call last):`
 * (a chain prints the last one raised at its end).
 */
function pythonException(text: string): string | undefined {
  const at = text.lastIndexOf(PY_TRACEBACK);
  let i = text.indexOf('\n', at);
  while (i >= 0 && i < text.length - 1) {
    const c = text.charCodeAt(i + 1);
    if (c !== 32 && c !== 9 && c !== 10) {
      const end = text.indexOf('\n', i + 1);
      return PY_EXCEPTION.exec(text.slice(i + 1, end < 0 ? text.length : Math.min(end, i + 1 + 1024)))?.[1];
    }
    i = text.indexOf('\n', i + 1);
  }
  return undefined;
}

/** A level word near the start of a header whose layout is unknown. */
function levelWord(first: string, from: number): Level | undefined {
  return normalizeLevel(LEVEL_WORD.exec(first.slice(from, from + LEVEL_WINDOW))?.[1]);
}

function withLayout(first: string, rest: string | undefined, clock: ZonedClock, o: ParseOptions): ParsedEvent | undefined {
  const f = o.layout!.parse(first);
  if (!f) return undefined;
  let time: number | undefined;
  const d = f.date;
  if (d?.epochMs !== undefined) time = d.epochMs;
  else if (d) {
    const c = o.layoutClock ?? clock;
    const partial = d.year === undefined || d.month === undefined || d.day === undefined;
    const wall = { year: d.year ?? 0, month: d.month ?? 1, day: d.day ?? 1, hour: d.hour, minute: d.minute, second: d.second, ms: d.ms };
    if (partial) time = o.ref === undefined ? NaN : c.nearest(d, o.ref);
    else {
      time = c.toEpoch(wall);
      // An offset printed in the line wins over the zone (toEpoch also rejects an impossible date).
      if (d.offsetMs !== undefined && !Number.isNaN(time)) time = Date.UTC(wall.year, wall.month - 1, wall.day, wall.hour, wall.minute, wall.second, wall.ms) - d.offsetMs;
    }
    if (Number.isNaN(time)) return undefined;
  }
  const e = build(time, normalizeLevel(f.level), f.logger, f.thread, first.slice(f.messageAt), rest);
  if (f.mdc) e.mdc = mdcFields(f.mdc);
  return e;
}

/** MDC keys as the store takes them: a dot would make Elasticsearch build sub-objects. */
function mdcFields(m: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(m)) out[k.replace(/\./g, '_').slice(0, 128)] = v.slice(0, 1024);
  return out;
}

const NO_OPTIONS: ParseOptions = {};

/** One layout's parser: the event, or undefined when the first line is not that layout's header. */
type LayoutParser = (first: string, rest: string | undefined, text: string, clock: ZonedClock, o: ParseOptions) => ParsedEvent | undefined;

function parseSpark(first: string, rest: string | undefined, _text: string, clock: ZonedClock): ParsedEvent | undefined {
  // A bracketed date is the bracketed parser's (the full detection sends every `[` there).
  if (first.charCodeAt(0) === 91 /* [ */) return undefined;
  const m = SPARK.exec(first) ?? SPARK_START.exec(first);
  const time = m ? clock.toEpoch({ year: 2000 + num(m[1]), month: num(m[2]), day: num(m[3]), hour: num(m[4]), minute: num(m[5]), second: num(m[6]), ms: millis(m[7]) }) : NaN;
  // An impossible date (24/13/45) means this is not a header at all.
  if (!m || Number.isNaN(time)) return undefined;
  const level = normalizeLevel(m[8]);
  if (level) return build(time, level, m[10], m[9], first.slice(m[0].length), rest);
  return build(time, levelWord(first, m[0].length), undefined, undefined, first, rest);
}

function parseFlume(first: string, rest: string | undefined, _text: string, clock: ZonedClock): ParsedEvent | undefined {
  const m = FLUME.exec(first);
  const month = m ? MONTHS[m[2]!] : undefined;
  const time = m && month ? clock.toEpoch({ year: num(m[3]), month, day: num(m[1]), hour: num(m[4]), minute: num(m[5]), second: num(m[6]), ms: millis(m[7]) }) : NaN;
  if (!m || Number.isNaN(time)) return undefined;
  const level = normalizeLevel(m[8]);
  if (level) return build(time, level, m[10], m[9], first.slice(m[0].length), rest);
  return build(time, levelWord(first, 24), undefined, undefined, first, rest);
}

function parseTime(first: string, rest: string | undefined, _text: string, clock: ZonedClock, o: ParseOptions): ParsedEvent | undefined {
  const m = TIME_HEADER.exec(first);
  if (!m || o.ref === undefined) return undefined;
  const level = normalizeLevel(m[6]);
  const t = clock.nearest({ hour: num(m[1]), minute: num(m[2]), second: num(m[3]), ms: millis(m[4]) }, o.ref);
  if (!level || Number.isNaN(t)) return undefined;
  return build(t, level, m[7], m[5], first.slice(m[0].length), rest);
}

function parseIso(first: string, rest: string | undefined, text: string, clock: ZonedClock): ParsedEvent | undefined {
  let m = ISO.exec(first);
  const wall = m ? isoWall(m) : undefined;
  let time = wall ? clock.toEpoch(wall) : NaN;
  if (m && wall && !Number.isNaN(time)) {
    const off = m[8] === undefined ? undefined : zoneOffsetMs(m[8]);
    if (off !== undefined) time = Date.UTC(wall.year, wall.month - 1, wall.day, wall.hour, wall.minute, wall.second, wall.ms) - off;
    REST.lastIndex = m[0].length;
    const r = REST.exec(first);
    const level = normalizeLevel(r?.[2]);
    if (r && level) return build(time, level, r[4], r[1] ?? r[3], first.slice(REST.lastIndex), rest);
    // Python's `%(asctime)s - %(name)s - %(levelname)s - %(message)s`.
    PY_ASCTIME_REST.lastIndex = m[0].length;
    const p = PY_ASCTIME_REST.exec(first);
    const pl = normalizeLevel(p?.[2]);
    if (p && pl) return build(time, pl, p[1], undefined, first.slice(PY_ASCTIME_REST.lastIndex), rest);
    // A time we can read but a header we cannot: keep the time and a level word if there is one; the whole text is the message.
    return build(time, levelWord(first, m[0].length - 1), undefined, undefined, first, rest);
  }
  m = GC_LEGACY_DATED.exec(first);
  if (m) {
    const w = isoWall(m);
    const off = m[8] === undefined ? undefined : zoneOffsetMs(m[8]);
    const t = off === undefined ? clock.toEpoch(w) : Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second, w.ms) - off;
    if (!Number.isNaN(t)) return build(t, 'INFO', 'gc', undefined, first, rest);
  }
  if (GC_LEGACY.test(first)) return untimed('INFO', 'gc', text);
  return undefined;
}

/** A line in brackets: unified GC logging's decorations, legacy GC, or a bracketed ISO date with a level word. */
function parseBracketed(first: string, rest: string | undefined, text: string, clock: ZonedClock): ParsedEvent | undefined {
  const m = GC_UNIFIED_HEADER.exec(first);
  if (m) {
    const e = gcUnified(m, first, rest, clock);
    if (e) return e;
  }
  if (GC_LEGACY.test(first)) return untimed('INFO', 'gc', text);
  // `[2024-11-21 06:20:00,123] LEVEL …` and other bracketed dates: the time and a level word.
  const d = ISO_BRACKETED.exec(first);
  const w = d ? isoWall(d) : undefined;
  let t = w ? clock.toEpoch(w) : NaN;
  const off = d?.[8] === undefined ? undefined : zoneOffsetMs(d[8]);
  if (w && off !== undefined && !Number.isNaN(t)) t = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second, w.ms) - off;
  if (d && !Number.isNaN(t)) return build(t, levelWord(first, d[0].length), undefined, undefined, first, rest);
  return undefined;
}

function parseJson(first: string, rest: string | undefined): ParsedEvent | undefined {
  return first.charCodeAt(0) === 123 ? parseStructuredJson(first, rest) : undefined;
}

function parseTraceback(first: string, _rest: string | undefined, text: string): ParsedEvent | undefined {
  // A Python traceback on its own (an uncaught exception in a PySpark driver).
  if (!first.startsWith(PY_TRACEBACK)) return undefined;
  const ex = pythonException(text);
  return ex ? { level: 'ERROR', message: text, exception: ex } : { level: 'ERROR', message: text };
}

function parsePython(first: string, rest: string | undefined): ParsedEvent | undefined {
  const p = PY_DEFAULT.exec(first);
  const level = normalizeLevel(p?.[1]);
  if (!p || !level) return undefined;
  const e: ParsedEvent = { level, message: withRest(first.slice(p[0].length), rest) };
  if (p[2]) e.logger = p[2];
  const ex = exceptionOf(rest);
  if (ex) e.exception = ex;
  return e;
}

function parseVmWarning(first: string, _rest: string | undefined, text: string): ParsedEvent | undefined {
  return VM_WARNING.test(first) ? untimed('WARN', undefined, text) : undefined;
}

/**
 * The parsers a file's hint names (contract/layouts.ts's LayoutName, as the collector's cutting
 * names them; the hint here moves to the parser that read the header). Each reads only its own
 * headers, so trying the hinted one first gives what the full detection would.
 */
const PARSERS = {
  spark: parseSpark, flume: parseFlume, time: parseTime, iso: parseIso, bracketed: parseBracketed,
  json: parseJson, traceback: parseTraceback, python: parsePython, vmWarning: parseVmWarning,
} satisfies Record<string, LayoutParser>;
export type ParserName = keyof typeof PARSERS;

/**
 * A file's (a stream's) layout for the parser: the parser that read its last header. An ordering
 * hint, not a lock: a header it does not read goes through the full detection, which moves it.
 * `detections`: the full detections that found a header.
 */
export interface ParseHint {
  layout: ParserName | undefined;
  detections: number;
}

export const newParseHint = (): ParseHint => ({ layout: undefined, detections: 0 });

/** The most files (streams) whose hints are kept: a new one beyond it drops the longest unused. */
export const MAX_PARSE_HINTS = 8192;

/** The hints of the files (streams) a parser sees, bounded: a forgotten file's layout is detected again. */
export class ParseHints {
  private readonly hints = new Map<string, ParseHint>();

  constructor(private readonly max = MAX_PARSE_HINTS) {}

  get size(): number {
    return this.hints.size;
  }

  /** The hint of one file's stream (`fileId`, and the stream where a CRI log mixes two). */
  get(fileId: string, stream?: string): ParseHint {
    const key = stream === undefined ? fileId : `${fileId}\u0000${stream}`;
    let h = this.hints.get(key);
    if (h) {
      // Most recently used last: a Map keeps insertion order, so the first key is the longest unused.
      this.hints.delete(key);
    } else {
      h = newParseHint();
      if (this.hints.size >= this.max) this.hints.delete(this.hints.keys().next().value!);
    }
    this.hints.set(key, h);
    return h;
  }
}

const digit = (c: number) => c >= 48 && c <= 57;
/**
 * Whether a first line has the first characters a parser's headers have (those the full detection
 * dispatches on): a hinted parser is tried only then, so a line of another layout costs a
 * character or two, not a failed match.
 */
const SHAPE_OF: Record<ParserName, (first: string) => boolean> = {
  spark: (l) => digit(l.charCodeAt(0)) && l.charCodeAt(2) === 47,
  flume: (l) => digit(l.charCodeAt(0)) && l.charCodeAt(2) === 32,
  time: (l) => digit(l.charCodeAt(0)) && l.charCodeAt(2) === 58,
  iso: (l) => digit(l.charCodeAt(0)) && l.charCodeAt(2) !== 47 && l.charCodeAt(2) !== 32 && l.charCodeAt(2) !== 58,
  bracketed: (l) => l.charCodeAt(0) === 91,
  json: (l) => l.charCodeAt(0) === 123,
  traceback: (l) => l.charCodeAt(0) === 84,
  python: (l) => { const c = l.charCodeAt(0); return c === 67 || c === 68 || c === 69 || c === 73 || c === 87; },
  vmWarning: (l) => { const c = l.charCodeAt(0); return c === 74 || c === 79 || c === 87; },
};

/** The full detection: the parser the first characters lead to (as the collector's start test: a date's third character tells the dates apart). */
function parserFor(first: string): ParserName | undefined {
  const c0 = first.charCodeAt(0);
  if (c0 === 123 /* { */) return 'json';
  if (c0 >= 48 && c0 <= 57) {
    const k = first.charCodeAt(2);
    return k === 47 /* / */ ? 'spark' : k === 32 /*   */ ? 'flume' : k === 58 /* : */ ? 'time' : 'iso';
  }
  if (c0 === 91 /* [ */) return 'bracketed';
  if (first.startsWith(PY_TRACEBACK)) return 'traceback';
  if (PY_DEFAULT.test(first)) return 'python';
  if (VM_WARNING.test(first)) return 'vmWarning';
  return undefined;
}

export function parseEvent(text: string, clock: ZonedClock, o: ParseOptions = NO_OPTIONS): ParsedEvent {
  const nl = text.indexOf('\n');
  const first = nl < 0 ? text : text.slice(0, nl);
  const rest = nl < 0 ? undefined : text.slice(nl + 1);
  // The app's own PatternLayout first, always: its headers are the pod's declared layout.
  if (o.layout) {
    const e = withLayout(first, rest, clock, o);
    if (e) return e;
  }
  const hint = o.hint;
  const hinted = hint?.layout;
  if (hinted !== undefined && SHAPE_OF[hinted](first)) {
    const e = PARSERS[hinted](first, rest, text, clock, o);
    if (e) return e;
  }
  const name = parserFor(first);
  if (name !== undefined && name !== hinted) {
    const e = PARSERS[name](first, rest, text, clock, o);
    if (e) {
      if (hint) {
        hint.layout = name;
        hint.detections++;
      }
      return e;
    }
  }
  // Raw stderr such as `Exception in thread "main" java.lang.OutOfMemoryError: …` still names its exception.
  const ex = javaException(text);
  if (ex && UNCAUGHT.test(first)) return { level: 'ERROR', message: text, exception: ex };
  return ex ? { message: text, exception: ex } : { message: text };
}

function untimed(level: Level, logger: string | undefined, text: string): ParsedEvent {
  return logger ? { level, logger, message: text } : { level, message: text };
}

/** `[2024-11-21T06:20:00.123+0000][0.123s][info][gc,heap   ] msg`: the date if decorated with one, the level, the tags as logger. */
function gcUnified(m: RegExpExecArray, first: string, rest: string | undefined, clock: ZonedClock): ParsedEvent | undefined {
  let level: Level | undefined;
  let tags: string | undefined;
  let time: number | undefined;
  for (const part of m[1]!.slice(1, -1).split('][')) {
    const v = part.trim();
    if (level === undefined && GC_LEVELS[v]) level = GC_LEVELS[v];
    else if (level !== undefined && tags === undefined) tags = v;
    else if (time === undefined) {
      const d = ISO.exec(`${v} `);
      if (d) {
        const w = isoWall(d);
        const off = d[8] === undefined ? undefined : zoneOffsetMs(d[8]);
        const t = off === undefined ? clock.toEpoch(w) : Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second, w.ms) - off;
        if (!Number.isNaN(t)) time = t;
      }
    }
  }
  if (!level) return undefined;
  return build(time, level, tags, undefined, first.slice(m[0].length), rest);
}

function build(time: number | undefined, level: Level | undefined, logger: string | undefined, thread: string | undefined, head: string, rest: string | undefined): ParsedEvent {
  const e: ParsedEvent = time === undefined ? { message: withRest(head, rest) } : { time, message: withRest(head, rest) };
  if (level) e.level = level;
  if (logger) e.logger = logger;
  if (thread) e.thread = thread;
  const ex = exceptionOf(rest);
  if (ex) e.exception = ex;
  return e;
}
