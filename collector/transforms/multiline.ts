import type { LogEvent } from '../../contract/record.js';
import { JAVA_CONTINUATION, JAVA_EXCEPTION_LINE, JSON_OBJECT, newHint, startsEvent, startsEventIn, type LayoutHint } from '../../contract/layouts.js';
import { compileLayout } from '../../contract/pattern-layout.js';
import { TRUNCATION_MARKER } from './line-splitter.js';

// Joins the lines of one event (a Java stack trace after its log line) into
// one record. An event ends when a line that starts a new one arrives, when it
// reaches its line or size bound, or when the file goes idle (flush). Events
// are kept apart per stream, so interleaved stdout/stderr do not mix. An
// event cut at its bound is marked like a cut line (tr, and the marker after
// its last line): the lines after it come out as events of their own.
// Each stream also keeps the layout its last event began in (a LayoutHint):
// the start test tries that layout first, so a file's layout is detected once.

/**
 * `prev`: the last non-empty line of the event still open (a Python traceback's start depends on it);
 * `hint`: the stream's layout so far, tried first and moved by what the test finds.
 */
export type StartTest = (text: string, prev?: string, hint?: LayoutHint) => boolean;

export interface MultilineOptions {
  /** undefined: every line is its own event. */
  isStart: StartTest | undefined;
  /** A line that is a whole event by itself: it ends the event before and takes no continuation lines. */
  isWhole?: StartTest;
  /**
   * Where a line holding a carriage return is split (file-decoder.ts: a terminal's redraw and the
   * log line written over it): at a \r followed by a line this takes. Default: isStart.
   */
  splitsAtCr?: StartTest;
  maxLines: number;
  maxBytes: number;
}

interface Pending {
  ev: LogEvent;
  /** Where a re-read must begin to cut this event again: its line's first byte (ev.off may be inside the line). */
  from: number;
  parts: string[];
  bytes: number;
  /** The last non-empty line. */
  last: string;
}

export class MultilineJoiner {
  private readonly pending = new Map<string, Pending>();
  /** Per stream: the layout of its last event's header (an event's stream is '' in a plain file, stdout/stderr in a CRI log). */
  private readonly hints = new Map<string, LayoutHint>();
  private lastKey = '';
  private lastHint: LayoutHint | undefined;

  constructor(
    private readonly o: MultilineOptions,
    private readonly out: (e: LogEvent) => void,
  ) {}

  /** `from`: the first byte of the line `ev` comes from, when ev.off is inside it. */
  add(ev: LogEvent, from = ev.off): void {
    if (!this.o.isStart) return this.out(ev);
    const key = ev.s ?? '';
    const p = this.pending.get(key);
    const whole = this.o.isWhole?.(ev.m) === true;
    const joins = p !== undefined && !whole && !this.o.isStart(ev.m, p.last, this.hint(key));
    if (p && joins && p.parts.length < this.o.maxLines && p.bytes + ev.m.length < this.o.maxBytes) {
      p.parts.push(ev.m);
      p.bytes += ev.m.length + 1;
      if (ev.m !== '') p.last = ev.m;
      if (ev.tr) p.ev.tr = 1;
      return;
    }
    if (p && joins) {
      // Cut at maxEventLines / maxEventBytes: said in the text and in tr, as a cut line is.
      p.parts[p.parts.length - 1] += TRUNCATION_MARKER;
      p.ev.tr = 1;
    }
    if (p) this.emit(p);
    if (whole) {
      // Complete in itself (a JSON object): out at once, and nothing after it joins it.
      this.pending.delete(key);
      this.out(ev);
      return;
    }
    this.pending.set(key, { ev, from, parts: [ev.m], bytes: ev.m.length, last: ev.m });
  }

  /** A stream's layout hint (at most two streams per file: stdout and stderr). */
  hint(stream: string | undefined): LayoutHint {
    const key = stream ?? '';
    // Asked for every line: the last stream's answered without a look-up.
    if (key === this.lastKey && this.lastHint) return this.lastHint;
    let h = this.hints.get(key);
    if (!h) {
      h = newHint();
      this.hints.set(key, h);
    }
    this.lastKey = key;
    this.lastHint = h;
    return h;
  }

  /** Offset of the earliest event still open, if any: checkpoints never pass it. */
  openFrom(): number | undefined {
    let min: number | undefined;
    for (const p of this.pending.values()) if (min === undefined || p.from < min) min = p.from;
    return min;
  }

  flush(): void {
    const open = [...this.pending.values()].sort((a, b) => a.ev.off - b.ev.off);
    this.pending.clear();
    for (const p of open) this.emit(p);
  }

  private emit(p: Pending): void {
    if (p.parts.length > 1) p.ev.m = p.parts.join('\n');
    this.out(p.ev);
  }
}

/** The built-in profiles' whole events: a JSON object line (contract/layouts.ts); none with a custom firstLine. */
export function wholeTest(custom?: string): StartTest | undefined {
  return custom === undefined ? (t) => JSON_OBJECT.test(t) : undefined;
}

/**
 * Where events start: a custom firstLine regular expression; else the app's
 * PatternLayout (`pattern`, compiled by contract/pattern-layout.ts, which the
 * aggregator parses with) besides every layout of the catalogue; else the
 * catalogue (contract/layouts.ts) alone, or for `continuation` every line
 * but a Java trace's (its exception line, frames, causes).
 */
export function startTest(kind: 'timestamped' | 'continuation', custom?: string, pattern?: string): StartTest {
  if (custom !== undefined) {
    const re = new RegExp(custom);
    return (t) => re.test(t);
  }
  if (pattern !== undefined) {
    const layout = compileLayout(pattern);
    return (t, prev, hint) => layout.startsEvent(t) || (hint ? startsEventIn(hint, t, prev) : startsEvent(t, prev));
  }
  if (kind === 'timestamped') return (t, prev, hint) => (hint ? startsEventIn(hint, t, prev) : startsEvent(t, prev));
  return (t) => !JAVA_CONTINUATION.test(t) && !JAVA_EXCEPTION_LINE.test(t);
}

/**
 * What printStackTrace prints under a throwable's first line: a frame (`\tat t3.Job.run(Job.java:12)`,
 * indented, with its parenthesis, so a printed `  at home` is not one), a cause, a suppressed
 * exception, `... 3 more`.
 */
const JAVA_TRACE_BODY = /^(?:[ \t]+at [^\s(]{1,1024}\(|[ \t]*(?:Caused by: |Suppressed: )|[ \t]*\.\.\. \d{1,9} (?:more|common frames omitted))/;

/**
 * Where events start in a file that holds a whole stream of the app container (stdoutPaths,
 * stderrPaths): at every line (a program's println is never the rest of the line before it) but
 * the lines of a Java stack trace. A frame, `Caused by:`, `Suppressed:`, `... N more` join the event
 * before, so `e.printStackTrace()` stays one event; the line that names the exception
 * (`java.lang.IllegalStateException: boom`) starts one of its own, unless the line before is a log
 * line's header of the catalogue (a logger writing to the console, as Spark's default log4j
 * configuration does on stderr, and the exception it printed under its ERROR line). No custom
 * firstLine, no app pattern: those describe the app's log file.
 */
export function stdioStartTest(): StartTest {
  return (t, prev) => {
    if (JAVA_TRACE_BODY.test(t)) return false;
    return !(prev !== undefined && JAVA_EXCEPTION_LINE.test(t) && startsEvent(prev));
  };
}
