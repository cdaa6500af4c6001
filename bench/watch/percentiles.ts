/** p50 / p99 / max of a list of milliseconds (exact, from the sorted values; NaN when empty). */
import type { Percentiles } from './watch-results.js';

export function percentiles(values: readonly number[]): Percentiles {
  if (values.length === 0) return { p50: Number.NaN, p99: Number.NaN, max: Number.NaN };
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) =>
    sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
  return { p50: at(0.5), p99: at(0.99), max: sorted.at(-1) as number };
}
