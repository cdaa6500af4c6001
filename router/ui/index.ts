/** router/ui/: the live ring page a router serves at /ui, and the state it polls at /ui/state. */
export {
  registerRingPage,
  RING_PAGE_PATHS,
  type RingPageDependencies,
} from './ring-page-routes.js';
export {
  RING_PAGE_TIMINGS,
  RingPageSource,
  type ForwardedHeaders,
  type RingPageSourceDependencies,
} from './ring-page-source.js';
export {
  FINISHED_CHANGE_SHOWN_MS,
  ringPageStateOf,
  type ChangeLine,
  type NodeReading,
  type RingPageInput,
  type RingPageNode,
  type RingPageState,
} from './ring-page-state.js';
export {
  CACHE_BYTES_BUDGET_METRIC,
  NODE_METRICS_PATH,
  NODE_STATS_PATH,
  REQUESTS_METRIC,
  metricFigures,
  nodeProblemOf,
  nodeReportOf,
  readNodeReport,
  type HandoffFigures,
  type NodeReport,
} from './node-report.js';
export {
  DEFAULT_NODE_RATES_OPTIONS,
  NodeRates,
  type CounterSample,
  type NodeRateFigures,
  type NodeRatesOptions,
} from './node-rates.js';
export { RingChangeWatch, type WatchedChange } from './ring-change-watch.js';
export {
  RING_PAGE_CONTENT_SECURITY_POLICY,
  RING_PAGE_HTML,
  RING_PAGE_SCRIPT,
} from './ring-page-html.js';
