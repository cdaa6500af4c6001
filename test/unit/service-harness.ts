/**
 * A single-node MailboxService over the real EmbeddedStore (in a tap test directory) for unit
 * tests: the ownership guard is a fake the test steers, delivery calls the same service, the wall
 * clock is a number the test sets. The store is wrapped so a test can count calls, make one commit
 * fail, or hold a read's answer back until it chooses (to interleave a write deterministically).
 */
import { join } from 'node:path';
import type { Test } from 'tap';
import { MailboxCache, type MailboxCacheOptions } from '../../cache-node/mailbox-cache.js';
import { MailboxService, type MailboxServiceOptions } from '../../cache-node/mailbox-service.js';
import type { DeliveryChannel, OwnershipGuard } from '../../cache-node/mailbox-dependencies.js';
import { UserLockTable } from '../../cache-node/user-lock-table.js';
import {
  ChatringError,
  parseListQuery,
  type ErrorCode,
  type ListQuery,
  type SendMessageRequest,
} from '../../protocol/index.js';
import {
  EmbeddedStore,
  type ConversationRow,
  type MailboxCommit,
  type MailboxStore,
  type MessagePageQuery,
  type StoredMessage,
} from '../../store-adapter/index.js';

/** Refuses the users it is told to, with the code it is told to; serves everyone else. */
export class FakeOwnership implements OwnershipGuard {
  readonly refused = new Map<string, ErrorCode>();
  checks = 0;

  assertServing(userId: string): void {
    this.checks += 1;
    const code = this.refused.get(userId);
    if (code !== undefined) throw new ChatringError(code, `fake ownership refuses ${userId}`);
  }
}

type StoreMethod = Exclude<keyof MailboxStore, 'kind' | 'stats'>;

/** The real store behind hooks. Every hook is one-shot or explicit, so tests stay deterministic. */
export class HookedStore implements MailboxStore {
  readonly kind = 'embedded';
  readonly inner: MailboxStore;
  readonly calls: Record<StoreMethod, number> = {
    commit: 0,
    mailboxVersion: 0,
    recentConversations: 0,
    conversation: 0,
    conversationsChangedAfter: 0,
    messagesPage: 0,
    messagesChangedAfter: 0,
    messageByClientId: 0,
    close: 0,
  };
  /** Decides, before a commit reaches the store, whether it fails instead (returns the error). */
  failCommit: ((commit: MailboxCommit) => unknown) | undefined;
  /** Runs after a commit reached the store, before the caller sees it succeed. */
  afterCommit: ((commit: MailboxCommit) => void) | undefined;
  /** When set, a changed-after query reads the store at once but answers only when this resolves. */
  holdChangedAfter: Promise<void> | undefined;

  constructor(inner: MailboxStore) {
    this.inner = inner;
  }

  async commit(commit: MailboxCommit): Promise<void> {
    this.calls.commit += 1;
    const failure = this.failCommit?.(commit);
    if (failure !== undefined) throw failure;
    await this.inner.commit(commit);
    this.afterCommit?.(commit);
  }

  async mailboxVersion(ownerId: string): Promise<number> {
    this.calls.mailboxVersion += 1;
    return this.inner.mailboxVersion(ownerId);
  }

  async recentConversations(ownerId: string, limit: number): Promise<ConversationRow[]> {
    this.calls.recentConversations += 1;
    return this.inner.recentConversations(ownerId, limit);
  }

  async conversation(ownerId: string, conversationId: string) {
    this.calls.conversation += 1;
    return this.inner.conversation(ownerId, conversationId);
  }

  async conversationsChangedAfter(ownerId: string, afterVersion: number, limit: number) {
    this.calls.conversationsChangedAfter += 1;
    const rows = await this.inner.conversationsChangedAfter(ownerId, afterVersion, limit);
    await this.#hold();
    return rows;
  }

  async messagesPage(ownerId: string, conversationId: string, query: MessagePageQuery) {
    this.calls.messagesPage += 1;
    return this.inner.messagesPage(ownerId, conversationId, query);
  }

  async messagesChangedAfter(
    ownerId: string,
    conversationId: string,
    afterVersion: number,
    limit: number,
  ): Promise<StoredMessage[]> {
    this.calls.messagesChangedAfter += 1;
    const messages = await this.inner.messagesChangedAfter(
      ownerId,
      conversationId,
      afterVersion,
      limit,
    );
    await this.#hold();
    return messages;
  }

  async messageByClientId(ownerId: string, senderId: string, clientMessageId: string) {
    this.calls.messageByClientId += 1;
    return this.inner.messageByClientId(ownerId, senderId, clientMessageId);
  }

  async close(): Promise<void> {
    this.calls.close += 1;
    await this.inner.close();
  }

  async #hold(): Promise<void> {
    const held = this.holdChangedAfter;
    if (held === undefined) return;
    this.holdChangedAfter = undefined;
    await held;
  }
}

export interface Harness {
  service: MailboxService;
  store: HookedStore;
  /** The unwrapped store, for writes "by another owner" and for checking what is durable. */
  embedded: EmbeddedStore;
  storePath: string;
  cache: MailboxCache;
  locks: UserLockTable;
  ownership: FakeOwnership;
  clock: { now: number };
  send(
    senderId: string,
    recipientId: string,
    clientMessageId: string,
    content?: string,
  ): ReturnType<MailboxService['send']>;
  conversations(
    userId: string,
    query?: Record<string, string>,
  ): ReturnType<MailboxService['listConversations']>;
  messages(
    userId: string,
    conversationId: string,
    query?: Record<string, string>,
  ): ReturnType<MailboxService['listMessages']>;
}

export interface HarnessOptions {
  service?: Partial<MailboxServiceOptions>;
  cache?: Partial<MailboxCacheOptions>;
}

export function startHarness(t: Test, options: HarnessOptions = {}): Harness {
  const storePath = join(t.testdir(), 'store.sqlite');
  const embedded = new EmbeddedStore({ path: storePath, synchronous: 'NORMAL' });
  t.teardown(() => embedded.close());
  const store = new HookedStore(embedded);
  const locks = new UserLockTable({ lockWaitTimeoutMs: 600_000 });
  const cache = new MailboxCache(options.cache ?? {}, (userId) => locks.isBusy(userId));
  const ownership = new FakeOwnership();
  const clock = { now: 1_000_000 };
  const delivery: DeliveryChannel = { deliver: (message) => service.deliver(message) };
  const service: MailboxService = new MailboxService(
    { store, locks, cache, ownership, delivery, now: () => clock.now },
    options.service ?? {},
  );
  const query = (
    raw: Record<string, string>,
    pageSizeDefault: number,
    scope: { userId: string; conversationId?: string },
  ): ListQuery => parseListQuery(raw, pageSizeDefault, scope);
  return {
    service,
    store,
    embedded,
    storePath,
    cache,
    locks,
    ownership,
    clock,
    send: (
      senderId,
      recipientId,
      clientMessageId,
      content = `${clientMessageId} from ${senderId}`,
    ) => {
      const request: SendMessageRequest = { senderId, recipientId, content, clientMessageId };
      return service.send(request);
    },
    conversations: (userId, raw = {}) =>
      service.listConversations(userId, query(raw, 20, { userId })),
    messages: (userId, conversationId, raw = {}) =>
      service.listMessages(userId, conversationId, query(raw, 50, { userId, conversationId })),
  };
}
