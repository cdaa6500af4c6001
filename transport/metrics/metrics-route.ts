import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';

/** Where every chatring process serves its metrics, on its own HTTP port. */
export const METRICS_PATH = '/metrics';

/**
 * `GET /metrics`: the registry in Prometheus' text format (version 0.0.4). Who may read it is the
 * access check's `metrics` class (transport/security/access-control.ts): anyone, unless metrics
 * tokens are configured. Collecting reads every component's figures once; nothing is computed
 * between scrapes.
 */
export function registerMetricsRoute(app: FastifyInstance, registry: Registry): void {
  app.get(METRICS_PATH, async (_request, reply) => {
    const text = await registry.metrics();
    return reply.header('content-type', registry.contentType).send(withSpecNaN(text));
  });
}

/**
 * prom-client writes a NaN value as `Nan` (the event-loop lag before its first sample); the format
 * says `NaN`. Prometheus reads either, stricter readers only the latter.
 */
function withSpecNaN(text: string): string {
  return text.includes(' Nan\n') || text.endsWith(' Nan') ? text.replace(/ Nan$/gm, ' NaN') : text;
}
