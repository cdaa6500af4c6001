/** cache-node/: owns users; per-user lock, write-through, in-memory indices. */
export { startCacheNode, type CacheNodeOptions, type RunningCacheNode } from './cache-node.js';
export {
  MailboxService,
  cursorAfter,
  type MailboxServiceOptions,
  type OwnershipGuard,
  type DeliveryChannel,
} from './mailbox-service.js';
export {
  MailboxCache,
  DEFAULT_MAILBOX_CACHE_OPTIONS,
  type MailboxCacheOptions,
} from './mailbox-cache.js';
export { MailboxState } from './mailbox-state.js';
export {
  UserLockTable,
  DEFAULT_USER_LOCK_TABLE_OPTIONS,
  type UserLockTableOptions,
} from './user-lock-table.js';
export { Ownership } from './ownership.js';
export { Failpoints, failpointsFromEnvironment } from './failpoints.js';
export {
  Handoff,
  DEFAULT_HANDOFF_OPTIONS,
  type HandoffOptions,
  type WarmBatch,
} from './handoff.js';
