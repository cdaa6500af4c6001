/**
 * client/: the typed client app servers use (`import { ChatringClient } from 'chatring/client'`).
 * It routes each request straight to its user's owner by the ring the routers publish, retries
 * what may be retried under one deadline (a send keeps its clientMessageId), and follows a
 * mailbox by its cursor. It imports protocol/, ring/ and transport/ only.
 */
export {
  ChatringClient,
  DEFAULT_CHATRING_CLIENT_OPTIONS,
  type ChatringClientOptions,
  type SendInput,
} from './chatring-client.js';
export { listQueryString, type PageQuery } from './list-query.js';
export type { FollowOptions } from './list-follower.js';
export type { ChangesQuery, WatchOptions } from './change-watcher.js';
export {
  ChatringError,
  ERROR_CATALOGUE,
  conversationIdOf,
  type ChangesResponse,
  type ConversationSummary,
  type ConversationsResponse,
  type ErrorCode,
  type MailboxChange,
  type MarkReadResponse,
  type Message,
  type MessagesResponse,
  type PublicRing,
  type SendMessageRequest,
  type SendMessageResponse,
} from '../protocol/index.js';
