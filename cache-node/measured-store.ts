import { ChatringError } from '../protocol/index.js';
import type {
  ConversationRow,
  MailboxCommit,
  MailboxStore,
  MessagePageQuery,
  StoreStats,
  StoredMessage,
} from '../store-adapter/index.js';

/** The store calls a node makes, one label value each (MailboxStore's methods). */
export const STORE_OPERATIONS = [
  'commit',
  'mailboxVersion',
  'recentConversations',
  'conversation',
  'conversationsChangedAfter',
  'messagesPage',
  'messagesChangedAfter',
  'messageByClientId',
] as const;

export type StoreOperation = (typeof STORE_OPERATIONS)[number];

/** Told of every store call as it ends. */
export interface StoreCallObserver {
  /**
   * `seconds` from the call to its settling; `errorCode` the catalogue code of a failure
   * (`STORE_VERSION_CONFLICT`, `STORE_UNAVAILABLE`, ...; `INTERNAL` for anything else: a bounded
   * set), undefined on success.
   */
  observe(operation: StoreOperation, seconds: number, errorCode: string | undefined): void;
}

/**
 * A MailboxStore that times every call of the store it wraps and tells an observer (the node's
 * metrics), and otherwise changes nothing: same answers, same errors, same `kind` and `stats`.
 * Time is `now()` in ms (performance.now by default, monotonic).
 */
export class MeasuredStore implements MailboxStore {
  readonly #store: MailboxStore;
  readonly #observer: StoreCallObserver;
  readonly #now: () => number;

  constructor(store: MailboxStore, observer: StoreCallObserver, now = () => performance.now()) {
    this.#store = store;
    this.#observer = observer;
    this.#now = now;
  }

  get kind(): string {
    return this.#store.kind;
  }

  commit(commit: MailboxCommit): Promise<void> {
    return this.#measure('commit', () => this.#store.commit(commit));
  }

  mailboxVersion(ownerId: string): Promise<number> {
    return this.#measure('mailboxVersion', () => this.#store.mailboxVersion(ownerId));
  }

  recentConversations(ownerId: string, limit: number): Promise<ConversationRow[]> {
    return this.#measure('recentConversations', () =>
      this.#store.recentConversations(ownerId, limit),
    );
  }

  conversation(ownerId: string, conversationId: string): Promise<ConversationRow | undefined> {
    return this.#measure('conversation', () => this.#store.conversation(ownerId, conversationId));
  }

  conversationsChangedAfter(
    ownerId: string,
    afterVersion: number,
    limit: number,
  ): Promise<ConversationRow[]> {
    return this.#measure('conversationsChangedAfter', () =>
      this.#store.conversationsChangedAfter(ownerId, afterVersion, limit),
    );
  }

  messagesPage(
    ownerId: string,
    conversationId: string,
    query: MessagePageQuery,
  ): Promise<StoredMessage[]> {
    return this.#measure('messagesPage', () =>
      this.#store.messagesPage(ownerId, conversationId, query),
    );
  }

  messagesChangedAfter(
    ownerId: string,
    conversationId: string,
    afterVersion: number,
    limit: number,
  ): Promise<StoredMessage[]> {
    return this.#measure('messagesChangedAfter', () =>
      this.#store.messagesChangedAfter(ownerId, conversationId, afterVersion, limit),
    );
  }

  messageByClientId(
    ownerId: string,
    senderId: string,
    clientMessageId: string,
  ): Promise<StoredMessage | undefined> {
    return this.#measure('messageByClientId', () =>
      this.#store.messageByClientId(ownerId, senderId, clientMessageId),
    );
  }

  stats(): StoreStats {
    return this.#store.stats?.() ?? { counters: {}, gauges: {} };
  }

  close(): Promise<void> {
    return this.#store.close();
  }

  async #measure<T>(operation: StoreOperation, call: () => Promise<T>): Promise<T> {
    const startedAt = this.#now();
    try {
      const result = await call();
      this.#observer.observe(operation, (this.#now() - startedAt) / 1_000, undefined);
      return result;
    } catch (error) {
      this.#observer.observe(operation, (this.#now() - startedAt) / 1_000, errorCodeOf(error));
      throw error;
    }
  }
}

/** A failure's catalogue code (a bounded set of label values); anything else is INTERNAL. */
function errorCodeOf(error: unknown): string {
  return error instanceof ChatringError ? error.code : 'INTERNAL';
}
