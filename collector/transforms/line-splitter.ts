// Splits the bytes of one file into lines, on Buffer newlines, without
// decoding anything twice. Every line carries the file offset of its first
// byte. Bounded: a line longer than maxLineBytes keeps only its head (cut on a
// UTF-8 character boundary, marked) and the rest up to the newline is skipped,
// so one runaway line cannot exhaust memory.

export interface SplitterStats {
  truncatedLines: number;
  skippedBytes: number;
  nulBytes: number;
  nulLines: number;
}

export type LineHandler = (off: number, text: string, truncated: boolean) => void;

export const TRUNCATION_MARKER = ' …[truncated by sparklogs]';

export class LineSplitter {
  /** Offset of the next byte push() expects. */
  pos: number;
  /** Offset of the first byte of the line being assembled (== pos between lines). */
  lineStart: number;
  private carry: Buffer[] = [];
  private carryBytes = 0;
  private lineBytes = 0;
  private inLine = false;
  private sawNul = false;

  constructor(
    private readonly maxLineBytes: number,
    start: number,
    private readonly onLine: LineHandler,
    private readonly stats: SplitterStats,
  ) {
    this.pos = start;
    this.lineStart = start;
  }

  push(chunk: Buffer): void {
    const base = this.pos;
    let i = 0;
    while (i < chunk.length) {
      if (!this.inLine && chunk[i] === 0) {
        // copytruncate with a writer that keeps its old offset leaves a hole of
        // NULs before the new text: skip it so no record carries a NUL run.
        let j = i;
        while (j < chunk.length && chunk[j] === 0) j++;
        this.stats.nulBytes += j - i;
        this.sawNul = true;
        i = j;
        this.lineStart = base + i;
        continue;
      }
      const nl = chunk.indexOf(10, i);
      if (nl === -1) {
        this.append(chunk, i, chunk.length);
        break;
      }
      if (!this.inLine) this.emit(chunk, i, nl, nl - i);
      else {
        this.append(chunk, i, nl);
        this.emitCarry();
      }
      i = nl + 1;
      this.lineStart = base + i;
      this.sawNul = false;
    }
    this.pos = base + chunk.length;
  }

  /** Ends an unterminated last line (file idle, released or shutdown). */
  flush(): void {
    if (this.inLine) this.emitCarry();
    this.lineStart = this.pos;
    this.sawNul = false;
  }

  private append(chunk: Buffer, s: number, e: number): void {
    this.inLine = true;
    this.lineBytes += e - s;
    // Keep a few bytes past the limit: enough to cut on a character boundary.
    const keep = Math.min(e - s, this.maxLineBytes + 4 - this.carryBytes);
    if (keep > 0) {
      this.carry.push(Buffer.from(chunk.subarray(s, s + keep)));
      this.carryBytes += keep;
    }
  }

  private emitCarry(): void {
    const buf = this.carry.length === 1 ? this.carry[0]! : Buffer.concat(this.carry);
    const total = this.lineBytes;
    this.carry = [];
    this.carryBytes = 0;
    this.lineBytes = 0;
    this.inLine = false;
    this.emit(buf, 0, Math.min(buf.length, total), total);
  }

  private emit(buf: Buffer, s: number, e: number, total: number): void {
    if (total > this.maxLineBytes) {
      let cut = s + this.maxLineBytes;
      // Never split a multibyte character: back up to its lead byte.
      while (cut > s && (buf[cut]! & 0xc0) === 0x80) cut--;
      this.stats.truncatedLines++;
      this.stats.skippedBytes += total - (cut - s);
      this.onLine(this.lineStart, clean(buf.toString('utf8', s, cut)) + TRUNCATION_MARKER, true);
      return;
    }
    if (e > s && buf[e - 1] === 13) e--; // CRLF line ends
    if (e === s && this.sawNul) {
      this.stats.nulLines++;
      return;
    }
    this.onLine(this.lineStart, clean(buf.toString('utf8', s, e)), false);
  }
}

/** Invalid UTF-8 is already U+FFFD (Buffer decoding); NULs are removed. */
function clean(text: string): string {
  return text.indexOf('\0') === -1 ? text : text.replace(/\0+/g, '');
}
