// Log layouts print wall-clock time without a zone; the aggregator reads it
// in one configured zone. Intl answers the zone's offset, but it is slow, so
// the offset is cached per zone and UTC hour: one Intl call per hour of logs
// instead of one per line.

export interface WallClock {
  year: number;
  month: number; // 1-12
  day: number;
  hour: number;
  minute: number;
  second: number;
  ms: number;
}

const MAX_CACHE = 4096;

export class ZonedClock {
  private readonly utc: boolean;
  private readonly fmt: Intl.DateTimeFormat | undefined;
  private readonly offsets = new Map<number, number>();

  /** Throws RangeError for a zone name Intl does not know. */
  constructor(readonly timeZone: string) {
    this.utc = timeZone === 'UTC' || timeZone === 'Etc/UTC';
    this.fmt = this.utc
      ? undefined
      : new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' });
  }

  /** Epoch ms of a wall-clock time in this zone, or NaN for an impossible date (month 13, Feb 30). */
  toEpoch(w: WallClock): number {
    if (w.month < 1 || w.month > 12 || w.day < 1 || w.day > 31 || w.hour > 23 || w.minute > 59 || w.second > 60) return NaN;
    const asUtc = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second, w.ms);
    if (new Date(asUtc).getUTCDate() !== w.day) return NaN;
    if (this.utc) return asUtc;
    // Offset at the guess, then at the corrected instant: right across DST changes.
    const first = asUtc - this.offsetAt(asUtc);
    return asUtc - this.offsetAt(first);
  }

  /**
   * Epoch ms of a wall-clock time whose date is partly missing (a layout that
   * prints the time of day only, or no year): the instant nearest to `ref`
   * (the collection time) with that wall clock in this zone, or NaN.
   */
  nearest(w: Partial<WallClock> & Pick<WallClock, 'hour' | 'minute' | 'second' | 'ms'>, ref: number): number {
    const local = new Date(ref + (this.utc ? 0 : this.offsetAt(ref)));
    const y = local.getUTCFullYear();
    let best = NaN;
    // No date: yesterday, today or tomorrow; no year: last year, this year or next.
    for (const delta of [-1, 0, 1]) {
      let wall: WallClock;
      if (w.month === undefined || w.day === undefined) {
        const d = new Date(Date.UTC(y, local.getUTCMonth(), local.getUTCDate() + delta));
        wall = { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate(), hour: w.hour, minute: w.minute, second: w.second, ms: w.ms };
      } else {
        wall = { year: (w.year ?? y) + (w.year === undefined ? delta : 0), month: w.month, day: w.day, hour: w.hour, minute: w.minute, second: w.second, ms: w.ms };
      }
      const t = this.toEpoch(wall);
      if (!Number.isNaN(t) && (Number.isNaN(best) || Math.abs(t - ref) < Math.abs(best - ref))) best = t;
    }
    return best;
  }

  /** Zone offset (ms, local minus UTC) in force at an instant. */
  private offsetAt(epochMs: number): number {
    const hour = Math.floor(epochMs / 3_600_000);
    let off = this.offsets.get(hour);
    if (off === undefined) {
      const p: Record<string, number> = {};
      for (const part of this.fmt!.formatToParts(new Date(hour * 3_600_000))) if (part.type !== 'literal') p[part.type] = Number(part.value);
      off = Date.UTC(p.year!, p.month! - 1, p.day!, p.hour!, p.minute!, p.second!) - hour * 3_600_000;
      if (this.offsets.size >= MAX_CACHE) this.offsets.clear();
      this.offsets.set(hour, off);
    }
    return off;
  }
}

/** Parses an explicit zone suffix (`Z`, `+01:00`, `+0100`, `-05`) to ms, or undefined. */
export function zoneOffsetMs(z: string): number | undefined {
  if (z === 'Z' || z === 'z') return 0;
  const m = /^([+-])(\d{2}):?(\d{2})?$/.exec(z);
  if (!m) return undefined;
  const v = (Number(m[2]) * 60 + Number(m[3] ?? 0)) * 60_000;
  return m[1] === '-' ? -v : v;
}
