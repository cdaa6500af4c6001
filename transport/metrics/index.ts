/**
 * transport/metrics/: Prometheus metrics, the same way in every process. A per-process registry
 * (default process metrics under `chatring_`), the HTTP request metrics createHttpServer installs,
 * the `GET /metrics` route, helpers for figures a component already keeps (read when scraped,
 * never counted twice), and a strict reader of the text format for tests and tools.
 */
export { createMetricsRegistry, METRIC_PREFIX, type MetricsIdentity } from './metrics-registry.js';
export {
  collectedCounter,
  collectedGauge,
  type CollectedRead,
  type CollectedSample,
} from './collected-metrics.js';
export {
  registerHttpMetrics,
  type HttpAnswerRecorder,
  HTTP_DURATION_BUCKETS_SECONDS,
  UNMATCHED_ROUTE,
  type HttpLoadFigures,
} from './http-metrics.js';
export { registerMetricsRoute, METRICS_PATH } from './metrics-route.js';
export { HotPathHistogram, type HistogramChild } from './hot-path-histogram.js';
export { withMetricsTokens } from './metrics-access.js';
export { ownerRetryMetrics } from './owner-retry-metrics.js';
export { OWNER_RETRY_REASONS, type OwnerRetryReason } from '../owner-client.js';
export {
  parsePrometheusText,
  sampleSum,
  samplesOf,
  type MetricFamily,
  type MetricSample,
  type MetricType,
} from './prometheus-text.js';
export type { Registry } from 'prom-client';
