import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import {
  ChatringError,
  SNIPPET_CHARS_MAX,
  orderedPair,
  participantsOf,
  type MarkReadResponse,
  type Message,
} from '../protocol/index.js';
import {
  StoreVersionConflictError,
  type ConversationRow,
  type MailboxCommit,
  type StoredMessage,
} from '../store-adapter/index.js';
import type { MailboxServiceDependencies } from './mailbox-dependencies.js';
import type { MailboxLoader } from './mailbox-loader.js';
import type { MailboxState } from './mailbox-state.js';

type WriterDependencies = Pick<
  MailboxServiceDependencies,
  'store' | 'locks' | 'cache' | 'ownership' | 'storeErrors'
>;

/**
 * Write-through: every change is committed to the store first (a compare-and-set on the mailbox
 * version) and only then applied to the cached state, and acknowledged only while this node still
 * owns the user. Also the idempotency lookup every write starts with. Methods named `...Locked`
 * expect the caller to hold the user's lock.
 */
export class MailboxWriter {
  readonly #deps: WriterDependencies;
  readonly #loader: MailboxLoader;
  /** Told of every commit once it is durable and in memory (the change feed wakes its waiters). */
  readonly #committed: (userId: string) => void;

  constructor(
    deps: WriterDependencies,
    loader: MailboxLoader,
    committed: (userId: string) => void = () => undefined,
  ) {
    this.#deps = deps;
    this.#loader = loader;
    this.#committed = committed;
  }

  async markRead(userId: string, conversationId: string): Promise<MarkReadResponse> {
    participantsOf(conversationId, userId);
    this.#deps.ownership.assertServing(userId);
    return this.#deps.locks.run(userId, async () => {
      const state = await this.#loader.loadLocked(userId);
      const row = await this.#loader.rowLocked(state, conversationId);
      if (row === undefined || row.unreadCount === 0) return { unreadCount: 0 };
      const version = state.version + 1;
      const updated: ConversationRow = { ...row, unreadCount: 0, version };
      await this.commitLocked(state, {
        kind: 'read',
        ownerId: userId,
        version,
        commitId: randomUUID(),
        conversation: updated,
      });
      return { unreadCount: 0 };
    });
  }

  /**
   * The owner's copy of a message this sender sent with this clientMessageId. Memory answers "none"
   * when the state's idempotency keys (`SentKeys`, loaded by the write's first step) prove the
   * key new within the window; anything else asks the store: a key memory knows (a retry: the
   * stored message is the answer), keys that do not reach back a full window, or none loaded. A
   * hit newer than the cached state means the state is stale (a write landed that this node did
   * not see), so it is dropped. A "none" from memory on a stale state cannot create a second
   * copy: the commit that follows is a compare-and-set on the version this state knows, and fails.
   */
  async findSent(
    state: MailboxState,
    senderId: string,
    clientMessageId: string,
    conversationId: string,
  ): Promise<StoredMessage | undefined> {
    const stats = this.#loader.stats;
    if (state.sentKeys?.provesAbsent(senderId, clientMessageId, this.#loader.idempotencySince())) {
      stats.idempotencyFromMemory += 1;
      return undefined;
    }
    stats.idempotencyStoreReads += 1;
    return this.findSentInStore(state, senderId, clientMessageId, conversationId);
  }

  /**
   * The copy of `proposal` in another owner's mailbox, from the store's idempotency index (that
   * owner's, read as any reader may: an unsettled commit is rolled forward first), or undefined.
   * A key of another conversation is not this message's copy.
   */
  async findCopyOf(otherOwnerId: string, proposal: Message): Promise<StoredMessage | undefined> {
    const found = await this.#deps.store.messageByClientId(
      otherOwnerId,
      proposal.senderId,
      proposal.clientMessageId,
    );
    return found?.conversationId === proposal.conversationId ? found : undefined;
  }

  /** `findSent`, always from the store's idempotency index. */
  async findSentInStore(
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

  async commitMessageLocked(state: MailboxState, message: Message): Promise<void> {
    const owner = state.ownerId;
    const previous = await this.#loader.rowLocked(state, message.conversationId);
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
    await this.commitLocked(
      state,
      { kind: 'message', ownerId: owner, version, commitId: randomUUID(), conversation, message },
      { ...message, version },
    );
  }

  /** Store first; only then memory. A failed commit drops the user's cached state (it may be stale). */
  async commitLocked(
    state: MailboxState,
    commit: MailboxCommit,
    message?: StoredMessage,
  ): Promise<void> {
    // Under the lock nothing else moves the version: a gap here would let the store's
    // compare-and-set pass a commit the cached state never saw the base of.
    assert.equal(commit.version, state.version + 1, 'a commit follows the cached version');
    this.#deps.ownership.assertServing(state.ownerId);
    try {
      await this.#deps.store.commit(commit);
    } catch (error) {
      this.#deps.cache.delete(state.ownerId);
      const failure = storeFailure(state.ownerId, error);
      // A version conflict is another owner's write (a handoff race), not a store failure.
      if (failure.code === 'STORE_UNAVAILABLE')
        this.#deps.storeErrors?.log(
          'error',
          'commit',
          { kind: commit.kind, error: failure.message },
          'store commit failed; the write is refused (STORE_UNAVAILABLE) and the user reloads from the store',
        );
      throw failure;
    }
    state.applyCommit(commit.version, commit.conversation, message);
    this.#deps.cache.recharge(state);
    this.#committed(state.ownerId);
    // The write is durable; it may be acknowledged only if this node still owns the user (fencing).
    this.#deps.ownership.assertServing(state.ownerId);
  }
}

/** What a failed commit tells the caller: another owner wrote (NOT_OWNER), or the store failed. */
function storeFailure(ownerId: string, error: unknown): ChatringError {
  if (error instanceof StoreVersionConflictError) {
    return new ChatringError(
      'NOT_OWNER',
      `mailbox ${ownerId} was written by another owner; retry`,
      {
        cause: error,
      },
    );
  }
  if (error instanceof ChatringError) return error;
  return new ChatringError(
    'STORE_UNAVAILABLE',
    `store commit failed: ${(error as Error).message}`,
    {
      cause: error,
    },
  );
}

function snippetOf(content: string): string {
  return Array.from(content).slice(0, SNIPPET_CHARS_MAX).join('');
}
