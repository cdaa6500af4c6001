import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Counter, Histogram, type Registry } from 'prom-client';
import { collectedCounter, collectedGauge } from './collected-metrics.js';
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

/** One route and method's instruments, made on its first request and kept (bounded by routes). */
interface RouteInstruments {
  observe: (seconds: number) => void;
  addBodyBytes: (bytes: number) => void;
  /** Counter children by status code (100-599), made on first use. */
  byStatus: ((value?: number) => void)[];
}

/**
 * Request metrics for one server, from one callback-style onResponse hook (no promise per request):
 *
 * - `chatring_http_requests_total{route,method,status}` and
 *   `chatring_http_request_duration_seconds{route,method}` (fastify's elapsed time: from routing to
 *   the last byte handed to the socket);
 * - `chatring_http_request_body_bytes_total{route,method}` (the declared content-length: how many
 *   bytes warm-handoff batches, sends and deliveries brought in);
 * - the server's load, read when scraped: connections and requests in flight, and those refused
 *   past their caps.
 *
 * `route` is fastify's route pattern (`/v1/users/:userId/conversations`), never the path, so no
 * user id or conversation id becomes a label; a request no route matched is `unmatched`. Label
 * sets are therefore bounded by routes x methods x statuses, and each one's prom-client child is
 * looked up once and kept, so a request costs two map reads and two array reads.
 */
export function installHttpMetrics(
  app: FastifyInstance,
  registry: Registry,
  load: HttpLoadFigures,
): void {
  const requests = new Counter({
    name: `${METRIC_PREFIX}http_requests_total`,
    help: 'HTTP requests answered, by route pattern, method and status.',
    labelNames: ['route', 'method', 'status'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: `${METRIC_PREFIX}http_request_duration_seconds`,
    help: 'Time from routing a request to sending the last byte of its answer, by route pattern and method.',
    labelNames: ['route', 'method'] as const,
    buckets: [...HTTP_DURATION_BUCKETS_SECONDS],
    registers: [registry],
  });
  const bodyBytes = new Counter({
    name: `${METRIC_PREFIX}http_request_body_bytes_total`,
    help: 'Request body bytes received (as declared by content-length), by route pattern and method.',
    labelNames: ['route', 'method'] as const,
    registers: [registry],
  });
  registerLoadMetrics(registry, load);

  const byRoute = new Map<string, Map<string, RouteInstruments>>();
  const instrumentsOf = (route: string, method: string): RouteInstruments => {
    let byMethod = byRoute.get(route);
    if (byMethod === undefined) {
      byMethod = new Map();
      byRoute.set(route, byMethod);
    }
    let instruments = byMethod.get(method);
    if (instruments === undefined) {
      const child = duration.labels({ route, method });
      const bytes = bodyBytes.labels({ route, method });
      instruments = {
        observe: (seconds) => child.observe(seconds),
        addBodyBytes: (count) => bytes.inc(count),
        byStatus: [],
      };
      byMethod.set(method, instruments);
    }
    return instruments;
  };
  const countStatus = (
    instruments: RouteInstruments,
    route: string,
    method: string,
    status: number,
  ) => {
    let inc = instruments.byStatus[status];
    if (inc === undefined) {
      const child = requests.labels({ route, method, status: String(status) });
      inc = (value?: number) => child.inc(value);
      instruments.byStatus[status] = inc;
    }
    inc();
  };

  app.addHook('onResponse', (request: FastifyRequest, reply: FastifyReply, done) => {
    const route = routeLabel(request);
    const method = KNOWN_METHODS.has(request.method) ? request.method : 'other';
    const instruments = instrumentsOf(route, method);
    const status = reply.statusCode;
    countStatus(instruments, route, method, status >= 100 && status <= 599 ? status : 0);
    instruments.observe(reply.elapsedTime / 1_000);
    const length = request.headers['content-length'];
    if (length !== undefined && length !== '0') {
      const bytes = Number(length);
      if (Number.isSafeInteger(bytes) && bytes > 0) instruments.addBodyBytes(bytes);
    }
    done();
  });
}

/** The route pattern a request matched, or `unmatched` (the not-found handler's requests). */
function routeLabel(request: FastifyRequest): string {
  if (request.is404) return UNMATCHED_ROUTE;
  return request.routeOptions.url ?? UNMATCHED_ROUTE;
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
