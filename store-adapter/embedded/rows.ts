import type { ConversationRow, StoredMessage } from '../mailbox-store.js';

/** The embedded store's rows as SQLite returns them, and their mapping to the store's types. */

export interface ConversationRecord {
  conversation_id: string;
  participant_a: string;
  participant_b: string;
  snippet: string;
  last_updated: number;
  unread_count: number;
  version: number;
}

export interface MessageRecord {
  conversation_id: string;
  sent_at: number;
  message_id: string;
  sender_id: string;
  recipient_id: string;
  content: string;
  client_message_id: string;
  version: number;
}

export const MESSAGE_COLUMNS =
  'conversation_id, sent_at, message_id, sender_id, recipient_id, content, client_message_id, version';

export function toConversationRow(row: ConversationRecord): ConversationRow {
  return {
    conversationId: row.conversation_id,
    participants: [row.participant_a, row.participant_b],
    snippet: row.snippet,
    lastUpdatedTimestamp: row.last_updated,
    unreadCount: row.unread_count,
    version: row.version,
  };
}

export function toStoredMessage(row: MessageRecord): StoredMessage {
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
