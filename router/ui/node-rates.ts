/** One reading of a node's counters (they only grow while the node process lives). */
export interface CounterSample {
  /** Monotonic ms of the reading. */
  atMs: number;
  /** API requests served since start; undefined when the node serves no metrics. */
  apiRequests: number | undefined;
  cacheHits: number;
  cacheMisses: number;
}

export interface NodeRateFigures {
  /** API requests per second over the window; null until two readings span `rateSpanMinMs`. */
  requestsPerSecond: number | null;
  /** Hits over hits + misses: over the window when it saw any look-up, else since the start. */
  hitRatio: number | null;
  hitRatioScope: 'recent' | 'since start' | null;
}

export interface NodeRatesOptions {
  /** Readings older than this are dropped: rates are averages over at most this long. */
  windowMs: number;
  /** Two readings closer than this give no rate (too noisy to show). */
  rateSpanMinMs: number;
  /** Readings kept per node, whatever their age (bounds memory when polled very often). */
  samplesMax: number;
}

export const DEFAULT_NODE_RATES_OPTIONS: Readonly<NodeRatesOptions> = Object.freeze({
  windowMs: 10_000,
  rateSpanMinMs: 400,
  samplesMax: 64,
});

/**
 * Rates from counters, as Prometheus's rate() does it: the difference between the newest and the
 * oldest reading inside the window, over the time between them. A counter that went down means
 * the node restarted: its older readings are dropped. Pure: times come with the readings.
 */
export class NodeRates {
  readonly #options: Readonly<NodeRatesOptions>;
  readonly #samples = new Map<string, CounterSample[]>();

  constructor(options: Readonly<NodeRatesOptions> = DEFAULT_NODE_RATES_OPTIONS) {
    this.#options = options;
  }

  /** Records a reading of a node and answers its rates over the window ending with it. */
  record(nodeId: string, sample: CounterSample): NodeRateFigures {
    const kept = (this.#samples.get(nodeId) ?? []).filter(
      (older) => sample.atMs - older.atMs <= this.#options.windowMs && !wentDown(older, sample),
    );
    kept.push(sample);
    while (kept.length > this.#options.samplesMax) kept.shift();
    this.#samples.set(nodeId, kept);
    const oldest = kept[0] ?? sample;
    return {
      requestsPerSecond: this.#requestRate(oldest, sample),
      ...hitRatioOf(oldest, sample),
    };
  }

  /** Forgets every node but these (nodes that left the ring, or were not read this time). */
  retainOnly(nodeIds: ReadonlySet<string>): void {
    for (const nodeId of this.#samples.keys())
      if (!nodeIds.has(nodeId)) this.#samples.delete(nodeId);
  }

  #requestRate(oldest: CounterSample, newest: CounterSample): number | null {
    const spanMs = newest.atMs - oldest.atMs;
    if (spanMs < this.#options.rateSpanMinMs) return null;
    if (oldest.apiRequests === undefined || newest.apiRequests === undefined) return null;
    return ((newest.apiRequests - oldest.apiRequests) * 1_000) / spanMs;
  }
}

function wentDown(older: CounterSample, newer: CounterSample): boolean {
  return (
    newer.cacheHits < older.cacheHits ||
    newer.cacheMisses < older.cacheMisses ||
    (older.apiRequests !== undefined &&
      newer.apiRequests !== undefined &&
      newer.apiRequests < older.apiRequests)
  );
}

function hitRatioOf(
  oldest: CounterSample,
  newest: CounterSample,
): Pick<NodeRateFigures, 'hitRatio' | 'hitRatioScope'> {
  const hits = newest.cacheHits - oldest.cacheHits;
  const lookups = hits + newest.cacheMisses - oldest.cacheMisses;
  if (lookups > 0) return { hitRatio: hits / lookups, hitRatioScope: 'recent' };
  const total = newest.cacheHits + newest.cacheMisses;
  if (total > 0) return { hitRatio: newest.cacheHits / total, hitRatioScope: 'since start' };
  return { hitRatio: null, hitRatioScope: null };
}
