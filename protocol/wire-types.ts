/** The JSON shapes of the public API v1 (DESIGN.md), shared by router, cache node and tests. */

export interface SendMessageRequest {
  senderId: string;
  recipientId: string;
  content: string;
  clientMessageId: string;
}

export interface Message {
  messageId: string;
  conversationId: string;
  senderId: string;
  recipientId: string;
  content: string;
  clientMessageId: string;
  /** Server time in epoch ms, strictly increasing within a conversation. */
  sentAt: number;
}

export interface SendMessageResponse {
  message: Message;
  duplicate: boolean;
}

export interface ConversationSummary {
  conversationId: string;
  participants: [string, string];
  snippet: string;
  lastUpdatedTimestamp: number;
  unreadCount: number;
}

export interface ConversationsResponse {
  conversations: ConversationSummary[];
  isDeltaUpdate: boolean;
  cursor: string;
}

export interface MessagesResponse {
  messages: Message[];
  isDeltaUpdate: boolean;
  cursor: string;
}

export interface MarkReadResponse {
  unreadCount: 0;
}

/** One change of a user's mailbox in the change feed: a message in or out, or a read. */
export interface MailboxChange {
  /** The mailbox version the change made (the feed is in version order). */
  version: number;
  /**
   * The conversation's row as the change left it; an answer replayed from the store (the cursor
   * older than what the owner keeps in memory) carries the row as it stands now.
   */
  conversation: ConversationSummary;
  /** The message the change added; absent for a read. */
  message?: Message;
}

/** `GET /v1/users/:userId/changes`: changes after the cursor, oldest first. */
export interface ChangesResponse {
  changes: MailboxChange[];
  /** Where the next request continues (the same cursor when nothing changed). */
  cursor: string;
}

/** A change-feed request, parsed. */
export interface ChangesQuery {
  /** The version the cursor stands at; undefined: from the mailbox's current version. */
  afterVersion: number | undefined;
  /** How long to hold the request when nothing changed after the cursor, in ms (0: answer at once). */
  waitMs: number;
  pageSize: number;
}

/** How a list is asked for: exactly one of plain paging, a timestamp delta or a cursor delta. */
export type ListQuery =
  | { kind: 'page'; page: number; pageSize: number }
  | { kind: 'since-timestamp'; page: number; pageSize: number; lastUpdatedTimestamp: number }
  | { kind: 'since-cursor'; pageSize: number; afterVersion: number };

/** `GET /v1/ring` on a router: the ring a ring-aware client routes by (client/). */
export const PUBLIC_RING_PATH = '/v1/ring';

export interface PublicRing {
  /** Grows by one with every ring change; requests routed by this ring carry it (x-chatring-ring-epoch). */
  epoch: number;
  /** Virtual nodes per unit of weight each slot places on the hash ring. */
  virtualNodesPerWeight: number;
  slots: { slot: string; nodeId: string; weight: number }[];
  /** Each serving node's URL ('' until it has heartbeated). */
  nodes: Record<string, { url: string }>;
}
