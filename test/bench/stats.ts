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
 * What a figure measured in several rounds reports: the median of the rounds
 * that completed, their range, and the spread as ±: the largest distance of a
 * round from the median, as a share of the median. Failed rounds (null) are
 * left out and counted, so a report says "2 of 3 rounds"; null when none
 * completed.
 */
export interface Rounds {
  values: number[];
  /** Rounds that failed and are not in values. */
  failed: number;
  median: number;
  min: number;
  max: number;
  /** max |round - median| / |median|, 0.1 = ±10%. */
  spread: number;
  unstable: boolean;
}

export function rounds(xs: (number | null | undefined)[]): Rounds | null {
  const values = xs.filter((x): x is number => x !== null && x !== undefined && Number.isFinite(x));
  if (values.length === 0) return null;
  const m = median(values);
  const spread = m === 0 ? (values.every((v) => v === 0) ? 0 : Infinity) : Math.max(...values.map((v) => Math.abs(v - m))) / Math.abs(m);
  return { values, failed: xs.length - values.length, median: m, min: Math.min(...values), max: Math.max(...values), spread, unstable: values.length > 1 && spread > UNSTABLE_SPREAD };
}
