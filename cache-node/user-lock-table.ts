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
  mutex: MutexInterface;
  /** Holders plus waiters; the entry is dropped when it reaches 0, so the table holds only busy users. */
  users: number;
}

/** One mutex per user (async-mutex), created on demand and dropped when idle. */
export class UserLockTable {
  readonly #options: Readonly<UserLockTableOptions>;
  readonly #entries = new Map<string, Entry>();

  constructor(options: Partial<UserLockTableOptions> = {}) {
    this.#options = resolveOptions(
      'UserLockTable',
      DEFAULT_USER_LOCK_TABLE_OPTIONS,
      options,
      USER_LOCK_TABLE_RULES,
    );
  }

  /** Runs `work` holding the user's lock. */
  async run<T>(userId: string, work: () => Promise<T>): Promise<T> {
    const entry = this.#enter(userId);
    try {
      return await entry.mutex.runExclusive(work);
    } finally {
      this.#leave(userId, entry);
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
      const timeoutError = new ChatringError(
        'USER_BUSY',
        `waited over ${this.#options.lockWaitTimeoutMs} ms for the lock of ${userId}`,
      );
      entry = {
        mutex: withTimeout(new Mutex(), this.#options.lockWaitTimeoutMs, timeoutError),
        users: 0,
      };
      this.#entries.set(userId, entry);
    }
    // One holder plus waitersMax waiters.
    if (entry.users > this.#options.waitersMax) {
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
