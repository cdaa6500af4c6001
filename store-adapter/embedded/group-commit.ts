import type { MailboxCommit, StoreStats } from '../mailbox-store.js';
import type { CommitOutcome, CommitWriter } from './commit-writer.js';

/**
 * The embedded store's figures, for node stats and the bench. With synchronous=FULL every
 * transaction is one fsync of the WAL (checkpoints add a few more), so `transactions / commits` is
 * the fsyncs a commit costs.
 */
export interface EmbeddedStoreStats extends StoreStats {
  readonly counters: EmbeddedStoreCounters;
  readonly gauges: EmbeddedStoreGauges;
}

/** Totals since the store opened, which only grow. */
// Types, not interfaces, so they are assignable to StoreFigures (an index signature).
export type EmbeddedStoreCounters = {
  /** commit() calls. */
  commits: number;
  /** Commits that changed a mailbox. */
  commitsApplied: number;
  /** Re-sent commits (same commitId as the stored version): no-op successes. */
  commitsResent: number;
  /** Commits refused with StoreVersionConflictError. */
  conflicts: number;
  /** Commits that failed otherwise (an SQLite error, a busy timeout, a transaction that failed). */
  commitsFailed: number;
  /** Write transactions committed: one fsync-equivalent each with synchronous=FULL. */
  transactions: number;
  /** Write transactions that failed to commit (all of their commits failed). */
  transactionsFailed: number;
  /** Attempts to take the write lock that found it held by another connection (SQLITE_BUSY). */
  lockBusy: number;
  /** Transactions that had to wait for the write lock. */
  lockWaits: number;
  /** Time spent waiting for the write lock (polling with timers: the event loop stays free). */
  lockWaitMs: number;
  /** Time spent inside write transactions, the fsync included (the event loop is blocked). */
  transactionMs: number;
  /** Commits sent to the commit server (commit-server.ts) rather than written here. Through it,
   * transactions, transactionMs and lockWaitMs are this process's shares of the server's. */
  commitsViaServer: number;
  /** Times this process gave up on an unanswered commit server (commitServerTimeoutMs). */
  commitServerTimeouts: number;
};

/** Figures read as they stand. */
export type EmbeddedStoreGauges = {
  /** The largest number of commits one transaction carried since the store opened. */
  batchSizeMax: number;
  /** Commits queued for the next transaction, now. */
  queued: number;
};

/** Poll delays while another process holds the write lock: short, since a transaction is ~1 ms. */
const LOCK_RETRY_DELAYS_MS = [1, 1, 1, 2, 2, 3, 5];

/**
 * One commit's part of the transaction that carried it: 1/n of the transaction, of its time and of
 * the wait for its lock, for a batch of n. The commit server sends it back with each answer, so
 * the nodes' counters, summed, give the writer's true totals (each transaction counted once).
 */
export interface CommitReceipt {
  /** The same commit had already set this version: a no-op success. */
  resent: boolean;
  transactions: number;
  transactionMs: number;
  lockWaitMs: number;
}

/** No transaction committed (it failed, or the lock was never taken): no share of one. */
const NO_SHARE = Object.freeze({ transactions: 0, transactionMs: 0, lockWaitMs: 0 });

/**
 * How a commit settles: `error` undefined once it is durable (or was already stored), else why it
 * was not applied. The share of the transaction comes either way: a refused commit (a conflict)
 * still rode in it.
 */
export type CommitCallback = (error: unknown, receipt: CommitReceipt) => void;

interface Pending {
  commit: MailboxCommit;
  settle: CommitCallback;
}

export interface GroupCommitSettings {
  maxCommits: number;
  waitMs: number;
  busyTimeoutMs: number;
}

/**
 * Group commit: commit() calls queue; one flush takes up to `maxCommits` of them into a single
 * transaction (one fsync). A flush starts at the end of the event-loop turn the first commit
 * arrived in (or `waitMs` later); commits arriving while a transaction is written or while the
 * write lock is awaited join the next batch. Each caller's promise settles only after the
 * transaction holding its commit has committed (is durable), with that commit's own outcome.
 * Commits apply in arrival order, so commits to one owner keep their order within and across
 * batches.
 */
export class GroupCommit {
  readonly #writer: CommitWriter;
  readonly #settings: GroupCommitSettings;
  readonly #queue: Pending[] = [];
  readonly #counters: EmbeddedStoreCounters = {
    commits: 0,
    commitsApplied: 0,
    commitsResent: 0,
    conflicts: 0,
    commitsFailed: 0,
    transactions: 0,
    transactionsFailed: 0,
    lockBusy: 0,
    lockWaits: 0,
    lockWaitMs: 0,
    transactionMs: 0,
    commitsViaServer: 0,
    commitServerTimeouts: 0,
  };
  #batchSizeMax = 0;
  /** A flush (or a lock retry) is scheduled or running. */
  #busy = false;
  #timer: NodeJS.Timeout | undefined;
  /** When the current flush first found the write lock held, and how many times since. */
  #lockWaitSince: number | undefined;
  #lockAttempts = 0;
  #idle: (() => void)[] = [];

  constructor(writer: CommitWriter, settings: GroupCommitSettings) {
    this.#writer = writer;
    this.#settings = settings;
  }

  /** Resolves once the transaction holding the commit is durable, with the commit's share of it. */
  commit(commit: MailboxCommit): Promise<CommitReceipt> {
    return new Promise<CommitReceipt>((resolve, reject) =>
      this.submit(commit, (error, receipt) =>
        error === undefined ? resolve(receipt) : reject(error),
      ),
    );
  }

  /** commit() for a caller that needs the share of a refused commit too (the commit server). */
  submit(commit: MailboxCommit, settle: CommitCallback): void {
    this.#counters.commits += 1;
    this.#queue.push({ commit, settle });
    if (!this.#busy) {
      this.#busy = true;
      if (this.#settings.waitMs > 0 && this.#queue.length < this.#settings.maxCommits)
        this.#timer = setTimeout(this.#flush, this.#settings.waitMs);
      else setImmediate(this.#flush);
    } else if (this.#timer !== undefined && this.#queue.length >= this.#settings.maxCommits) {
      // A full batch does not wait out the group-commit delay (a lock retry timer is kept).
      if (this.#lockWaitSince === undefined) {
        clearTimeout(this.#timer);
        this.#timer = undefined;
        setImmediate(this.#flush);
      }
    }
  }

  stats(): EmbeddedStoreStats {
    return {
      counters: { ...this.#counters },
      gauges: { batchSizeMax: this.#batchSizeMax, queued: this.#queue.length },
    };
  }

  /** Resolves once every queued commit has settled. */
  drained(): Promise<void> {
    if (!this.#busy && this.#queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  readonly #flush = (): void => {
    this.#timer = undefined;
    const batchSize = Math.min(this.#queue.length, this.#settings.maxCommits);
    if (batchSize === 0) return this.#finish();
    const startedAt = performance.now();
    let busy: Error | undefined;
    try {
      busy = this.#writer.tryBegin();
    } catch (error) {
      return this.#fail(this.#queue.splice(0, batchSize), error);
    }
    if (busy !== undefined) return this.#retryLock(busy, startedAt);
    let lockWaitMs = 0;
    if (this.#lockWaitSince !== undefined) {
      lockWaitMs = startedAt - this.#lockWaitSince;
      this.#counters.lockWaits += 1;
      this.#counters.lockWaitMs += lockWaitMs;
      this.#lockWaitSince = undefined;
      this.#lockAttempts = 0;
    }
    // Commits that queued while we waited for the lock join this batch, up to the bound.
    const batch = this.#queue.splice(0, Math.min(this.#queue.length, this.#settings.maxCommits));
    let outcomes: CommitOutcome[];
    try {
      outcomes = this.#writer.writeBatch(batch.map((pending) => pending.commit));
    } catch (error) {
      this.#counters.transactionMs += performance.now() - startedAt;
      return this.#fail(batch, error);
    }
    const transactionMs = performance.now() - startedAt;
    this.#counters.transactionMs += transactionMs;
    this.#counters.transactions += 1;
    this.#batchSizeMax = Math.max(this.#batchSizeMax, batch.length);
    const share = {
      transactions: 1 / batch.length,
      transactionMs: transactionMs / batch.length,
      lockWaitMs: lockWaitMs / batch.length,
    };
    batch.forEach((pending, index) => this.#settle(pending, outcomes[index], share));
    this.#finish();
  };

  #retryLock(busy: Error, now: number): void {
    this.#counters.lockBusy += 1;
    this.#lockWaitSince ??= now;
    if (now - this.#lockWaitSince >= this.#settings.busyTimeoutMs) {
      this.#counters.lockWaits += 1;
      this.#counters.lockWaitMs += now - this.#lockWaitSince;
      this.#lockWaitSince = undefined;
      this.#lockAttempts = 0;
      const batch = this.#queue.splice(0, Math.min(this.#queue.length, this.#settings.maxCommits));
      return this.#fail(batch, busy, false);
    }
    const delay =
      LOCK_RETRY_DELAYS_MS[Math.min(this.#lockAttempts, LOCK_RETRY_DELAYS_MS.length - 1)] ?? 1;
    this.#lockAttempts += 1;
    this.#timer = setTimeout(this.#flush, delay);
  }

  #settle(
    pending: Pending,
    outcome: CommitOutcome | undefined,
    share: Omit<CommitReceipt, 'resent'>,
  ): void {
    if (outcome?.kind === 'applied') {
      this.#counters.commitsApplied += 1;
      pending.settle(undefined, { resent: false, ...share });
    } else if (outcome?.kind === 'resent') {
      this.#counters.commitsResent += 1;
      pending.settle(undefined, { resent: true, ...share });
    } else {
      const error = outcome?.error ?? new Error('embedded store: commit without an outcome');
      if ((error as { code?: unknown }).code === 'STORE_VERSION_CONFLICT')
        this.#counters.conflicts += 1;
      else this.#counters.commitsFailed += 1;
      pending.settle(error, { resent: false, ...share });
    }
  }

  #fail(batch: Pending[], error: unknown, transactionFailed = true): void {
    if (transactionFailed) this.#counters.transactionsFailed += 1;
    this.#counters.commitsFailed += batch.length;
    for (const pending of batch) pending.settle(error, { resent: false, ...NO_SHARE });
    this.#finish();
  }

  /** After a flush: the next batch starts after this turn's I/O, so requests that arrived during
   * the transaction get to queue their commits into it. */
  #finish(): void {
    if (this.#queue.length > 0) {
      setImmediate(this.#flush);
      return;
    }
    this.#busy = false;
    for (const resolve of this.#idle.splice(0)) resolve();
  }
}
