import {
  ChatringError,
  type MailboxConversationRow,
  type MailboxMessage,
  type Message,
} from '../protocol/index.js';

/**
 * The store interface, shaped by the access patterns of the cache node and by Cassandra's rules,
 * not SQLite's strengths:
 *  - every operation names one mailbox owner (one partition key); nothing spans two users;
 *  - no secondary indexes are assumed: each read is a key or a range of a clustering order;
 *  - every write is idempotent, so a retry after a timeout is always safe.
 *
 * A mailbox is one user's full copy of their conversations. Every change the owner commits to it
 * gets the next mailbox version (1, 2, 3, ...); the version is the cursor clients sync by.
 *
 * Commits are compare-and-set on the version (the store's own fence against a stale owner): a
 * commit of version v applies only if the mailbox stands at v-1; re-sending the commit that set v
 * (same commitId) is a no-op success; anything else throws StoreVersionConflictError and changes
 * nothing. After a conflict the caller must drop what it cached for the user and reload.
 */

/** A message as stored in one owner's mailbox, with the mailbox version that added it (the same
 * shape travels between nodes in a warm handoff, so it is defined once, in protocol/). */
export type StoredMessage = MailboxMessage;

/** A conversation row of one owner's mailbox; conversations list most recent first by
 * `lastUpdatedTimestamp`. Defined once in protocol/, where it also travels between nodes. */
export type ConversationRow = MailboxConversationRow;

interface CommitBase {
  ownerId: string;
  /** Must be exactly the stored version + 1. */
  version: number;
  /** Unique per commit; re-sending a commit with the same id and version is a no-op success. */
  commitId: string;
  /** The conversation row as it stands after this commit. */
  conversation: ConversationRow;
}

/** A message enters the owner's mailbox (sent by or to the owner). */
export interface MessageCommit extends CommitBase {
  kind: 'message';
  message: Message;
}

/** The owner read a conversation: its unread count drops to 0. */
export interface ReadCommit extends CommitBase {
  kind: 'read';
}

export type MailboxCommit = MessageCommit | ReadCommit;

export interface MessagePageQuery {
  limit: number;
  /** Only messages with sentAt strictly less than this (paging back in time). */
  sentBefore?: number;
  /** Only messages with sentAt strictly greater than this (the timestamp delta). */
  sentAfter?: number;
}

export interface MailboxStore {
  /** `embedded` or `cassandra`: shown in status output and bench tables. */
  readonly kind: string;

  /** Applies a commit atomically (all its rows or none become readable); see the CAS rule above. */
  commit(commit: MailboxCommit): Promise<void>;

  /** The committed version of a mailbox; 0 for a mailbox never written. */
  mailboxVersion(ownerId: string): Promise<number>;

  /** The owner's conversations, most recently updated first, at most `limit`. */
  recentConversations(ownerId: string, limit: number): Promise<ConversationRow[]>;

  conversation(ownerId: string, conversationId: string): Promise<ConversationRow | undefined>;

  /** Conversation rows whose version is greater than `afterVersion`, in ascending version, at most `limit`. */
  conversationsChangedAfter(
    ownerId: string,
    afterVersion: number,
    limit: number,
  ): Promise<ConversationRow[]>;

  /** A conversation's messages in the owner's copy, newest first (by sentAt). */
  messagesPage(
    ownerId: string,
    conversationId: string,
    query: MessagePageQuery,
  ): Promise<StoredMessage[]>;

  /** Messages that entered the conversation after `afterVersion`, in ascending version, at most `limit`. */
  messagesChangedAfter(
    ownerId: string,
    conversationId: string,
    afterVersion: number,
    limit: number,
  ): Promise<StoredMessage[]>;

  /**
   * The owner's copy of the message `senderId` sent with `clientMessageId`, if any (the idempotency
   * index); the newest when the id was used again after the idempotency window (both are kept).
   */
  messageByClientId(
    ownerId: string,
    senderId: string,
    clientMessageId: string,
  ): Promise<StoredMessage | undefined>;

  /**
   * The store's own figures, if it keeps any (for node stats and the bench), cheap enough to read
   * on every stats request; see StoreStats for the two kinds. What each means is the store's to
   * document (EmbeddedStoreStats, CassandraStoreStats).
   */
  stats?(): StoreStats;

  close(): Promise<void>;
}

/**
 * A store's figures by name (see MailboxStore.stats), split by kind so a reader need not know the
 * names: the kind decides what arithmetic makes sense.
 */
export interface StoreStats {
  /**
   * Totals since the store opened, which only grow: a window's work is after minus before, and
   * several stores' counters add up.
   */
  readonly counters: StoreFigures;
  /**
   * Levels as they stand (a queue's length) or high-water marks (the largest batch): read as they
   * are, never differenced or added up.
   */
  readonly gauges: StoreFigures;
}

/** Plain numbers by name. */
export type StoreFigures = Readonly<Record<string, number>>;

/** The store refused a commit because the mailbox is not at version - 1: another writer moved it. */
export class StoreVersionConflictError extends ChatringError {
  declare readonly code: 'STORE_VERSION_CONFLICT';

  constructor(
    readonly ownerId: string,
    readonly expectedVersion: number,
    readonly storedVersion: number,
  ) {
    super(
      'STORE_VERSION_CONFLICT',
      `mailbox ${ownerId} is at version ${storedVersion}, commit expected ${expectedVersion}`,
    );
    this.name = 'StoreVersionConflictError';
  }
}
