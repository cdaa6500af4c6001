/** store-adapter/: the MailboxStore interface and its implementations. */
export * from './mailbox-store.js';
export { EmbeddedStore, type EmbeddedStoreOptions } from './embedded-store.js';
export { openStore, type StoreOptions } from './open-store.js';
