/**
 * The public API v1 as JSON Schemas (draft 2020-12): the one source of the OpenAPI document
 * (`protocol/openapi.ts` builds it, `docs/openapi.json` is its committed output, `npm run openapi`
 * writes it again). Plain `as const` objects, no runtime dependency: the bounds are the constants
 * of `limits.ts` and the error codes are the catalogue's, never numbers typed again here.
 *
 * A schema that contains another holds that very object (not a `$ref`), so a type can be derived
 * from it as it is (test/unit/openapi-types.test.ts); the generator turns every named schema it
 * meets inside another into a `$ref` to `#/components/schemas/<name>`.
 *
 * Requests are still checked by the hand-written parse functions (`validation.ts`: the hot path,
 * with exact error codes); test/unit/api-schema-agreement.test.ts holds the two to the same
 * accept/reject answers and lists where they deliberately differ (content's UTF-8 byte limit, lone
 * surrogates, pageSize clamping, the cursor's contents, page × pageSize).
 */
import { ERROR_CATALOGUE, type ErrorCode } from './errors.js';
import {
  CLIENT_MESSAGE_ID_PATTERN,
  CONTENT_BYTES_LIMIT,
  MESSAGE_ID_PATTERN,
  NODE_URL_CHARS_LIMIT,
  PAGE_INDEX_MAX,
  PAGE_SIZE_MAX,
  PAGE_SIZE_MIN,
  RING_EPOCH_MAX,
  RING_SLOTS_LIMIT,
  SLOT_WEIGHT_MAX,
  SLOT_WEIGHT_MIN,
  SNIPPET_CHARS_MAX,
  UNREAD_COUNT_MAX,
  USER_ID_PATTERN,
  VIRTUAL_NODES_PER_WEIGHT_LIMIT,
  WATCH_WAIT_MS_MAX,
} from './limits.js';

/** A code of the catalogue's public API (`audience: 'api'`). */
export type ApiErrorCode = {
  [Code in ErrorCode]: (typeof ERROR_CATALOGUE)[Code]['audience'] extends 'api' ? Code : never;
}[ErrorCode];

/** The public API's error codes, in catalogue order. */
export const API_ERROR_CODES: readonly ApiErrorCode[] = Object.freeze(
  (Object.keys(ERROR_CATALOGUE) as ErrorCode[]).filter(
    (code): code is ApiErrorCode => ERROR_CATALOGUE[code].audience === 'api',
  ),
);

/** A user id without its anchors, to build the conversation id's pattern from. */
const USER_ID_BODY = USER_ID_PATTERN.source.replace(/^\^/, '').replace(/\$$/, '');

// ---- Scalars ----

export const UserIdSchema = {
  type: 'string',
  pattern: USER_ID_PATTERN.source,
  description: '1-64 characters of [A-Za-z0-9_-].',
} as const;

export const ConversationIdSchema = {
  type: 'string',
  pattern: `^${USER_ID_BODY}~${USER_ID_BODY}$`,
  description:
    'The two participants\' user ids joined by "~", the lower id first (the order is checked by the server, not by this pattern).',
} as const;

export const ClientMessageIdSchema = {
  type: 'string',
  pattern: CLIENT_MESSAGE_ID_PATTERN.source,
  description:
    '1-128 printable ASCII characters, chosen by the sender; a send retried with the same one answers the stored message (200, duplicate: true).',
} as const;

export const MessageIdSchema = {
  type: 'string',
  pattern: MESSAGE_ID_PATTERN.source,
  description: 'Assigned by the server (a UUID).',
} as const;

export const ContentSchema = {
  type: 'string',
  // A character is at least one UTF-8 byte, so this many characters is the most any accepted
  // content has; the byte limit itself is in the description (JSON Schema cannot count bytes).
  maxLength: CONTENT_BYTES_LIMIT - 1,
  description: `Well-formed Unicode (no lone surrogates), fewer than ${CONTENT_BYTES_LIMIT} bytes as UTF-8 (CONTENT_TOO_LARGE otherwise).`,
} as const;

export const TimestampSchema = {
  type: 'integer',
  minimum: 0,
  description: 'Server time, epoch milliseconds.',
} as const;

export const CursorSchema = {
  type: 'string',
  minLength: 1,
  pattern: '^[A-Za-z0-9_-]+$',
  description:
    'Opaque (base64url), issued by the API for one user and one list; the server checks what it names (INVALID_CURSOR).',
} as const;

// ---- Requests ----

export const SendMessageRequestSchema = {
  type: 'object',
  properties: {
    senderId: UserIdSchema,
    recipientId: UserIdSchema,
    content: ContentSchema,
    clientMessageId: ClientMessageIdSchema,
  },
  required: ['senderId', 'recipientId', 'content', 'clientMessageId'],
  additionalProperties: false,
  description: 'senderId and recipientId must differ (SELF_MESSAGE otherwise).',
} as const;

export const MarkReadRequestSchema = {
  type: 'object',
  properties: {},
  additionalProperties: false,
  description: 'The mark-read body is `{}`; an absent body counts as `{}`.',
} as const;

/**
 * The query of `GET /v1/users/{userId}/conversations` and of a conversation's messages, as typed
 * values (each property is one query parameter). The server clamps pageSize into its bounds rather
 * than refusing it, and refuses page × pageSize above PAGE_OFFSET_MAX (PAGE_OUT_OF_RANGE).
 */
export const ListQuerySchema = {
  type: 'object',
  properties: {
    page: {
      type: 'integer',
      minimum: 0,
      maximum: PAGE_INDEX_MAX,
      description: 'Offset paging: the page after `page` full pages, newest first.',
    },
    pageSize: {
      type: 'integer',
      minimum: PAGE_SIZE_MIN,
      maximum: PAGE_SIZE_MAX,
      description: `Items per answer; the server clamps any integer into ${PAGE_SIZE_MIN}..${PAGE_SIZE_MAX}.`,
    },
    lastUpdatedTimestamp: {
      type: 'integer',
      minimum: 0,
      description: 'A timestamp delta: only what changed after this time (epoch ms).',
    },
    cursor: {
      ...CursorSchema,
      description:
        'A cursor delta: only what changed after the cursor of an earlier answer (not with page or lastUpdatedTimestamp).',
    },
  },
  additionalProperties: false,
  // With a cursor, neither page nor lastUpdatedTimestamp (INVALID_QUERY).
  dependentSchemas: {
    cursor: { properties: { page: false, lastUpdatedTimestamp: false } },
  },
} as const;

/** The query of the change feed, `GET /v1/users/{userId}/changes`. */
export const ChangesQuerySchema = {
  type: 'object',
  properties: {
    cursor: {
      ...CursorSchema,
      description:
        "Changes after this cursor (one from the feed or from the user's conversation list); absent: from the mailbox's current version.",
    },
    waitMs: {
      type: 'integer',
      minimum: 0,
      maximum: WATCH_WAIT_MS_MAX,
      description:
        'How long the server may hold the request when nothing changed after the cursor (0: answer at once).',
    },
    pageSize: {
      type: 'integer',
      minimum: PAGE_SIZE_MIN,
      maximum: PAGE_SIZE_MAX,
      description: `Changes per answer; the server clamps any integer into ${PAGE_SIZE_MIN}..${PAGE_SIZE_MAX}.`,
    },
  },
  additionalProperties: false,
} as const;

// ---- Responses ----

export const MessageSchema = {
  type: 'object',
  properties: {
    messageId: MessageIdSchema,
    conversationId: ConversationIdSchema,
    senderId: UserIdSchema,
    recipientId: UserIdSchema,
    content: ContentSchema,
    clientMessageId: ClientMessageIdSchema,
    sentAt: {
      ...TimestampSchema,
      description: 'Server time in epoch ms, strictly increasing within a conversation.',
    },
  },
  required: [
    'messageId',
    'conversationId',
    'senderId',
    'recipientId',
    'content',
    'clientMessageId',
    'sentAt',
  ],
  additionalProperties: false,
} as const;

export const SendMessageResponseSchema = {
  type: 'object',
  properties: {
    message: MessageSchema,
    duplicate: {
      type: 'boolean',
      description: 'true: the clientMessageId was sent before; this is the stored message.',
    },
  },
  required: ['message', 'duplicate'],
  additionalProperties: false,
} as const;

export const ConversationSummarySchema = {
  type: 'object',
  properties: {
    conversationId: ConversationIdSchema,
    participants: {
      type: 'array',
      items: UserIdSchema,
      minItems: 2,
      maxItems: 2,
      description: 'The two user ids, the lower first.',
    },
    snippet: {
      type: 'string',
      maxLength: SNIPPET_CHARS_MAX,
      description: `The first ${SNIPPET_CHARS_MAX} characters of the last message.`,
    },
    lastUpdatedTimestamp: TimestampSchema,
    unreadCount: { type: 'integer', minimum: 0, maximum: UNREAD_COUNT_MAX },
  },
  required: ['conversationId', 'participants', 'snippet', 'lastUpdatedTimestamp', 'unreadCount'],
  additionalProperties: false,
} as const;

export const ConversationsResponseSchema = {
  type: 'object',
  properties: {
    conversations: { type: 'array', items: ConversationSummarySchema, maxItems: PAGE_SIZE_MAX },
    isDeltaUpdate: { type: 'boolean' },
    cursor: CursorSchema,
  },
  required: ['conversations', 'isDeltaUpdate', 'cursor'],
  additionalProperties: false,
} as const;

export const MessagesResponseSchema = {
  type: 'object',
  properties: {
    messages: { type: 'array', items: MessageSchema, maxItems: PAGE_SIZE_MAX },
    isDeltaUpdate: { type: 'boolean' },
    cursor: CursorSchema,
  },
  required: ['messages', 'isDeltaUpdate', 'cursor'],
  additionalProperties: false,
} as const;

export const MarkReadResponseSchema = {
  type: 'object',
  properties: { unreadCount: { const: 0 } },
  required: ['unreadCount'],
  additionalProperties: false,
} as const;

export const MailboxChangeSchema = {
  type: 'object',
  properties: {
    version: {
      type: 'integer',
      minimum: 1,
      description: 'The mailbox version the change made (the feed is in version order).',
    },
    conversation: ConversationSummarySchema,
    message: MessageSchema,
  },
  required: ['version', 'conversation'],
  additionalProperties: false,
  description:
    "One change of a user's mailbox: a message in or out (with `message`), or a read (without). `conversation` is the row as the change left it (as it stands now when replayed from the store).",
} as const;

export const ChangesResponseSchema = {
  type: 'object',
  properties: {
    changes: { type: 'array', items: MailboxChangeSchema, maxItems: PAGE_SIZE_MAX },
    cursor: {
      ...CursorSchema,
      description: 'Where the next request continues (the same cursor when nothing changed).',
    },
  },
  required: ['changes', 'cursor'],
  additionalProperties: false,
} as const;

export const PublicRingSchema = {
  type: 'object',
  properties: {
    epoch: {
      type: 'integer',
      minimum: 0,
      maximum: RING_EPOCH_MAX,
      description: 'Grows by one with every ring change; sent back as x-chatring-ring-epoch.',
    },
    virtualNodesPerWeight: { type: 'integer', minimum: 1, maximum: VIRTUAL_NODES_PER_WEIGHT_LIMIT },
    slots: {
      type: 'array',
      maxItems: RING_SLOTS_LIMIT,
      items: {
        type: 'object',
        properties: {
          slot: UserIdSchema,
          nodeId: UserIdSchema,
          weight: { type: 'integer', minimum: SLOT_WEIGHT_MIN, maximum: SLOT_WEIGHT_MAX },
        },
        required: ['slot', 'nodeId', 'weight'],
        additionalProperties: false,
      },
    },
    nodes: {
      type: 'object',
      description: "Each serving node's URL ('' until it has heartbeated), by node id.",
      propertyNames: UserIdSchema,
      additionalProperties: {
        type: 'object',
        properties: { url: { type: 'string', maxLength: NODE_URL_CHARS_LIMIT } },
        required: ['url'],
        additionalProperties: false,
      },
    },
  },
  required: ['epoch', 'virtualNodesPerWeight', 'slots', 'nodes'],
  additionalProperties: false,
} as const;

export const HealthSchema = {
  type: 'object',
  properties: {
    status: { const: 'ok' },
    epoch: {
      type: 'integer',
      minimum: 0,
      maximum: RING_EPOCH_MAX,
      description: 'The ring epoch the process holds (0: none yet).',
    },
  },
  required: ['status', 'epoch'],
  additionalProperties: false,
} as const;

export const ErrorBodySchema = {
  type: 'object',
  properties: {
    error: {
      type: 'object',
      properties: {
        code: {
          enum: API_ERROR_CODES,
          description: 'A code of the catalogue (docs/errors.md); match on it, never on message.',
        },
        message: { type: 'string', description: 'What went wrong, for people.' },
      },
      required: ['code', 'message'],
      additionalProperties: false,
    },
  },
  required: ['error'],
  additionalProperties: false,
} as const;

/**
 * The named schemas, in the order the document lists them under `components.schemas`: each
 * becomes a `$ref` wherever another schema holds it.
 */
export const API_SCHEMAS = {
  UserId: UserIdSchema,
  ConversationId: ConversationIdSchema,
  ClientMessageId: ClientMessageIdSchema,
  MessageId: MessageIdSchema,
  Content: ContentSchema,
  Timestamp: TimestampSchema,
  Cursor: CursorSchema,
  SendMessageRequest: SendMessageRequestSchema,
  MarkReadRequest: MarkReadRequestSchema,
  Message: MessageSchema,
  SendMessageResponse: SendMessageResponseSchema,
  ConversationSummary: ConversationSummarySchema,
  ConversationsResponse: ConversationsResponseSchema,
  MessagesResponse: MessagesResponseSchema,
  MarkReadResponse: MarkReadResponseSchema,
  MailboxChange: MailboxChangeSchema,
  ChangesResponse: ChangesResponseSchema,
  PublicRing: PublicRingSchema,
  Health: HealthSchema,
  ErrorBody: ErrorBodySchema,
} as const;

export type ApiSchemaName = keyof typeof API_SCHEMAS;
