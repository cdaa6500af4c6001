/** cache-node/: owns users; per-user lock, write-through, in-memory indices, warm handoff. */
export {
  startCacheNode,
  resolveCacheNodeOptions,
  DEFAULT_CACHE_NODE_OPTIONS,
  type CacheNodeOptions,
  type ResolvedCacheNodeOptions,
  type RunningCacheNode,
} from './cache-node.js';
export {
  MailboxService,
  DEFAULT_MAILBOX_SERVICE_OPTIONS,
  type MailboxServiceOptions,
} from './mailbox-service.js';
export type {
  OwnershipGuard,
  DeliveryChannel,
  MailboxServiceDependencies,
} from './mailbox-dependencies.js';
export { cursorAfter } from './mailbox-reads.js';
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
export {
  RepairQueue,
  DEFAULT_REPAIR_QUEUE_OPTIONS,
  type RepairQueueOptions,
} from './repair-queue.js';
export { Ownership, DEFAULT_OWNERSHIP_OPTIONS, type OwnershipOptions } from './ownership.js';
export { Failpoints, failpointsFromEnvironment } from './failpoints.js';
export {
  Handoff,
  DEFAULT_HANDOFF_OPTIONS,
  type HandoffOptions,
  type HandoffStats,
} from './handoff.js';
