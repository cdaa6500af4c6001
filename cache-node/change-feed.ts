import {
  ChatringError,
  FEED_REPLAY_VERSIONS_MAX,
  encodeCursor,
  type ChangesQuery,
} from '../protocol/index.js';
import type { ConversationRow, StoredMessage } from '../store-adapter/index.js';
import { readBounded } from './bounded-reads.js';
import type { MailboxServiceDependencies } from './mailbox-dependencies.js';
import type { MailboxLoader } from './mailbox-loader.js';
import type { JsonAnswer } from './mailbox-reads.js';
import type { MailboxState } from './mailbox-state.js';
import { changeJson, changesJson } from './message-views.js';

type FeedDependencies = Pick<MailboxServiceDependencies, 'store' | 'ownership' | 'cache'>;

export interface ChangeFeedLimits {
  /** Requests held at once for one user; one more is refused (TOO_MANY_WATCHERS). */
  watchersPerUserMax: number;
  /** Requests held at once by the node; one more is refused (TOO_MANY_WATCHERS). */
  watchersPerNodeMax: number;
}

/** What the change feed has done since the node started (node stats). */
export interface ChangeFeedStats {
  /** Requests held now. */
  watchers: number;
  /** Requests refused past a bound. */
  watchersRefused: number;
  /** Held requests answered because a change committed. */
  wokenByCommit: number;
  /** Held requests answered empty at their waitMs. */
  answeredEmpty: number;
  /** Held requests answered with a retryable refusal: the user left this node (ring, handoff, lease). */
  released: number;
  /** Answers replayed from the store's change log (the cursor was older than memory reaches). */
  storeReplays: number;
}

/** A held request: woken by a commit to its user, or failed when the user leaves this node. */
interface Waiter {
  wake(): void;
  fail(error: ChatringError): void;
}

/** One answer of the feed: its JSON text and how many changes it carries. */
interface FeedPage {
  text: string;
  changes: number;
}

/** How often held requests check that the node's lease still holds (a lapse releases them all). */
const LEASE_CHECK_MS = 250;

/**
 * The change feed (`GET /v1/users/:userId/changes`): every change to a user's mailbox after a
 * cursor, oldest first, from the owner's memory: the last `FEED_CHANGES_KEPT` changes of a cached
 * mailbox (`MailboxState.changesAfter`). A cursor older than that is replayed from the store's
 * change log, up to `FEED_REPLAY_VERSIONS_MAX` versions back (else CURSOR_EXPIRED: the app lists
 * again). When nothing changed after the cursor, the request is held: the commit that changes the
 * mailbox wakes it (after the commit is durable and applied to memory), or `waitMs` passes and it
 * is answered empty with the same cursor.
 *
 * Held requests never outlive this node's ownership of their user: a ring that gives the user to
 * another node answers them NOT_OWNER, a handoff or a lapsed lease OWNER_UNAVAILABLE, a node
 * stopping OWNER_UNAVAILABLE; the caller (router or ring-aware client) asks the new owner with the
 * same cursor, and because the cursor counts committed versions, nothing is missed or doubled.
 */
export class ChangeFeed {
  readonly #deps: FeedDependencies;
  readonly #loader: MailboxLoader;
  readonly #limits: ChangeFeedLimits;
  readonly #waiting = new Map<string, Set<Waiter>>();
  #leaseCheck: NodeJS.Timeout | undefined;
  #closed = false;
  readonly stats: ChangeFeedStats = {
    watchers: 0,
    watchersRefused: 0,
    wokenByCommit: 0,
    answeredEmpty: 0,
    released: 0,
    storeReplays: 0,
  };

  constructor(deps: FeedDependencies, loader: MailboxLoader, limits: ChangeFeedLimits) {
    this.#deps = deps;
    this.#loader = loader;
    this.#limits = limits;
  }

  /** A `ChangesResponse` as JSON text: at once when memory answers and nothing is held. */
  changesJson(userId: string, query: ChangesQuery): JsonAnswer {
    this.#deps.ownership.assertServing(userId);
    const state = this.#loader.cached(userId);
    if (state !== undefined) {
      const afterVersion = query.afterVersion ?? state.version;
      const page = this.#fromMemory(state, afterVersion, query.pageSize);
      if (page !== undefined && (page.changes > 0 || query.waitMs === 0)) return page.text;
    }
    return this.#answer(userId, query);
  }

  /** Wakes the requests held for `userId`: a change to its mailbox committed. */
  notify(userId: string): void {
    const waiters = this.#waiting.get(userId);
    if (waiters === undefined) return;
    this.#waiting.delete(userId);
    for (const waiter of waiters) waiter.wake();
  }

  /**
   * Answers every held request whose user this node no longer serves with the refusal
   * `assertServing` gives (NOT_OWNER after a ring change, OWNER_UNAVAILABLE during a handoff or
   * once the lease lapsed): called when the ring moves or a handoff begins, and by the lease check.
   */
  releaseUnserved(): void {
    for (const [userId, waiters] of [...this.#waiting]) {
      const refusal = this.#refusalOf(userId);
      if (refusal === undefined) continue;
      this.#waiting.delete(userId);
      for (const waiter of waiters) waiter.fail(refusal);
    }
  }

  /** Answers every held request with a retryable refusal (the node is stopping). */
  close(): void {
    this.#closed = true;
    this.#stopLeaseCheck();
    for (const [userId, waiters] of [...this.#waiting]) {
      this.#waiting.delete(userId);
      for (const waiter of waiters)
        waiter.fail(new ChatringError('OWNER_UNAVAILABLE', 'the node is stopping; ask again'));
    }
  }

  #refusalOf(userId: string): ChatringError | undefined {
    try {
      this.#deps.ownership.assertServing(userId);
      return undefined;
    } catch (error) {
      return error instanceof ChatringError
        ? error
        : new ChatringError('OWNER_UNAVAILABLE', `cannot tell who owns ${userId}`);
    }
  }

  async #answer(userId: string, query: ChangesQuery): Promise<string> {
    const deadline = performance.now() + query.waitMs;
    let state = await this.#loader.load(userId);
    const afterVersion = query.afterVersion ?? state.version;
    let timedOut = false;
    for (;;) {
      const page = this.#fromMemory(state, afterVersion, query.pageSize);
      if (page === undefined) {
        // Older than memory reaches: a replay moves the cursor on even when it shows nothing
        // (a read superseded later), so it is answered as it is.
        const replayed = await this.#fromStore(state, afterVersion, query.pageSize);
        this.#deps.ownership.assertServing(userId);
        return replayed.text;
      }
      const remainingMs = deadline - performance.now();
      if (page.changes > 0 || timedOut || remainingMs <= 0) {
        this.#deps.ownership.assertServing(userId);
        return page.text;
      }
      // Nothing yet: held until a commit to this user. The memory read above and the hold below
      // run in one synchronous step, so no commit can fall between them.
      const woken = await this.#hold(userId, remainingMs);
      if (woken) this.stats.wokenByCommit += 1;
      else this.stats.answeredEmpty += 1;
      // A timer may fire a fraction of a millisecond early: its firing is the deadline.
      timedOut = !woken;
      this.#deps.ownership.assertServing(userId);
      state = await this.#loader.load(userId);
    }
  }

  /**
   * The changes after `afterVersion` from the mailbox's own log; undefined when memory does not
   * reach back that far. A cursor ahead of the mailbox was not issued by this API.
   */
  #fromMemory(state: MailboxState, afterVersion: number, pageSize: number): FeedPage | undefined {
    if (afterVersion > state.version)
      throw new ChatringError(
        'INVALID_CURSOR',
        `the cursor stands at version ${afterVersion}, beyond the mailbox's ${state.version}`,
      );
    const changes = state.changesAfter(afterVersion, pageSize);
    if (changes === undefined) return undefined;
    const bytesBefore = state.bytes;
    let items = '';
    for (let index = 0; index < changes.length; index += 1) {
      const text = state.changeTextOf(changes[index] as (typeof changes)[number]);
      items = index === 0 ? text : `${items},${text}`;
    }
    if (state.bytes !== bytesBefore) this.#deps.cache.charge(state);
    const cursorVersion = changes.at(-1)?.version ?? afterVersion;
    return {
      text: changesJson(items, state.cursorAt(undefined, cursorVersion)),
      changes: changes.length,
    };
  }

  /**
   * The changes after `afterVersion` from the store: every conversation row changed since (at
   * most one per version, so all of them), then each one's messages since, merged in version
   * order. Reads that superseded each other are shown once, as the row stands now. The answer
   * stops where it is known complete: at the version memory stood at before the reads (later
   * commits may be missing from them), at the page's last change, and before any conversation
   * whose messages filled their own page.
   */
  async #fromStore(state: MailboxState, afterVersion: number, pageSize: number): Promise<FeedPage> {
    const versionBefore = state.version;
    const behind = versionBefore - afterVersion;
    if (behind > FEED_REPLAY_VERSIONS_MAX)
      throw new ChatringError(
        'CURSOR_EXPIRED',
        `the cursor is ${behind} versions behind the mailbox; the feed replays at most ${FEED_REPLAY_VERSIONS_MAX}: list the conversations again and watch from their cursor`,
      );
    const { store } = this.#deps;
    const owner = state.ownerId;
    this.stats.storeReplays += 1;
    this.#loader.stats.storeLoads += 1;
    const rows = await store.conversationsChangedAfter(owner, afterVersion, behind);
    const messages = await readBounded(rows, (row) =>
      store.messagesChangedAfter(owner, row.conversationId, afterVersion, pageSize),
    );
    let cut = versionBefore;
    const changes: { version: number; row: ConversationRow; message?: StoredMessage }[] = [];
    rows.forEach((row, index) => {
      const sent = messages[index] ?? [];
      if (sent.length === pageSize) cut = Math.min(cut, (sent.at(-1) as StoredMessage).version);
      for (const message of sent) changes.push({ version: message.version, row, message });
      // The row's own change, when it was not a message's (a read).
      if (!sent.some((message) => message.version === row.version))
        changes.push({ version: row.version, row });
    });
    changes.sort((a, b) => a.version - b.version);
    const shown = changes.filter((change) => change.version <= cut).slice(0, pageSize);
    if (shown.length === pageSize) cut = (shown.at(-1) as (typeof shown)[number]).version;
    const items = shown.map((change) => changeJson(change.version, change.row, change.message));
    return {
      text: changesJson(items.join(','), encodeCursor({ userId: owner }, cut)),
      changes: shown.length,
    };
  }

  /** Holds until a commit to `userId` (true) or `waitMs` passes (false); refused past a bound. */
  #hold(userId: string, waitMs: number): Promise<boolean> {
    if (this.#closed)
      return Promise.reject(
        new ChatringError('OWNER_UNAVAILABLE', 'the node is stopping; ask again'),
      );
    const waiters = this.#waiting.get(userId);
    if ((waiters?.size ?? 0) >= this.#limits.watchersPerUserMax)
      return this.#refuse(`user ${userId} has ${this.#limits.watchersPerUserMax} watches held`);
    if (this.stats.watchers >= this.#limits.watchersPerNodeMax)
      return this.#refuse(
        `this node holds its limit of ${this.#limits.watchersPerNodeMax} watches`,
      );
    return new Promise<boolean>((resolve, reject) => {
      const settle = (): void => {
        clearTimeout(timer);
        this.stats.watchers -= 1;
        const set = this.#waiting.get(userId);
        if (set?.delete(waiter) === true && set.size === 0) this.#waiting.delete(userId);
        if (this.stats.watchers === 0) this.#stopLeaseCheck();
      };
      const waiter: Waiter = {
        wake: () => {
          settle();
          resolve(true);
        },
        fail: (error) => {
          settle();
          this.stats.released += 1;
          reject(error);
        },
      };
      const timer = setTimeout(() => {
        settle();
        resolve(false);
      }, waitMs);
      let set = this.#waiting.get(userId);
      if (set === undefined) {
        set = new Set();
        this.#waiting.set(userId, set);
      }
      set.add(waiter);
      this.stats.watchers += 1;
      this.#startLeaseCheck();
    });
  }

  #refuse(why: string): Promise<never> {
    this.stats.watchersRefused += 1;
    return Promise.reject(new ChatringError('TOO_MANY_WATCHERS', `${why}; nothing is held`));
  }

  /**
   * A node whose lease lapsed (cut off from the control plane, or paused) may have lost its users
   * to a standby without hearing of it: its held requests are answered at once, so their callers
   * find the new owner instead of waiting out `waitMs` here.
   */
  #startLeaseCheck(): void {
    this.#leaseCheck ??= setInterval(() => {
      // The lease is the node's: one waiting user's check tells whether it still holds (checking
      // every one each time would cost O(watched users) four times a second).
      for (const userId of this.#waiting.keys()) {
        if (this.#refusalOf(userId) !== undefined) this.releaseUnserved();
        break;
      }
    }, LEASE_CHECK_MS).unref();
  }

  #stopLeaseCheck(): void {
    if (this.#leaseCheck !== undefined) clearInterval(this.#leaseCheck);
    this.#leaseCheck = undefined;
  }
}
