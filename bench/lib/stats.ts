/** Small numeric helpers shared by the scenarios. */

export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

/** Nearest-rank percentile (p in 0..100) of unsorted values; NaN for none. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1]!;
}

export function sum(values: readonly number[]): number {
  let total = 0;
  for (const v of values) total += v;
  return total;
}

/** Median of each numeric field over several runs of the same shape. */
export function medianOf<T extends Record<string, number>>(runs: readonly T[]): T {
  const first = runs[0];
  if (!first) throw new Error('medianOf: no runs');
  const out: Record<string, number> = {};
  for (const key of Object.keys(first)) out[key] = median(runs.map((r) => r[key]!));
  return out as T;
}

/** 12345.6 → "12,346"; small numbers keep some digits. */
export function fmt(value: number, digits?: number): string {
  if (!Number.isFinite(value)) return String(value);
  const d = digits ?? (Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : 2);
  return value.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
}

/** Nearest-rank percentile (p in 0..100) of values already sorted ascending; NaN for none. */
export function sortedPercentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length))) - 1]!;
}

/**
 * The percentiles a `PercentileVector` holds: dense in the tail (where latency plots look),
 * 48 points from p1 to p99.99, enough to draw a distribution without shipping every sample.
 */
export const PERCENTILE_POINTS: readonly number[] = [
  1, 2, 3, 5, 7.5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55, 60, 65, 70, 75, 80, 82.5, 85, 87.5, 90, 91, 92, 93, 94, 95, 96,
  97, 97.5, 98, 98.5, 99, 99.25, 99.5, 99.6, 99.7, 99.8, 99.9, 99.93, 99.95, 99.97, 99.98, 99.99, 99.995, 99.999,
];

/** A distribution in compact form: `values[i]` is the nearest-rank percentile `p[i]` (rounded to 0.01). */
export interface PercentileVector {
  p: number[];
  values: number[];
}

/** The `PERCENTILE_POINTS` of values sorted ascending (empty vectors for none). */
export function percentileVector(sorted: ArrayLike<number>): PercentileVector {
  if (sorted.length === 0) return { p: [], values: [] };
  return {
    p: [...PERCENTILE_POINTS],
    values: PERCENTILE_POINTS.map((p) => Math.round(sortedPercentile(sorted, p) * 100) / 100),
  };
}

/**
 * Point-wise median of percentile vectors of the same points (e.g. one per round): still
 * non-decreasing, the distribution of a "median round". Vectors of other points are ignored.
 */
export function medianVector(vectors: readonly PercentileVector[]): PercentileVector {
  const usable = vectors.filter((v) => v.values.length > 0);
  const first = usable[0];
  if (!first) return { p: [], values: [] };
  const same = usable.filter((v) => v.p.length === first.p.length && v.p.every((p, i) => p === first.p[i]));
  return { p: [...first.p], values: first.p.map((_, i) => median(same.map((v) => v.values[i]!))) };
}
