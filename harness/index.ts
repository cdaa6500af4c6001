/**
 * harness/: what tests and benchmarks both need to drive a real chatring from outside — one local
 * cluster launcher, one client of the public API, one check of the acknowledged history, and the
 * scratch resources around them (Cassandra keyspaces, temporary directories). It knows no test
 * framework: test/helpers ties its stop() and drop() calls to tap's teardown.
 */
export {
  ApiClient,
  DEFAULT_API_CLIENT_OPTIONS,
  uniqueUser,
  type ApiClientOptions,
  type ApiResponse,
  type PageQuery,
} from './api-client.js';
export { clientApi, type MessagingApi } from './client-api.js';
export {
  CASSANDRA_STARTED_FOR_TESTS,
  cassandraFromEnvironment,
  locateCassandra,
  openScratchKeyspace,
  type CassandraLocation,
  type ScratchKeyspace,
} from './cassandra.js';
export { waitUntilServing } from './cluster-readiness.js';
export {
  CONVERSATION_PAGES_MAX,
  readConversation,
  readMailboxCopies,
} from './conversation-reader.js';
export { eventually } from './eventually.js';
export {
  HISTORY_VIOLATION_KINDS,
  countViolations,
  findHistoryViolations,
  type AcknowledgedSend,
  type HistoryViolation,
  type HistoryViolationKind,
  type MailboxCopy,
} from './history-check.js';
export { getJson, LOOKUP_TIMEOUT_MS_DEFAULT } from './http-json.js';
export {
  CHATRING_ENTRY,
  DEFAULT_LOCAL_CLUSTER_OPTIONS,
  startLocalCluster,
  type LocalCluster,
  type LocalClusterOptions,
} from './local-cluster.js';
export {
  NODE_COUNTER_NAMES,
  NODE_STATS_PATH,
  numbersOf,
  readNodeStats,
  sumCounters,
  sumStoreCounters,
  type NodeCounters,
  type NodeStatsView,
} from './node-stats.js';
export { repositoryRoot } from './repository-root.js';
export { TemporaryDirectory } from './temporary-directory.js';
