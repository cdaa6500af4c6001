import { Counter, Gauge, type Registry } from 'prom-client';
import { settleWithin } from '../protocol/index.js';
import type { ControlPlane } from '../control-plane/index.js';
import type { RingView } from '../ring/index.js';
import { METRIC_PREFIX, collectedGauge } from '../transport/metrics/index.js';

const P = METRIC_PREFIX;

/** A scrape waits at most this long for the control plane to answer its probe. */
export const CONTROL_PLANE_PROBE_TIMEOUT_MS = 1_000;

/** What a router's metrics read when scraped. */
export interface RouterMetricSources {
  ring: () => RingView | undefined;
  /** Probed once per scrape: can this router read the ring from its control plane now? */
  controlPlane: Pick<ControlPlane, 'backend' | 'currentRing'>;
}

/** The router's ring refreshes (after a failed attempt), counted by outcome. */
export interface RingRefreshCounter {
  (outcome: 'ok' | 'failed'): void;
}

/**
 * A router's own metrics (HTTP requests are createHttpServer's, retries OwnerClient's): the ring it
 * routes by (epoch, slots, owners known), whether its control plane answers (probed when scraped,
 * bounded by CONTROL_PLANE_PROBE_TIMEOUT_MS, so an unreachable Redis shows as 0, not as a failed
 * scrape), and its ring refreshes. Returns the refresh counter for the router's refreshRing.
 */
export function registerRouterMetrics(
  registry: Registry,
  sources: RouterMetricSources,
): RingRefreshCounter {
  collectedGauge(registry, {
    name: `${P}ring_epoch`,
    help: 'The epoch of the ring this process routes or serves by.',
    read: () => sources.ring()?.epoch ?? 0,
  });
  collectedGauge(registry, {
    name: `${P}ring_slots`,
    help: 'Slots in the ring this router routes by.',
    read: () => sources.ring()?.config.slots.length ?? 0,
  });
  collectedGauge(registry, {
    name: `${P}ring_owners`,
    help: 'Nodes that own at least one slot in the ring this router routes by (the owners it forwards to).',
    read: () => new Set(sources.ring()?.config.slots.map((slot) => slot.nodeId)).size,
  });
  registerControlPlaneProbe(registry, sources.controlPlane);
  const refreshes = new Counter({
    name: `${P}ring_refreshes_total`,
    help: 'Ring reads from the control plane after a failed forward, by outcome.',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const ok = refreshes.labels({ outcome: 'ok' });
  const failed = refreshes.labels({ outcome: 'failed' });
  ok.inc(0);
  failed.inc(0);
  return (outcome) => (outcome === 'ok' ? ok : failed).inc();
}

function registerControlPlaneProbe(
  registry: Registry,
  controlPlane: RouterMetricSources['controlPlane'],
): void {
  // One probe per scrape, shared by the two gauges that show it (both collect while it runs).
  let probing: Promise<{ up: boolean; seconds: number }> | undefined;
  const probe = () =>
    (probing ??= (async () => {
      const startedAt = performance.now();
      const answered = await settleWithin(
        controlPlane.currentRing().then(
          () => true,
          () => false,
        ),
        CONTROL_PLANE_PROBE_TIMEOUT_MS,
      );
      return { up: answered === true, seconds: (performance.now() - startedAt) / 1_000 };
    })().finally(() => (probing = undefined)));
  new Gauge({
    name: `${P}control_plane_up`,
    help: 'Whether the control plane answered a ring read when scraped (1) or not within 1 s (0), by backend.',
    labelNames: ['backend'] as const,
    registers: [registry],
    async collect() {
      const { up } = await probe();
      this.reset();
      this.set({ backend: controlPlane.backend }, up ? 1 : 0);
    },
  });
  new Gauge({
    name: `${P}control_plane_probe_seconds`,
    help: "How long the scrape's ring read from the control plane took (at most 1 s: then it counts as down).",
    registers: [registry],
    async collect() {
      this.set((await probe()).seconds);
    },
  });
}
