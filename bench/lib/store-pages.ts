/**
 * A page of a mailbox read straight from the store, in the public API's JSON shape: what the
 * no-cache baseline answers on every read (bench/baseline-app-server.ts) and what the echo server
 * records once per URL (bench/echo-server.ts). Plain `page`/`pageSize` reads only: the load
 * benchmark asks for nothing else.
 */
import {
  CONVERSATIONS_PAGE_SIZE_DEFAULT,
  ChatringError,
  MESSAGES_PAGE_SIZE_DEFAULT,
  assertUserId,
  encodeCursor,
  parseListQuery,
  participantsOf,
  type ConversationsResponse,
  type ListQuery,
  type Message,
  type MessagesResponse,
} from '../../protocol/index.js';
import type { MailboxStore, StoredMessage } from '../../store-adapter/index.js';

/** A read's route: a user's conversation list, or one conversation's messages when it names one. */
export interface PageRoute {
  userId: string;
  conversationId?: string;
}

/** Store reads per page read: the mailbox version, then the rows or messages. */
export const STORE_READS_PER_PAGE = 2;

/**
 * Validates the route and query like the product does, reads the store and returns the page.
 * Throws a ChatringError for a bad request.
 */
export async function readPage(
  store: MailboxStore,
  route: PageRoute,
  rawQuery: unknown,
): Promise<ConversationsResponse | MessagesResponse> {
  const userId = assertUserId(route.userId);
  const { conversationId } = route;
  if (conversationId === undefined) {
    const query = pageOnly(parseListQuery(rawQuery, CONVERSATIONS_PAGE_SIZE_DEFAULT, { userId }));
    const version = await store.mailboxVersion(userId);
    const rows = await store.recentConversations(userId, (query.page + 1) * query.pageSize);
    return {
      conversations: rows
        .slice(query.page * query.pageSize)
        .map(
          ({ conversationId: id, participants, snippet, lastUpdatedTimestamp, unreadCount }) => ({
            conversationId: id,
            participants,
            snippet,
            lastUpdatedTimestamp,
            unreadCount,
          }),
        ),
      isDeltaUpdate: false,
      cursor: encodeCursor({ userId }, version),
    };
  }
  participantsOf(conversationId, userId);
  const query = pageOnly(
    parseListQuery(rawQuery, MESSAGES_PAGE_SIZE_DEFAULT, { userId, conversationId }),
  );
  const version = await store.mailboxVersion(userId);
  const messages = await store.messagesPage(userId, conversationId, {
    limit: (query.page + 1) * query.pageSize,
  });
  return {
    messages: messages.slice(query.page * query.pageSize).map(toMessage),
    isDeltaUpdate: false,
    cursor: encodeCursor({ userId, conversationId }, version),
  };
}

/** A stored message as the API shows it (the store's bookkeeping fields left out). */
export function toMessage(message: StoredMessage | Message): Message {
  const { messageId, conversationId, senderId, recipientId, content, clientMessageId, sentAt } =
    message;
  return { messageId, conversationId, senderId, recipientId, content, clientMessageId, sentAt };
}

function pageOnly(query: ListQuery): { page: number; pageSize: number } {
  if (query.kind !== 'page')
    throw new ChatringError('INVALID_QUERY', 'the bench servers serve page/pageSize only');
  return query;
}
