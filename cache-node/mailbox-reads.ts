import { encodeCursor, participantsOf, type ListQuery } from '../protocol/index.js';
import type { ConversationRow, StoredMessage } from '../store-adapter/index.js';
import type { MailboxServiceDependencies } from './mailbox-dependencies.js';
import type { MailboxLoader } from './mailbox-loader.js';
import {
  byRecency,
  type CachedConversation,
  type MailboxState,
  type MessageWindow,
} from './mailbox-state.js';
import { listJson, messageJson, summaryJson } from './message-views.js';

type ReadDependencies = Pick<MailboxServiceDependencies, 'store' | 'ownership' | 'cache'>;

/**
 * A read's answer as the JSON text of its response body: a string at once when the warm cache
 * covers it (nothing awaited, no promise made), else a promise of one.
 */
export type JsonAnswer = string | Promise<string>;

interface Page<T> {
  items: T[];
  /** Where a cursor answer leaves the client; undefined: the version read before the query. */
  cursorVersion?: number;
}

/**
 * The read path: lists come from memory when the cached range covers them, else from the store.
 * Reads take no lock; a read that needs a load or a window takes it only for that load. Ownership
 * is checked before and again after: an answer is given only if this node owned the user
 * throughout (an answer made from memory in one synchronous step needs no second check: nothing
 * ran in between).
 *
 * Answers are JSON text. From memory a page is a loop over the cached order (conversations) or
 * window (messages) from its first item to its last, concatenating each item's JSON made on first
 * read and kept (`MailboxState`): no array is copied, nothing serialised twice, and the work is
 * O(page) however long the window or the conversation list.
 */
export class MailboxReads {
  readonly #deps: ReadDependencies;
  readonly #loader: MailboxLoader;

  constructor(deps: ReadDependencies, loader: MailboxLoader) {
    this.#deps = deps;
    this.#loader = loader;
  }

  /** A `ConversationsResponse` as JSON text. */
  listConversationsJson(userId: string, query: ListQuery): JsonAnswer {
    this.#deps.ownership.assertServing(userId);
    const state = this.#loader.cached(userId);
    const answer = state === undefined ? undefined : this.#conversationsFromMemory(state, query);
    return answer ?? this.#conversationsLoaded(userId, state, query);
  }

  /** A `MessagesResponse` as JSON text. */
  listMessagesJson(userId: string, conversationId: string, query: ListQuery): JsonAnswer {
    participantsOf(conversationId, userId);
    this.#deps.ownership.assertServing(userId);
    const state = this.#loader.cached(userId);
    const answer =
      state === undefined ? undefined : this.#messagesFromMemory(state, conversationId, query);
    return answer ?? this.#messagesLoaded(userId, conversationId, state, query);
  }

  /** The answer from memory, or undefined when the cached rows do not cover the page. */
  #conversationsFromMemory(state: MailboxState, query: ListQuery): string | undefined {
    const order = state.recencyOrder();
    let from = 0;
    let to = 0;
    if (query.kind === 'since-cursor') {
      // "Nothing new" comes from memory; any change is read from the store's change log.
      if (query.afterVersion < state.version) return undefined;
    } else {
      from = query.page * query.pageSize;
      const end = from + query.pageSize;
      // The rows the query shows are a prefix of the recency order: all of them, or those newer
      // than the timestamp.
      let shown = order.length;
      if (query.kind === 'since-timestamp') {
        const since = query.lastUpdatedTimestamp;
        const covered =
          state.conversationsComplete || state.conversationsFrom <= since || end <= order.length;
        if (!covered) return undefined;
        shown = countUpdatedAfter(order, since);
      } else if (!state.conversationsComplete && end > order.length) {
        return undefined;
      }
      to = Math.min(end, shown);
    }
    const bytesBefore = state.bytes;
    let items = '';
    for (let index = from; index < to; index += 1) {
      const text = state.summaryTextOf(order[index] as CachedConversation);
      items = index === from ? text : `${items},${text}`;
    }
    const cursor = state.cursorAt(undefined, state.version);
    this.#chargeGrowth(state, bytesBefore);
    return listJson('conversations', items, query.kind !== 'page', cursor);
  }

  /**
   * The answer from memory, or undefined when the page needs the store (a cursor with changes, a
   * window not loaded yet, a page below the window).
   */
  #messagesFromMemory(
    state: MailboxState,
    conversationId: string,
    query: ListQuery,
  ): string | undefined {
    if (query.kind === 'since-cursor') {
      if (query.afterVersion < state.version) return undefined;
      return this.#windowAnswer(state, conversationId, query, undefined);
    }
    const conversation = state.conversations.get(conversationId);
    if (conversation?.window !== undefined)
      return this.#windowAnswer(state, conversationId, query, conversation.window);
    // No row cached: the user has no such conversation only if the cached list is complete.
    if (conversation === undefined && state.conversationsComplete)
      return this.#windowAnswer(state, conversationId, query, undefined);
    return undefined;
  }

  /**
   * A page of `window` (undefined: no messages at all), or undefined when the page reaches beyond
   * what the window holds.
   */
  #windowAnswer(
    state: MailboxState,
    conversationId: string,
    query: ListQuery,
    window: MessageWindow | undefined,
  ): string | undefined {
    const version = state.version;
    const messages = window?.messages ?? [];
    let from = 0;
    let to = 0;
    if (query.kind !== 'since-cursor') {
      from = query.page * query.pageSize;
      const end = from + query.pageSize;
      const complete = window?.complete ?? true;
      // The messages the query shows are a prefix of the window: all, or those newer than the
      // timestamp. The page is in memory if the window holds its end, or reaches back to the
      // timestamp, or holds the conversation's oldest message.
      let shown = messages.length;
      if (query.kind === 'since-timestamp')
        shown = countSentAfter(messages, query.lastUpdatedTimestamp);
      if (!complete && shown === messages.length && end > messages.length) return undefined;
      to = Math.min(end, shown);
    }
    const bytesBefore = state.bytes;
    let items = '';
    for (let index = from; index < to; index += 1) {
      const text = state.messageTextAt(window as MessageWindow, index);
      items = index === from ? text : `${items},${text}`;
    }
    const cursor = state.cursorAt(conversationId, version);
    this.#chargeGrowth(state, bytesBefore);
    return listJson('messages', items, query.kind !== 'page', cursor);
  }

  /** Charges what a read cached in `state` (texts) to the node's byte budget. */
  #chargeGrowth(state: MailboxState, bytesBefore: number): void {
    if (state.bytes !== bytesBefore) this.#deps.cache.charge(state);
  }

  async #conversationsLoaded(
    userId: string,
    cached: MailboxState | undefined,
    query: ListQuery,
  ): Promise<string> {
    const state = cached ?? (await this.#loader.load(userId));
    const fromMemory =
      cached === undefined ? this.#conversationsFromMemory(state, query) : undefined;
    if (fromMemory !== undefined) {
      this.#deps.ownership.assertServing(userId);
      return fromMemory;
    }
    // Read before any await: a commit landing during the query must not move the cursor past a
    // change this answer did not include.
    const versionBefore = state.version;
    const page = await this.#conversationsFromStore(state, query, versionBefore);
    const answer = listJson(
      'conversations',
      joinTexts(page.items, summaryJson),
      query.kind !== 'page',
      encodeCursor({ userId }, page.cursorVersion ?? versionBefore),
    );
    this.#deps.ownership.assertServing(userId);
    return answer;
  }

  async #messagesLoaded(
    userId: string,
    conversationId: string,
    cached: MailboxState | undefined,
    query: ListQuery,
  ): Promise<string> {
    let state = cached ?? (await this.#loader.load(userId));
    if (query.kind !== 'since-cursor') {
      state = await this.#loader.withWindow(state, conversationId);
      const fromWindow = this.#messagesFromMemory(state, conversationId, query);
      if (fromWindow !== undefined) {
        this.#deps.ownership.assertServing(userId);
        return fromWindow;
      }
      // The page reaches below the window: fetched into it, and kept for the next read.
      const end = query.page * query.pageSize + query.pageSize;
      state = await this.#loader.windowTo(state, conversationId, end);
    }
    const fromMemory = this.#messagesFromMemory(state, conversationId, query);
    if (fromMemory !== undefined) {
      this.#deps.ownership.assertServing(userId);
      return fromMemory;
    }
    const versionBefore = state.version;
    const page = await this.#messagesFromStore(state, conversationId, query, versionBefore);
    const answer = listJson(
      'messages',
      joinTexts(page.items, messageJson),
      query.kind !== 'page',
      encodeCursor({ userId, conversationId }, page.cursorVersion ?? versionBefore),
    );
    this.#deps.ownership.assertServing(userId);
    return answer;
  }

  /** A cursor read with changes, or a page beyond the cached rows. */
  async #conversationsFromStore(
    state: MailboxState,
    query: ListQuery,
    versionBefore: number,
  ): Promise<Page<ConversationRow>> {
    const { store } = this.#deps;
    if (query.kind === 'since-cursor') {
      const changed = await store.conversationsChangedAfter(
        state.ownerId,
        query.afterVersion,
        query.pageSize,
      );
      return {
        items: [...changed].sort(byRecency),
        cursorVersion: cursorAfter(changed, query.pageSize, versionBefore),
      };
    }
    const offset = query.page * query.pageSize;
    const end = offset + query.pageSize;
    const fromStore = await store.recentConversations(state.ownerId, end);
    const since = query.kind === 'since-timestamp' ? query.lastUpdatedTimestamp : undefined;
    const rows =
      since === undefined ? fromStore : fromStore.filter((row) => row.lastUpdatedTimestamp > since);
    return { items: rows.slice(offset, end) };
  }

  /**
   * A cursor read with changes; else (rarely: the window was dropped while it was being extended)
   * a page below the window.
   */
  async #messagesFromStore(
    state: MailboxState,
    conversationId: string,
    query: ListQuery,
    versionBefore: number,
  ): Promise<Page<StoredMessage>> {
    const { store } = this.#deps;
    if (query.kind === 'since-cursor') {
      const changed = await store.messagesChangedAfter(
        state.ownerId,
        conversationId,
        query.afterVersion,
        query.pageSize,
      );
      return {
        items: [...changed].sort(newestFirst),
        cursorVersion: cursorAfter(changed, query.pageSize, versionBefore),
      };
    }
    const offset = query.page * query.pageSize;
    const end = offset + query.pageSize;
    if (query.kind === 'since-timestamp') {
      const newer = await store.messagesPage(state.ownerId, conversationId, {
        limit: end,
        sentAfter: query.lastUpdatedTimestamp,
      });
      this.#loader.stats.storeLoads += 1;
      return { items: newer.slice(offset, end) };
    }
    // The page reaches below the window: the part inside it is taken now (a commit during the
    // store read may insert into the window or trim it), the rest continues from its oldest
    // message in the store.
    const messages = state.conversations.get(conversationId)?.window?.messages ?? [];
    const inWindow = messages.slice(offset, end);
    const oldest = messages.at(-1);
    const older = await store.messagesPage(state.ownerId, conversationId, {
      limit: end - messages.length,
      ...(oldest === undefined ? {} : { sentBefore: oldest.sentAt }),
    });
    // Counted with the loads: every read that reaches the store shows in the node's stats.
    this.#loader.stats.storeLoads += 1;
    return { items: inWindow.concat(older.slice(Math.max(0, offset - messages.length))) };
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

/** How many of `order` (most recent first) were updated after `since`: binary search. */
function countUpdatedAfter(order: readonly CachedConversation[], since: number): number {
  let low = 0;
  let high = order.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if ((order[middle] as CachedConversation).row.lastUpdatedTimestamp > since) low = middle + 1;
    else high = middle;
  }
  return low;
}

/** How many of `messages` (newest first) were sent after `since`: binary search. */
function countSentAfter(messages: readonly StoredMessage[], since: number): number {
  let low = 0;
  let high = messages.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if ((messages[middle] as StoredMessage).sentAt > since) low = middle + 1;
    else high = middle;
  }
  return low;
}

function joinTexts<T>(items: readonly T[], toJson: (item: T) => string): string {
  return items.map(toJson).join(',');
}

function newestFirst(a: StoredMessage, b: StoredMessage): number {
  return b.sentAt - a.sentAt;
}
