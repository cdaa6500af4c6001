/** store-adapter/: the MailboxStore interface and its implementations. */
export * from './mailbox-store.js';
export {
  EmbeddedStore,
  EmbeddedCommitServer,
  DEFAULT_EMBEDDED_STORE_OPTIONS,
  GROUP_COMMIT_MAX_COMMITS_MAX,
  GROUP_COMMIT_WAIT_MS_MAX,
  type EmbeddedStoreOptions,
  type EmbeddedStoreCounters,
  type EmbeddedStoreGauges,
  type EmbeddedStoreStats,
} from './embedded/index.js';
export { embeddedStorePath, openStore, type StoreHooks, type StoreOptions } from './open-store.js';
export {
  openCassandraStore,
  CassandraStore,
  parseCassandraOptions,
  DEFAULT_CASSANDRA_STORE_OPTIONS,
  type CassandraStoreCounters,
  type CassandraStoreHooks,
  type CassandraStoreOptions,
  type CassandraStoreStats,
  type CassandraTlsOptions,
  type KeyspaceReplication,
} from './cassandra/index.js';
