import assert from 'node:assert/strict';
import {
  EMPTY_MAILBOXES_LIMIT,
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
   * Longest message window kept per conversation as new messages arrive; older ones are dropped and
   * reread from the store. A window that reads paged deeper keeps what they fetched (at most the
   * deepest page a query reaches, 10,200 messages): pages once fetched stay, within `cacheBytesMax`.
   * @default 200
   */
  windowMessagesMax: number;
  /**
   * Empty mailboxes (no conversation: a user who never sent or received a message, or who does not
   * exist) kept after a cold load. They live in their own LRU, counted apart from `cacheBytesMax`,
   * so reading any number of unknown user ids can never push a real user's mailbox out of the
   * cache; past this count the least recently used empty one goes. 0 keeps none (every read of an
   * empty mailbox then asks the store). The default costs about 6 MB (600 estimated bytes each) and
   * still answers a new user's polling of an empty inbox from memory.
   * @default 10000
   */
  emptyMailboxesMax: number;
}

export const DEFAULT_MAILBOX_CACHE_OPTIONS: Readonly<MailboxCacheOptions> = Object.freeze({
  cacheBytesMax: 256 * 1024 * 1024,
  windowMessagesMax: 200,
  emptyMailboxesMax: 10_000,
});

const MAILBOX_CACHE_RULES: OptionRules<MailboxCacheOptions> = {
  cacheBytesMax: integerRule(1),
  windowMessagesMax: integerRule(1, WINDOW_MESSAGES_LIMIT),
  emptyMailboxesMax: integerRule(0, EMPTY_MAILBOXES_LIMIT),
};

/** Every cached user, both LRUs: `bytes` is the estimate of both (the empty ones are bounded by count). */
export interface MailboxCacheStats {
  users: number;
  bytes: number;
  evictions: number;
}

/** The empty mailboxes' own LRU (`emptyMailboxesMax`), also counted in MailboxCacheStats. */
export interface EmptyMailboxStats {
  users: number;
  evictions: number;
}

interface Entry {
  readonly userId: string;
  readonly state: MailboxState;
  chargedBytes: number;
  /** Its neighbours in recency order (RecencyList). */
  older: Entry | undefined;
  newer: Entry | undefined;
}

function entryOf(state: MailboxState, chargedBytes: number): Entry {
  return { userId: state.ownerId, state, chargedBytes, older: undefined, newer: undefined };
}

/**
 * Users in recency order: a map to find an entry and a doubly linked list for the order, so that
 * marking a user used (every cache hit) moves a few pointers instead of deleting and re-inserting a
 * map key (in a profile of warm reads, the re-insert was most of the cost of a hit).
 */
class RecencyList {
  readonly #entries = new Map<string, Entry>();
  #oldest: Entry | undefined;
  #newest: Entry | undefined;

  get size(): number {
    return this.#entries.size;
  }

  get(userId: string): Entry | undefined {
    return this.#entries.get(userId);
  }

  has(userId: string): boolean {
    return this.#entries.has(userId);
  }

  /** Adds a user that is not in the list, as the most recently used. */
  add(entry: Entry): void {
    assert(!this.#entries.has(entry.userId), 'a user is added once');
    this.#entries.set(entry.userId, entry);
    this.#link(entry);
  }

  /** Marks an entry of this list the most recently used. */
  touch(entry: Entry): void {
    if (this.#newest === entry) return;
    this.#unlink(entry);
    this.#link(entry);
  }

  delete(userId: string): Entry | undefined {
    const entry = this.#entries.get(userId);
    if (entry === undefined) return undefined;
    this.#entries.delete(userId);
    this.#unlink(entry);
    return entry;
  }

  clear(): void {
    this.#entries.clear();
    this.#oldest = undefined;
    this.#newest = undefined;
  }

  /** Least recently used first; deleting the entry just yielded is allowed. */
  *oldestFirst(): Generator<Entry> {
    let entry = this.#oldest;
    while (entry !== undefined) {
      const next = entry.newer;
      yield entry;
      entry = next;
    }
  }

  /** User ids, most recently used first. */
  newestFirst(): string[] {
    const userIds: string[] = [];
    for (let entry = this.#newest; entry !== undefined; entry = entry.older)
      userIds.push(entry.userId);
    return userIds;
  }

  #link(entry: Entry): void {
    entry.older = this.#newest;
    entry.newer = undefined;
    if (this.#newest === undefined) this.#oldest = entry;
    else this.#newest.newer = entry;
    this.#newest = entry;
  }

  #unlink(entry: Entry): void {
    if (entry.older === undefined) this.#oldest = entry.newer;
    else entry.older.newer = entry.newer;
    if (entry.newer === undefined) this.#newest = entry.older;
    else entry.newer.older = entry.older;
    entry.older = undefined;
    entry.newer = undefined;
  }
}

/** A mailbox with no conversation at all: what a read of an unknown user id loads. */
function isEmptyMailbox(state: MailboxState): boolean {
  return state.conversations.size === 0;
}

/**
 * The node's cached mailboxes: LRU over users under a byte budget; inside a user, message windows
 * are capped at `windowMessagesMax` (or the depth reads paged them to). Pure bookkeeping;
 * `isPinned` tells which users must not be evicted now (their lock is held: a write in flight must
 * find its state still cached).
 *
 * Empty mailboxes loaded on a miss (`putLoaded`) go to a second LRU bounded by count
 * (`emptyMailboxesMax`), never to the byte-budgeted one: anyone can read any user id, and each
 * unknown id loads an empty mailbox, so empty ones must not compete with real users for the
 * budget. A user is in at most one of the two. Dropping an empty mailbox (or never keeping one) is
 * always safe: the next load reads the store again, under the user's lock. An empty mailbox that
 * receives its first commit while cached moves to the main LRU at its next `recharge`; one that is
 * not cached stays uncached (recharge never adds a user: the state may have been dropped on
 * purpose, by a ring change or a lease lapse), and the next read loads it, message included.
 */
export class MailboxCache {
  readonly #options: Readonly<MailboxCacheOptions>;
  readonly #isPinned: (userId: string) => boolean;
  readonly #states = new RecencyList();
  /** Empty mailboxes admitted by `putLoaded`, in their own recency order. */
  readonly #empty = new RecencyList();
  #bytes = 0;
  #emptyBytes = 0;
  #evictions = 0;
  #emptyEvictions = 0;

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

  /** The cached state, marked most recently used (in its own LRU); undefined on a miss. */
  get(userId: string): MailboxState | undefined {
    const entry = this.#states.get(userId);
    if (entry !== undefined) {
      this.#states.touch(entry);
      return entry.state;
    }
    const empty = this.#empty.get(userId);
    if (empty === undefined) return undefined;
    this.#empty.touch(empty);
    return empty.state;
  }

  /** The cached state without touching its recency. */
  peek(userId: string): MailboxState | undefined {
    return (this.#states.get(userId) ?? this.#empty.get(userId))?.state;
  }

  /**
   * Cached users, most recently used first (the hottest move first in a handoff); the empty
   * mailboxes last, so a handoff that drops every moving user drops those too.
   */
  usersByRecency(): string[] {
    return this.#states.newestFirst().concat(this.#empty.newestFirst());
  }

  has(userId: string): boolean {
    return this.#states.has(userId) || this.#empty.has(userId);
  }

  /** Caches a state under the byte budget (a warm handoff's, a test's), empty or not. */
  put(state: MailboxState): void {
    this.delete(state.ownerId);
    this.#states.add(entryOf(state, 0));
    this.recharge(state);
  }

  /**
   * Caches a state a cold load just read from the store. A mailbox with conversations is `put`; an
   * empty one goes to the empty LRU (or nowhere when `emptyMailboxesMax` is 0), so it can evict
   * only other empty mailboxes, never a real user's.
   */
  putLoaded(state: MailboxState): void {
    if (!isEmptyMailbox(state)) {
      this.put(state);
      return;
    }
    this.delete(state.ownerId);
    if (this.#options.emptyMailboxesMax === 0) return;
    this.#empty.add(entryOf(state, state.bytes));
    this.#emptyBytes += state.bytes;
    this.#evictEmptyPastBudget();
  }

  /** Call after a state changed: trims its windows, re-counts its bytes, evicts past the budget. */
  recharge(state: MailboxState): void {
    const empty = this.#empty.get(state.ownerId);
    if (empty !== undefined && empty.state === state) {
      if (isEmptyMailbox(state)) {
        this.#emptyBytes += state.bytes - empty.chargedBytes;
        empty.chargedBytes = state.bytes;
        return;
      }
      // Its first conversation: a real user now, charged against the byte budget like any other.
      this.#empty.delete(state.ownerId);
      this.#emptyBytes -= empty.chargedBytes;
      this.#states.add(entryOf(state, 0));
    }
    const entry = this.#states.get(state.ownerId);
    if (entry === undefined || entry.state !== state) return;
    state.trimWindows(this.#options.windowMessagesMax);
    this.#bytes += state.bytes - entry.chargedBytes;
    entry.chargedBytes = state.bytes;
    this.#evictPastBudget();
  }

  /**
   * Call after a read made texts in a state (its pages' JSON, its cursors, which `MailboxState`
   * charges to its bytes): re-counts the state and evicts past the budget, as `recharge` does but
   * without trimming windows (a read changes none). A state that is not cached is ignored.
   */
  charge(state: MailboxState): void {
    const empty = this.#empty.get(state.ownerId);
    if (empty !== undefined && empty.state === state) {
      this.#emptyBytes += state.bytes - empty.chargedBytes;
      empty.chargedBytes = state.bytes;
      return;
    }
    const entry = this.#states.get(state.ownerId);
    if (entry === undefined || entry.state !== state) return;
    this.#bytes += state.bytes - entry.chargedBytes;
    entry.chargedBytes = state.bytes;
    this.#evictPastBudget();
  }

  delete(userId: string): void {
    const entry = this.#states.delete(userId);
    if (entry !== undefined) this.#bytes -= entry.chargedBytes;
    const empty = this.#empty.delete(userId);
    if (empty !== undefined) this.#emptyBytes -= empty.chargedBytes;
  }

  /** Drops every cached user for whom `predicate` holds (users of a slot this node lost). */
  deleteWhere(predicate: (userId: string) => boolean): number {
    let dropped = 0;
    for (const userId of [...this.#states.newestFirst(), ...this.#empty.newestFirst()]) {
      if (predicate(userId)) {
        this.delete(userId);
        dropped += 1;
      }
    }
    return dropped;
  }

  clear(): void {
    this.#states.clear();
    this.#empty.clear();
    this.#bytes = 0;
    this.#emptyBytes = 0;
  }

  stats(): MailboxCacheStats {
    return {
      users: this.#states.size + this.#empty.size,
      bytes: this.#bytes + this.#emptyBytes,
      evictions: this.#evictions + this.#emptyEvictions,
    };
  }

  emptyStats(): EmptyMailboxStats {
    return { users: this.#empty.size, evictions: this.#emptyEvictions };
  }

  #evictPastBudget(): void {
    if (this.#bytes <= this.#options.cacheBytesMax) return;
    for (const entry of this.#states.oldestFirst()) {
      if (this.#bytes <= this.#options.cacheBytesMax) return;
      if (this.#isPinned(entry.userId)) continue;
      this.#states.delete(entry.userId);
      this.#bytes -= entry.chargedBytes;
      this.#evictions += 1;
    }
  }

  #evictEmptyPastBudget(): void {
    const max = this.#options.emptyMailboxesMax;
    if (this.#empty.size <= max) return;
    for (const entry of this.#empty.oldestFirst()) {
      if (this.#empty.size <= max) return;
      if (this.#isPinned(entry.userId)) continue;
      this.#empty.delete(entry.userId);
      this.#emptyBytes -= entry.chargedBytes;
      this.#emptyEvictions += 1;
    }
  }
}
