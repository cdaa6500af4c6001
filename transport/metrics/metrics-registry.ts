import { Gauge, Registry, collectDefaultMetrics } from 'prom-client';

/** Every chatring metric name starts with this (Prometheus' convention: one prefix per program). */
export const METRIC_PREFIX = 'chatring_';

/** Who a process is, for its info metric. */
export interface MetricsIdentity {
  /** `router` or `node`. */
  component: string;
  /** The member id (`router`, `node-1`, ...): one per process, so a bounded label. */
  member: string;
}

/**
 * One process's metrics: a prom-client Registry of its own, never prom-client's global one (tests
 * run several routers and nodes in one process, and each must scrape only its own figures). It
 * holds Node's default process metrics under `chatring_` (CPU, heap, event-loop lag, GC, handles,
 * file descriptors), read when scraped, and `chatring_process_info{component,member} 1`, which
 * names the process so dashboards can join on it. Components add their own metrics to it
 * (createHttpServer, the router, the node), and `GET /metrics` serves it.
 */
export function createMetricsRegistry(identity: MetricsIdentity): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: METRIC_PREFIX });
  const info = new Gauge({
    name: `${METRIC_PREFIX}process_info`,
    help: 'Always 1: which chatring component and member this process is.',
    labelNames: ['component', 'member'] as const,
    registers: [registry],
  });
  info.set({ component: identity.component, member: identity.member }, 1);
  return registry;
}
