import type { PeerClient } from '../../transport/index.js';
import { parsePrometheusText } from '../../transport/metrics/index.js';

/** A node's own statistics route (cache-node/node-server.ts): operator class. */
export const NODE_STATS_PATH = '/internal/v1/stats';
/** A node's Prometheus metrics, when it serves them (transport/metrics). */
export const NODE_METRICS_PATH = '/metrics';

/** Requests a node served, by route: the API routes (`/v1/…`) are summed into its request rate. */
export const REQUESTS_METRIC = 'chatring_http_requests_total';
/** The node's cache budget (`--cache-bytes-max`), the denominator of its cache fill. */
export const CACHE_BYTES_BUDGET_METRIC = 'chatring_cache_bytes_budget';
const API_ROUTE_PREFIX = '/v1/';

/** What a node's own routes told the router: its stats, and its metrics when it serves them. */
export interface NodeReport {
  /** The ring epoch the node routes by. */
  epoch: number | undefined;
  slots: string[];
  /** How long the node may still serve by its own clock. */
  leaseRemainingMs: number | undefined;
  cacheHits: number;
  cacheMisses: number;
  storeLoads: number;
  cachedUsers: number;
  cachedBytes: number;
  /** From the metrics; undefined when the node serves none (turned off, refused, older build). */
  cacheBytesBudget: number | undefined;
  /** Requests to the node's API routes since it started, from the metrics; undefined likewise. */
  apiRequests: number | undefined;
  pendingRepairs: number;
  handoff: HandoffFigures;
  /** Why the metrics' figures are missing ('' when they are there). */
  metricsProblem: string;
}

export interface HandoffFigures {
  releasedUsers: number;
  warmUsersSent: number;
  warmUsersReceived: number;
  warmUsersAdopted: number;
  warmUsersFailed: number;
}

/**
 * Asks one node for its stats and metrics, in parallel, within the client's deadline. The stats
 * decide whether the node is reachable (their failure throws: OWNER_UNAVAILABLE, or the refusal's
 * catalogue code); missing metrics only leave their figures out.
 */
export async function readNodeReport(
  peers: PeerClient,
  nodeUrl: string,
  headers: Record<string, string>,
): Promise<NodeReport> {
  const [stats, metrics] = await Promise.all([
    peers.call<unknown>(nodeUrl, { method: 'GET', path: NODE_STATS_PATH, headers }),
    peers
      .relay(nodeUrl, { method: 'GET', path: NODE_METRICS_PATH, headers })
      .then((answer) =>
        answer.statusCode === 200
          ? { text: answer.bytes.toString('utf8'), problem: '' }
          : { text: '', problem: `metrics answered HTTP ${answer.statusCode}` },
      )
      .catch((error: unknown) => ({ text: '', problem: (error as Error).message })),
  ]);
  return nodeReportOf(stats, metrics.text, metrics.problem);
}

/**
 * Why a node's report is missing, short enough for a table cell: an unreachable node as "not
 * answering" with the transport's reason (the client's message repeats the URL and path), a
 * refusal as its catalogue code and message.
 */
export function nodeProblemOf(error: unknown): string {
  const { code, message } = error as { code?: unknown; message?: unknown };
  const text = typeof message === 'string' ? message : String(error);
  if (code === 'OWNER_UNAVAILABLE') {
    const at = text.lastIndexOf(' failed: ');
    return `not answering: ${at < 0 ? text : text.slice(at + ' failed: '.length)}`;
  }
  return typeof code === 'string' ? `${code}: ${text}` : text;
}

/** A node's report from its stats document and its metrics text; anything missing counts 0. */
export function nodeReportOf(stats: unknown, metricsText: string, metricsProblem = ''): NodeReport {
  const document = objectOf(stats);
  const service = objectOf(document.service);
  const cache = objectOf(document.cache);
  const handoff = objectOf(document.handoff);
  let metrics: ReturnType<typeof metricFigures> = {
    apiRequests: undefined,
    cacheBytesBudget: undefined,
  };
  let unreadable = '';
  try {
    metrics = metricFigures(metricsText);
  } catch (error) {
    unreadable = `metrics unreadable: ${(error as Error).message}`;
  }
  const missing =
    metricsProblem !== ''
      ? metricsProblem
      : unreadable !== ''
        ? unreadable
        : metrics.apiRequests === undefined
          ? `no ${REQUESTS_METRIC} in the metrics`
          : '';
  return {
    epoch: finiteOrUndefined(document.epoch),
    slots: Array.isArray(document.slots)
      ? document.slots.filter((slot): slot is string => typeof slot === 'string')
      : [],
    leaseRemainingMs: finiteOrUndefined(document.leaseRemainingMs),
    cacheHits: count(service.cacheHits),
    cacheMisses: count(service.cacheMisses),
    storeLoads: count(service.storeLoads),
    cachedUsers: count(cache.users),
    cachedBytes: count(cache.bytes),
    cacheBytesBudget: metrics.cacheBytesBudget,
    apiRequests: metrics.apiRequests,
    pendingRepairs: count(document.pendingRepairs),
    handoff: {
      releasedUsers: count(handoff.releasedUsers),
      warmUsersSent: count(handoff.warmUsersSent),
      warmUsersReceived: count(handoff.warmUsersReceived),
      warmUsersAdopted: count(handoff.warmUsersAdopted),
      warmUsersFailed: count(handoff.warmUsersFailed),
    },
    metricsProblem: missing,
  };
}

/**
 * The two figures the page takes from a node's metrics; undefined when a metric is absent. Read
 * with the strict reader `GET /metrics` is tested with (transport/metrics): text that does not
 * parse throws, and the report shows why instead of figures.
 */
export function metricFigures(text: string): {
  apiRequests: number | undefined;
  cacheBytesBudget: number | undefined;
} {
  const families = parsePrometheusText(text);
  const requests = families.get(REQUESTS_METRIC);
  const budget = families.get(CACHE_BYTES_BUDGET_METRIC)?.samples[0]?.value;
  let apiRequests: number | undefined;
  if (requests !== undefined) {
    apiRequests = 0; // the metric is there, no API request counted yet
    for (const sample of requests.samples)
      if (sample.labels.route?.startsWith(API_ROUTE_PREFIX) === true) apiRequests += sample.value;
  }
  return { apiRequests, cacheBytesBudget: budget };
}

function objectOf(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
}

function count(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : 0;
}

function finiteOrUndefined(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}
