import {
  ChatringError,
  PAGE_SIZE_MAX,
  PAGE_SIZE_MIN,
  WATCH_WAIT_MS_MAX,
  type ChangesResponse,
  type Clock,
} from '../protocol/index.js';
import { untilAborted } from './abortable.js';

/** One change-feed request, as `ChatringClient.changes` takes it. */
export interface ChangesQuery {
  /** Continue after this cursor (from the feed or the user's conversation list); none: from now. */
  cursor?: string;
  /** Hold the request up to this long when nothing changed, in ms (0..30000). @default 0 */
  waitMs?: number;
  /** Changes per answer, 1..200 (larger is clamped by the server). @default 100 */
  pageSize?: number;
}

export interface WatchOptions {
  /** Start after this cursor (from an earlier answer or the conversation list); by default, from now. */
  cursor?: string;
  /**
   * How long each request waits at the owner for a change, in ms (1..30000): one request per
   * this long while nothing changes, and a change arrives as soon as it commits.
   * @default 25000
   */
  waitMs?: number;
  /**
   * Changes per answer, 1..200.
   * @default 200
   */
  pageSize?: number;
  /** Ends the iteration (the iterator returns; a wait in progress ends at once). */
  signal?: AbortSignal;
}

const WAIT_MS_DEFAULT = 25_000;
/** After a watch request fails past the client's own retries (an outage), try again after this. */
const RECONNECT_DELAY_MS = 1_000;

/** The query string of a change-feed request. */
export function changesQueryString(query: ChangesQuery): string {
  const parts: string[] = [];
  if (query.cursor !== undefined) parts.push(`cursor=${encodeURIComponent(query.cursor)}`);
  if (query.waitMs !== undefined) parts.push(`waitMs=${query.waitMs}`);
  if (query.pageSize !== undefined) parts.push(`pageSize=${query.pageSize}`);
  return parts.length === 0 ? '' : `?${parts.join('&')}`;
}

/**
 * Watches a user's mailbox through the change feed: yields every answer that carries changes,
 * oldest first across answers, each with the cursor after it (an app that stores the cursor of
 * the last answer it handled resumes exactly there). Each request is held at the owner until a
 * change commits or `waitMs` passes, so a change arrives when it commits, with one request per
 * `waitMs` while nothing happens. It reconnects by itself: an owner that moves (ring change,
 * failover) or stops is followed by the client's own retries, and a failure that outlasts them
 * (an outage) is tried again after a second, from the same cursor: nothing missed, nothing twice.
 * A refusal that no retry can mend (CURSOR_EXPIRED, INVALID_CURSOR, TOO_MANY_WATCHERS) ends the
 * iteration with its ChatringError.
 */
export async function* watchChanges(
  read: (query: ChangesQuery) => Promise<ChangesResponse>,
  options: WatchOptions,
  clock: Clock,
): AsyncGenerator<ChangesResponse, void, undefined> {
  const waitMs = options.waitMs ?? WAIT_MS_DEFAULT;
  if (!Number.isInteger(waitMs) || waitMs < 1 || waitMs > WATCH_WAIT_MS_MAX)
    throw new ChatringError(
      'INVALID_OPTION',
      `watch: waitMs must be an integer from 1 to ${WATCH_WAIT_MS_MAX}`,
    );
  const pageSize = options.pageSize ?? PAGE_SIZE_MAX;
  if (!Number.isInteger(pageSize) || pageSize < PAGE_SIZE_MIN || pageSize > PAGE_SIZE_MAX)
    throw new ChatringError(
      'INVALID_OPTION',
      `watch: pageSize must be an integer from ${PAGE_SIZE_MIN} to ${PAGE_SIZE_MAX}`,
    );
  const { signal } = options;
  // From now: pinned to a version first, so a wait moved to another owner cannot skip a change.
  let cursor = options.cursor;
  while (signal?.aborted !== true) {
    let answer: ChangesResponse | undefined;
    try {
      answer = await untilAborted(
        read(cursor === undefined ? { pageSize } : { cursor, waitMs, pageSize }),
        signal,
      );
    } catch (error) {
      if (!(error instanceof ChatringError) || !error.retryable) throw error;
      await untilAborted(clock.sleep(RECONNECT_DELAY_MS), signal);
      continue;
    }
    if (answer === undefined) return;
    if (answer.changes.length > 0) yield answer;
    cursor = answer.cursor;
  }
}
