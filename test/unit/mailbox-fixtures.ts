/** Builders of store rows and messages for the cache-node unit tests (no I/O). */
import { conversationIdOf, orderedPair } from '../../protocol/index.js';
import type { ConversationRow, StoredMessage } from '../../store-adapter/index.js';

export function row(
  owner: string,
  peer: string,
  lastUpdatedTimestamp: number,
  overrides: Partial<ConversationRow> = {},
): ConversationRow {
  return {
    conversationId: conversationIdOf(owner, peer),
    participants: orderedPair(owner, peer),
    snippet: '',
    lastUpdatedTimestamp,
    unreadCount: 0,
    version: 1,
    ...overrides,
  };
}

export function message(
  senderId: string,
  recipientId: string,
  sentAt: number,
  overrides: Partial<StoredMessage> = {},
): StoredMessage {
  return {
    messageId: `m-${senderId}-${recipientId}-${sentAt}`,
    conversationId: conversationIdOf(senderId, recipientId),
    senderId,
    recipientId,
    content: `text at ${sentAt}`,
    clientMessageId: `c-${sentAt}`,
    sentAt,
    version: 1,
    ...overrides,
  };
}
