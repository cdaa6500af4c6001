import type { Message } from '../protocol/index.js';

/** Bytes charged per remembered key beyond 2 per UTF-16 unit of its ids: the Map entry, the string. */
export const SENT_KEY_OVERHEAD_BYTES = 64;

/**
 * The idempotency keys (senderId, clientMessageId) of one mailbox's recent messages, sent and
 * received, each with its sentAt: what lets the owner answer "is this clientMessageId new?" from
 * memory. The keys are complete from `coversFrom` on: every message of the mailbox with
 * sentAt >= coversFrom is here (loaded from the store under the user's lock, then every commit
 * the owner makes is added). A key absent here proves no message with sentAt >= coversFrom has
 * it; whether an older one has is for the store to say.
 *
 * Bounded: keys older than the idempotency window are forgotten (`forgetBefore`), and past
 * `keysMax` the oldest are forgotten too; either way `coversFrom` moves up past what was dropped,
 * so the proof stays true and only its reach shrinks.
 */
export class SentKeys {
  readonly #sentAtByKey = new Map<string, number>();
  readonly #keysMax: number;
  #coversFrom: number;
  #bytes = 0;

  /** `keys` oldest first is cheapest (forgetting starts at the front), but any order is correct. */
  constructor(
    coversFrom: number,
    keysMax: number,
    keys: Iterable<Pick<Message, 'senderId' | 'clientMessageId' | 'sentAt'>>,
  ) {
    this.#coversFrom = coversFrom;
    this.#keysMax = keysMax;
    for (const message of keys) this.add(message);
  }

  /** Every message of the mailbox with sentAt at or after this has its key here. */
  get coversFrom(): number {
    return this.#coversFrom;
  }

  get size(): number {
    return this.#sentAtByKey.size;
  }

  /** What the keys cost, charged to the mailbox's bytes. */
  get bytes(): number {
    return this.#bytes;
  }

  /**
   * True when memory proves that no message of the mailbox sent at or after `since` carries this
   * key: the keys reach back that far, and the key is not among them.
   */
  provesAbsent(senderId: string, clientMessageId: string, since: number): boolean {
    return this.#coversFrom <= since && !this.#sentAtByKey.has(keyOf(senderId, clientMessageId));
  }

  /** Remembers a message the mailbox holds (a commit, or a load). */
  add(message: Pick<Message, 'senderId' | 'clientMessageId' | 'sentAt'>): void {
    const key = keyOf(message.senderId, message.clientMessageId);
    if (!this.#sentAtByKey.has(key)) this.#bytes += keyBytes(key);
    this.#sentAtByKey.set(key, message.sentAt);
    while (this.#sentAtByKey.size > this.#keysMax) this.#forgetOldestEntry();
  }

  /**
   * Forgets keys of messages sent before `cutoff` (they are past the window): from the front while
   * they are older, so the walk stops at the first newer key. Keys arrive in roughly sentAt order;
   * an older one behind a newer one stays until a later call, which costs memory, not truth.
   */
  forgetBefore(cutoff: number): void {
    for (const [key, sentAt] of this.#sentAtByKey) {
      if (sentAt >= cutoff) break;
      this.#sentAtByKey.delete(key);
      this.#bytes -= keyBytes(key);
    }
    // Everything sent before the cutoff may be gone now; everything at or after it is still here.
    if (cutoff > this.#coversFrom) this.#coversFrom = cutoff;
  }

  #forgetOldestEntry(): void {
    const first = this.#sentAtByKey.entries().next();
    if (first.done === true) return;
    const [key, sentAt] = first.value;
    this.#sentAtByKey.delete(key);
    this.#bytes -= keyBytes(key);
    // A key sent at `sentAt` is gone: the proof reaches only the messages after it.
    if (sentAt + 1 > this.#coversFrom) this.#coversFrom = sentAt + 1;
  }
}

/** A sender id is a user id (no NUL: protocol's USER_ID_PATTERN), so NUL separates unambiguously. */
function keyOf(senderId: string, clientMessageId: string): string {
  return `${senderId}\u0000${clientMessageId}`;
}

function keyBytes(key: string): number {
  return SENT_KEY_OVERHEAD_BYTES + key.length * 2;
}
