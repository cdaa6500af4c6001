import { build, type Histogram } from 'hdr-histogram-js';

/** Latency summary of one operation kind, in milliseconds. */
export interface LatencySummary {
  ok: number;
  errors: number;
  errorsByCode: Record<string, number>;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
  meanMs: number;
}

/**
 * HDR histograms (hdr-histogram-js) per operation kind and overall, recording microseconds with 3
 * significant digits. Only successful calls enter the histograms; failures are counted by code.
 */
export class LatencyRecorder {
  readonly #histograms = new Map<string, Histogram>();
  readonly #errors = new Map<string, Map<string, number>>();

  record(kind: string, microseconds: number): void {
    const value = Math.max(1, Math.round(microseconds));
    this.#histogram(kind).recordValue(value);
    this.#histogram('all').recordValue(value);
  }

  recordError(kind: string, code: string): void {
    for (const key of [kind, 'all']) {
      const codes = this.#errors.get(key) ?? new Map<string, number>();
      codes.set(code, (codes.get(code) ?? 0) + 1);
      this.#errors.set(key, codes);
    }
  }

  kinds(): string[] {
    return [...new Set([...this.#histograms.keys(), ...this.#errors.keys()])];
  }

  summary(kind: string): LatencySummary {
    const histogram = this.#histograms.get(kind);
    const codes = Object.fromEntries(this.#errors.get(kind) ?? []);
    const errors = Object.values(codes).reduce((sum, count) => sum + count, 0);
    const ms = (microseconds: number) => microseconds / 1_000;
    if (histogram === undefined)
      return {
        ok: 0,
        errors,
        errorsByCode: codes,
        p50Ms: Number.NaN,
        p99Ms: Number.NaN,
        p999Ms: Number.NaN,
        maxMs: Number.NaN,
        meanMs: Number.NaN,
      };
    return {
      ok: histogram.totalCount,
      errors,
      errorsByCode: codes,
      p50Ms: ms(histogram.getValueAtPercentile(50)),
      p99Ms: ms(histogram.getValueAtPercentile(99)),
      p999Ms: ms(histogram.getValueAtPercentile(99.9)),
      maxMs: ms(histogram.maxValue),
      meanMs: ms(histogram.mean),
    };
  }

  #histogram(kind: string): Histogram {
    let histogram = this.#histograms.get(kind);
    if (histogram === undefined) {
      histogram = build({
        lowestDiscernibleValue: 1,
        highestTrackableValue: 120_000_000,
        numberOfSignificantValueDigits: 3,
        autoResize: true,
      });
      this.#histograms.set(kind, histogram);
    }
    return histogram;
  }
}
