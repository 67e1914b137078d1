import type { LogEvent } from '../../contract/record.js';
import { parseCri } from './cri.js';
import { LineSplitter, TRUNCATION_MARKER, type SplitterStats } from './line-splitter.js';
import { MultilineJoiner, type MultilineOptions } from './multiline.js';

// Bytes of one file -> finished events: lines, then CRI records (partials
// joined), then multiline events. safeOffset() is where a restart must begin
// re-reading so that every event comes out with the same boundaries again:
// the first byte of anything still open.

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

  constructor(
    private readonly o: DecoderOptions,
    start: number,
    private readonly stats: DecoderStats,
  ) {
    this.format = o.format;
    this.joiner = new MultilineJoiner(o.multiline, (e) => this.out.push(e));
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

  /** Events finished since the last call, in the order they finished. */
  take(): LogEvent[] {
    const evs = this.out;
    this.out = [];
    return evs;
  }

  private line(off: number, text: string, tr: boolean): void {
    if (this.format === 'auto') this.format = parseCri(text) ? 'cri' : 'plain';
    if (this.format === 'plain') {
      this.joiner.add(tr ? { off, t: this.now, m: text, tr: 1 } : { off, t: this.now, m: text });
      return;
    }
    const c = parseCri(text);
    if (!c) {
      // A line the kubelet did not write (or a cut one): kept as text, counted.
      this.stats.criInvalid++;
      this.joiner.add(tr ? { off, t: this.now, m: text, tr: 1 } : { off, t: this.now, m: text });
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
    this.joiner.add(tr ? { off, t: c.t, m: c.text, s: c.s, tr: 1 } : { off, t: c.t, m: c.text, s: c.s });
  }

  private partialEvent(p: Partial, s: 'stdout' | 'stderr'): LogEvent {
    const ev: LogEvent = { off: p.off, t: p.t, m: p.parts.join(''), s };
    if (p.tr) ev.tr = 1;
    return ev;
  }
}
