/**
 * The OpenAPI 3.1 document of the public API, built from the schemas of `api-schemas.ts` and the
 * error catalogue. Pure: the same document every call. `docs/openapi.json` is its output, committed
 * (`npm run openapi` writes it again; test/unit/openapi.test.ts fails when the two differ), and
 * routers serve it at `GET /openapi.json`.
 */
import {
  API_SCHEMAS,
  ChangesQuerySchema,
  ListQuerySchema,
  type ApiErrorCode,
  type ApiSchemaName,
} from './api-schemas.js';
import { ERROR_CATALOGUE } from './errors.js';
import { RING_EPOCH_HEADER } from './internal-api.js';
import { RING_EPOCH_MAX, REQUEST_BODY_BYTES_LIMIT, WATCH_WAIT_MS_MAX } from './limits.js';
import { PUBLIC_RING_PATH } from './wire-types.js';

/** Where routers serve the document (an open route: no credential). */
export const OPENAPI_PATH = '/openapi.json';

/** The JSON Schema dialect of every schema in the document. */
export const JSON_SCHEMA_DIALECT = 'https://json-schema.org/draft/2020-12/schema';

type Json = null | boolean | number | string | readonly Json[] | { readonly [key: string]: Json };
type JsonObject = { [key: string]: Json };

/**
 * Codes any request may meet before its route runs or whatever the route is: a URL or request
 * that cannot be read, one too slow or too large, a full server, a stopping one (every route of a
 * closing server answers OWNER_UNAVAILABLE: ask another process), a bug.
 */
const TRANSPORT_ERRORS: readonly ApiErrorCode[] = [
  'INVALID_URL',
  'MALFORMED_REQUEST',
  'REQUEST_TIMEOUT',
  'HEADERS_TOO_LARGE',
  'URL_TOO_LONG',
  'OVERLOADED',
  'OWNER_UNAVAILABLE',
  'INTERNAL',
];
/** An app route with app tokens configured. */
const AUTH_ERRORS: readonly ApiErrorCode[] = ['UNAUTHENTICATED', 'FORBIDDEN'];
/** A route answered by the user's owner (through the router, or client-direct). */
const OWNER_ERRORS: readonly ApiErrorCode[] = [
  'NOT_OWNER',
  'OWNER_UNAVAILABLE',
  'USER_BUSY',
  'STORE_UNAVAILABLE',
];
/** A route that reads a JSON body. */
const BODY_ERRORS: readonly ApiErrorCode[] = [
  'INVALID_BODY',
  'UNKNOWN_FIELD',
  'BODY_TOO_LARGE',
  'UNSUPPORTED_MEDIA_TYPE',
];
/** Answered for a method and path no operation of the document has. */
const UNROUTED_ERRORS: Readonly<Record<string, ApiErrorCode>> = {
  RouteNotFound: 'NOT_FOUND',
  MethodNotAllowed: 'METHOD_NOT_ALLOWED',
};

interface OperationSpec {
  method: 'get' | 'post';
  path: string;
  operationId: string;
  summary: string;
  description: string;
  tag: 'messages' | 'conversations' | 'changes' | 'ring' | 'service';
  /** open: no credential at all; app: an app token when the cluster has app tokens configured. */
  access: 'open' | 'app';
  pathParameters?: readonly ('userId' | 'conversationId')[];
  /** An object schema whose properties are the query parameters. */
  query?: { readonly properties: { readonly [name: string]: { readonly description?: string } } };
  /** Answered by the user's owner: takes the ring epoch header, may answer OWNER_ERRORS. */
  owner: boolean;
  body?: { schema: ApiSchemaName; required: boolean };
  success: readonly { status: number; description: string; schema: JsonObject }[];
  /** The route's own error codes (transport, auth and owner codes are added). */
  errors: readonly ApiErrorCode[];
}

const ref = (name: ApiSchemaName): JsonObject => ({ $ref: `#/components/schemas/${name}` });

const OPERATIONS: readonly OperationSpec[] = [
  {
    method: 'get',
    path: '/healthz',
    operationId: 'getHealth',
    summary: 'Liveness, and the ring epoch the process holds',
    description: 'Served by routers and cache nodes alike. An open route: no credential.',
    tag: 'service',
    access: 'open',
    owner: false,
    success: [{ status: 200, description: 'The process is up.', schema: ref('Health') }],
    errors: [],
  },
  {
    method: 'get',
    path: OPENAPI_PATH,
    operationId: 'getOpenApiDocument',
    summary: 'This document',
    description: 'Served by routers. An open route: no credential.',
    tag: 'service',
    access: 'open',
    owner: false,
    success: [
      {
        status: 200,
        description: 'The OpenAPI 3.1 document of the public API (docs/openapi.json).',
        schema: {
          type: 'object',
          properties: {
            openapi: { const: '3.1.0' },
            info: { type: 'object' },
            paths: { type: 'object' },
          },
          required: ['openapi', 'info', 'paths'],
        },
      },
    ],
    errors: [],
  },
  {
    method: 'get',
    path: PUBLIC_RING_PATH,
    operationId: 'getRing',
    summary: 'The ring the router routes by',
    description:
      'Served by routers: what a ring-aware client needs to send each request straight to its owner, stamped with the epoch it routed by (x-chatring-ring-epoch). OWNER_UNAVAILABLE until the router knows a ring.',
    tag: 'ring',
    access: 'app',
    owner: false,
    success: [{ status: 200, description: 'The ring.', schema: ref('PublicRing') }],
    errors: ['OWNER_UNAVAILABLE'],
  },
  {
    method: 'post',
    path: '/v1/messages',
    operationId: 'sendMessage',
    summary: 'Send a message',
    description: `Stores the message in both participants' mailboxes. Idempotent by (senderId, clientMessageId) within the idempotency window: a retry answers the stored message with 200 and duplicate: true. The body is at most ${REQUEST_BODY_BYTES_LIMIT} bytes (BODY_TOO_LARGE).`,
    tag: 'messages',
    access: 'app',
    owner: true,
    body: { schema: 'SendMessageRequest', required: true },
    success: [
      {
        status: 201,
        description: 'Stored (a new message).',
        schema: {
          ...ref('SendMessageResponse'),
          type: 'object',
          properties: { duplicate: { const: false } },
        },
      },
      {
        status: 200,
        description: 'A retry of a stored message: that message, with duplicate: true.',
        schema: {
          ...ref('SendMessageResponse'),
          type: 'object',
          properties: { duplicate: { const: true } },
        },
      },
    ],
    errors: [
      'MISSING_FIELD',
      'INVALID_FIELD',
      'INVALID_USER_ID',
      'SELF_MESSAGE',
      'CONTENT_TOO_LARGE',
      'CLIENT_MESSAGE_ID_CONFLICT',
      ...BODY_ERRORS,
    ],
  },
  {
    method: 'get',
    path: '/v1/users/{userId}/conversations',
    operationId: 'listConversations',
    summary: "A user's conversations, most recently updated first",
    description:
      'Exactly one of: offset paging (page, pageSize), a timestamp delta (lastUpdatedTimestamp) or a cursor delta (cursor). page × pageSize above the deepest offset served is PAGE_OUT_OF_RANGE.',
    tag: 'conversations',
    access: 'app',
    pathParameters: ['userId'],
    query: ListQuerySchema,
    owner: true,
    success: [{ status: 200, description: 'A page.', schema: ref('ConversationsResponse') }],
    errors: ['INVALID_USER_ID', 'INVALID_QUERY', 'INVALID_CURSOR', 'PAGE_OUT_OF_RANGE'],
  },
  {
    method: 'get',
    path: '/v1/users/{userId}/conversations/{conversationId}/messages',
    operationId: 'listMessages',
    summary: "A conversation's messages, newest first",
    description:
      "Exactly one of: offset paging (page, pageSize), a timestamp delta (lastUpdatedTimestamp) or a cursor delta (cursor). The user must be one of the conversation's participants (INVALID_CONVERSATION_ID).",
    tag: 'conversations',
    access: 'app',
    pathParameters: ['userId', 'conversationId'],
    query: ListQuerySchema,
    owner: true,
    success: [{ status: 200, description: 'A page.', schema: ref('MessagesResponse') }],
    errors: [
      'INVALID_USER_ID',
      'INVALID_CONVERSATION_ID',
      'INVALID_QUERY',
      'INVALID_CURSOR',
      'PAGE_OUT_OF_RANGE',
    ],
  },
  {
    method: 'post',
    path: '/v1/users/{userId}/conversations/{conversationId}/read',
    operationId: 'markRead',
    summary: 'Mark a conversation read for the user',
    description: "Sets the user's unread count of the conversation to 0.",
    tag: 'conversations',
    access: 'app',
    pathParameters: ['userId', 'conversationId'],
    owner: true,
    body: { schema: 'MarkReadRequest', required: false },
    success: [{ status: 200, description: 'Read.', schema: ref('MarkReadResponse') }],
    errors: ['INVALID_USER_ID', 'INVALID_CONVERSATION_ID', ...BODY_ERRORS],
  },
  {
    method: 'get',
    path: '/v1/users/{userId}/changes',
    operationId: 'getChanges',
    summary: "The change feed: a user's mailbox changes after a cursor, oldest first",
    description: `A long poll: with nothing after the cursor the server holds the request up to waitMs (at most ${WATCH_WAIT_MS_MAX}) and answers the first change, or no changes and the same cursor. A cursor too far behind to replay is CURSOR_EXPIRED (list the conversations again and watch from their cursor); a user or node holding as many watches as it may is TOO_MANY_WATCHERS.`,
    tag: 'changes',
    access: 'app',
    pathParameters: ['userId'],
    query: ChangesQuerySchema,
    owner: true,
    success: [
      { status: 200, description: 'The changes after the cursor.', schema: ref('ChangesResponse') },
    ],
    errors: [
      'INVALID_USER_ID',
      'INVALID_QUERY',
      'INVALID_CURSOR',
      'CURSOR_EXPIRED',
      'TOO_MANY_WATCHERS',
    ],
  },
];

const PATH_PARAMETERS: Record<'userId' | 'conversationId', JsonObject> = {
  userId: {
    name: 'userId',
    in: 'path',
    required: true,
    description: 'The user whose mailbox this is (INVALID_USER_ID when malformed).',
    schema: ref('UserId'),
  },
  conversationId: {
    name: 'conversationId',
    in: 'path',
    required: true,
    description:
      'A conversation of the user (INVALID_CONVERSATION_ID when malformed or not theirs).',
    schema: ref('ConversationId'),
  },
};

const RING_EPOCH_PARAMETER: JsonObject = {
  name: RING_EPOCH_HEADER,
  in: 'header',
  required: false,
  description:
    'The ring epoch the caller routed by (ring-aware clients and routers): a node behind it refreshes its ring before judging ownership.',
  schema: { type: 'integer', minimum: 0, maximum: RING_EPOCH_MAX },
};

/** The OpenAPI 3.1 document of the public API v1. */
export function buildOpenApiDocument(): JsonObject {
  const paths: Record<string, JsonObject> = {};
  for (const operation of OPERATIONS) {
    const item = (paths[operation.path] ??= {});
    item[operation.method] = operationObject(operation);
  }
  const responses: JsonObject = {};
  for (const [name, code] of Object.entries(UNROUTED_ERRORS))
    responses[name] = errorResponse([code]);
  return {
    openapi: '3.1.0',
    jsonSchemaDialect: JSON_SCHEMA_DIALECT,
    info: {
      title: 'chatring public API',
      version: 'v1',
      description:
        'The cache tier of a 1:1 messenger: send, list conversations and messages, mark read, watch a mailbox. Every error answers `{error: {code, message}}` with a code of the catalogue (docs/errors.md) and its status; each operation lists the codes it may answer. A method or path no operation here has answers NOT_FOUND or METHOD_NOT_ALLOWED (components.responses). Generated from protocol/api-schemas.ts by protocol/openapi.ts: do not edit by hand, run `npm run openapi`.',
      license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
    },
    tags: [
      { name: 'messages', description: 'Sending.' },
      { name: 'conversations', description: 'Reading a mailbox and marking it read.' },
      { name: 'changes', description: "The change feed: watching a user's mailbox." },
      { name: 'ring', description: 'Routing for ring-aware clients.' },
      { name: 'service', description: 'Liveness and this document.' },
    ],
    security: [{ appToken: [] }, {}],
    paths,
    components: {
      schemas: componentSchemas(),
      responses,
      securitySchemes: {
        appToken: {
          type: 'http',
          scheme: 'bearer',
          description:
            'An app token. Required on /v1 routes once the cluster has app tokens configured (always beyond loopback); without them those routes take no credential.',
        },
      },
    },
  };
}

function operationObject(operation: OperationSpec): JsonObject {
  const parameters: JsonObject[] = (operation.pathParameters ?? []).map(
    (name) => PATH_PARAMETERS[name],
  );
  for (const [name, property] of Object.entries(operation.query?.properties ?? {})) {
    const { description, ...schema } = property;
    parameters.push({
      name,
      in: 'query',
      required: false,
      ...(typeof description === 'string' ? { description } : {}),
      schema: toDocumentSchema(schema),
    });
  }
  if (operation.owner) parameters.push(RING_EPOCH_PARAMETER);

  const responses: JsonObject = {};
  for (const { status, description, schema } of operation.success)
    responses[String(status)] = {
      description,
      content: { 'application/json': { schema } },
    };
  const codes = new Set<ApiErrorCode>([
    ...operation.errors,
    ...(operation.access === 'app' ? AUTH_ERRORS : []),
    ...(operation.owner ? OWNER_ERRORS : []),
    ...TRANSPORT_ERRORS,
  ]);
  const byStatus = new Map<number, ApiErrorCode[]>();
  for (const code of catalogueOrder(codes)) {
    const status = ERROR_CATALOGUE[code].status;
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  for (const status of [...byStatus.keys()].sort((a, b) => a - b))
    responses[String(status)] = errorResponse(byStatus.get(status) ?? []);

  return {
    tags: [operation.tag],
    operationId: operation.operationId,
    summary: operation.summary,
    description: operation.description,
    ...(operation.access === 'open' ? { security: [] } : {}),
    ...(parameters.length === 0 ? {} : { parameters }),
    ...(operation.body === undefined
      ? {}
      : {
          requestBody: {
            required: operation.body.required,
            content: { 'application/json': { schema: ref(operation.body.schema) } },
          },
        }),
    responses,
  };
}

/** An error answer: the error body, its code one of `codes` (all of one status). */
function errorResponse(codes: readonly ApiErrorCode[]): JsonObject {
  const headers: JsonObject = {};
  if (codes.includes('OVERLOADED'))
    headers['Retry-After'] = {
      description: 'With OVERLOADED: seconds to wait before retrying.',
      schema: { type: 'integer', minimum: 0 },
    };
  if (codes.includes('UNAUTHENTICATED'))
    headers['WWW-Authenticate'] = {
      description: 'With UNAUTHENTICATED: `Bearer realm="chatring"`.',
      schema: { type: 'string' },
    };
  return {
    description: codes.map((code) => `${code}: ${ERROR_CATALOGUE[code].summary}`).join(' '),
    ...(Object.keys(headers).length === 0 ? {} : { headers }),
    content: {
      'application/json': {
        schema: {
          ...ref('ErrorBody'),
          type: 'object',
          properties: {
            error: { type: 'object', properties: { code: { enum: [...codes] } } },
          },
        },
      },
    },
  };
}

function catalogueOrder(codes: ReadonlySet<ApiErrorCode>): ApiErrorCode[] {
  return (Object.keys(ERROR_CATALOGUE) as ApiErrorCode[]).filter((code) => codes.has(code));
}

/** `components.schemas`: each named schema, with the named schemas inside it as `$ref`s. */
function componentSchemas(): JsonObject {
  const schemas: JsonObject = {};
  for (const [name, schema] of Object.entries(API_SCHEMAS))
    schemas[name] = toDocumentSchema(schema, schema);
  return schemas;
}

const NAMES_OF_SCHEMAS = new Map<unknown, string>(
  Object.entries(API_SCHEMAS).map(([name, schema]) => [schema, name]),
);

/**
 * A schema as the document holds it: a copy in which every named schema (other than `self`, the
 * one being defined) is a `$ref`, and arrays and frozen values are plain JSON.
 */
function toDocumentSchema(value: unknown, self?: unknown): Json {
  if (value !== self && NAMES_OF_SCHEMAS.has(value))
    return { $ref: `#/components/schemas/${NAMES_OF_SCHEMAS.get(value) ?? ''}` };
  if (Array.isArray(value)) return value.map((entry) => toDocumentSchema(entry));
  if (typeof value === 'object' && value !== null) {
    const copy: JsonObject = {};
    for (const [key, entry] of Object.entries(value)) copy[key] = toDocumentSchema(entry);
    return copy;
  }
  return value as Json;
}
