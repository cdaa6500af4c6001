/**
 * The one error catalogue: every error chatring raises, to an app (the public API), to an operator
 * (ringctl and the ring-change routes), at start-up (configuration) or between its own parts (the
 * store's and the control plane's compare-and-sets), has a stable `code` (callers match on it,
 * never on the message), an HTTP status, and says whether the same request may succeed if sent
 * again. `docs/errors.md` lists the same codes, one table per audience; a unit test keeps the two
 * in step.
 */

export type ErrorAudience = 'api' | 'operator' | 'config' | 'internal';

export const ERROR_CATALOGUE = {
  INVALID_BODY: {
    audience: 'api',
    status: 400,
    retryable: false,
    summary: 'The body is not a JSON object of the expected shape.',
  },
  UNKNOWN_FIELD: {
    audience: 'api',
    status: 400,
    retryable: false,
    summary: 'The body has a field the API does not define.',
  },
  MISSING_FIELD: {
    audience: 'api',
    status: 400,
    retryable: false,
    summary: 'A required field is absent.',
  },
  INVALID_FIELD: {
    audience: 'api',
    status: 400,
    retryable: false,
    summary: 'A field has the wrong type or an invalid value.',
  },
  INVALID_USER_ID: {
    audience: 'api',
    status: 400,
    retryable: false,
    summary: 'A user id is not 1-64 characters of [A-Za-z0-9_-].',
  },
  INVALID_CONVERSATION_ID: {
    audience: 'api',
    status: 400,
    retryable: false,
    summary: 'The conversation id is malformed or does not include the user.',
  },
  INVALID_QUERY: {
    audience: 'api',
    status: 400,
    retryable: false,
    summary: 'A query parameter is malformed.',
  },
  INVALID_CURSOR: {
    audience: 'api',
    status: 400,
    retryable: false,
    summary: 'The cursor was not issued for this mailbox and conversation.',
  },
  CURSOR_EXPIRED: {
    audience: 'api',
    status: 410,
    retryable: false,
    summary:
      'The change feed cannot replay that far back; list the conversations again and watch from their cursor.',
  },
  TOO_MANY_WATCHERS: {
    audience: 'api',
    status: 429,
    retryable: false,
    summary: 'The user or the node already holds as many held change-feed requests as it may.',
  },
  SELF_MESSAGE: {
    audience: 'api',
    status: 400,
    retryable: false,
    summary: 'senderId and recipientId are the same user.',
  },
  PAGE_OUT_OF_RANGE: {
    audience: 'api',
    status: 400,
    retryable: false,
    summary: 'page * pageSize is beyond the deepest offset served; use the cursor.',
  },
  INVALID_URL: {
    audience: 'api',
    status: 400,
    retryable: false,
    summary: 'The URL is malformed (e.g. a broken percent-encoding).',
  },
  MALFORMED_REQUEST: {
    audience: 'api',
    status: 400,
    retryable: false,
    summary: 'The request is not well-formed HTTP; the connection is closed.',
  },
  REQUEST_TIMEOUT: {
    audience: 'api',
    status: 408,
    retryable: true,
    summary: 'The request did not arrive in time; the connection is closed.',
  },
  HEADERS_TOO_LARGE: {
    audience: 'api',
    status: 431,
    retryable: false,
    summary: 'The request line and headers exceed the size limit (a URL too long included).',
  },
  UNAUTHENTICATED: {
    audience: 'api',
    status: 401,
    retryable: false,
    summary:
      'The route needs a credential (an app or operator bearer token, or a member signature) and none came.',
  },
  FORBIDDEN: {
    audience: 'api',
    status: 403,
    retryable: false,
    summary: 'The credential is wrong, expired, or not one this route accepts.',
  },
  METHOD_NOT_ALLOWED: {
    audience: 'api',
    status: 405,
    retryable: false,
    summary: 'The path exists but not with this method.',
  },
  URL_TOO_LONG: {
    audience: 'api',
    status: 414,
    retryable: false,
    summary: 'The URL exceeds the length limit.',
  },
  NOT_FOUND: { audience: 'api', status: 404, retryable: false, summary: 'No such route.' },
  CLIENT_MESSAGE_ID_CONFLICT: {
    audience: 'api',
    status: 409,
    retryable: false,
    summary: 'This sender already used the clientMessageId for a message to someone else.',
  },
  CONTENT_TOO_LARGE: {
    audience: 'api',
    status: 413,
    retryable: false,
    summary: 'content is 65,536 UTF-8 bytes or more.',
  },
  BODY_TOO_LARGE: {
    audience: 'api',
    status: 413,
    retryable: false,
    summary: 'The request body exceeds the body size limit.',
  },
  UNSUPPORTED_MEDIA_TYPE: {
    audience: 'api',
    status: 415,
    retryable: false,
    summary: 'The body is not application/json.',
  },
  NOT_OWNER: {
    audience: 'api',
    status: 421,
    retryable: true,
    summary: 'This node does not own the user (the ring moved); the router retries on the owner.',
  },
  USER_BUSY: {
    audience: 'api',
    status: 503,
    retryable: true,
    summary: "Too many requests are queued on this user's lock.",
  },
  OWNER_UNAVAILABLE: {
    audience: 'api',
    status: 503,
    retryable: true,
    summary: 'The owning cache node could not be reached or is not serving.',
  },
  STORE_UNAVAILABLE: {
    audience: 'api',
    status: 503,
    retryable: true,
    summary:
      'The store failed or timed out; nothing was acknowledged, retry with the same clientMessageId.',
  },
  OVERLOADED: {
    audience: 'api',
    status: 503,
    retryable: true,
    summary:
      'The process is at its limit of requests in flight or connections; retry after Retry-After seconds.',
  },
  INTERNAL: {
    audience: 'api',
    status: 500,
    retryable: true,
    summary: 'An unexpected error; the message has details.',
  },
  // Operators: ring changes (ringctl, /control/v1/changes).
  UNKNOWN_NODE: {
    audience: 'operator',
    status: 404,
    retryable: false,
    summary: 'No node with that id or address has ever joined the cluster.',
  },
  NODE_BUSY: {
    audience: 'operator',
    status: 409,
    retryable: false,
    summary: 'The node already serves a slot, or did not release its users for the change.',
  },
  LAST_SLOT: {
    audience: 'operator',
    status: 409,
    retryable: false,
    summary: 'The change would leave the ring without a slot.',
  },
  NO_STANDBY: {
    audience: 'operator',
    status: 409,
    retryable: false,
    summary: 'A promotion found no live standby.',
  },
  INVALID_WEIGHT: {
    audience: 'operator',
    status: 400,
    retryable: false,
    summary: 'A slot weight is not an integer from 1 to 100.',
  },
  EPOCH_CONFLICT: {
    audience: 'operator',
    status: 409,
    retryable: true,
    summary: 'Another change moved the ring first (compare-and-set on the epoch lost); look again.',
  },
  NOTHING_TO_DO: {
    audience: 'operator',
    status: 409,
    retryable: false,
    summary: 'The change would not change the ring.',
  },
  INVALID_CHANGE: {
    audience: 'operator',
    status: 400,
    retryable: false,
    summary: 'The change request is malformed (unknown action, bad node id or epoch).',
  },
  CHANGE_FAILED: {
    audience: 'operator',
    status: 500,
    retryable: true,
    summary:
      'The change failed while it ran; its releases were cancelled and the ring is unchanged.',
  },
  UNKNOWN_MEMBER: {
    audience: 'operator',
    status: 403,
    retryable: false,
    summary:
      'A member the cluster does not know heartbeated; an operator admits it first (ringctl member add).',
  },
  // Configuration: options, flags and environment, checked once where they are built.
  INVALID_OPTION: {
    audience: 'config',
    status: 400,
    retryable: false,
    summary: 'An option, flag or environment value is unknown, of the wrong type or out of range.',
  },
  // Between chatring's own parts; never sent to an app.
  STORE_VERSION_CONFLICT: {
    audience: 'internal',
    status: 409,
    retryable: false,
    summary: "The store refused a commit: the mailbox is not at the commit's version - 1.",
  },
} as const satisfies Record<
  string,
  { audience: ErrorAudience; status: number; retryable: boolean; summary: string }
>;

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
