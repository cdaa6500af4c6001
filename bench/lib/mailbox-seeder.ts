import { randomUUID } from 'node:crypto';
import {
  SNIPPET_CHARS_MAX,
  conversationIdOf,
  orderedPair,
  type Message,
} from '../../protocol/index.js';
import type { ConversationRow, MailboxCommit, MailboxStore } from '../../store-adapter/index.js';
import type { SeededRandom } from './seeded-random.js';

/**
 * Writes a starting data set straight into a store, commit by commit, exactly as the cache node
 * would have committed it (both mailbox copies, versions 1, 2, 3 ..., rows with snippet and unread
 * count), so a benchmark starts from mailboxes that already hold conversations and history.
 * Keeps each mailbox's version and rows in memory, so it never reads the store; commits to
 * different mailboxes may run in parallel, those of one mailbox run in version order.
 */
export class MailboxSeeder {
  readonly #store: MailboxStore;
  readonly #parallelism: number;
  readonly #versions = new Map<string, number>();
  readonly #rows = new Map<string, ConversationRow>();
  /** Per mailbox, the last commit queued: commits of one mailbox apply in version order. */
  readonly #chains = new Map<string, Promise<void>>();
  readonly #inFlight = new Set<Promise<void>>();
  #clock: number;
  messages = 0;
  commits = 0;

  /**
   * `startAt`: sentAt of the first seeded message (epoch ms); each next one is 1 ms later.
   * `parallelism`: commits in flight at once, across mailboxes (1 for the synchronous embedded
   * store; more for a networked store).
   */
  constructor(store: MailboxStore, startAt: number, parallelism = 1) {
    this.#store = store;
    this.#clock = startAt;
    this.#parallelism = Math.max(1, parallelism);
  }

  async send(senderId: string, recipientId: string, content: string): Promise<Message> {
    this.#clock += 1;
    const message: Message = {
      messageId: randomUUID(),
      conversationId: conversationIdOf(senderId, recipientId),
      senderId,
      recipientId,
      content,
      clientMessageId: `seed-${this.messages}`,
      sentAt: this.#clock,
    };
    // The higher id's copy first, as the cache node writes them.
    const [lower, higher] = orderedPair(senderId, recipientId);
    for (const ownerId of [higher, lower]) this.#enqueue(ownerId, this.#prepare(ownerId, message));
    this.messages += 1;
    while (this.#inFlight.size >= this.#parallelism) await Promise.race(this.#inFlight);
    return message;
  }

  /** Waits for every queued commit; throws the first failure. */
  async flush(): Promise<void> {
    await Promise.all(this.#chains.values());
  }

  #prepare(ownerId: string, message: Message): MailboxCommit {
    const version = (this.#versions.get(ownerId) ?? 0) + 1;
    const key = `${ownerId}\u0000${message.conversationId}`;
    const previous = this.#rows.get(key);
    const conversation: ConversationRow = {
      conversationId: message.conversationId,
      participants: orderedPair(message.senderId, message.recipientId),
      snippet: Array.from(message.content).slice(0, SNIPPET_CHARS_MAX).join(''),
      lastUpdatedTimestamp: message.sentAt,
      unreadCount: (previous?.unreadCount ?? 0) + (message.recipientId === ownerId ? 1 : 0),
      version,
    };
    this.#versions.set(ownerId, version);
    this.#rows.set(key, conversation);
    return { kind: 'message', ownerId, version, commitId: randomUUID(), conversation, message };
  }

  #enqueue(ownerId: string, commit: MailboxCommit): void {
    const previous = this.#chains.get(ownerId) ?? Promise.resolve();
    const next = previous.then(async () => {
      await this.#store.commit(commit);
      this.commits += 1;
    });
    this.#chains.set(ownerId, next);
    this.#inFlight.add(next);
    // Settled either way; a failure surfaces in flush() (and in send(), through Promise.race).
    next.then(
      () => this.#inFlight.delete(next),
      () => this.#inFlight.delete(next),
    );
  }
}

const PRINTABLE = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,!?';

/** Random printable ASCII text of exactly `bytes` bytes. */
export function randomText(random: SeededRandom, bytes: number): string {
  let text = '';
  for (let index = 0; index < bytes; index += 1)
    text += PRINTABLE[random.integerBelow(PRINTABLE.length)];
  return text;
}
