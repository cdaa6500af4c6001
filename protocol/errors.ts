/**
 * The error catalogue: every error chatring returns has a stable `code` (callers match on it,
 * never on the message) and an HTTP status. `docs/errors.md` lists the same codes; a unit test
 * keeps the two in step.
 */

export const ERROR_CATALOGUE = {
  INVALID_BODY: {
    status: 400,
    retryable: false,
    summary: 'The body is not a JSON object of the expected shape.',
  },
  UNKNOWN_FIELD: {
    status: 400,
    retryable: false,
    summary: 'The body has a field the API does not define.',
  },
  MISSING_FIELD: { status: 400, retryable: false, summary: 'A required field is absent.' },
  INVALID_FIELD: {
    status: 400,
    retryable: false,
    summary: 'A field has the wrong type or an invalid value.',
  },
  INVALID_USER_ID: {
    status: 400,
    retryable: false,
    summary: 'A user id is not 1-64 characters of [A-Za-z0-9_-].',
  },
  INVALID_CONVERSATION_ID: {
    status: 400,
    retryable: false,
    summary: 'The conversation id is malformed or does not include the user.',
  },
  INVALID_QUERY: { status: 400, retryable: false, summary: 'A query parameter is malformed.' },
  INVALID_CURSOR: {
    status: 400,
    retryable: false,
    summary: 'The cursor was not issued for this mailbox and conversation.',
  },
  SELF_MESSAGE: {
    status: 400,
    retryable: false,
    summary: 'senderId and recipientId are the same user.',
  },
  PAGE_OUT_OF_RANGE: {
    status: 400,
    retryable: false,
    summary: 'page * pageSize is beyond the deepest offset served; use the cursor.',
  },
  NOT_FOUND: { status: 404, retryable: false, summary: 'No such route.' },
  CLIENT_MESSAGE_ID_CONFLICT: {
    status: 409,
    retryable: false,
    summary: 'This sender already used the clientMessageId for a message to someone else.',
  },
  CONTENT_TOO_LARGE: {
    status: 413,
    retryable: false,
    summary: 'content is 65,536 UTF-8 bytes or more.',
  },
  BODY_TOO_LARGE: {
    status: 413,
    retryable: false,
    summary: 'The request body exceeds the body size limit.',
  },
  UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    retryable: false,
    summary: 'The body is not application/json.',
  },
  NOT_OWNER: {
    status: 421,
    retryable: true,
    summary: 'This node does not own the user (the ring moved); the router retries on the owner.',
  },
  USER_BUSY: {
    status: 503,
    retryable: true,
    summary: "Too many requests are queued on this user's lock.",
  },
  OWNER_UNAVAILABLE: {
    status: 503,
    retryable: true,
    summary: 'The owning cache node could not be reached or is not serving.',
  },
  STORE_UNAVAILABLE: {
    status: 503,
    retryable: true,
    summary:
      'The store failed or timed out; nothing was acknowledged, retry with the same clientMessageId.',
  },
  INTERNAL: {
    status: 500,
    retryable: true,
    summary: 'An unexpected error; the message has details.',
  },
} as const satisfies Record<string, { status: number; retryable: boolean; summary: string }>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

export interface ErrorBody {
  error: { code: ErrorCode; message: string };
}

/** The one base error: carries a catalogue code, and its HTTP status follows from the code. */
export class ChatringError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly retryable: boolean;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ChatringError';
    this.code = code;
    this.status = ERROR_CATALOGUE[code].status;
    this.retryable = ERROR_CATALOGUE[code].retryable;
  }

  toBody(): ErrorBody {
    return { error: { code: this.code, message: this.message } };
  }
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_CATALOGUE, value);
}

/** Reads an error body that crossed the wire back into a ChatringError, or undefined if it is not one. */
export function errorFromBody(body: unknown): ChatringError | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const error = (body as { error?: unknown }).error;
  if (typeof error !== 'object' || error === null) return undefined;
  const { code, message } = error as { code?: unknown; message?: unknown };
  if (!isErrorCode(code)) return undefined;
  return new ChatringError(code, typeof message === 'string' ? message : code);
}
