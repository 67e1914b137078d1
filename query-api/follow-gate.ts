import { parseSequenceKey, sequenceKey, type Position, type Positions } from './cursor.js';

// Which of the lines a follow poll found may be sent now. A stored line can
// become visible after a later line of its sequence: a bulk item retried
// after a 429 while the rest of the bulk is searchable, a day's two line
// indices refreshing at different moments, shards refreshing apart. A follow
// that moved its position past the later line would never send the earlier
// one. So each line carries its number in its file (`n`, consecutive), and a
// line is sent only when it is the next of its file: at a gap the sequence's
// later lines wait (the rest of the app goes on) until the missing ones are
// visible. A gap still open after gapMs is reported (a `warning` with the
// missing numbers) and passed: lines lost for good (dead-lettered, a pod
// killed without grace) must not stop the follow, and are never passed
// silently. Lines of collectors that predate `n` are sent as they come.
//
// Everything here is per sequence (cursor.ts: an executor's log file, or one
// of its whole-stream captures), never per executor: an executor's stdout
// capture is written at the same time as its log file, so a position in one
// says nothing about the other.

export interface GateLine {
  executorId: string;
  /** The whole-stream capture the line is of (stdout, stderr); absent for a log file's and a CRI file's lines. */
  log?: string;
  fileSeq: number;
  off: number;
  n?: number;
}

interface Gap {
  since: number;
  /** The first line found past the gap (lines come in file order, by number): the next poll reads this sequence's lines before it only. */
  at: Position;
  /** That line's number. */
  atN: number | undefined;
  /** Reported and passed: the next line found is taken whatever its number. */
  passed: boolean;
}

export interface MissingLines {
  executorId: string;
  /** The capture (stdout, stderr) whose lines are missing; absent for the log file. */
  log?: string;
  fileSeq: number;
  /** First and last missing number; `from` is 0 for lines at the start of a file. */
  from: number;
  to: number;
}

function positionOf(l: GateLine): Position {
  return l.n === undefined ? [l.fileSeq, l.off] : [l.fileSeq, l.off, l.n];
}

/** Whether `l` directly follows position `p` of its sequence (no event of its file can be missing between). */
export function isNext(p: Position | undefined, l: GateLine): boolean {
  if (l.n === undefined) return true;
  if (!p || l.fileSeq > p[0]) return l.n === 0;
  return p[2] === undefined || l.n === p[2] + 1;
}

export class FollowGate {
  /** Per sequence key. */
  private readonly gaps = new Map<string, Gap>();

  constructor(
    /** Per sequence key; advanced as lines are taken. */
    public pos: Positions,
    private readonly gapMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Sequences held at a gap: only lines strictly before these positions are wanted from them. */
  holds(): Positions | undefined {
    const out: Positions = {};
    let any = false;
    for (const [k, g] of this.gaps) {
      if (g.passed) continue;
      out[k] = g.at;
      any = true;
    }
    return any ? out : undefined;
  }

  get holding(): boolean {
    return this.gaps.size > 0;
  }

  /**
   * The lines to send, in the order given (each sequence's in file order), and
   * the gaps given up on since the last call. `lines` is one poll's page.
   */
  take<T extends GateLine>(lines: readonly T[]): { send: T[]; missing: MissingLines[] } {
    const send: T[] = [];
    const missing: MissingLines[] = [];
    const blocked = new Set<string>();
    const now = this.now();
    for (const l of lines) {
      const k = sequenceKey(l);
      if (blocked.has(k)) continue;
      const p = this.pos[k];
      const gap = this.gaps.get(k);
      if (!isNext(p, l) && !gap?.passed) {
        blocked.add(k);
        if (!gap) this.gaps.set(k, { since: now, at: positionOf(l), atN: l.n, passed: false });
        continue;
      }
      this.gaps.delete(k);
      send.push(l);
      this.pos[k] = positionOf(l);
    }
    // Gaps that waited long enough are given up on: reported now, passed at the next poll.
    for (const [k, g] of this.gaps) {
      if (g.passed || now - g.since < this.gapMs) continue;
      g.passed = true;
      const p = this.pos[k];
      const sameFile = p !== undefined && p[0] === g.at[0] && p[2] !== undefined;
      const { executorId, log } = parseSequenceKey(k);
      missing.push({ executorId, ...(log !== undefined ? { log } : {}), fileSeq: g.at[0], from: sameFile ? p[2]! + 1 : 0, to: (g.atN ?? 0) - 1 });
    }
    return { send, missing };
  }
}
