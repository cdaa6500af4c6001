/**
 * Every CQL statement the store runs on data (DDL lives in schema.ts), for one keyspace. All are
 * prepared on use; each read names one partition (or a slice of one), never a scan.
 */
import { CONVERSATION_COLUMNS } from '../conversation-columns.js';

const MESSAGE_COLUMNS =
  'conversation_id, sent_at, message_id, sender_id, recipient_id, content, client_message_id, version';

export function cqlStatements(keyspace: string) {
  return {
    mailbox: `SELECT version, last_commit_id, pending_commit FROM ${keyspace}.mailboxes WHERE owner_id = ?`,
    /** The row without its intent (which may hold a 64 KiB body): enough when the reader knows it settled. */
    mailboxHead: `SELECT version, last_commit_id FROM ${keyspace}.mailboxes WHERE owner_id = ?`,
    createMailbox: `INSERT INTO ${keyspace}.mailboxes (owner_id, version, last_commit_id, pending_commit) VALUES (?, ?, ?, ?) IF NOT EXISTS`,
    /**
     * The commit's one Paxos round: moves v-1 to v and replaces the previous commit's intent with
     * this one's. The proposer names the previous commit it knows settled (all its rows written).
     */
    advanceMailbox:
      `UPDATE ${keyspace}.mailboxes SET version = ?, last_commit_id = ?, pending_commit = ? ` +
      'WHERE owner_id = ? IF version = ? AND last_commit_id = ?',

    upsertConversation: `INSERT INTO ${keyspace}.conversations (owner_id, ${CONVERSATION_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    conversation: `SELECT ${CONVERSATION_COLUMNS} FROM ${keyspace}.conversations WHERE owner_id = ? AND conversation_id = ?`,
    conversationsIn: `SELECT ${CONVERSATION_COLUMNS} FROM ${keyspace}.conversations WHERE owner_id = ? AND conversation_id IN ?`,
    allConversations: `SELECT ${CONVERSATION_COLUMNS} FROM ${keyspace}.conversations WHERE owner_id = ?`,
    insertConversationChange: `INSERT INTO ${keyspace}.conversation_changes (owner_id, version_bucket, version, conversation_id) VALUES (?, ?, ?, ?)`,
    conversationChanges:
      `SELECT version, conversation_id FROM ${keyspace}.conversation_changes ` +
      'WHERE owner_id = ? AND version_bucket = ? AND version > ? AND version <= ?',

    insertMessage: `INSERT INTO ${keyspace}.messages (owner_id, sent_bucket, ${MESSAGE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    messagesInBucket:
      `SELECT ${MESSAGE_COLUMNS} FROM ${keyspace}.messages ` +
      'WHERE owner_id = ? AND conversation_id = ? AND sent_bucket = ? AND sent_at < ? AND sent_at > ? LIMIT ?',
    message:
      `SELECT ${MESSAGE_COLUMNS} FROM ${keyspace}.messages ` +
      'WHERE owner_id = ? AND conversation_id = ? AND sent_bucket = ? AND sent_at = ? AND message_id = ?',
    insertTimeBucket: `INSERT INTO ${keyspace}.message_time_buckets (owner_id, conversation_id, sent_bucket) VALUES (?, ?, ?)`,
    timeBuckets:
      `SELECT sent_bucket FROM ${keyspace}.message_time_buckets ` +
      'WHERE owner_id = ? AND conversation_id = ? AND sent_bucket <= ? AND sent_bucket >= ? LIMIT ?',
    insertMessageChange:
      `INSERT INTO ${keyspace}.message_changes (owner_id, conversation_id, version_bucket, version, sent_at, message_id) ` +
      'VALUES (?, ?, ?, ?, ?, ?)',
    messageChanges:
      `SELECT version, sent_at, message_id FROM ${keyspace}.message_changes ` +
      'WHERE owner_id = ? AND conversation_id = ? AND version_bucket = ? AND version > ? LIMIT ?',
    insertVersionBucket: `INSERT INTO ${keyspace}.message_version_buckets (owner_id, conversation_id, version_bucket) VALUES (?, ?, ?)`,
    versionBuckets:
      `SELECT version_bucket FROM ${keyspace}.message_version_buckets ` +
      'WHERE owner_id = ? AND conversation_id = ? AND version_bucket >= ? LIMIT ?',
    insertClientId:
      `INSERT INTO ${keyspace}.messages_by_client_id ` +
      '(owner_id, sender_id, client_message_id, conversation_id, sent_at, message_id, version) VALUES (?, ?, ?, ?, ?, ?, ?)',
    messageByClientId:
      `SELECT conversation_id, sent_at, message_id FROM ${keyspace}.messages_by_client_id ` +
      'WHERE owner_id = ? AND sender_id = ? AND client_message_id = ?',
  };
}

export type CqlStatements = ReturnType<typeof cqlStatements>;

/** One statement with its bound values, as the driver's `batch` takes it. */
export interface BoundStatement {
  query: string;
  params: unknown[];
}
