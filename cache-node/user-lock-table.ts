import assert from 'node:assert/strict';
import { Mutex, withTimeout, type MutexInterface } from 'async-mutex';
import {
  ChatringError,
  LOCK_WAITERS_LIMIT,
  TIMEOUT_MS_MAX,
  integerRule,
  resolveOptions,
  type OptionRules,
} from '../protocol/index.js';

export interface UserLockTableOptions {
  /**
   * Most requests that may wait on one user's lock; one more is refused with USER_BUSY at once, so a
   * hot or stuck user cannot queue unbounded work.
   * @default 64
   */
  waitersMax: number;
  /**
   * Longest wait for a user's lock before USER_BUSY.
   * @default 5000
   */
  lockWaitTimeoutMs: number;
}

export const DEFAULT_USER_LOCK_TABLE_OPTIONS: Readonly<UserLockTableOptions> = Object.freeze({
  waitersMax: 64,
  lockWaitTimeoutMs: 5_000,
});

const USER_LOCK_TABLE_RULES: OptionRules<UserLockTableOptions> = {
  waitersMax: integerRule(0, LOCK_WAITERS_LIMIT),
  lockWaitTimeoutMs: integerRule(1, TIMEOUT_MS_MAX),
};

interface Entry {
  /** Rejects a wait with the table's `#waitTimedOut` once it passes lockWaitTimeoutMs. */
  mutex: MutexInterface;
  /** Holders plus waiters; the entry is dropped when it reaches 0, so the table holds only busy users. */
  users: number;
}

/** Counts since the table was made, which only grow (the node's metrics read them). */
export interface UserLockStats {
  /** Locks taken (each `run` whose work started). */
  acquired: number;
  /** Runs that found the lock held or waited for and had to queue (taken or not in the end). */
  waited: number;
  /** Runs refused at once: waitersMax requests were already waiting (USER_BUSY). */
  refusedWaitersFull: number;
  /** Runs refused after waiting lockWaitTimeoutMs (USER_BUSY). */
  refusedWaitTimeout: number;
}

/** What the table tells of each wait, and the clock it times waits by. */
export interface UserLockObserver {
  /** Monotonic milliseconds. */
  monotonicNow(): number;
  /**
   * A run that had to queue got the lock (`acquired`) or gave up at the wait timeout, after
   * `waitMs`. Runs that found the lock free are not reported: they waited for nothing, and the
   * uncontended path stays free of clock reads.
   */
  waited(waitMs: number, acquired: boolean): void;
}

/** One mutex per user (async-mutex), created on demand and dropped when idle. */
export class UserLockTable {
  readonly #options: Readonly<UserLockTableOptions>;
  readonly #entries = new Map<string, Entry>();
  readonly #observer: UserLockObserver | undefined;
  /**
   * What every entry's mutex rejects a timed-out wait with: one object for the table, turned into
   * the user's USER_BUSY where it is caught. An error made per entry cost a stack trace for every
   * lock taken (1.3% of a node's busy time under sends, profiled), and almost none time out.
   */
  readonly #waitTimedOut = new Error('the wait for a user lock timed out');
  readonly stats: UserLockStats = {
    acquired: 0,
    waited: 0,
    refusedWaitersFull: 0,
    refusedWaitTimeout: 0,
  };

  constructor(options: Partial<UserLockTableOptions> = {}, observer?: UserLockObserver) {
    this.#options = resolveOptions(
      'UserLockTable',
      DEFAULT_USER_LOCK_TABLE_OPTIONS,
      options,
      USER_LOCK_TABLE_RULES,
    );
    this.#observer = observer;
  }

  /** Runs `work` holding the user's lock. */
  async run<T>(userId: string, work: () => Promise<T>): Promise<T> {
    const entry = this.#enter(userId);
    try {
      // Alone in the entry: the lock is free, nothing to wait for or to time.
      if (entry.users === 1) {
        this.stats.acquired += 1;
        return await entry.mutex.runExclusive(work);
      }
      return await this.#runAfterWait(userId, entry, work);
    } finally {
      this.#leave(userId, entry);
    }
  }

  /** Queued behind a holder or other waiters: the wait is counted, timed, and reported. */
  async #runAfterWait<T>(userId: string, entry: Entry, work: () => Promise<T>): Promise<T> {
    this.stats.waited += 1;
    const startedAt = this.#observer?.monotonicNow() ?? 0;
    let acquired = false;
    try {
      return await entry.mutex.runExclusive(() => {
        acquired = true;
        this.stats.acquired += 1;
        this.#observer?.waited(this.#observer.monotonicNow() - startedAt, true);
        return work();
      });
    } catch (error) {
      if (!acquired && error === this.#waitTimedOut) {
        this.stats.refusedWaitTimeout += 1;
        this.#observer?.waited(this.#observer.monotonicNow() - startedAt, false);
        throw new ChatringError(
          'USER_BUSY',
          `waited over ${this.#options.lockWaitTimeoutMs} ms for the lock of ${userId}`,
        );
      }
      throw error;
    }
  }

  isBusy(userId: string): boolean {
    return this.#entries.has(userId);
  }

  get busyUsers(): number {
    return this.#entries.size;
  }

  #enter(userId: string): Entry {
    let entry = this.#entries.get(userId);
    if (entry === undefined) {
      entry = {
        mutex: withTimeout(new Mutex(), this.#options.lockWaitTimeoutMs, this.#waitTimedOut),
        users: 0,
      };
      this.#entries.set(userId, entry);
    }
    // One holder plus waitersMax waiters.
    if (entry.users > this.#options.waitersMax) {
      this.stats.refusedWaitersFull += 1;
      throw new ChatringError(
        'USER_BUSY',
        `more than ${this.#options.waitersMax} requests are waiting on ${userId}`,
      );
    }
    entry.users += 1;
    return entry;
  }

  #leave(userId: string, entry: Entry): void {
    assert(entry.users > 0, 'every leave follows an enter');
    entry.users -= 1;
    if (entry.users === 0) this.#entries.delete(userId);
  }
}
