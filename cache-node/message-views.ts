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

/** A message as the API shows it, as JSON text (what `JSON.stringify` makes of `toMessage`). */
export function messageJson(message: StoredMessage | Message): string {
  return JSON.stringify(toMessage(message));
}

/** A conversation row as the API shows it, as JSON text (`JSON.stringify` of `toSummary`). */
export function summaryJson(row: ConversationRow): string {
  return JSON.stringify(toSummary(row));
}

/**
 * A list answer (`ConversationsResponse` or `MessagesResponse`) as JSON text, from its items' JSON
 * texts already joined by commas: byte for byte what `JSON.stringify` makes of the response object
 * (same keys, same order). The cursor is base64url, so it needs no escaping.
 */
export function listJson(
  list: 'conversations' | 'messages',
  joinedItems: string,
  isDeltaUpdate: boolean,
  cursor: string,
): string {
  return `{"${list}":[${joinedItems}],"isDeltaUpdate":${isDeltaUpdate},"cursor":"${cursor}"}`;
}

/**
 * A change-feed entry (`MailboxChange`) as JSON text: byte for byte what `JSON.stringify` makes
 * of `{version, conversation, message?}`.
 */
export function changeJson(
  version: number,
  row: ConversationRow,
  message: StoredMessage | undefined,
): string {
  const conversation = summaryJson(row);
  return message === undefined
    ? `{"version":${version},"conversation":${conversation}}`
    : `{"version":${version},"conversation":${conversation},"message":${messageJson(message)}}`;
}

/** A change-feed answer (`ChangesResponse`) as JSON text, from its changes' texts joined by commas. */
export function changesJson(joinedChanges: string, cursor: string): string {
  return `{"changes":[${joinedChanges}],"cursor":"${cursor}"}`;
}
