import { DELIVER_CLOCK_SKEW_MS_MAX } from '../protocol/index.js';
import type { ConversationRow, StoredMessage } from '../store-adapter/index.js';
import { readBounded } from './bounded-reads.js';
import type { MailboxServiceDependencies } from './mailbox-dependencies.js';
import { MailboxState } from './mailbox-state.js';
import { SentKeys } from './sent-keys.js';

/**
 * Loading a mailbox's idempotency keys reads at most this many conversations updated within the
 * window, and this many messages of each; a user busier than that gets keys that reach back less
 * far (the store answers for the rest, until the window has passed since the load).
 */
export const SENT_KEYS_CONVERSATIONS_MAX = 100;
export const SENT_KEYS_MESSAGES_PER_CONVERSATION_MAX = 200;
/** Keys one mailbox remembers at most; past it the oldest are forgotten. */
export const SENT_KEYS_MAX = 10_000;

export interface MailboxLoaderOptions {
  /** Conversations loaded when a user's mailbox is first touched (the recent ones). */
  recentConversationsLoaded: number;
  /** Messages loaded into a conversation's window when it is first read. */
  windowMessagesLoaded: number;
  /** How long after a message's sentAt a retry of it is always recognised (`SentKeys`). */
  idempotencyWindowMs: number;
}

export interface MailboxServiceStats {
  storeLoads: number;
  cacheHits: number;
  cacheMisses: number;
  /** Writes whose idempotency key memory proved new (no store read). */
  idempotencyFromMemory: number;
  /** Writes that asked the store's idempotency index (`messageByClientId`). */
  idempotencyStoreReads: number;
}

type LoaderDependencies = Pick<
  MailboxServiceDependencies,
  'store' | 'locks' | 'cache' | 'ownership' | 'now'
>;

/**
 * Cache misses: brings a user's mailbox, a conversation row or a message window from the store into
 * the cache. Loads run under the user's lock, so concurrent misses for one user share one load and a
 * load can never race a write. Methods named `...Locked` expect the caller to hold that lock.
 */
export class MailboxLoader {
  readonly #deps: LoaderDependencies;
  readonly #options: Readonly<MailboxLoaderOptions>;
  readonly stats: MailboxServiceStats = {
    storeLoads: 0,
    cacheHits: 0,
    cacheMisses: 0,
    idempotencyFromMemory: 0,
    idempotencyStoreReads: 0,
  };

  constructor(deps: LoaderDependencies, options: Readonly<MailboxLoaderOptions>) {
    this.#deps = deps;
    this.#options = options;
  }

  /** The cached mailbox, marked recently used, counted as a hit; undefined on a miss. */
  cached(userId: string): MailboxState | undefined {
    const cached = this.#deps.cache.get(userId);
    if (cached !== undefined) this.stats.cacheHits += 1;
    return cached;
  }

  /** The cached mailbox, or a load from the store under the user's lock (concurrent misses share it). */
  async load(userId: string): Promise<MailboxState> {
    return this.cached(userId) ?? this.#deps.locks.run(userId, () => this.loadLocked(userId));
  }

  async loadLocked(userId: string): Promise<MailboxState> {
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
    // An empty mailbox (any unknown user id) is kept apart, or not at all: reads of made-up ids
    // must not evict real users. Not keeping it is safe: the next load, under this lock, rereads
    // the store, so a message that arrives meanwhile is seen.
    this.#deps.cache.putLoaded(state);
    return state;
  }

  /** A conversation row: cached, or fetched on its own and kept. Undefined if the user has none. */
  async rowLocked(
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
   * Makes sure the conversation's window is cached (loaded under the user's lock on first use) and
   * returns the state that holds it: `state` itself, unless it was dropped meanwhile and loaded
   * again. The conversation has no window there only if the user has no such conversation.
   */
  async withWindow(state: MailboxState, conversationId: string): Promise<MailboxState> {
    if (state.conversations.get(conversationId)?.window !== undefined) return state;
    return this.#deps.locks.run(state.ownerId, async () => {
      const current = await this.loadLocked(state.ownerId);
      const row = await this.rowLocked(current, conversationId);
      const entry = current.conversations.get(conversationId);
      if (row === undefined || entry === undefined || entry.window !== undefined) return current;
      const limit = this.#options.windowMessagesLoaded;
      const messages = await this.#deps.store.messagesPage(current.ownerId, conversationId, {
        limit,
      });
      this.stats.storeLoads += 1;
      current.setWindow(conversationId, messages, messages.length < limit);
      this.#deps.cache.recharge(current);
      return current;
    });
  }

  /**
   * Extends the conversation's window down to `depth` messages from the store, for a page that
   * reaches below it: pages once fetched are kept (`MessageWindow.depth`), within the byte budget.
   * Under the user's lock, so no commit lands between the window and what is appended below it.
   * Returns the state that holds the window (see `withWindow`).
   */
  async windowTo(
    state: MailboxState,
    conversationId: string,
    depth: number,
  ): Promise<MailboxState> {
    return this.#deps.locks.run(state.ownerId, async () => {
      const current = await this.loadLocked(state.ownerId);
      const window = current.conversations.get(conversationId)?.window;
      if (window === undefined || window.complete || window.messages.length >= depth)
        return current;
      const oldest = window.messages.at(-1);
      const limit = depth - window.messages.length;
      const older = await this.#deps.store.messagesPage(current.ownerId, conversationId, {
        limit,
        ...(oldest === undefined ? {} : { sentBefore: oldest.sentAt }),
      });
      // Counted with the loads: every read that reaches the store shows in the node's stats.
      this.stats.storeLoads += 1;
      current.extendWindow(conversationId, older, older.length < limit, depth);
      this.#deps.cache.recharge(current);
      return current;
    });
  }

  /**
   * The earliest sentAt a retry arriving now may carry and still be within the idempotency window
   * (with the clock skew allowed between owners as margin): what memory must reach back to.
   */
  idempotencySince(): number {
    return this.#deps.now() - this.#options.idempotencyWindowMs - DELIVER_CLOCK_SKEW_MS_MAX;
  }

  /**
   * Makes sure `state` knows its idempotency keys (`SentKeys`), loading them on the mailbox's first
   * write: every message sent within the window, from what the state already caches where that
   * reaches back far enough, else from the store (the conversations updated since, then each one's
   * messages since). Under the user's lock, so no commit lands between the state and its keys.
   */
  async sentKeysLocked(state: MailboxState): Promise<void> {
    const since = this.idempotencySince();
    const known = state.sentKeys;
    if (known !== undefined) {
      known.forgetBefore(since);
      return;
    }
    const bytesBefore = state.bytes;
    let coversFrom = since;
    let rows: ConversationRow[];
    if (state.conversationsComplete || state.conversationsFrom <= since) {
      rows = [...state.conversations.values()].map((entry) => entry.row);
    } else {
      rows = await this.#deps.store.recentConversations(state.ownerId, SENT_KEYS_CONVERSATIONS_MAX);
      this.stats.storeLoads += 1;
      // Conversations past the limit were updated at or before the last one returned: every
      // message sent after it is in the conversations returned.
      const last = rows.at(-1);
      if (rows.length >= SENT_KEYS_CONVERSATIONS_MAX && last !== undefined)
        coversFrom = Math.max(coversFrom, last.lastUpdatedTimestamp + 1);
    }
    const active = rows.filter((row) => row.lastUpdatedTimestamp >= coversFrom);
    const sent: StoredMessage[] = [];
    const readFrom = coversFrom;
    const pages = await readBounded(active, (row) =>
      this.#messagesSince(state, row.conversationId, readFrom),
    );
    for (const page of pages) {
      sent.push(...page.messages);
      coversFrom = Math.max(coversFrom, page.coversFrom);
    }
    sent.sort((a, b) => a.sentAt - b.sentAt);
    state.adoptSentKeys(
      new SentKeys(
        coversFrom,
        SENT_KEYS_MAX,
        sent.filter((message) => message.sentAt >= coversFrom),
      ),
    );
    if (state.bytes !== bytesBefore) this.#deps.cache.recharge(state);
  }

  /**
   * A conversation's messages sent at or after `since`: from its cached window when that reaches
   * back far enough, else from the store. `coversFrom`: from where the list is complete (higher
   * than `since` when the store's page was full).
   */
  async #messagesSince(
    state: MailboxState,
    conversationId: string,
    since: number,
  ): Promise<{ messages: StoredMessage[]; coversFrom: number }> {
    const window = state.conversations.get(conversationId)?.window;
    const oldest = window?.messages.at(-1);
    if (
      window !== undefined &&
      (window.complete || (oldest !== undefined && oldest.sentAt <= since))
    )
      return { messages: window.messages.filter((m) => m.sentAt >= since), coversFrom: since };
    const limit = SENT_KEYS_MESSAGES_PER_CONVERSATION_MAX;
    const messages = await this.#deps.store.messagesPage(state.ownerId, conversationId, {
      limit,
      sentAfter: since - 1,
    });
    this.stats.storeLoads += 1;
    // A full page may leave older messages out: those sent before its oldest (sentAt strictly
    // increases within a conversation).
    const last = messages.at(-1);
    const coversFrom = messages.length >= limit && last !== undefined ? last.sentAt : since;
    return { messages, coversFrom };
  }
}
