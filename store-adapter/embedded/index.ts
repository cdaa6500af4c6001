/** The embedded (SQLite) store. */
export { EmbeddedStore } from './embedded-store.js';
export { EmbeddedCommitServer, type CommitServerOptions } from './commit-server.js';
export {
  DEFAULT_EMBEDDED_STORE_OPTIONS,
  GROUP_COMMIT_MAX_COMMITS_MAX,
  GROUP_COMMIT_WAIT_MS_MAX,
  type EmbeddedStoreOptions,
} from './options.js';
export type {
  EmbeddedStoreCounters,
  EmbeddedStoreGauges,
  EmbeddedStoreStats,
} from './group-commit.js';
