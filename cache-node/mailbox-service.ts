import {
  CONVERSATIONS_LOADED_LIMIT,
  IDEMPOTENCY_WINDOW_MS_DEFAULT,
  IDEMPOTENCY_WINDOW_MS_MAX,
  IDEMPOTENCY_WINDOW_MS_MIN,
  PAGE_SIZE_MAX,
  WATCHERS_PER_NODE_LIMIT,
  WATCHERS_PER_USER_LIMIT,
  WINDOW_MESSAGES_LIMIT,
  integerRule,
  resolveOptions,
  type ChangesQuery,
  type ChangesResponse,
  type ConversationsResponse,
  type DeliverResponse,
  type ListQuery,
  type MarkReadResponse,
  type Message,
  type MessagesResponse,
  type OptionRules,
  type SendMessageRequest,
  type SendMessageResponse,
} from '../protocol/index.js';
import { ChangeFeed, type ChangeFeedLimits, type ChangeFeedStats } from './change-feed.js';
import type { MailboxServiceDependencies } from './mailbox-dependencies.js';
import { MailboxLoader, type MailboxServiceStats } from './mailbox-loader.js';
import { MailboxReads, type JsonAnswer } from './mailbox-reads.js';
import { MailboxWriter } from './mailbox-writer.js';
import { MessageSend } from './message-send.js';
import {
  DEFAULT_REPAIR_QUEUE_OPTIONS,
  REPAIR_QUEUE_RULES,
  type RepairQueueOptions,
} from './repair-queue.js';

export interface MailboxServiceOptions extends RepairQueueOptions, ChangeFeedLimits {
  /**
   * Conversations loaded when a user's mailbox is first touched (the recent ones).
   * @default 200
   */
  recentConversationsLoaded: number;
  /**
   * Messages loaded into a conversation's window when it is first read: the largest page
   * (PAGE_SIZE_MAX), so a first page of any size is answered from memory once the window is in
   * (a smaller window sent every pageSize-200 read to the store, costlier than no cache at all).
   * @default 200
   */
  windowMessagesLoaded: number;
  /**
   * The idempotency window: a send retried with the same clientMessageId within this long of the
   * original's sentAt is always recognised, from memory when the owner's keys (`SentKeys`) prove
   * the id new, else from the store's index. After it, a retry may be stored as a new message (in
   * both mailboxes, never in one only). Every node of a cluster should use the same value.
   * @default 86400000 (24 h)
   */
  idempotencyWindowMs: number;
  /**
   * Change-feed requests held at once for one user (its devices and app servers watching it).
   * @default 16
   */
  watchersPerUserMax: number;
  /**
   * Change-feed requests held at once by the node. A held request costs a promise, a timer and
   * its closures here (~1.7–1.9 KB of heap at 10,000 held, bench/watch.ts), and nothing on the router's links to
   * the node, which multiplex; the bound keeps a flood of watches from holding the node's memory.
   * @default 20000
   */
  watchersPerNodeMax: number;
}

/** The repair defaults are the RepairQueue's own (one source each). */
export const DEFAULT_MAILBOX_SERVICE_OPTIONS: Readonly<MailboxServiceOptions> = Object.freeze({
  recentConversationsLoaded: 200,
  windowMessagesLoaded: PAGE_SIZE_MAX,
  idempotencyWindowMs: IDEMPOTENCY_WINDOW_MS_DEFAULT,
  watchersPerUserMax: 16,
  watchersPerNodeMax: 20_000,
  ...DEFAULT_REPAIR_QUEUE_OPTIONS,
});

const MAILBOX_SERVICE_RULES: OptionRules<MailboxServiceOptions> = {
  recentConversationsLoaded: integerRule(1, CONVERSATIONS_LOADED_LIMIT),
  windowMessagesLoaded: integerRule(1, WINDOW_MESSAGES_LIMIT),
  idempotencyWindowMs: integerRule(IDEMPOTENCY_WINDOW_MS_MIN, IDEMPOTENCY_WINDOW_MS_MAX),
  watchersPerUserMax: integerRule(1, WATCHERS_PER_USER_LIMIT),
  watchersPerNodeMax: integerRule(1, WATCHERS_PER_NODE_LIMIT),
  ...REPAIR_QUEUE_RULES,
};

/**
 * The cache node's data path. Every write: take the user's lock, write through to the store, then
 * update the in-memory indices, then answer. Reads come from memory when the cached range covers
 * them, else from the store. The parts, one concept each: `MailboxLoader` (cache misses),
 * `MailboxWriter` (write-through commits, mark-read), `MessageSend` (the two-copy send and its
 * repairs), `MailboxReads` (lists and cursors).
 */
export class MailboxService {
  readonly #deps: MailboxServiceDependencies;
  readonly #send: MessageSend;
  readonly #writer: MailboxWriter;
  readonly #reads: MailboxReads;
  readonly #feed: ChangeFeed;
  readonly stats: MailboxServiceStats;

  constructor(deps: MailboxServiceDependencies, options: Partial<MailboxServiceOptions> = {}) {
    const resolved = resolveOptions(
      'MailboxService',
      DEFAULT_MAILBOX_SERVICE_OPTIONS,
      options,
      MAILBOX_SERVICE_RULES,
    );
    this.#deps = deps;
    const loader = new MailboxLoader(deps, resolved);
    this.stats = loader.stats;
    this.#feed = new ChangeFeed(deps, loader, {
      watchersPerUserMax: resolved.watchersPerUserMax,
      watchersPerNodeMax: resolved.watchersPerNodeMax,
    });
    const feed = this.#feed;
    this.#writer = new MailboxWriter(deps, loader, (userId) => feed.notify(userId));
    this.#send = new MessageSend(deps, loader, this.#writer, {
      repairDelayMs: resolved.repairDelayMs,
      repairAttemptsMax: resolved.repairAttemptsMax,
      repairsMax: resolved.repairsMax,
    });
    this.#reads = new MailboxReads(deps, loader);
  }

  /** `requestId`: the caller's, carried to the other owner (logs follow one send across nodes). */
  send(request: SendMessageRequest, requestId?: string): Promise<SendMessageResponse> {
    return this.#send.send(request, requestId);
  }

  /** Writes the higher-id participant's copy; called by the coordinator (maybe this very node). */
  deliver(proposal: Message): Promise<DeliverResponse> {
    return this.#send.deliver(proposal);
  }

  markRead(userId: string, conversationId: string): Promise<MarkReadResponse> {
    return this.#writer.markRead(userId, conversationId);
  }

  /**
   * The conversation list as the JSON text of its response body, what the node's route sends: a
   * string at once from a warm cache, else a promise of one.
   */
  listConversationsJson(userId: string, query: ListQuery): JsonAnswer {
    return this.#reads.listConversationsJson(userId, query);
  }

  /** A conversation's messages as the JSON text of the response body (see above). */
  listMessagesJson(userId: string, conversationId: string, query: ListQuery): JsonAnswer {
    return this.#reads.listMessagesJson(userId, conversationId, query);
  }

  /** The same answer as `listConversationsJson`, parsed (for callers in process: tests, tools). */
  async listConversations(userId: string, query: ListQuery): Promise<ConversationsResponse> {
    return JSON.parse(await this.listConversationsJson(userId, query)) as ConversationsResponse;
  }

  /** The same answer as `listMessagesJson`, parsed. */
  async listMessages(
    userId: string,
    conversationId: string,
    query: ListQuery,
  ): Promise<MessagesResponse> {
    return JSON.parse(
      await this.listMessagesJson(userId, conversationId, query),
    ) as MessagesResponse;
  }

  /**
   * The change feed's answer as the JSON text of its body: at once when memory has changes (or
   * nothing is to be held), else a promise held until a change commits or `waitMs` passes.
   */
  changesJson(userId: string, query: ChangesQuery): JsonAnswer {
    return this.#feed.changesJson(userId, query);
  }

  /** The same answer as `changesJson`, parsed. */
  async changes(userId: string, query: ChangesQuery): Promise<ChangesResponse> {
    return JSON.parse(await this.changesJson(userId, query)) as ChangesResponse;
  }

  /** What the change feed holds and has done (node stats). */
  get feedStats(): Readonly<ChangeFeedStats> {
    return this.#feed.stats;
  }

  /**
   * Answers the held change-feed requests of users this node no longer serves (the ring moved, a
   * handoff began, the lease lapsed) with the refusal that sends their callers to the new owner.
   */
  releaseUnservedWatchers(): void {
    this.#feed.releaseUnserved();
  }

  /** Answers every held change-feed request retryably, and holds no more (the node is stopping). */
  releaseAllWatchers(): void {
    this.#feed.close();
  }

  /** Half-sent messages still waiting for their coordinator copy. */
  get pendingRepairs(): number {
    return this.#send.pendingRepairs;
  }

  /** Forgets cached users (the node lost their slot, or is stopping). */
  evictWhere(predicate: (userId: string) => boolean): number {
    return this.#deps.cache.deleteWhere(predicate);
  }

  /** Stops background repairs and answers held watches (the node is stopping). */
  close(): void {
    this.#feed.close();
    this.#send.close();
  }
}
