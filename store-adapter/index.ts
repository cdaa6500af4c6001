/** store-adapter/: the MailboxStore interface and its implementations. */
export * from './mailbox-store.js';
export { EmbeddedStore, type EmbeddedStoreOptions } from './embedded-store.js';
export { openStore, type StoreOptions } from './open-store.js';
export { openCassandraStore, CassandraStore, type CassandraStoreHooks } from './cassandra-store.js';
export {
  parseCassandraOptions,
  DEFAULT_CASSANDRA_STORE_OPTIONS,
  type CassandraStoreOptions,
} from './cassandra-options.js';
export { CASSANDRA_SCHEMA_VERSION } from './cassandra-schema.js';
