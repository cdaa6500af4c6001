import type cassandra from 'cassandra-driver';
import assert from 'node:assert';
import { ChatringError } from '../../protocol/index.js';
import { StoreVersionConflictError, type MailboxCommit } from '../mailbox-store.js';
import type { BucketLayout } from './buckets.js';
import { commitRows } from './commit-rows.js';
import type { QueryObserver, QueryRunner } from './query-runner.js';
import { toNumber } from './row-mappers.js';
import type { CqlStatements } from './statements.js';

/**
 * A commit is made atomic and compare-and-set without multi-partition transactions, with ONE
 * Paxos round (docs/cassandra-schema.md, "Commits", has the full argument):
 *  1. a lightweight transaction on the owner's `mailboxes` row moves the version from v-1 to v and
 *     stores the whole commit as its intent (write-ahead). Its condition names commit v-1
 *     (`IF version = v-1 AND last_commit_id = <id of v-1>`), and the proposer sends it only when it
 *     KNOWS commit v-1's rows are complete: this store instance wrote them, or rolled them forward
 *     from the intent it read. Overwriting v-1's intent then loses nothing;
 *  2. the commit's rows are written (idempotent upserts, commit-rows.ts); the store instance then
 *     records (owner, v, commitId) as settled.
 * The intent is never cleared: the mailboxes row always holds the LAST commit's intent, and whether
 * its rows are complete is known only to whoever wrote them. So anyone who does not know (another
 * process, this one after forgetting, a reader after a crash) rolls the stored intent forward
 * before relying on it: it re-writes the rows, which is idempotent because every row a commit
 * writes carries the write timestamp v (the mailbox version): re-applying an old commit can never
 * overwrite a newer one, and two processes rolling the same intent forward write identical cells.
 */

export interface CassandraStoreHooks {
  /**
   * Fault injection for tests: runs after a commit's intent is durable (its compare-and-set won)
   * and before its rows are written. Throwing here leaves the mailbox as a crash at that point would.
   */
  afterIntentDurable?(commit: MailboxCommit): void | Promise<void>;
  /**
   * Fault injection for tests: runs after a commit's rows are written, before this store records
   * the commit as settled and returns. Throwing here is a crash just before the acknowledgement.
   */
  afterRowsWritten?(commit: MailboxCommit): void | Promise<void>;
  /** Sees every request start and end (tests count sequential round trips with it). */
  queryObserver?: QueryObserver;
}

/** Rounds of "settle the stored commit, then try again" before a commit gives up. */
const COMMIT_ATTEMPTS_MAX = 3;

/**
 * Owners whose last settled commit a store instance remembers (~200 bytes each). Forgetting one
 * costs a roll-forward of its stored intent (and, for a commit, one SERIAL read), never correctness.
 */
export const SETTLED_OWNERS_MAX = 100_000;

/** What the mailboxes row says: the committed version and the intent of the commit that set it. */
export interface MailboxState {
  version: number;
  lastCommitId: string | undefined;
  /** The last commit, whose rows may be incomplete (undefined once cleared by an older release). */
  pendingCommit: MailboxCommit | undefined;
}

/** A commit whose rows are known complete. A missing mailbox is `{ version: 0, commitId: undefined }`. */
interface SettledCommit {
  version: number;
  commitId: string | undefined;
}

/**
 * Per owner, the newest commit this store instance knows settled (it wrote or rolled forward all
 * its rows): bounded, least recently used first out. Entries are replaced, never mutated, so a
 * reader can hold one as a snapshot.
 */
class SettledCommits {
  readonly #byOwner = new Map<string, SettledCommit>();
  readonly #capacity: number;

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  get(ownerId: string): SettledCommit | undefined {
    const settled = this.#byOwner.get(ownerId);
    if (settled !== undefined) {
      this.#byOwner.delete(ownerId);
      this.#byOwner.set(ownerId, settled);
    }
    return settled;
  }

  /** Remembers a settled commit unless a newer one is already known (settling only moves forward). */
  record(ownerId: string, version: number, commitId: string | undefined): void {
    const known = this.#byOwner.get(ownerId);
    if (known !== undefined && known.version > version) return;
    this.#byOwner.delete(ownerId);
    this.#byOwner.set(ownerId, { version, commitId });
    if (this.#byOwner.size > this.#capacity) {
      const oldest = this.#byOwner.keys().next();
      if (oldest.done !== true) this.#byOwner.delete(oldest.value);
    }
  }

  forget(ownerId: string): void {
    this.#byOwner.delete(ownerId);
  }
}

export class CommitProtocol {
  readonly #runner: QueryRunner;
  readonly #statements: CqlStatements;
  readonly #buckets: BucketLayout;
  readonly #hooks: CassandraStoreHooks;
  readonly #settled: SettledCommits;

  constructor(
    runner: QueryRunner,
    statements: CqlStatements,
    buckets: BucketLayout,
    hooks: CassandraStoreHooks,
    settledOwnersMax = SETTLED_OWNERS_MAX,
  ) {
    this.#runner = runner;
    this.#statements = statements;
    this.#buckets = buckets;
    this.#hooks = hooks;
    this.#settled = new SettledCommits(settledOwnersMax);
  }

  /** Applies `commit` or throws StoreVersionConflictError (the contract in mailbox-store.ts). */
  async commit(commit: MailboxCommit): Promise<void> {
    assertCommitShape(commit);
    const { ownerId, version, commitId } = commit;
    let storedVersion = version - 1;
    for (let attempt = 1; attempt <= COMMIT_ATTEMPTS_MAX; attempt += 1) {
      let previous = version === 1 ? undefined : this.#settled.get(ownerId);
      if (version > 1 && (previous?.version !== version - 1 || previous.commitId === undefined)) {
        // Not known settled here (first commit of this owner in this process, or forgotten): read
        // the row linearizably and finish its last commit before overwriting its intent.
        const state = await this.settle(ownerId, this.#runner.serialConsistency);
        if (state.version === version && state.lastCommitId === commitId) return; // re-sent, now complete
        if (state.version !== version - 1 || state.lastCommitId === undefined) {
          throw new StoreVersionConflictError(ownerId, version - 1, state.version);
        }
        previous = { version: state.version, commitId: state.lastCommitId };
      }
      const outcome = await this.#compareAndSet(commit, previous?.commitId);
      if (outcome.applied) {
        await this.#hooks.afterIntentDurable?.(commit);
        await this.#writeRows(commit);
        await this.#hooks.afterRowsWritten?.(commit);
        this.#settled.record(ownerId, version, commitId);
        return;
      }
      // Refused; the LWT's own (linearizable) read says what the row holds.
      storedVersion = outcome.version;
      if (outcome.version === version && outcome.lastCommitId === commitId) {
        // A re-sent commit that already won: make sure its rows are there.
        await this.settle(ownerId, this.#runner.serialConsistency);
        return;
      }
      if (outcome.version !== version - 1) break;
      // At v-1 but not the commit this process knew settled: forget it, settle, try again.
      this.#settled.forget(ownerId);
    }
    throw new StoreVersionConflictError(ownerId, version - 1, storedVersion);
  }

  // ---- settling: no read returns half of a commit whose writer died ----------------------------

  /**
   * Reads the mailbox row at `consistency` and, unless this process knows its last commit settled,
   * rolls that commit forward; either way it is settled afterwards, and recorded so.
   */
  async settle(ownerId: string, consistency: number): Promise<MailboxState> {
    const state = await this.mailboxState(ownerId, consistency);
    const known = this.#settled.get(ownerId);
    const alreadySettled =
      known !== undefined &&
      known.version === state.version &&
      known.commitId === state.lastCommitId;
    if (state.pendingCommit !== undefined && !alreadySettled) {
      this.#runner.countRollForward();
      await this.#writeRows(state.pendingCommit);
    }
    this.#settled.record(ownerId, state.version, state.lastCommitId);
    return state;
  }

  /**
   * The mailbox version, every commit up to it settled. One small read (no intent) when this
   * process knows the stored commit settled; else the whole row, and a roll-forward.
   */
  async settledVersion(ownerId: string): Promise<number> {
    const known = this.#settled.get(ownerId);
    if (known !== undefined) {
      const head = await this.#head(ownerId);
      if (head.version === known.version && head.lastCommitId === known.commitId) {
        return head.version;
      }
    }
    return (await this.settle(ownerId, this.#runner.readConsistency)).version;
  }

  /**
   * Runs a read. When this process knows the owner's last commit settled, the read runs alongside a
   * look at the row's head (one round trip, not two) and stands if the row still holds that commit:
   * every commit up to it is complete, and was before the read started. Otherwise (another commit
   * landed, or nothing is known) the stored commit is settled first and the read runs after it.
   */
  async settledRead<T>(ownerId: string, read: () => Promise<T>): Promise<T> {
    // Taken before the reads start: a commit recorded settled later may have been half-written
    // when `read` ran.
    const known = this.#settled.get(ownerId);
    if (known !== undefined) {
      const [head, result] = await Promise.all([this.#head(ownerId), read()]);
      if (head.version === known.version && head.lastCommitId === known.commitId) return result;
    }
    await this.settle(ownerId, this.#runner.readConsistency);
    return read();
  }

  async mailboxState(ownerId: string, consistency: number): Promise<MailboxState> {
    const row = (await this.#runner.read(this.#statements.mailbox, [ownerId], consistency)).first();
    if (row === null) return { version: 0, lastCommitId: undefined, pendingCommit: undefined };
    const pending = row.get('pending_commit') as string | null;
    const state: MailboxState = {
      version: toNumber(row.get('version')),
      lastCommitId: (row.get('last_commit_id') as string | null) ?? undefined,
      pendingCommit: pending === null ? undefined : parseIntent(ownerId, pending),
    };
    // The compare-and-set writes the version and the intent together, so they always agree.
    assert(
      state.pendingCommit === undefined ||
        (state.pendingCommit.version === state.version &&
          state.pendingCommit.commitId === state.lastCommitId),
      `mailbox ${ownerId}: the intent is for version ${state.pendingCommit?.version}, row is at ${state.version}`,
    );
    return state;
  }

  // ---- the two steps -----------------------------------------------------------------------------

  /**
   * The compare-and-set: applied if this commit now owns version v (its intent is durable);
   * refused, with what the row holds (read inside the same Paxos round), otherwise.
   */
  async #compareAndSet(
    commit: MailboxCommit,
    previousCommitId: string | undefined,
  ): Promise<{ applied: boolean; version: number; lastCommitId: string | undefined }> {
    const intent = JSON.stringify(commit);
    const s = this.#statements;
    const result =
      commit.version === 1
        ? await this.#runner.lwt(s.createMailbox, [commit.ownerId, 1, commit.commitId, intent])
        : await this.#runner.lwt(s.advanceMailbox, [
            commit.version,
            commit.commitId,
            intent,
            commit.ownerId,
            commit.version - 1,
            previousCommitId,
          ]);
    if (result.wasApplied())
      return { applied: true, version: commit.version, lastCommitId: commit.commitId };
    return { applied: false, ...rowHead(result.first()) };
  }

  /** Writes a commit's rows (its own, or an intent it found), at write timestamp v. */
  async #writeRows(commit: MailboxCommit): Promise<void> {
    const { body, batch } = commitRows(this.#statements, this.#buckets, commit);
    await this.#runner.writeRows(commit.version, body, batch);
  }

  /** The version and last commit id, without the intent. */
  async #head(ownerId: string): Promise<{ version: number; lastCommitId: string | undefined }> {
    return rowHead((await this.#runner.read(this.#statements.mailboxHead, [ownerId])).first());
  }
}

/** Version and last commit id of a mailboxes row (or of a refused LWT's answer); 0 if absent. */
function rowHead(row: cassandra.types.Row | null | undefined): {
  version: number;
  lastCommitId: string | undefined;
} {
  const version = row?.get('version') as unknown;
  if (version === null || version === undefined) return { version: 0, lastCommitId: undefined };
  return {
    version: toNumber(version),
    lastCommitId: (row?.get('last_commit_id') as string | null | undefined) ?? undefined,
  };
}

/** The cache node builds every commit; a wrong shape is its bug, never a caller's. */
function assertCommitShape(commit: MailboxCommit): void {
  assert(
    Number.isSafeInteger(commit.version) && commit.version >= 1,
    `commit version must be a positive integer, got ${commit.version}`,
  );
  assert(
    commit.kind !== 'message' ||
      commit.message.conversationId === commit.conversation.conversationId,
    'a message commit must update the conversation its message belongs to',
  );
}

/**
 * An intent of a kind this process does not know can only come from a newer chatring release
 * sharing the keyspace during a rolling upgrade (migrations are additive). That is STORE_UNAVAILABLE,
 * not a bug: the request is retryable, and a process of the newer release rolls the intent
 * forward, after which the retry succeeds.
 */
function parseIntent(ownerId: string, json: string): MailboxCommit {
  const commit = JSON.parse(json) as MailboxCommit;
  if ((commit.kind !== 'message' && commit.kind !== 'read') || typeof commit.ownerId !== 'string') {
    throw new ChatringError(
      'STORE_UNAVAILABLE',
      `mailbox ${ownerId}: the pending intent is not a commit this store version can apply`,
    );
  }
  return commit;
}
