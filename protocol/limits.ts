/**
 * Every limit of the public API in one place (TigerBeetle style: put a limit on everything).
 * Node- and cluster-level limits (cache bytes, lock waiters, timeouts) are options with defaults
 * in their components; these are the ones the wire contract fixes.
 */

/** `content` must be strictly fewer than this many UTF-8 bytes (DESIGN.md: "fewer than 65,536"). */
export const CONTENT_BYTES_LIMIT = 65_536;

/** Largest accepted request body. Content may be 65,535 bytes of JSON-escaped text (up to 6x when
 * every character is a control character escaped as \u00XX), plus the other fields. */
export const REQUEST_BODY_BYTES_LIMIT = 512 * 1024;

export const USER_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
export const USER_ID_CHARS_MAX = 64;

/** clientMessageId: opaque to us, but bounded and printable so it can key an index. */
export const CLIENT_MESSAGE_ID_PATTERN = /^[\x21-\x7e]{1,128}$/;
export const CLIENT_MESSAGE_ID_CHARS_MAX = 128;

export const PAGE_SIZE_MIN = 1;
export const PAGE_SIZE_MAX = 200;
export const CONVERSATIONS_PAGE_SIZE_DEFAULT = 20;
export const MESSAGES_PAGE_SIZE_DEFAULT = 50;

/** Offset paging reads `page * pageSize` rows past the newest; past this depth clients must page
 * with a cursor or a timestamp instead (the store scans cannot be unbounded). */
export const PAGE_OFFSET_MAX = 10_000;

/** The snippet stored on a conversation row: the start of the last message, in characters. */
export const SNIPPET_CHARS_MAX = 100;

/** Largest page number accepted before it is even multiplied (keeps arithmetic safe). */
export const PAGE_INDEX_MAX = 1_000_000;
