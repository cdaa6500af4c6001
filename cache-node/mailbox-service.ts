import { randomUUID } from 'node:crypto';
import {
  ChatringError,
  SNIPPET_CHARS_MAX,
  conversationIdOf,
  encodeCursor,
  orderedPair,
  participantsOf,
  type ConversationSummary,
  type ConversationsResponse,
  type DeliverResponse,
  type ListQuery,
  type MarkReadResponse,
  type Message,
  type MessagesResponse,
  type SendMessageRequest,
  type SendMessageResponse,
} from '../protocol/index.js';
import {
  StoreVersionConflictError,
  type ConversationRow,
  type MailboxCommit,
  type MailboxStore,
  type StoredMessage,
} from '../store-adapter/index.js';
import { MailboxCache } from './mailbox-cache.js';
import { MailboxState, byRecency } from './mailbox-state.js';
import { UserLockTable } from './user-lock-table.js';
import type { Failpoints } from './failpoints.js';
import { RepairQueue } from './repair-queue.js';

/** Answers whether this node may serve a user now; throws NOT_OWNER or OWNER_UNAVAILABLE if not. */
export interface OwnershipGuard {
  assertServing(userId: string): void;
}

/** Writes the other participant's copy through that user's owner (this node or a peer). */
export interface DeliveryChannel {
  deliver(message: Message): Promise<DeliverResponse>;
}

export interface MailboxServiceOptions {
  /**
   * Conversations loaded when a user's mailbox is first touched (the recent ones).
   * @default 200
   */
  recentConversationsLoaded: number;
  /**
   * Messages loaded into a conversation's window when it is first read.
   * @default 100
   */
  windowMessagesLoaded: number;
  /**
   * First retry of a coordinator copy whose commit failed after the other copy was written;
   * later retries back off exponentially (to 30 s).
   * @default 1000
   */
  repairDelayMs: number;
  /**
   * Retries before a half-sent message is left to the client's own retry.
   * @default 20
   */
  repairAttemptsMax: number;
  /**
   * Half-sent messages awaiting repair at once; past it, new ones are left to the client's retry.
   * @default 10000
   */
  repairsMax: number;
}

export const DEFAULT_MAILBOX_SERVICE_OPTIONS: Readonly<MailboxServiceOptions> = Object.freeze({
  recentConversationsLoaded: 200,
  windowMessagesLoaded: 100,
  repairDelayMs: 1_000,
  repairAttemptsMax: 20,
  repairsMax: 10_000,
});

export interface MailboxServiceDependencies {
  store: MailboxStore;
  locks: UserLockTable;
  cache: MailboxCache;
  ownership: OwnershipGuard;
  delivery: DeliveryChannel;
  /** Wall clock in epoch ms (injected so tests can drive it). */
  now: () => number;
  failpoints?: Failpoints;
}

export interface MailboxServiceStats {
  storeLoads: number;
  cacheHits: number;
  cacheMisses: number;
}

/**
 * The cache node's data path. Every write: take the user's lock, write through to the store, then
 * update the in-memory indices, then answer. Reads come from memory when the cached range covers
 * them, else from the store.
 *
 * A send touches two mailboxes. To stay deadlock-free when two users send to each other at once,
 * the locks are always taken in one global order: the node owning the lower user id of the pair
 * (the *coordinator*) locks that user, asks the other user's owner to write its copy (which locks
 * the higher id), then writes its own copy with the same id and sentAt. The higher-id copy is
 * always written first, and it fixes sentAt strictly above the conversation's last; so a
 * coordinator copy that exists proves both do, and a retry finds the original message in either.
 */
export class MailboxService {
  readonly #deps: MailboxServiceDependencies;
  readonly #options: Readonly<MailboxServiceOptions>;
  readonly #repairs: RepairQueue;
  readonly stats: MailboxServiceStats = { storeLoads: 0, cacheHits: 0, cacheMisses: 0 };

  constructor(deps: MailboxServiceDependencies, options: Partial<MailboxServiceOptions> = {}) {
    this.#deps = deps;
    this.#options = Object.freeze({ ...DEFAULT_MAILBOX_SERVICE_OPTIONS, ...options });
    this.#repairs = new RepairQueue(this.#options, (owner, message) =>
      this.#repair(owner, message),
    );
  }

  /** The user whose owner coordinates a send: the lower id of the pair. */
  static coordinatorOf(request: Pick<SendMessageRequest, 'senderId' | 'recipientId'>): string {
    return orderedPair(request.senderId, request.recipientId)[0];
  }

  async send(request: SendMessageRequest): Promise<SendMessageResponse> {
    const coordinator = MailboxService.coordinatorOf(request);
    this.#deps.ownership.assertServing(coordinator);
    const conversationId = conversationIdOf(request.senderId, request.recipientId);
    return this.#deps.locks.run(coordinator, async () => {
      const state = await this.#loadLocked(coordinator);
      const existing = await this.#findSent(
        state,
        request.senderId,
        request.clientMessageId,
        conversationId,
      );
      if (existing !== undefined) return { message: toMessage(existing), duplicate: true };

      const lastSentAt = (await this.#rowLocked(state, conversationId))?.lastUpdatedTimestamp ?? 0;
      const proposal: Message = {
        messageId: randomUUID(),
        conversationId,
        senderId: request.senderId,
        recipientId: request.recipientId,
        content: request.content,
        clientMessageId: request.clientMessageId,
        sentAt: Math.max(this.#deps.now(), lastSentAt + 1),
      };
      const delivered = await this.#deps.delivery.deliver(proposal);
      try {
        this.#deps.failpoints?.beforeCoordinatorCommit(delivered.message);
        await this.#commitMessageLocked(state, delivered.message);
      } catch (error) {
        // The other copy exists: converge even if the client never retries.
        this.#repairs.schedule(coordinator, delivered.message);
        throw error;
      }
      return { message: toMessage(delivered.message), duplicate: delivered.duplicate };
    });
  }

  /** Writes the higher-id participant's copy; called by the coordinator (maybe this very node). */
  async deliver(proposal: Message): Promise<DeliverResponse> {
    const owner = orderedPair(proposal.senderId, proposal.recipientId)[1];
    this.#deps.ownership.assertServing(owner);
    return this.#deps.locks.run(owner, async () => {
      const state = await this.#loadLocked(owner);
      const existing = await this.#findSent(
        state,
        proposal.senderId,
        proposal.clientMessageId,
        proposal.conversationId,
      );
      if (existing !== undefined) return { message: toMessage(existing), duplicate: true };
      const lastSentAt =
        (await this.#rowLocked(state, proposal.conversationId))?.lastUpdatedTimestamp ?? 0;
      const message = { ...proposal, sentAt: Math.max(proposal.sentAt, lastSentAt + 1) };
      await this.#commitMessageLocked(state, message);
      return { message: toMessage(message), duplicate: false };
    });
  }

  async markRead(userId: string, conversationId: string): Promise<MarkReadResponse> {
    participantsOf(conversationId, userId);
    this.#deps.ownership.assertServing(userId);
    return this.#deps.locks.run(userId, async () => {
      const state = await this.#loadLocked(userId);
      const row = await this.#rowLocked(state, conversationId);
      if (row === undefined || row.unreadCount === 0) return { unreadCount: 0 };
      const version = state.version + 1;
      const updated: ConversationRow = { ...row, unreadCount: 0, version };
      await this.#commitLocked(state, {
        kind: 'read',
        ownerId: userId,
        version,
        commitId: randomUUID(),
        conversation: updated,
      });
      return { unreadCount: 0 };
    });
  }

  async listConversations(userId: string, query: ListQuery): Promise<ConversationsResponse> {
    this.#deps.ownership.assertServing(userId);
    const state = await this.#load(userId);
    const versionBefore = state.version;
    const page = await this.#conversationsPage(state, query, versionBefore);
    const response: ConversationsResponse = {
      conversations: page.rows.map(toSummary),
      isDeltaUpdate: query.kind !== 'page',
      cursor: encodeCursor({ userId }, page.cursorVersion ?? versionBefore),
    };
    this.#deps.ownership.assertServing(userId);
    return response;
  }

  async listMessages(
    userId: string,
    conversationId: string,
    query: ListQuery,
  ): Promise<MessagesResponse> {
    participantsOf(conversationId, userId);
    this.#deps.ownership.assertServing(userId);
    const state = await this.#load(userId);
    const versionBefore = state.version;
    const page = await this.#messagesPage(state, conversationId, query, versionBefore);
    const response: MessagesResponse = {
      messages: page.messages.map(toMessage),
      isDeltaUpdate: query.kind !== 'page',
      cursor: encodeCursor({ userId, conversationId }, page.cursorVersion ?? versionBefore),
    };
    this.#deps.ownership.assertServing(userId);
    return response;
  }

  /** Half-sent messages still waiting for their coordinator copy. */
  get pendingRepairs(): number {
    return this.#repairs.size;
  }

  /** Stops background repairs (the node is stopping). */
  close(): void {
    this.#repairs.close();
  }

  /** Writes a half-sent message's coordinator copy, if it is still missing. */
  async #repair(owner: string, message: Message): Promise<void> {
    this.#deps.ownership.assertServing(owner);
    await this.#deps.locks.run(owner, async () => {
      const state = await this.#loadLocked(owner);
      const existing = await this.#findSent(
        state,
        message.senderId,
        message.clientMessageId,
        message.conversationId,
      );
      if (existing === undefined) await this.#commitMessageLocked(state, message);
    });
  }

  /** Forgets cached users (the node lost their slot, or is stopping). */
  evictWhere(predicate: (userId: string) => boolean): number {
    return this.#deps.cache.deleteWhere(predicate);
  }

  async #conversationsPage(
    state: MailboxState,
    query: ListQuery,
    versionBefore: number,
  ): Promise<{ rows: ConversationRow[]; cursorVersion?: number }> {
    const { store } = this.#deps;
    if (query.kind === 'since-cursor') {
      // versionBefore was read before any await: a commit landing during the query must not move
      // the cursor past a change this answer did not include.
      if (query.afterVersion >= versionBefore) return { rows: [], cursorVersion: versionBefore };
      const changed = await store.conversationsChangedAfter(
        state.ownerId,
        query.afterVersion,
        query.pageSize,
      );
      return {
        rows: [...changed].sort(byRecency),
        cursorVersion: cursorAfter(changed, query.pageSize, versionBefore),
      };
    }
    const offset = query.page * query.pageSize;
    const end = offset + query.pageSize;
    const since = query.kind === 'since-timestamp' ? query.lastUpdatedTimestamp : undefined;
    const cached = state.contiguousConversations();
    const coversTimestamp = since !== undefined && state.conversationsFrom <= since;
    if (state.conversationsComplete || coversTimestamp || end <= cached.length) {
      const rows =
        since === undefined ? cached : cached.filter((row) => row.lastUpdatedTimestamp > since);
      return { rows: rows.slice(offset, end) };
    }
    const fromStore = await store.recentConversations(state.ownerId, end);
    const rows =
      since === undefined ? fromStore : fromStore.filter((row) => row.lastUpdatedTimestamp > since);
    return { rows: rows.slice(offset, end) };
  }

  async #messagesPage(
    state: MailboxState,
    conversationId: string,
    query: ListQuery,
    versionBefore: number,
  ): Promise<{ messages: StoredMessage[]; cursorVersion?: number }> {
    const { store } = this.#deps;
    const owner = state.ownerId;
    if (query.kind === 'since-cursor') {
      if (query.afterVersion >= versionBefore)
        return { messages: [], cursorVersion: versionBefore };
      const changed = await store.messagesChangedAfter(
        owner,
        conversationId,
        query.afterVersion,
        query.pageSize,
      );
      return {
        messages: [...changed].sort(newestFirst),
        cursorVersion: cursorAfter(changed, query.pageSize, versionBefore),
      };
    }
    const window = await this.#window(state, conversationId);
    const offset = query.page * query.pageSize;
    const end = offset + query.pageSize;
    const cached = window?.messages ?? [];
    const oldest = cached.at(-1);
    if (query.kind === 'since-timestamp') {
      const since = query.lastUpdatedTimestamp;
      if (
        window === undefined ||
        window.complete ||
        (oldest !== undefined && oldest.sentAt <= since)
      ) {
        return { messages: cached.filter((m) => m.sentAt > since).slice(offset, end) };
      }
      const newer = await store.messagesPage(owner, conversationId, {
        limit: end,
        sentAfter: since,
      });
      return { messages: newer.slice(offset, end) };
    }
    if (window === undefined || window.complete || end <= cached.length) {
      return { messages: cached.slice(offset, end) };
    }
    // The page reaches below the window: continue from its oldest message in the store.
    const older = await store.messagesPage(owner, conversationId, {
      limit: end - cached.length,
      ...(oldest === undefined ? {} : { sentBefore: oldest.sentAt }),
    });
    return { messages: [...cached, ...older].slice(offset, end) };
  }

  /** The conversation's cached window, loaded under the user's lock on first use. */
  async #window(state: MailboxState, conversationId: string) {
    const cached = state.conversations.get(conversationId);
    if (cached?.window !== undefined) return cached.window;
    return this.#deps.locks.run(state.ownerId, async () => {
      const current = await this.#loadLocked(state.ownerId);
      const row = await this.#rowLocked(current, conversationId);
      const entry = current.conversations.get(conversationId);
      if (row === undefined || entry === undefined) return undefined;
      if (entry.window === undefined) {
        const limit = this.#options.windowMessagesLoaded;
        const messages = await this.#deps.store.messagesPage(current.ownerId, conversationId, {
          limit,
        });
        this.stats.storeLoads += 1;
        current.setWindow(conversationId, messages, messages.length < limit);
        this.#deps.cache.recharge(current);
      }
      return entry.window;
    });
  }

  /** The cached mailbox, or a load from the store under the user's lock (concurrent misses share it). */
  async #load(userId: string): Promise<MailboxState> {
    const cached = this.#deps.cache.get(userId);
    if (cached !== undefined) {
      this.stats.cacheHits += 1;
      return cached;
    }
    return this.#deps.locks.run(userId, () => this.#loadLocked(userId));
  }

  async #loadLocked(userId: string): Promise<MailboxState> {
    const cached = this.#deps.cache.get(userId);
    if (cached !== undefined) return cached;
    this.stats.cacheMisses += 1;
    this.stats.storeLoads += 1;
    const { store } = this.#deps;
    const limit = this.#options.recentConversationsLoaded;
    const version = await store.mailboxVersion(userId);
    const recent = await store.recentConversations(userId, limit);
    const state = new MailboxState(userId, version, recent, limit);
    this.#deps.ownership.assertServing(userId);
    this.#deps.cache.put(state);
    return state;
  }

  /** A conversation row: cached, or fetched on its own and kept. Undefined if the user has none. */
  async #rowLocked(
    state: MailboxState,
    conversationId: string,
  ): Promise<ConversationRow | undefined> {
    const cached = state.conversations.get(conversationId);
    if (cached !== undefined) return cached.row;
    if (state.conversationsComplete) return undefined;
    const row = await this.#deps.store.conversation(state.ownerId, conversationId);
    this.stats.storeLoads += 1;
    if (row !== undefined) state.addRow(row);
    return row;
  }

  /**
   * The owner's copy of a message this sender sent with this clientMessageId. Always asks the store:
   * the cache holding no such message proves nothing. A hit newer than the cached state means the
   * state is stale (a write landed that this node did not see), so it is dropped.
   */
  async #findSent(
    state: MailboxState,
    senderId: string,
    clientMessageId: string,
    conversationId: string,
  ): Promise<StoredMessage | undefined> {
    const found = await this.#deps.store.messageByClientId(
      state.ownerId,
      senderId,
      clientMessageId,
    );
    // The key is (senderId, clientMessageId): reusing it for another recipient is a client bug, and
    // answering with the old message would hand one conversation's message to another mailbox.
    if (found !== undefined && found.conversationId !== conversationId) {
      throw new ChatringError(
        'CLIENT_MESSAGE_ID_CONFLICT',
        `clientMessageId ${clientMessageId} was already used by ${senderId} in another conversation`,
      );
    }
    if (found !== undefined && found.version > state.version) {
      this.#deps.cache.delete(state.ownerId);
      throw new ChatringError(
        'NOT_OWNER',
        `the cached mailbox of ${state.ownerId} was stale; retry`,
      );
    }
    return found;
  }

  async #commitMessageLocked(state: MailboxState, message: Message): Promise<void> {
    const owner = state.ownerId;
    const previous = await this.#rowLocked(state, message.conversationId);
    const version = state.version + 1;
    const isLatest = previous === undefined || message.sentAt > previous.lastUpdatedTimestamp;
    const conversation: ConversationRow = {
      conversationId: message.conversationId,
      participants: orderedPair(message.senderId, message.recipientId),
      snippet: isLatest ? snippetOf(message.content) : previous.snippet,
      lastUpdatedTimestamp: isLatest ? message.sentAt : previous.lastUpdatedTimestamp,
      unreadCount: (previous?.unreadCount ?? 0) + (message.recipientId === owner ? 1 : 0),
      version,
    };
    await this.#commitLocked(
      state,
      { kind: 'message', ownerId: owner, version, commitId: randomUUID(), conversation, message },
      { ...message, version },
    );
  }

  /** Store first; only then memory. A failed commit drops the user's cached state (it may be stale). */
  async #commitLocked(
    state: MailboxState,
    commit: MailboxCommit,
    message?: StoredMessage,
  ): Promise<void> {
    this.#deps.ownership.assertServing(state.ownerId);
    try {
      await this.#deps.store.commit(commit);
    } catch (error) {
      this.#deps.cache.delete(state.ownerId);
      if (error instanceof StoreVersionConflictError) {
        throw new ChatringError(
          'NOT_OWNER',
          `mailbox ${state.ownerId} was written by another owner; retry`,
          { cause: error },
        );
      }
      if (error instanceof ChatringError) throw error;
      throw new ChatringError(
        'STORE_UNAVAILABLE',
        `store commit failed: ${(error as Error).message}`,
        { cause: error },
      );
    }
    state.applyCommit(commit.version, commit.conversation, message);
    this.#deps.cache.recharge(state);
    // The write is durable; it may be acknowledged only if this node still owns the user (fencing).
    this.#deps.ownership.assertServing(state.ownerId);
  }
}

/**
 * Where a cursor answer leaves the client. A full page may not be everything: the cursor stops at
 * its last change. A short page is everything up to the version read before the query (and any
 * change that landed since and was returned).
 */
export function cursorAfter(
  changed: readonly { version: number }[],
  pageSize: number,
  versionBefore: number,
): number {
  const last = changed.at(-1)?.version ?? 0;
  return changed.length === pageSize ? last : Math.max(versionBefore, last);
}

function newestFirst(a: StoredMessage, b: StoredMessage): number {
  return b.sentAt - a.sentAt;
}

function snippetOf(content: string): string {
  return Array.from(content).slice(0, SNIPPET_CHARS_MAX).join('');
}

function toMessage(message: StoredMessage | Message): Message {
  const { messageId, conversationId, senderId, recipientId, content, clientMessageId, sentAt } =
    message;
  return { messageId, conversationId, senderId, recipientId, content, clientMessageId, sentAt };
}

function toSummary(row: ConversationRow): ConversationSummary {
  const { conversationId, participants, snippet, lastUpdatedTimestamp, unreadCount } = row;
  return { conversationId, participants, snippet, lastUpdatedTimestamp, unreadCount };
}
