import Database from 'better-sqlite3';
import type { Message } from '../../protocol/index.js';
import { CONVERSATION_COLUMNS, conversationRowValues } from '../conversation-columns.js';
import { StoreVersionConflictError, type MailboxCommit } from '../mailbox-store.js';

/** What became of one commit of a batch. */
export type CommitOutcome =
  | { kind: 'applied' }
  | { kind: 'resent' } // the same commitId already set this version: a no-op success
  | { kind: 'failed'; error: unknown };

const APPLIED: CommitOutcome = Object.freeze({ kind: 'applied' });
const RESENT: CommitOutcome = Object.freeze({ kind: 'resent' });

/**
 * The write side of the embedded store: its own connection (busy_timeout 0, so taking the write
 * lock never sleeps on the event loop: the caller polls with timers instead), applying a batch of
 * commits in one transaction, each commit in its own SAVEPOINT so a commit that fails (a version
 * conflict, or any error) is rolled back alone and the others still commit.
 */
export class CommitWriter {
  readonly #database: Database.Database;
  readonly #begin: Database.Statement;
  readonly #commit: Database.Statement;
  readonly #rollback: Database.Statement;
  readonly #statements;
  /** Called inside the batch transaction, better-sqlite3 wraps each call in a SAVEPOINT. */
  readonly #applyInSavepoint: Database.Transaction<(commit: MailboxCommit) => CommitOutcome>;

  constructor(path: string, synchronous: 'FULL' | 'NORMAL') {
    this.#database = new Database(path);
    this.#database.pragma('busy_timeout = 0');
    this.#database.pragma(`synchronous = ${synchronous}`);
    this.#begin = this.#database.prepare('BEGIN IMMEDIATE');
    this.#commit = this.#database.prepare('COMMIT');
    this.#rollback = this.#database.prepare('ROLLBACK');
    this.#statements = prepareWriteStatements(this.#database);
    this.#applyInSavepoint = this.#database.transaction((commit: MailboxCommit) =>
      this.#apply(commit),
    );
  }

  /**
   * Takes the write lock (BEGIN IMMEDIATE) without waiting. Returns undefined once it holds it, or
   * the SQLITE_BUSY error when another connection (usually another process) holds it.
   */
  tryBegin(): Error | undefined {
    try {
      this.#begin.run();
      return undefined;
    } catch (error) {
      if (isBusy(error)) return error;
      throw error;
    }
  }

  /**
   * With the write lock held (tryBegin), applies the commits in order and commits the transaction
   * (with synchronous=FULL, one fsync of the WAL). Commits to one owner apply in the order given, so
   * a batch behaves exactly as the same commits applied one after another. Throws (after rolling
   * back) only if the transaction itself cannot commit; then no commit of the batch is applied.
   */
  writeBatch(commits: readonly MailboxCommit[]): CommitOutcome[] {
    try {
      const outcomes = commits.map((commit): CommitOutcome => {
        try {
          return this.#applyInSavepoint(commit);
        } catch (error) {
          return { kind: 'failed', error };
        }
      });
      this.#commit.run();
      return outcomes;
    } catch (error) {
      if (this.#database.inTransaction) this.#rollback.run();
      throw error;
    }
  }

  close(): void {
    if (this.#database.open) this.#database.close();
  }

  #apply(commit: MailboxCommit): CommitOutcome {
    const stored = this.#statements.mailbox.get(commit.ownerId) as
      { version: number; last_commit_id: string } | undefined;
    const storedVersion = stored?.version ?? 0;
    if (storedVersion === commit.version && stored?.last_commit_id === commit.commitId)
      return RESENT;
    if (storedVersion !== commit.version - 1) {
      throw new StoreVersionConflictError(commit.ownerId, commit.version - 1, storedVersion);
    }
    this.#statements.upsertConversation.run(
      ...conversationRowValues(commit.ownerId, commit.conversation),
    );
    if (commit.kind === 'message')
      insertMessage(this.#statements.insertMessage, commit.ownerId, commit.message, commit.version);
    this.#statements.setMailbox.run(commit.ownerId, commit.version, commit.commitId);
    return APPLIED;
  }
}

function isBusy(error: unknown): error is Error {
  return (
    error instanceof Database.SqliteError &&
    (error.code === 'SQLITE_BUSY' || error.code.startsWith('SQLITE_BUSY_'))
  );
}

function insertMessage(
  statement: Database.Statement,
  ownerId: string,
  message: Message,
  version: number,
): void {
  statement.run(
    ownerId,
    message.conversationId,
    message.sentAt,
    message.messageId,
    message.senderId,
    message.recipientId,
    message.content,
    message.clientMessageId,
    version,
  );
}

function prepareWriteStatements(database: Database.Database) {
  return {
    mailbox: database.prepare('SELECT version, last_commit_id FROM mailboxes WHERE owner_id = ?'),
    setMailbox: database.prepare(
      'INSERT INTO mailboxes (owner_id, version, last_commit_id) VALUES (?, ?, ?) ' +
        'ON CONFLICT (owner_id) DO UPDATE SET version = excluded.version, last_commit_id = excluded.last_commit_id',
    ),
    upsertConversation: database.prepare(
      `INSERT OR REPLACE INTO conversations (owner_id, ${CONVERSATION_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    insertMessage: database.prepare(
      'INSERT OR REPLACE INTO messages (owner_id, conversation_id, sent_at, message_id, sender_id, recipient_id, content, client_message_id, version) ' +
        'VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
    ),
  };
}
