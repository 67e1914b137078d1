import type { LayoutHint } from '../../contract/layouts.js';
import type { LogEvent } from '../../contract/record.js';
import { parseCri } from './cri.js';
import { LineSplitter, TRUNCATION_MARKER, type SplitterStats } from './line-splitter.js';
import { MultilineJoiner, type MultilineOptions } from './multiline.js';

// Bytes of one file -> finished events: lines, then CRI records (partials
// joined), then multiline events. safeOffset() is where a restart must begin
// re-reading so that every event comes out with the same boundaries again:
// the first byte of anything still open. Events are numbered (0 from the
// file's start, one more per event; takenFrom is the first of a take()): a
// reader that sees 7 after 5 knows an event of the file is not visible yet,
// which a byte offset cannot tell. safeNumber() is the number a restart at
// safeOffset() gives its first event, so a re-sent event keeps its number as
// it keeps its offset.

export type Format = 'auto' | 'plain' | 'cri';

export interface DecoderOptions {
  format: Format;
  maxLineBytes: number;
  multiline: MultilineOptions;
}

export interface DecoderStats extends SplitterStats {
  criInvalid: number;
}

export function newDecoderStats(): DecoderStats {
  return { truncatedLines: 0, skippedBytes: 0, nulBytes: 0, nulLines: 0, criInvalid: 0 };
}

interface Partial {
  off: number;
  t: number;
  parts: string[];
  bytes: number;
  tr: boolean;
}

export class FileDecoder {
  private out: LogEvent[] = [];
  private readonly splitter: LineSplitter;
  private readonly joiner: MultilineJoiner;
  private format: Format;
  private readonly partials = new Map<'stdout' | 'stderr', Partial>();
  private now = 0;
  private nextN: number;
  /**
   * Offsets of the events taken that may start at or after safeOffset(): only
   * CRI files, where one stream's line can finish while the other stream's
   * partial is still open, finish an event past an open one. Pruned at every
   * take(), so it holds a few entries at most.
   */
  private readonly ahead: number[] = [];

  constructor(
    private readonly o: DecoderOptions,
    start: number,
    private readonly stats: DecoderStats,
    /** The number of the first event at `start` (the checkpoint's). */
    startN = 0,
  ) {
    this.format = o.format;
    this.nextN = startN;
    this.joiner = new MultilineJoiner(o.multiline, (e) => {
      this.nextN++;
      this.out.push(e);
    });
    this.splitter = new LineSplitter(o.maxLineBytes, start, (off, text, tr) => this.line(off, text, tr), stats);
  }

  get pos(): number {
    return this.splitter.pos;
  }

  push(chunk: Buffer, now: number): void {
    this.now = now;
    this.splitter.push(chunk);
  }

  /** Closes everything open: the unterminated line, CRI partials, the multiline event. */
  flush(now: number): void {
    this.now = now;
    this.splitter.flush();
    for (const [s, p] of [...this.partials].sort((a, b) => a[1].off - b[1].off)) {
      this.partials.delete(s);
      this.joiner.add(this.partialEvent(p, s));
    }
    this.joiner.flush();
  }

  hasOpen(): boolean {
    return this.safeOffset() < this.splitter.pos;
  }

  safeOffset(): number {
    let min = this.splitter.lineStart;
    for (const p of this.partials.values()) min = Math.min(min, p.off);
    const open = this.joiner.openFrom();
    return open === undefined ? min : Math.min(min, open);
  }

  /** The layout hint of one of the file's streams (undefined: a plain file's one stream). */
  layoutHint(stream?: 'stdout' | 'stderr'): LayoutHint {
    return this.joiner.hint(stream);
  }

  /** The number of the first event a restart at safeOffset() would give. */
  safeNumber(): number {
    const safe = this.safeOffset();
    let later = 0;
    for (const off of this.ahead) if (off >= safe) later++;
    for (const e of this.out) if (e.off >= safe) later++;
    return this.nextN - later;
  }

  /** The number of the first event the last take() returned (the rest count up from it). */
  takenFrom = 0;

  /** Events finished since the last call, in the order they finished. */
  take(): LogEvent[] {
    const evs = this.out;
    this.takenFrom = this.nextN - evs.length;
    this.out = [];
    const safe = this.safeOffset();
    for (let i = this.ahead.length - 1; i >= 0; i--) if (this.ahead[i]! < safe) this.ahead.splice(i, 1);
    for (const e of evs) if (e.off >= safe) this.ahead.push(e.off);
    return evs;
  }

  private line(off: number, text: string, tr: boolean): void {
    if (this.format === 'auto') this.format = parseCri(text) ? 'cri' : 'plain';
    if (this.format === 'plain') {
      this.add(tr ? { off, t: this.now, m: text, tr: 1 } : { off, t: this.now, m: text }, off);
      return;
    }
    const c = parseCri(text);
    if (!c) {
      // A line the kubelet did not write (or a cut one): kept as text, counted.
      this.stats.criInvalid++;
      this.add(tr ? { off, t: this.now, m: text, tr: 1 } : { off, t: this.now, m: text }, off);
      return;
    }
    let p = this.partials.get(c.s);
    if (c.partial || p) {
      if (!p) {
        p = { off, t: c.t, parts: [], bytes: 0, tr: false };
        this.partials.set(c.s, p);
      }
      if (p.tr) {
        // already cut: the rest of the joined line is skipped
      } else if (p.bytes + c.text.length > this.o.maxLineBytes) {
        p.tr = true;
        p.parts.push(TRUNCATION_MARKER);
        this.stats.truncatedLines++;
      } else {
        p.parts.push(c.text);
        p.bytes += c.text.length;
      }
      if (tr) p.tr = true;
      if (c.partial) return;
      this.partials.delete(c.s);
      this.joiner.add(this.partialEvent(p, c.s));
      return;
    }
    // The content's offset: after the runtime's prefix (time, stream, tag; ASCII) in the line.
    this.add(tr ? { off, t: c.t, m: c.text, s: c.s, tr: 1 } : { off, t: c.t, m: c.text, s: c.s }, off + text.length - c.text.length);
  }

  /**
   * A line to the joiner; where it holds a carriage return followed by the start of an event, as
   * a terminal would show it: a console progress bar redrawn with \r and a log line written
   * over it (a PySpark driver's stderr: `\r[Stage 3:>   (0 + 1) / 1]\r26/11/30 15:53:55 WARN …`)
   * are two events, the log line's header at the start of its own. The part after the \r starts
   * at its own byte (`at`: the first byte of the line's text), so its event has an offset, and an
   * id, of its own; a restart re-reads the whole line (the joiner's openFrom) and splits it again
   * the same way. Only the first 4 KiB after a \r are tested: bounded work on hostile lines.
   */
  private add(ev: LogEvent, at: number): void {
    const isStart = this.o.multiline.isStart && (this.o.multiline.splitsAtCr ?? this.o.multiline.isStart);
    const m = ev.m;
    let cr = isStart ? m.indexOf('\r') : -1;
    if (cr < 0 || cr === m.length - 1) return this.joiner.add(ev);
    const { tr, ...piece } = ev;
    let from = 0;
    while (cr >= 0 && cr < m.length - 1) {
      // Not between two \r (a redraw of the bar itself, which stays one event), and only before a start.
      if (m.charCodeAt(cr + 1) !== 13 && isStart!(m.slice(cr + 1, cr + 1 + 4096), undefined, this.joiner.hint(ev.s))) {
        if (cr > from) this.joiner.add({ ...piece, off: at + Buffer.byteLength(m.slice(0, from)), m: m.slice(from, cr) }, ev.off);
        from = cr + 1;
      }
      cr = m.indexOf('\r', cr + 1);
    }
    if (from === 0) return this.joiner.add(ev);
    const last: LogEvent = { ...piece, off: at + Buffer.byteLength(m.slice(0, from)), m: m.slice(from) };
    if (tr) last.tr = tr;
    this.joiner.add(last, ev.off);
  }

  private partialEvent(p: Partial, s: 'stdout' | 'stderr'): LogEvent {
    const ev: LogEvent = { off: p.off, t: p.t, m: p.parts.join(''), s };
    if (p.tr) ev.tr = 1;
    return ev;
  }
}
