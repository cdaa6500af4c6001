import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import {
  TIMEOUT_MS_MAX,
  integerRule,
  requireOption,
  resolveOptions,
  type GivenOptions,
  type Message,
  type OptionRules,
} from '../protocol/index.js';
import {
  StoreVersionConflictError,
  type ConversationRow,
  type MailboxCommit,
  type MailboxStore,
  type MessagePageQuery,
  type StoredMessage,
} from './mailbox-store.js';

/**
 * The embedded store: SQLite through better-sqlite3, in WAL mode so the processes of a local
 * cluster (every cache node opens the same file) can share it safely: one writer at a time,
 * readers never blocked. A commit is one SQLite transaction, the equivalent of the Cassandra
 * store's single-mailbox batch; nothing spans two mailboxes.
 *
 * better-sqlite3 is synchronous; statements are short point reads and small range scans on a
 * local file, so they run on the event loop rather than paying a thread hop each.
 */

export interface EmbeddedStoreOptions {
  /** Path of the database file; its folder is created if missing. Required (no default). */
  path: string;
  /**
   * SQLite's `synchronous` setting. `FULL` fsyncs every commit, so an acknowledged message survives
   * a power cut, not only a process crash.
   * @default 'FULL'
   */
  synchronous: 'FULL' | 'NORMAL';
  /**
   * How long a writer waits for another process's write transaction.
   * @default 5000
   */
  busyTimeoutMs: number;
}

export const DEFAULT_EMBEDDED_STORE_OPTIONS: Readonly<Omit<EmbeddedStoreOptions, 'path'>> =
  Object.freeze({ synchronous: 'FULL', busyTimeoutMs: 5000 });

/** Both settings go into a PRAGMA statement as text, so they are checked before they get there. */
const OPTION_RULES: OptionRules<EmbeddedStoreOptions> = {
  path: { kind: 'string', pattern: /^.+$/s, describe: 'a file path' },
  synchronous: { kind: 'string', pattern: /^(FULL|NORMAL)$/, describe: 'FULL or NORMAL' },
  busyTimeoutMs: integerRule(0, TIMEOUT_MS_MAX),
};

function resolveEmbeddedStoreOptions(
  given: GivenOptions<EmbeddedStoreOptions>,
): Readonly<EmbeddedStoreOptions> {
  const defaults = DEFAULT_EMBEDDED_STORE_OPTIONS as Readonly<EmbeddedStoreOptions>;
  const options = resolveOptions('embedded store', defaults, given, OPTION_RULES);
  requireOption(options.path !== undefined, 'embedded store', 'path', 'is required');
  return options;
}

const SCHEMA_VERSION = 1;

const MIGRATIONS: Record<number, string> = {
  1: `
    CREATE TABLE mailboxes (
      owner_id TEXT PRIMARY KEY,
      version INTEGER NOT NULL,
      last_commit_id TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE conversations (
      owner_id TEXT NOT NULL,
      conversation_id TEXT NOT NULL,
      participant_a TEXT NOT NULL,
      participant_b TEXT NOT NULL,
      snippet TEXT NOT NULL,
      last_updated INTEGER NOT NULL,
      unread_count INTEGER NOT NULL,
      version INTEGER NOT NULL,
      PRIMARY KEY (owner_id, conversation_id)
    ) WITHOUT ROWID;
    CREATE INDEX conversations_by_time ON conversations (owner_id, last_updated DESC);
    CREATE INDEX conversations_by_version ON conversations (owner_id, version);
    CREATE TABLE messages (
      owner_id TEXT NOT NULL,
      conversation_id TEXT NOT NULL,
      sent_at INTEGER NOT NULL,
      message_id TEXT NOT NULL,
      sender_id TEXT NOT NULL,
      recipient_id TEXT NOT NULL,
      content TEXT NOT NULL,
      client_message_id TEXT NOT NULL,
      version INTEGER NOT NULL,
      PRIMARY KEY (owner_id, conversation_id, sent_at)
    ) WITHOUT ROWID;
    CREATE INDEX messages_by_version ON messages (owner_id, conversation_id, version);
    CREATE UNIQUE INDEX messages_by_client_id ON messages (owner_id, sender_id, client_message_id);
  `,
};

interface ConversationRecord {
  conversation_id: string;
  participant_a: string;
  participant_b: string;
  snippet: string;
  last_updated: number;
  unread_count: number;
  version: number;
}

interface MessageRecord {
  conversation_id: string;
  sent_at: number;
  message_id: string;
  sender_id: string;
  recipient_id: string;
  content: string;
  client_message_id: string;
  version: number;
}

const CONVERSATION_COLUMNS =
  'conversation_id, participant_a, participant_b, snippet, last_updated, unread_count, version';
const MESSAGE_COLUMNS =
  'conversation_id, sent_at, message_id, sender_id, recipient_id, content, client_message_id, version';

export class EmbeddedStore implements MailboxStore {
  readonly kind = 'embedded';
  readonly #database: Database.Database;
  readonly #statements;
  readonly #commitTransaction: Database.Transaction<(commit: MailboxCommit) => void>;

  constructor(given: { path: string } & GivenOptions<EmbeddedStoreOptions>) {
    const options = resolveEmbeddedStoreOptions(given);
    mkdirSync(dirname(options.path), { recursive: true });
    this.#database = new Database(options.path);
    this.#database.pragma(`busy_timeout = ${options.busyTimeoutMs}`);
    this.#database.pragma('journal_mode = WAL');
    this.#database.pragma(`synchronous = ${options.synchronous}`);
    migrate(this.#database);
    this.#statements = prepareStatements(this.#database);
    this.#commitTransaction = this.#database.transaction((commit: MailboxCommit) =>
      this.#applyCommit(commit),
    );
  }

  async commit(commit: MailboxCommit): Promise<void> {
    // IMMEDIATE takes the write lock at BEGIN, so the version check and the writes see one state.
    this.#commitTransaction.immediate(commit);
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

  async close(): Promise<void> {
    if (this.#database.open) this.#database.close();
  }

  #applyCommit(commit: MailboxCommit): void {
    const stored = this.#statements.mailbox.get(commit.ownerId) as
      { version: number; last_commit_id: string } | undefined;
    const storedVersion = stored?.version ?? 0;
    if (storedVersion === commit.version && stored?.last_commit_id === commit.commitId) return; // a re-sent commit
    if (storedVersion !== commit.version - 1) {
      throw new StoreVersionConflictError(commit.ownerId, commit.version - 1, storedVersion);
    }
    const c = commit.conversation;
    this.#statements.upsertConversation.run(
      commit.ownerId,
      c.conversationId,
      c.participants[0],
      c.participants[1],
      c.snippet,
      c.lastUpdatedTimestamp,
      c.unreadCount,
      c.version,
    );
    if (commit.kind === 'message')
      insertMessage(this.#statements.insertMessage, commit.ownerId, commit.message, commit.version);
    this.#statements.setMailbox.run(commit.ownerId, commit.version, commit.commitId);
  }
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

function migrate(database: Database.Database): void {
  const apply = database.transaction(() => {
    const current = database.pragma('user_version', { simple: true }) as number;
    for (let version = current + 1; version <= SCHEMA_VERSION; version += 1) {
      database.exec(MIGRATIONS[version] ?? '');
      database.pragma(`user_version = ${version}`);
    }
  });
  apply.immediate();
}

function prepareStatements(database: Database.Database) {
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
      `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE owner_id = ? AND sender_id = ? AND client_message_id = ?`,
    ),
  };
}

function toConversationRow(row: ConversationRecord): ConversationRow {
  return {
    conversationId: row.conversation_id,
    participants: [row.participant_a, row.participant_b],
    snippet: row.snippet,
    lastUpdatedTimestamp: row.last_updated,
    unreadCount: row.unread_count,
    version: row.version,
  };
}

function toStoredMessage(row: MessageRecord): StoredMessage {
  return {
    messageId: row.message_id,
    conversationId: row.conversation_id,
    senderId: row.sender_id,
    recipientId: row.recipient_id,
    content: row.content,
    clientMessageId: row.client_message_id,
    sentAt: row.sent_at,
    version: row.version,
  };
}
