import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { EmbeddedStoreOptions } from './options.js';

/** The embedded store's tables, versioned by `PRAGMA user_version`. */
const SCHEMA_VERSION = 2;

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
  // The idempotency index is no longer unique: a clientMessageId used again after the idempotency
  // window may be a second message (the cache node proves keys new from memory within the window
  // only), and both are kept, as in Cassandra; a lookup answers the newest.
  2: `
    DROP INDEX messages_by_client_id;
    CREATE INDEX messages_by_client_id ON messages (owner_id, sender_id, client_message_id, sent_at);
  `,
};

/** Brings the file to SCHEMA_VERSION in one IMMEDIATE transaction (safe when processes race). */
export function migrate(database: Database.Database): void {
  const apply = database.transaction(() => {
    const current = database.pragma('user_version', { simple: true }) as number;
    for (let version = current + 1; version <= SCHEMA_VERSION; version += 1) {
      database.exec(MIGRATIONS[version] ?? '');
      database.pragma(`user_version = ${version}`);
    }
  });
  apply.immediate();
}

/**
 * Opens the file for reads (its folder created if missing) in WAL mode, so the processes sharing it
 * read while one writes, with the schema brought up to date.
 */
export function openDatabase(
  options: Pick<EmbeddedStoreOptions, 'path' | 'busyTimeoutMs' | 'synchronous'>,
): Database.Database {
  mkdirSync(dirname(options.path), { recursive: true });
  const database = new Database(options.path);
  database.pragma(`busy_timeout = ${options.busyTimeoutMs}`);
  database.pragma('journal_mode = WAL');
  database.pragma(`synchronous = ${options.synchronous}`);
  migrate(database);
  return database;
}
