import {
  encodeCursor,
  participantsOf,
  type ConversationsResponse,
  type ListQuery,
  type MessagesResponse,
} from '../protocol/index.js';
import type { ConversationRow, StoredMessage } from '../store-adapter/index.js';
import type { MailboxServiceDependencies } from './mailbox-dependencies.js';
import type { MailboxLoader } from './mailbox-loader.js';
import { byRecency, type MailboxState } from './mailbox-state.js';
import { toMessage, toSummary } from './message-views.js';

type ReadDependencies = Pick<MailboxServiceDependencies, 'store' | 'ownership'>;

interface Page<T> {
  items: T[];
  /** Where a cursor answer leaves the client; undefined: the version read before the query. */
  cursorVersion?: number;
}

/**
 * The read path: lists come from memory when the cached range covers them, else from the store.
 * Reads take no lock; a read that needs a load or a window takes it only for that load. Ownership
 * is checked before and again after: an answer is given only if this node owned the user
 * throughout.
 */
export class MailboxReads {
  readonly #deps: ReadDependencies;
  readonly #loader: MailboxLoader;

  constructor(deps: ReadDependencies, loader: MailboxLoader) {
    this.#deps = deps;
    this.#loader = loader;
  }

  async listConversations(userId: string, query: ListQuery): Promise<ConversationsResponse> {
    this.#deps.ownership.assertServing(userId);
    const state = await this.#loader.load(userId);
    const versionBefore = state.version;
    const page = await this.#conversationsPage(state, query, versionBefore);
    const response: ConversationsResponse = {
      conversations: page.items.map(toSummary),
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
    const state = await this.#loader.load(userId);
    const versionBefore = state.version;
    const page = await this.#messagesPage(state, conversationId, query, versionBefore);
    const response: MessagesResponse = {
      messages: page.items.map(toMessage),
      isDeltaUpdate: query.kind !== 'page',
      cursor: encodeCursor({ userId, conversationId }, page.cursorVersion ?? versionBefore),
    };
    this.#deps.ownership.assertServing(userId);
    return response;
  }

  async #conversationsPage(
    state: MailboxState,
    query: ListQuery,
    versionBefore: number,
  ): Promise<Page<ConversationRow>> {
    const { store } = this.#deps;
    if (query.kind === 'since-cursor') {
      // versionBefore was read before any await: a commit landing during the query must not move
      // the cursor past a change this answer did not include.
      if (query.afterVersion >= versionBefore) return { items: [], cursorVersion: versionBefore };
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
    const since = query.kind === 'since-timestamp' ? query.lastUpdatedTimestamp : undefined;
    const cached = state.contiguousConversations();
    const coversTimestamp = since !== undefined && state.conversationsFrom <= since;
    if (state.conversationsComplete || coversTimestamp || end <= cached.length) {
      const rows =
        since === undefined ? cached : cached.filter((row) => row.lastUpdatedTimestamp > since);
      return { items: rows.slice(offset, end) };
    }
    const fromStore = await store.recentConversations(state.ownerId, end);
    const rows =
      since === undefined ? fromStore : fromStore.filter((row) => row.lastUpdatedTimestamp > since);
    return { items: rows.slice(offset, end) };
  }

  async #messagesPage(
    state: MailboxState,
    conversationId: string,
    query: ListQuery,
    versionBefore: number,
  ): Promise<Page<StoredMessage>> {
    if (query.kind === 'since-cursor') {
      if (query.afterVersion >= versionBefore) return { items: [], cursorVersion: versionBefore };
      const changed = await this.#deps.store.messagesChangedAfter(
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
    const window = await this.#loader.window(state, conversationId);
    const cached = window?.messages ?? [];
    const oldest = cached.at(-1);
    if (query.kind === 'since-timestamp') {
      const since = query.lastUpdatedTimestamp;
      if (
        window === undefined ||
        window.complete ||
        (oldest !== undefined && oldest.sentAt <= since)
      ) {
        return { items: cached.filter((m) => m.sentAt > since).slice(offset, end) };
      }
      const newer = await this.#deps.store.messagesPage(state.ownerId, conversationId, {
        limit: end,
        sentAfter: since,
      });
      this.#loader.stats.storeLoads += 1;
      return { items: newer.slice(offset, end) };
    }
    if (window === undefined || window.complete || end <= cached.length) {
      return { items: cached.slice(offset, end) };
    }
    // The page reaches below the window: continue from its oldest message in the store.
    const older = await this.#deps.store.messagesPage(state.ownerId, conversationId, {
      limit: end - cached.length,
      ...(oldest === undefined ? {} : { sentBefore: oldest.sentAt }),
    });
    // Counted with the loads: every read that reaches the store shows in the node's stats.
    this.#loader.stats.storeLoads += 1;
    return { items: [...cached, ...older].slice(offset, end) };
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
