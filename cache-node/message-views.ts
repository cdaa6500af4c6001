import type { ConversationSummary, Message } from '../protocol/index.js';
import type { ConversationRow, StoredMessage } from '../store-adapter/index.js';

/** What the API shows of a stored message: the public fields only (no mailbox version). */
export function toMessage(message: StoredMessage | Message): Message {
  const { messageId, conversationId, senderId, recipientId, content, clientMessageId, sentAt } =
    message;
  return { messageId, conversationId, senderId, recipientId, content, clientMessageId, sentAt };
}

/** What the API shows of a conversation row. */
export function toSummary(row: ConversationRow): ConversationSummary {
  const { conversationId, participants, snippet, lastUpdatedTimestamp, unreadCount } = row;
  return { conversationId, participants, snippet, lastUpdatedTimestamp, unreadCount };
}
