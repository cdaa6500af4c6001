import type { Registry } from 'prom-client';
import { collectedCounter, collectedGauge } from './collected-metrics.js';
import { HotPathHistogram, type HistogramChild } from './hot-path-histogram.js';
import { METRIC_PREFIX } from './metrics-registry.js';

/** The route label of a request no route matched (404, 405): never its path, which is unbounded. */
export const UNMATCHED_ROUTE = 'unmatched';

/**
 * Request durations, seconds: a warm read on a node answers in well under a millisecond, a send
 * through the router on the embedded store in tens, a failover's retries in seconds.
 */
export const HTTP_DURATION_BUCKETS_SECONDS: readonly number[] = Object.freeze([
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
]);

/** Methods kept as their own label value; any other (llhttp knows ~30) is `other`. */
const KNOWN_METHODS = new Set(['GET', 'POST', 'PUT', 'DELETE', 'HEAD', 'OPTIONS', 'PATCH']);

/** What a server holds and refused (createHttpServer's HttpServerLoad), read when scraped. */
export interface HttpLoadFigures {
  readonly connections: number;
  readonly requestsInFlight: number;
  readonly connectionsRefused: number;
  readonly requestsRefused: number;
}

/** One route and method's figures, made on its first request and kept (bounded by routes). */
interface RouteFigures {
  readonly route: string;
  readonly method: string;
  readonly duration: HistogramChild<'route' | 'method'>;
  bodyBytes: number;
  /** Answers by status code (100-599; anything else is 0), counted from the first. */
  readonly byStatus: number[];
}

/** What the server's response hook hands the metrics for each answer. */
export type HttpAnswerRecorder = (
  route: string,
  method: string,
  status: number,
  seconds: number,
  contentLength: string | undefined,
) => void;

/**
 * Request metrics for one server. createHttpServer's HttpTelemetry calls the returned recorder
 * from the one 'close' listener each request gets anyway (no hook, no promise per request), with
 * the route pattern the server's onRequest hook already read:
 *
 * - `chatring_http_requests_total{route,method,status}` and
 *   `chatring_http_request_duration_seconds{route,method}` (from the server's first onRequest hook,
 *   routing done, to the response's close, its last byte handed to the socket);
 * - `chatring_http_request_body_bytes_total{route,method}` (the declared content-length: how many
 *   bytes warm-handoff batches, sends and deliveries brought in);
 * - the server's load, read when scraped: connections and requests in flight, and those refused
 *   past their caps.
 *
 * `route` is fastify's route pattern (`/v1/users/:userId/conversations`), never the path, so no
 * user id or conversation id becomes a label; a request no route matched is `unmatched`. Label
 * sets are therefore bounded by routes x methods x statuses. Every request pays two map reads, a
 * bucket scan and a few additions: the counts are plain numbers read when scraped (prom-client's
 * own instruments hash their labels on every call, which measured as a visible share of a warm
 * read).
 */
export function registerHttpMetrics(registry: Registry, load: HttpLoadFigures): HttpAnswerRecorder {
  const duration = new HotPathHistogram(registry, {
    name: `${METRIC_PREFIX}http_request_duration_seconds`,
    help: 'Time from routing a request to sending the last byte of its answer, by route pattern and method.',
    labelNames: ['route', 'method'] as const,
    buckets: HTTP_DURATION_BUCKETS_SECONDS,
  });
  const byRoute = new Map<string, Map<string, RouteFigures>>();
  const allFigures: RouteFigures[] = [];
  collectedCounter(registry, {
    name: `${METRIC_PREFIX}http_requests_total`,
    help: 'HTTP requests answered, by route pattern, method and status.',
    labelNames: ['route', 'method', 'status'] as const,
    read: () =>
      allFigures.flatMap(({ route, method, byStatus }) =>
        byStatus.flatMap((value, status) =>
          value === undefined ? [] : [{ labels: { route, method, status: String(status) }, value }],
        ),
      ),
  });
  collectedCounter(registry, {
    name: `${METRIC_PREFIX}http_request_body_bytes_total`,
    help: 'Request body bytes received (as declared by content-length), by route pattern and method.',
    labelNames: ['route', 'method'] as const,
    read: () =>
      allFigures.map(({ route, method, bodyBytes }) => ({
        labels: { route, method },
        value: bodyBytes,
      })),
  });
  registerLoadMetrics(registry, load);

  const figuresOf = (route: string, method: string): RouteFigures => {
    let byMethod = byRoute.get(route);
    if (byMethod === undefined) {
      byMethod = new Map();
      byRoute.set(route, byMethod);
    }
    let figures = byMethod.get(method);
    if (figures === undefined) {
      figures = {
        route,
        method,
        duration: duration.child({ route, method }),
        bodyBytes: 0,
        byStatus: [],
      };
      byMethod.set(method, figures);
      allFigures.push(figures);
    }
    return figures;
  };

  return (route, givenMethod, givenStatus, seconds, contentLength) => {
    const method = KNOWN_METHODS.has(givenMethod) ? givenMethod : 'other';
    const figures = figuresOf(route, method);
    const status = givenStatus >= 100 && givenStatus <= 599 ? givenStatus : 0;
    figures.byStatus[status] = (figures.byStatus[status] ?? 0) + 1;
    figures.duration.observe(seconds);
    if (contentLength !== undefined && contentLength !== '0') {
      const bytes = Number(contentLength);
      if (Number.isSafeInteger(bytes) && bytes > 0) figures.bodyBytes += bytes;
    }
  };
}

function registerLoadMetrics(registry: Registry, load: HttpLoadFigures): void {
  collectedGauge(registry, {
    name: `${METRIC_PREFIX}http_connections`,
    help: 'Open HTTP connections counted against connectionsMax.',
    read: () => load.connections,
  });
  collectedGauge(registry, {
    name: `${METRIC_PREFIX}http_requests_in_flight`,
    help: 'HTTP requests being handled, counted against requestsInFlightMax.',
    read: () => load.requestsInFlight,
  });
  collectedCounter(registry, {
    name: `${METRIC_PREFIX}http_refused_total`,
    help: 'Connections and requests refused with 503 OVERLOADED past their caps, by what was refused.',
    labelNames: ['refused'] as const,
    read: () => [
      { labels: { refused: 'connection' }, value: load.connectionsRefused },
      { labels: { refused: 'request' }, value: load.requestsRefused },
    ],
  });
}
