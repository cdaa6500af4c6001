import type { DeliverResponse, Message } from '../protocol/index.js';
import type { MailboxStore } from '../store-adapter/index.js';
import type { LogThrottle } from '../transport/index.js';
import type { Failpoints } from './failpoints.js';
import type { MailboxCache } from './mailbox-cache.js';
import type { UserLockTable } from './user-lock-table.js';

/** Answers whether this node may serve a user now; throws NOT_OWNER or OWNER_UNAVAILABLE if not. */
export interface OwnershipGuard {
  assertServing(userId: string): void;
}

/** Writes the other participant's copy through that user's owner (this node or a peer). */
export interface DeliveryChannel {
  /** `requestId`: the send's, carried to the other owner so its log lines carry it too. */
  deliver(message: Message, requestId?: string): Promise<DeliverResponse>;
}

/** What the data path needs from the rest of the node (injected, so unit tests can steer each). */
export interface MailboxServiceDependencies {
  store: MailboxStore;
  locks: UserLockTable;
  cache: MailboxCache;
  ownership: OwnershipGuard;
  delivery: DeliveryChannel;
  /** Wall clock in epoch ms (injected so tests can drive it). */
  now: () => number;
  failpoints?: Failpoints;
  /** Store failures, at most a line a second per kind (LogThrottle); none: silent. */
  storeErrors?: LogThrottle;
}
