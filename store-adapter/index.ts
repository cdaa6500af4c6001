/** store-adapter/: the MailboxStore interface and its implementations. */
export * from './mailbox-store.js';
export {
  EmbeddedStore,
  DEFAULT_EMBEDDED_STORE_OPTIONS,
  type EmbeddedStoreOptions,
} from './embedded-store.js';
export { openStore, type StoreOptions } from './open-store.js';
export {
  openCassandraStore,
  CassandraStore,
  parseCassandraOptions,
  DEFAULT_CASSANDRA_STORE_OPTIONS,
  type CassandraStoreHooks,
  type CassandraStoreOptions,
  type CassandraTlsOptions,
  type KeyspaceReplication,
} from './cassandra/index.js';
