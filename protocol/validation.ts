import { ChatringError } from './errors.js';
import {
  CLIENT_MESSAGE_ID_PATTERN,
  CONTENT_BYTES_LIMIT,
  PAGE_INDEX_MAX,
  PAGE_OFFSET_MAX,
  PAGE_SIZE_MAX,
  PAGE_SIZE_MIN,
  USER_ID_PATTERN,
  WATCH_PAGE_SIZE_DEFAULT,
  WATCH_WAIT_MS_MAX,
} from './limits.js';
import { decodeCursor, type CursorScope } from './cursor.js';
import type { ChangesQuery, ListQuery, SendMessageRequest } from './wire-types.js';

/**
 * Input validation for the public API. Pure: it returns a typed value or throws a ChatringError
 * with a catalogue code, so the router and the cache node reject the same inputs the same way.
 */

const SEND_FIELDS = ['senderId', 'recipientId', 'content', 'clientMessageId'] as const;

export function assertUserId(value: unknown, field = 'userId'): string {
  if (typeof value !== 'string' || !USER_ID_PATTERN.test(value)) {
    throw new ChatringError('INVALID_USER_ID', `${field} must be 1-64 characters of [A-Za-z0-9_-]`);
  }
  return value;
}

export function parseSendRequest(body: unknown): SendMessageRequest {
  const object = assertPlainObject(body);
  assertOnlyFields(object, SEND_FIELDS);
  for (const field of SEND_FIELDS) {
    if (!Object.hasOwn(object, field))
      throw new ChatringError('MISSING_FIELD', `${field} is required`);
    if (typeof object[field] !== 'string')
      throw new ChatringError('INVALID_FIELD', `${field} must be a string`);
  }
  const senderId = assertUserId(object.senderId, 'senderId');
  const recipientId = assertUserId(object.recipientId, 'recipientId');
  const clientMessageId = object.clientMessageId as string;
  if (!CLIENT_MESSAGE_ID_PATTERN.test(clientMessageId)) {
    throw new ChatringError(
      'INVALID_FIELD',
      'clientMessageId must be 1-128 printable ASCII characters',
    );
  }
  if (senderId === recipientId)
    throw new ChatringError('SELF_MESSAGE', 'senderId and recipientId must differ');
  const content = object.content as string;
  // A lone surrogate has no UTF-8 form: a store would keep U+FFFD while the cache kept the
  // original, and the two copies of one message would differ.
  if (!content.isWellFormed())
    throw new ChatringError(
      'INVALID_FIELD',
      'content must be well-formed Unicode (it has a lone surrogate)',
    );
  const contentBytes = Buffer.byteLength(content, 'utf8');
  if (contentBytes >= CONTENT_BYTES_LIMIT) {
    throw new ChatringError(
      'CONTENT_TOO_LARGE',
      `content is ${contentBytes} UTF-8 bytes; it must be fewer than ${CONTENT_BYTES_LIMIT}`,
    );
  }
  return { senderId, recipientId, content, clientMessageId };
}

/** The mark-read body is `{}`; an absent body counts as `{}`. */
export function parseMarkReadBody(body: unknown): void {
  if (body === undefined || body === null || body === '') return;
  assertOnlyFields(assertPlainObject(body), []);
}

const LIST_QUERY_FIELDS = ['page', 'pageSize', 'lastUpdatedTimestamp', 'cursor'] as const;

/** Parses `page`, `pageSize`, `lastUpdatedTimestamp` and `cursor`; pageSize is clamped to 1..200. */
export function parseListQuery(
  query: unknown,
  pageSizeDefault: number,
  scope: CursorScope,
): ListQuery {
  const object = (query ?? {}) as Record<string, unknown>;
  for (const key of Object.keys(object)) {
    if (!(LIST_QUERY_FIELDS as readonly string[]).includes(key)) {
      throw new ChatringError('INVALID_QUERY', `unknown query parameter "${key}"`);
    }
  }
  const pageSize = clampPageSize(optionalInteger(object, 'pageSize') ?? pageSizeDefault);
  const cursor = optionalString(object, 'cursor');
  const lastUpdatedTimestamp = optionalInteger(object, 'lastUpdatedTimestamp');
  if (cursor !== undefined) {
    if (lastUpdatedTimestamp !== undefined || object.page !== undefined) {
      throw new ChatringError(
        'INVALID_QUERY',
        'cursor cannot be combined with page or lastUpdatedTimestamp',
      );
    }
    return { kind: 'since-cursor', pageSize, afterVersion: decodeCursor(cursor, scope) };
  }
  const page = optionalInteger(object, 'page') ?? 0;
  if (page < 0 || page > PAGE_INDEX_MAX)
    throw new ChatringError('INVALID_QUERY', `page must be 0..${PAGE_INDEX_MAX}`);
  if (page * pageSize > PAGE_OFFSET_MAX) {
    throw new ChatringError(
      'PAGE_OUT_OF_RANGE',
      `page * pageSize must be at most ${PAGE_OFFSET_MAX}; page deeper with the cursor`,
    );
  }
  if (lastUpdatedTimestamp !== undefined) {
    if (lastUpdatedTimestamp < 0)
      throw new ChatringError('INVALID_QUERY', 'lastUpdatedTimestamp must be >= 0');
    return { kind: 'since-timestamp', page, pageSize, lastUpdatedTimestamp };
  }
  return { kind: 'page', page, pageSize };
}

const CHANGES_QUERY_FIELDS = ['cursor', 'waitMs', 'pageSize'] as const;

/**
 * Parses the change feed's `cursor` (one from the feed or from the user's conversation list: both
 * count the same mailbox versions), `waitMs` (0..WATCH_WAIT_MS_MAX, else INVALID_QUERY) and
 * `pageSize` (clamped to 1..200, as the lists clamp it).
 */
export function parseChangesQuery(query: unknown, userId: string): ChangesQuery {
  const object = (query ?? {}) as Record<string, unknown>;
  for (const key of Object.keys(object)) {
    if (!(CHANGES_QUERY_FIELDS as readonly string[]).includes(key)) {
      throw new ChatringError('INVALID_QUERY', `unknown query parameter "${key}"`);
    }
  }
  const waitMs = optionalInteger(object, 'waitMs') ?? 0;
  if (waitMs < 0 || waitMs > WATCH_WAIT_MS_MAX)
    throw new ChatringError('INVALID_QUERY', `waitMs must be 0..${WATCH_WAIT_MS_MAX}`);
  const pageSize = clampPageSize(optionalInteger(object, 'pageSize') ?? WATCH_PAGE_SIZE_DEFAULT);
  const cursor = optionalString(object, 'cursor');
  const afterVersion = cursor === undefined ? undefined : decodeCursor(cursor, { userId });
  return { afterVersion, waitMs, pageSize };
}

export function clampPageSize(pageSize: number): number {
  return Math.min(PAGE_SIZE_MAX, Math.max(PAGE_SIZE_MIN, pageSize));
}

function assertPlainObject(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new ChatringError('INVALID_BODY', 'the body must be a JSON object');
  }
  return body as Record<string, unknown>;
}

function assertOnlyFields(object: Record<string, unknown>, allowed: readonly string[]): void {
  for (const key of Object.keys(object)) {
    if (!allowed.includes(key)) throw new ChatringError('UNKNOWN_FIELD', `unknown field "${key}"`);
  }
}

function optionalString(object: Record<string, unknown>, key: string): string | undefined {
  const value = object[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.length === 0)
    throw new ChatringError('INVALID_QUERY', `${key} must be given once`);
  return value;
}

function optionalInteger(object: Record<string, unknown>, key: string): number | undefined {
  const text = optionalString(object, key);
  if (text === undefined) return undefined;
  if (!/^-?\d{1,16}$/.test(text))
    throw new ChatringError('INVALID_QUERY', `${key} must be an integer`);
  return Number(text);
}
