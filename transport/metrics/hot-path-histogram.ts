import type { Registry } from 'prom-client';

/**
 * A Prometheus histogram for code that runs on every request. prom-client's Histogram validates
 * and hashes its labels on every `observe`, even through a `labels()` child (~1 µs, on a warm read
 * that costs tens); here each label set's child is made once, by the caller, and an observation
 * is a scan of the bucket bounds and three additions. prom-client still serves it: the histogram
 * registers in the process's registry as a metric whose `get()` builds the samples when scraped,
 * in exactly the shape prom-client's own histograms have (`_bucket{le}` cumulative, `+Inf`,
 * `_sum`, `_count`).
 */
export class HotPathHistogram<L extends string> {
  readonly name: string;
  readonly help: string;
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  readonly #labelNames: readonly L[];
  readonly #bounds: readonly number[];
  readonly #children = new Map<string, HistogramChild<L>>();

  constructor(
    registry: Registry,
    spec: { name: string; help: string; labelNames: readonly L[]; buckets: readonly number[] },
  ) {
    const bounds = [...spec.buckets];
    if (bounds.some((bound, index) => index > 0 && bound <= (bounds[index - 1] ?? bound)))
      throw new Error(`${spec.name}: bucket bounds must increase`);
    if (spec.labelNames.includes('le' as L)) throw new Error(`${spec.name}: "le" is reserved`);
    this.name = spec.name;
    this.help = spec.help;
    this.#labelNames = spec.labelNames;
    this.#bounds = bounds;
    // The registry reads any object with this shape (name, help, type, get, reset); its type
    // names only its own metric classes.
    registry.registerMetric(this as unknown as Parameters<Registry['registerMetric']>[0]);
  }

  /**
   * The child of one label set, made on first use and kept: callers look it up once per label set
   * (their label values must be bounded, as every label's are) and observe through it.
   */
  child(labels: Readonly<Record<L, string>>): HistogramChild<L> {
    const key = this.#labelNames.map((name) => labels[name]).join('\u0000');
    let child = this.#children.get(key);
    if (child === undefined) {
      for (const name of this.#labelNames)
        if (typeof labels[name] !== 'string')
          throw new Error(`${this.name}: label "${name}" has no value`);
      child = new HistogramChild({ ...labels }, this.#bounds);
      this.#children.set(key, child);
    }
    return child;
  }

  /** What prom-client's registry serialises when scraped. */
  get(): {
    name: string;
    help: string;
    type: 'histogram';
    aggregator: 'sum';
    values: { labels: Record<string, string | number>; value: number; metricName: string }[];
  } {
    const values = [];
    for (const child of this.#children.values()) {
      let cumulative = 0;
      this.#bounds.forEach((bound, index) => {
        cumulative += child.counts[index] ?? 0;
        values.push({
          labels: { ...child.labels, le: bound },
          value: cumulative,
          metricName: `${this.name}_bucket`,
        });
      });
      values.push(
        {
          labels: { ...child.labels, le: '+Inf' },
          value: child.count,
          metricName: `${this.name}_bucket`,
        },
        { labels: { ...child.labels }, value: child.sum, metricName: `${this.name}_sum` },
        { labels: { ...child.labels }, value: child.count, metricName: `${this.name}_count` },
      );
    }
    return {
      name: this.name,
      help: this.help,
      type: this.type,
      aggregator: this.aggregator,
      values,
    };
  }

  /** Forgets every observation (the registry's resetMetrics); children stay valid. */
  reset(): void {
    for (const child of this.#children.values()) child.clear();
  }
}

/** One label set's buckets: counts per bound (not cumulative), the sum and the count. */
export class HistogramChild<L extends string> {
  readonly labels: Readonly<Record<L, string>>;
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  readonly #bounds: readonly number[];

  constructor(labels: Readonly<Record<L, string>>, bounds: readonly number[]) {
    this.labels = Object.freeze(labels);
    this.#bounds = bounds;
    this.counts = new Float64Array(bounds.length);
  }

  observe(value: number): void {
    if (Number.isNaN(value)) return;
    const bounds = this.#bounds;
    // Past the last bound the value counts only in +Inf (count), as in prom-client.
    for (let index = 0; index < bounds.length; index += 1)
      if (value <= (bounds[index] as number)) {
        this.counts[index] = (this.counts[index] ?? 0) + 1;
        break;
      }
    this.sum += value;
    this.count += 1;
  }

  clear(): void {
    this.counts.fill(0);
    this.sum = 0;
    this.count = 0;
  }
}
