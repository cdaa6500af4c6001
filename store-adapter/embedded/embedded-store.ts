import type Database from 'better-sqlite3';
import type { GivenOptions } from '../../protocol/index.js';
import { CONVERSATION_COLUMNS } from '../conversation-columns.js';
import type {
  ConversationRow,
  MailboxCommit,
  MailboxStore,
  MessagePageQuery,
  StoredMessage,
} from '../mailbox-store.js';
import { CommitServerClient, CommitServerUnreachable } from './commit-client.js';
import { CommitWriter } from './commit-writer.js';
import { GroupCommit, type EmbeddedStoreStats } from './group-commit.js';
import { resolveEmbeddedStoreOptions, type EmbeddedStoreOptions } from './options.js';
import {
  MESSAGE_COLUMNS,
  toConversationRow,
  toStoredMessage,
  type ConversationRecord,
  type MessageRecord,
} from './rows.js';
import { openDatabase } from './schema.js';

/**
 * The embedded store: SQLite through better-sqlite3, in WAL mode so the processes of a local
 * cluster (every cache node opens the same file) can share it safely: one writer at a time,
 * readers never blocked. Nothing spans two mailboxes.
 *
 * Two connections per process. Reads run on one (short point reads and small range scans on a
 * local file: they run on the event loop rather than paying a thread hop each). Commits go through
 * group commit (group-commit.ts) to the other: the commits that queue up while one transaction is
 * written are applied together in the next, one SAVEPOINT each, so each keeps its own
 * compare-and-set outcome, and the batch costs one lock acquisition and one fsync. The write lock
 * is polled with timers, so waiting for another process never blocks the event loop; the
 * transaction itself (its fsync included) does, for about a millisecond.
 *
 * With `commitServer` (a socket path; `chatring start` runs one for its nodes), commits go instead
 * to that one writer of the file (commit-server.ts), which batches every process's commits into one
 * transaction: no lock contention between processes, and no fsync on this event loop. If it cannot
 * be reached or stops answering, this process commits on its own connection as above while the
 * client asks it again in the background (commit-client.ts): the file's lock and each commit's
 * compare-and-set keep both paths correct side by side.
 */
export class EmbeddedStore implements MailboxStore {
  readonly kind = 'embedded';
  readonly #database: Database.Database;
  readonly #statements;
  readonly #writer: CommitWriter;
  readonly #groupCommit: GroupCommit;
  readonly #commitServer: CommitServerClient | undefined;
  #closing: Promise<void> | undefined;

  constructor(given: { path: string } & GivenOptions<EmbeddedStoreOptions>) {
    const options = resolveEmbeddedStoreOptions(given);
    this.#database = openDatabase(options);
    this.#commitServer =
      options.commitServer === undefined
        ? undefined
        : new CommitServerClient(options.commitServer, options.commitServerTimeoutMs);
    this.#statements = prepareReadStatements(this.#database);
    this.#writer = new CommitWriter(options.path, options.synchronous);
    this.#groupCommit = new GroupCommit(this.#writer, {
      maxCommits: options.groupCommitMaxCommits,
      waitMs: options.groupCommitWaitMs,
      busyTimeoutMs: options.busyTimeoutMs,
    });
  }

  /** Resolves once the transaction holding the commit is durable; see GroupCommit. */
  async commit(commit: MailboxCommit): Promise<void> {
    if (this.#closing !== undefined) throw new Error('embedded store: closed');
    if (this.#commitServer !== undefined) {
      try {
        await this.#commitServer.commit(commit);
        return;
      } catch (error) {
        // Not sent (no answering server now): written here instead. Sent and failed (refused, or
        // unanswered and of unknown outcome): the caller's to handle, as a local failure would be.
        if (!(error instanceof CommitServerUnreachable)) throw error;
      }
    }
    await this.#groupCommit.commit(commit);
  }

  /** This process's figures: its own transactions, plus its shares of the commit server's. */
  stats(): EmbeddedStoreStats {
    const local = this.#groupCommit.stats();
    if (this.#commitServer === undefined) return local;
    const counters = { ...local.counters };
    const { timeouts, ...viaServer } = this.#commitServer.counters();
    for (const [name, value] of Object.entries(viaServer))
      counters[name as keyof typeof viaServer] += value;
    counters.commitServerTimeouts = timeouts;
    counters.commitsViaServer = viaServer.commits;
    return {
      counters,
      gauges: { ...local.gauges, queued: local.gauges.queued + this.#commitServer.inFlight },
    };
  }

  async mailboxVersion(ownerId: string): Promise<number> {
    const row = this.#statements.mailbox.get(ownerId) as { version: number } | undefined;
    return row?.version ?? 0;
  }

  async recentConversations(ownerId: string, limit: number): Promise<ConversationRow[]> {
    const rows = this.#statements.recentConversations.all(ownerId, limit) as ConversationRecord[];
    return rows.map(toConversationRow);
  }

  async conversation(
    ownerId: string,
    conversationId: string,
  ): Promise<ConversationRow | undefined> {
    const row = this.#statements.conversation.get(ownerId, conversationId) as
      ConversationRecord | undefined;
    return row === undefined ? undefined : toConversationRow(row);
  }

  async conversationsChangedAfter(
    ownerId: string,
    afterVersion: number,
    limit: number,
  ): Promise<ConversationRow[]> {
    const rows = this.#statements.conversationsChangedAfter.all(
      ownerId,
      afterVersion,
      limit,
    ) as ConversationRecord[];
    return rows.map(toConversationRow);
  }

  async messagesPage(
    ownerId: string,
    conversationId: string,
    query: MessagePageQuery,
  ): Promise<StoredMessage[]> {
    const rows = this.#statements.messagesPage.all(
      ownerId,
      conversationId,
      query.sentBefore ?? Number.MAX_SAFE_INTEGER,
      query.sentAfter ?? -1,
      query.limit,
    ) as MessageRecord[];
    return rows.map(toStoredMessage);
  }

  async messagesChangedAfter(
    ownerId: string,
    conversationId: string,
    afterVersion: number,
    limit: number,
  ): Promise<StoredMessage[]> {
    const rows = this.#statements.messagesChangedAfter.all(
      ownerId,
      conversationId,
      afterVersion,
      limit,
    ) as MessageRecord[];
    return rows.map(toStoredMessage);
  }

  async messageByClientId(
    ownerId: string,
    senderId: string,
    clientMessageId: string,
  ): Promise<StoredMessage | undefined> {
    const row = this.#statements.messageByClientId.get(ownerId, senderId, clientMessageId) as
      MessageRecord | undefined;
    return row === undefined ? undefined : toStoredMessage(row);
  }

  /** Refuses new commits, lets the queued ones finish, then closes both connections. */
  close(): Promise<void> {
    this.#closing ??= Promise.all([this.#groupCommit.drained(), this.#commitServer?.close()]).then(
      () => {
        this.#writer.close();
        if (this.#database.open) this.#database.close();
      },
    );
    return this.#closing;
  }
}

function prepareReadStatements(database: Database.Database) {
  return {
    mailbox: database.prepare('SELECT version FROM mailboxes WHERE owner_id = ?'),
    recentConversations: database.prepare(
      `SELECT ${CONVERSATION_COLUMNS} FROM conversations WHERE owner_id = ? ORDER BY last_updated DESC, conversation_id LIMIT ?`,
    ),
    conversation: database.prepare(
      `SELECT ${CONVERSATION_COLUMNS} FROM conversations WHERE owner_id = ? AND conversation_id = ?`,
    ),
    conversationsChangedAfter: database.prepare(
      `SELECT ${CONVERSATION_COLUMNS} FROM conversations WHERE owner_id = ? AND version > ? ORDER BY version LIMIT ?`,
    ),
    messagesPage: database.prepare(
      `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE owner_id = ? AND conversation_id = ? AND sent_at < ? AND sent_at > ? ` +
        'ORDER BY sent_at DESC LIMIT ?',
    ),
    messagesChangedAfter: database.prepare(
      `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE owner_id = ? AND conversation_id = ? AND version > ? ORDER BY version LIMIT ?`,
    ),
    messageByClientId: database.prepare(
      `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE owner_id = ? AND sender_id = ? AND client_message_id = ? ORDER BY sent_at DESC LIMIT 1`,
    ),
  };
}
