// Turns the text of one log event (one line, or a first line plus a stack
// trace joined with \n) into time, level, logger, thread, message and
// exception. Only the first line is parsed; the rest stays in the message.
// Every pattern is anchored at the start and has no nested quantifiers, so a
// line that matches nothing fails in a few steps (no catastrophic backtracking
// on hostile input) and parsing stays one pass.
import type { Level } from '../../contract/documents.js';
import { FLUME_HEADER, ISO_HEADER, ISO_REST, SPARK_HEADER } from '../../contract/layouts.js';
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
// The exception line log4j prints under the message: `java.lang.IllegalStateException: boom`.
const EXCEPTION = /^(?:Exception in thread "[^"\n]{0,256}" )?((?:[A-Za-z_$][\w$]{0,128}\.){1,32}[A-Za-z_$][\w$]{0,128}(?:Exception|Error|Throwable))(?::|\s*$)/;

const num = (s: string | undefined) => (s === undefined ? 0 : Number(s));
const millis = (frac: string | undefined) => (frac === undefined ? 0 : Number(frac.length >= 3 ? frac.slice(0, 3) : frac.padEnd(3, '0')));

const isoWall = (m: RegExpExecArray): WallClock => ({ year: num(m[1]), month: num(m[2]), day: num(m[3]), hour: num(m[4]), minute: num(m[5]), second: num(m[6]), ms: millis(m[7]) });

function withRest(head: string, rest: string | undefined): string {
  return rest === undefined ? head : `${head}\n${rest}`;
}

function exceptionOf(rest: string | undefined): string | undefined {
  if (rest === undefined) return undefined;
  const nl = rest.indexOf('\n');
  return EXCEPTION.exec(nl < 0 ? rest : rest.slice(0, nl))?.[1];
}

export function parseEvent(text: string, clock: ZonedClock): ParsedEvent {
  const nl = text.indexOf('\n');
  const first = nl < 0 ? text : text.slice(0, nl);
  const rest = nl < 0 ? undefined : text.slice(nl + 1);
  const c0 = first.charCodeAt(0);

  if (c0 === 123 /* { */) {
    const j = parseStructuredJson(first, rest);
    if (j) return j;
  } else if (c0 >= 48 && c0 <= 57) {
    let m = SPARK.exec(first);
    if (m) {
      const level = normalizeLevel(m[8]);
      const time = clock.toEpoch({ year: 2000 + num(m[1]), month: num(m[2]), day: num(m[3]), hour: num(m[4]), minute: num(m[5]), second: num(m[6]), ms: millis(m[7]) });
      // An impossible date (24/13/45) means this is not a header at all.
      if (level && !Number.isNaN(time)) return build(time, level, m[10], m[9], first.slice(m[0].length), rest);
    }
    m = ISO.exec(first);
    const wall = m ? isoWall(m) : undefined;
    let time = wall ? clock.toEpoch(wall) : NaN;
    if (m && wall && !Number.isNaN(time)) {
      const off = m[8] === undefined ? undefined : zoneOffsetMs(m[8]);
      if (off !== undefined) time = Date.UTC(wall.year, wall.month - 1, wall.day, wall.hour, wall.minute, wall.second, wall.ms) - off;
      REST.lastIndex = m[0].length;
      const r = REST.exec(first);
      const level = normalizeLevel(r?.[2]);
      if (r && level) return build(time, level, r[4], r[1] ?? r[3], first.slice(REST.lastIndex), rest);
      // A time we can read but a header we cannot: keep the time, the whole text is the message.
      return build(time, undefined, undefined, undefined, first, rest);
    }
    m = FLUME.exec(first);
    if (m && MONTHS[m[2]!]) {
      const level = normalizeLevel(m[8]);
      const time = clock.toEpoch({ year: num(m[3]), month: MONTHS[m[2]!]!, day: num(m[1]), hour: num(m[4]), minute: num(m[5]), second: num(m[6]), ms: millis(m[7]) });
      if (level && !Number.isNaN(time)) return build(time, level, m[10], m[9], first.slice(m[0].length), rest);
    }
  }
  // Raw stderr such as `Exception in thread "main" java.lang.OutOfMemoryError: …` still names its exception.
  const ex = EXCEPTION.exec(first)?.[1];
  return ex ? { message: text, exception: ex } : { message: text };
}

function build(time: number, level: Level | undefined, logger: string | undefined, thread: string | undefined, head: string, rest: string | undefined): ParsedEvent {
  const e: ParsedEvent = { time, message: withRest(head, rest) };
  if (level) e.level = level;
  if (logger) e.logger = logger;
  if (thread) e.thread = thread;
  const ex = exceptionOf(rest);
  if (ex) e.exception = ex;
  return e;
}
