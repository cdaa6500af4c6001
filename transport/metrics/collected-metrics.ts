import { Counter, Gauge, type Registry } from 'prom-client';

/** One sample of a collected metric: its labels (bounded values only) and its value. */
export interface CollectedSample<L extends string> {
  labels: Partial<Record<L, string>>;
  value: number;
}

/** What a collected metric reads when scraped: one unlabelled value, or samples by label. */
export type CollectedRead<L extends string> = () => number | readonly CollectedSample<L>[];

interface CollectedMetricSpec<L extends string> {
  name: string;
  help: string;
  labelNames?: readonly L[];
  read: CollectedRead<L>;
}

/**
 * A counter whose value a component already keeps (a stats field that only grows): read when
 * Prometheus scrapes, never counted a second time on the hot path. The component's figure is the
 * one source; this only shows it. Negative or non-finite reads are shown as 0 (a counter never
 * goes down, and a bug must not break the whole scrape).
 */
export function collectedCounter<L extends string = never>(
  registry: Registry,
  spec: CollectedMetricSpec<L>,
): Counter<L> {
  return new Counter<L>({
    name: spec.name,
    help: spec.help,
    labelNames: spec.labelNames ?? [],
    registers: [registry],
    collect() {
      this.reset();
      for (const sample of samplesOf(spec.read()))
        this.inc(sample.labels, Math.max(0, finite(sample.value)));
    },
  });
}

/** A gauge read when scraped (a level: cached bytes, lease left, queue depth, ring epoch). */
export function collectedGauge<L extends string = never>(
  registry: Registry,
  spec: CollectedMetricSpec<L>,
): Gauge<L> {
  return new Gauge<L>({
    name: spec.name,
    help: spec.help,
    labelNames: spec.labelNames ?? [],
    registers: [registry],
    collect() {
      this.reset();
      for (const sample of samplesOf(spec.read())) this.set(sample.labels, finite(sample.value));
    },
  });
}

function samplesOf<L extends string>(
  read: number | readonly CollectedSample<L>[],
): readonly CollectedSample<L>[] {
  return typeof read === 'number' ? [{ labels: {}, value: read }] : read;
}

function finite(value: number): number {
  return Number.isFinite(value) ? value : 0;
}
