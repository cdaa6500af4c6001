import type { SeededRandom } from './seeded-random.js';

/**
 * Zipf over ranks 0..n-1: P(rank k) ∝ 1 / (k+1)^s. Exact inversion of the cumulative distribution
 * (a Float64Array of n entries, built once; a sample is a binary search), which is simple and fast
 * enough for the user counts a benchmark draws from (up to a few million).
 */
export class ZipfSampler {
  readonly size: number;
  readonly exponent: number;
  readonly #cumulative: Float64Array;

  constructor(size: number, exponent: number) {
    if (!Number.isSafeInteger(size) || size < 1)
      throw new Error(`ZipfSampler: size must be a positive integer, got ${size}`);
    if (!(exponent >= 0)) throw new Error(`ZipfSampler: exponent must be >= 0, got ${exponent}`);
    this.size = size;
    this.exponent = exponent;
    this.#cumulative = new Float64Array(size);
    let total = 0;
    for (let rank = 0; rank < size; rank += 1) {
      total += 1 / (rank + 1) ** exponent;
      this.#cumulative[rank] = total;
    }
    for (let rank = 0; rank < size; rank += 1)
      this.#cumulative[rank] = (this.#cumulative[rank] ?? 0) / total;
  }

  /** A rank; 0 is the most popular. */
  sample(random: SeededRandom): number {
    const target = random.next();
    let low = 0;
    let high = this.size - 1;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if ((this.#cumulative[middle] ?? 1) < target) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  /** Share of all draws that land on the `top` most popular ranks. */
  shareOfTop(top: number): number {
    return this.#cumulative[Math.min(top, this.size) - 1] ?? 0;
  }
}
