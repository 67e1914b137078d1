/** The q-quantile (0..1) of a sample, nearest-rank; NaN for an empty sample. */
export function quantile(xs: number[], q: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
}

/** The median (the mean of the middle two for an even count); NaN for an empty sample. */
export function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** A ratio whose rounds lie further than this from their median is unstable. */
export const UNSTABLE_SPREAD = 0.1;

/**
 * What a figure measured in several rounds reports: the median of the rounds,
 * their range, and the spread as ±: the largest distance of a round from the
 * median, as a share of the median. A round that failed (null) makes the
 * whole summary null: a median of the rounds that worked would hide it.
 */
export interface Rounds {
  values: number[];
  median: number;
  min: number;
  max: number;
  /** max |round - median| / |median|, 0.1 = ±10%. */
  spread: number;
  unstable: boolean;
}

export function rounds(xs: (number | null | undefined)[]): Rounds | null {
  if (xs.length === 0 || xs.some((x) => x === null || x === undefined || !Number.isFinite(x))) return null;
  const values = xs as number[];
  const m = median(values);
  const spread = m === 0 ? (values.every((v) => v === 0) ? 0 : Infinity) : Math.max(...values.map((v) => Math.abs(v - m))) / Math.abs(m);
  return { values, median: m, min: Math.min(...values), max: Math.max(...values), spread, unstable: values.length > 1 && spread > UNSTABLE_SPREAD };
}
