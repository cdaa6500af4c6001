import {
  WINDOW_MESSAGES_LIMIT,
  integerRule,
  resolveOptions,
  type OptionRules,
} from '../protocol/index.js';
import type { MailboxState } from './mailbox-state.js';

export interface MailboxCacheOptions {
  /**
   * Memory budget for cached mailboxes, in (estimated) bytes. Least recently used users are evicted
   * past it.
   * @default 268435456 (256 MiB)
   */
  cacheBytesMax: number;
  /**
   * Longest message window kept per conversation; older pages are dropped and reread from the store.
   * @default 200
   */
  windowMessagesMax: number;
}

export const DEFAULT_MAILBOX_CACHE_OPTIONS: Readonly<MailboxCacheOptions> = Object.freeze({
  cacheBytesMax: 256 * 1024 * 1024,
  windowMessagesMax: 200,
});

const MAILBOX_CACHE_RULES: OptionRules<MailboxCacheOptions> = {
  cacheBytesMax: integerRule(1),
  windowMessagesMax: integerRule(1, WINDOW_MESSAGES_LIMIT),
};

export interface MailboxCacheStats {
  users: number;
  bytes: number;
  evictions: number;
}

/**
 * The node's cached mailboxes: LRU over users under a byte budget; inside a user, message windows
 * are capped at `windowMessagesMax`. Pure bookkeeping; `isPinned` tells which users must not be
 * evicted now (their lock is held: a write in flight must find its state still cached).
 */
export class MailboxCache {
  readonly #options: Readonly<MailboxCacheOptions>;
  readonly #isPinned: (userId: string) => boolean;
  /** Map order is recency order: the first entry is the least recently used. */
  readonly #states = new Map<string, { state: MailboxState; chargedBytes: number }>();
  #bytes = 0;
  #evictions = 0;

  constructor(options: Partial<MailboxCacheOptions>, isPinned: (userId: string) => boolean) {
    this.#options = resolveOptions(
      'MailboxCache',
      DEFAULT_MAILBOX_CACHE_OPTIONS,
      options,
      MAILBOX_CACHE_RULES,
    );
    this.#isPinned = isPinned;
  }

  get options(): Readonly<MailboxCacheOptions> {
    return this.#options;
  }

  /** The cached state, marked most recently used; undefined on a miss. */
  get(userId: string): MailboxState | undefined {
    const entry = this.#states.get(userId);
    if (entry === undefined) return undefined;
    this.#states.delete(userId);
    this.#states.set(userId, entry);
    return entry.state;
  }

  /** The cached state without touching its recency. */
  peek(userId: string): MailboxState | undefined {
    return this.#states.get(userId)?.state;
  }

  /** Cached users, most recently used first (the hottest move first in a handoff). */
  usersByRecency(): string[] {
    return [...this.#states.keys()].reverse();
  }

  has(userId: string): boolean {
    return this.#states.has(userId);
  }

  put(state: MailboxState): void {
    this.delete(state.ownerId);
    this.#states.set(state.ownerId, { state, chargedBytes: 0 });
    this.recharge(state);
  }

  /** Call after a state changed: trims its windows, re-counts its bytes, evicts past the budget. */
  recharge(state: MailboxState): void {
    const entry = this.#states.get(state.ownerId);
    if (entry === undefined || entry.state !== state) return;
    state.trimWindows(this.#options.windowMessagesMax);
    this.#bytes += state.bytes - entry.chargedBytes;
    entry.chargedBytes = state.bytes;
    this.#evictPastBudget();
  }

  delete(userId: string): void {
    const entry = this.#states.get(userId);
    if (entry === undefined) return;
    this.#states.delete(userId);
    this.#bytes -= entry.chargedBytes;
  }

  /** Drops every cached user for whom `predicate` holds (users of a slot this node lost). */
  deleteWhere(predicate: (userId: string) => boolean): number {
    let dropped = 0;
    for (const userId of [...this.#states.keys()]) {
      if (predicate(userId)) {
        this.delete(userId);
        dropped += 1;
      }
    }
    return dropped;
  }

  clear(): void {
    this.#states.clear();
    this.#bytes = 0;
  }

  stats(): MailboxCacheStats {
    return { users: this.#states.size, bytes: this.#bytes, evictions: this.#evictions };
  }

  #evictPastBudget(): void {
    if (this.#bytes <= this.#options.cacheBytesMax) return;
    for (const [userId, entry] of this.#states) {
      if (this.#bytes <= this.#options.cacheBytesMax) return;
      if (this.#isPinned(userId)) continue;
      this.#states.delete(userId);
      this.#bytes -= entry.chargedBytes;
      this.#evictions += 1;
    }
  }
}
