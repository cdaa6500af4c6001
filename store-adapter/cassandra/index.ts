/** store-adapter/cassandra/: the Cassandra store, reached by the rest of chatring through store-adapter/index.ts. */
export { openCassandraStore, CassandraStore, type CassandraStoreStats } from './cassandra-store.js';
export type { CassandraStoreHooks } from './commit-protocol.js';
export {
  emptyCassandraStoreCounters,
  type CassandraStoreCounters,
  type QueryKind,
  type QueryObserver,
} from './query-runner.js';
export {
  parseCassandraOptions,
  DEFAULT_CASSANDRA_STORE_OPTIONS,
  type CassandraStoreOptions,
  type CassandraTlsOptions,
  type KeyspaceReplication,
} from './options.js';
