import type cassandra from 'cassandra-driver';
import assert from 'node:assert';
import type { ConversationRow, StoredMessage } from '../mailbox-store.js';

/** Where a message row lives: what the change log and the idempotency index point at. */
export interface MessagePointer {
  conversationId: string;
  sentAt: number;
  messageId: string;
}

/**
 * bigint columns arrive as driver Longs; every value this store writes is a safe integer (versions,
 * timestamps and bucket starts), so anything else means the row was not written by this store: an
 * assertion, not a catalogue error, since no retry or caller can fix it.
 */
export function toNumber(value: unknown): number {
  const number = typeof value === 'number' ? value : (value as cassandra.types.Long).toNumber();
  assert(Number.isSafeInteger(number), `stored value ${String(value)} is not a safe integer`);
  return number;
}

export function toConversationRow(row: cassandra.types.Row): ConversationRow {
  return {
    conversationId: row.get('conversation_id') as string,
    participants: [row.get('participant_a') as string, row.get('participant_b') as string],
    snippet: row.get('snippet') as string,
    lastUpdatedTimestamp: toNumber(row.get('last_updated')),
    unreadCount: row.get('unread_count') as number,
    version: toNumber(row.get('version')),
  };
}

export function toStoredMessage(row: cassandra.types.Row): StoredMessage {
  return {
    messageId: row.get('message_id') as string,
    conversationId: row.get('conversation_id') as string,
    senderId: row.get('sender_id') as string,
    recipientId: row.get('recipient_id') as string,
    content: row.get('content') as string,
    clientMessageId: row.get('client_message_id') as string,
    sentAt: toNumber(row.get('sent_at')),
    version: toNumber(row.get('version')),
  };
}

export function toMessagePointer(row: cassandra.types.Row): MessagePointer {
  return {
    conversationId: row.get('conversation_id') as string,
    sentAt: toNumber(row.get('sent_at')),
    messageId: row.get('message_id') as string,
  };
}
