import assert from 'node:assert';
import { ChatringError } from '../../protocol/index.js';
import { StoreVersionConflictError, type MailboxCommit } from '../mailbox-store.js';
import type { BucketLayout } from './buckets.js';
import { commitRows } from './commit-rows.js';
import type { QueryRunner } from './query-runner.js';
import { toNumber } from './row-mappers.js';
import type { CqlStatements } from './statements.js';

/**
 * A commit is made atomic and compare-and-set without multi-partition transactions:
 *  1. a lightweight transaction on the owner's `mailboxes` row moves the version from v-1 to v
 *     and stores the whole commit as a pending intent (write-ahead), only if no intent is pending;
 *  2. the commit's rows are written (idempotent upserts, commit-rows.ts);
 *  3. a second lightweight transaction clears the intent.
 * Anyone who finds an intent pending (a reader, the next commit, a re-sent commit) rolls it
 * forward by re-applying step 2 and 3. Every row a commit writes carries the write timestamp v
 * (the mailbox version), so re-applying an old commit can never overwrite a newer one, and two
 * processes rolling the same intent forward write identical cells.
 */

export interface CassandraStoreHooks {
  /**
   * Fault injection for tests: runs after a commit's intent is durable and before its rows are
   * written. Throwing here leaves the mailbox as a crash at that point would.
   */
  afterIntentDurable?(commit: MailboxCommit): void | Promise<void>;
}

/** Rounds of "roll forward the pending intent, then try again" before a commit gives up. */
const COMMIT_ATTEMPTS_MAX = 3;

/** What the mailboxes row says: the committed version and, if its rows may be missing, the commit. */
export interface MailboxState {
  version: number;
  lastCommitId: string | undefined;
  pendingCommit: MailboxCommit | undefined;
}

export class CommitProtocol {
  readonly #runner: QueryRunner;
  readonly #statements: CqlStatements;
  readonly #buckets: BucketLayout;
  readonly #hooks: CassandraStoreHooks;

  constructor(
    runner: QueryRunner,
    statements: CqlStatements,
    buckets: BucketLayout,
    hooks: CassandraStoreHooks,
  ) {
    this.#runner = runner;
    this.#statements = statements;
    this.#buckets = buckets;
    this.#hooks = hooks;
  }

  /** Applies `commit` or throws StoreVersionConflictError (the contract in mailbox-store.ts). */
  async commit(commit: MailboxCommit): Promise<void> {
    assertCommitShape(commit);
    for (let attempt = 1; attempt <= COMMIT_ATTEMPTS_MAX; attempt += 1) {
      if (await this.#proposeIntent(commit)) {
        await this.#hooks.afterIntentDurable?.(commit);
        await this.#rollForward(commit);
        return;
      }
      const state = await this.mailboxState(commit.ownerId, this.#runner.serialConsistency);
      if (state.version === commit.version && state.lastCommitId === commit.commitId) {
        // A re-sent commit: it already won the compare-and-set; make sure its rows are there.
        if (state.pendingCommit !== undefined) await this.#rollForward(state.pendingCommit);
        return;
      }
      if (state.version === commit.version - 1 && state.pendingCommit !== undefined) {
        // The previous commit's rows may be missing (its writer died); finish it, then try again.
        await this.#rollForward(state.pendingCommit);
        continue;
      }
      throw new StoreVersionConflictError(commit.ownerId, commit.version - 1, state.version);
    }
    const state = await this.mailboxState(commit.ownerId, this.#runner.serialConsistency);
    throw new StoreVersionConflictError(commit.ownerId, commit.version - 1, state.version);
  }

  // ---- settling: no read returns half of a commit whose writer died ----------------------------

  /** Reads the mailbox row at `consistency` and rolls forward an intent left pending. */
  async settle(ownerId: string, consistency: number): Promise<MailboxState> {
    const state = await this.mailboxState(ownerId, consistency);
    if (state.pendingCommit === undefined) return state;
    await this.#rollForward(state.pendingCommit);
    return { ...state, pendingCommit: undefined };
  }

  /**
   * Runs a read alongside a look at the mailbox row (one round trip, not two). If an intent is
   * pending, the rows read may be half of that commit: roll it forward and read again.
   */
  async settledRead<T>(ownerId: string, read: () => Promise<T>): Promise<T> {
    const [state, result] = await Promise.all([
      this.mailboxState(ownerId, this.#runner.readConsistency),
      read(),
    ]);
    if (state.pendingCommit === undefined) return result;
    await this.#rollForward(state.pendingCommit);
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
      state.pendingCommit === undefined || state.pendingCommit.version === state.version,
      `mailbox ${ownerId}: pending intent is for version ${state.pendingCommit?.version}, row is at ${state.version}`,
    );
    return state;
  }

  // ---- the three steps ---------------------------------------------------------------------------

  /** The compare-and-set: true if this commit now owns version v (its intent is durable). */
  async #proposeIntent(commit: MailboxCommit): Promise<boolean> {
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
          ]);
    return result.wasApplied();
  }

  /** Writes a commit's rows (its own, or an intent found pending), then clears its intent. */
  async #rollForward(commit: MailboxCommit): Promise<void> {
    const { body, batch } = commitRows(this.#statements, this.#buckets, commit);
    await this.#runner.writeRows(commit.version, body, batch);
    await this.#clearIntent(commit);
  }

  /** Clears the intent only if it is still this commit's: a later commit may already own the row. */
  async #clearIntent(commit: MailboxCommit): Promise<void> {
    await this.#runner.lwt(this.#statements.clearPendingCommit, [
      commit.ownerId,
      commit.version,
      commit.commitId,
    ]);
  }
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
