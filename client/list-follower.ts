import { ChatringError, PAGE_SIZE_MAX, PAGE_SIZE_MIN, type Clock } from '../protocol/index.js';
import type { PageQuery } from './list-query.js';
import { untilAborted } from './abortable.js';

export interface FollowOptions {
  /** Start after this cursor (from an earlier answer); by default, from now. */
  cursor?: string;
  /**
   * Changes per answer, 1..200.
   * @default 200
   */
  pageSize?: number;
  /**
   * How long to wait before asking again when nothing changed, in ms.
   * @default 1000
   */
  pollIntervalMs?: number;
  /** Ends the iteration (the iterator returns; a wait in progress ends at once). */
  signal?: AbortSignal;
}

const POLL_INTERVAL_MS_DEFAULT = 1_000;
const POLL_INTERVAL_MS_MIN = 1;
const POLL_INTERVAL_MS_MAX = 3_600_000;

/** An answer of a list read: its changes and the cursor after them. */
interface ListAnswer {
  cursor: string;
  conversations?: unknown[];
  messages?: unknown[];
}

/**
 * Follows a list by its gapless cursor: yields every answer that carries changes, oldest change
 * first across answers, each with the cursor after it (an app that stores the cursor of the last
 * answer it handled resumes exactly there: nothing missed, nothing twice). A full page is followed
 * at once by the next; a short one means "caught up", and the next read waits `pollIntervalMs`.
 * A read that fails past the client's retries ends the iteration with its ChatringError.
 */
export async function* followList<A extends ListAnswer>(
  read: (query: PageQuery) => Promise<A>,
  options: FollowOptions,
  clock: Clock,
): AsyncGenerator<A, void, undefined> {
  const pollIntervalMs = options.pollIntervalMs ?? POLL_INTERVAL_MS_DEFAULT;
  if (
    !Number.isInteger(pollIntervalMs) ||
    pollIntervalMs < POLL_INTERVAL_MS_MIN ||
    pollIntervalMs > POLL_INTERVAL_MS_MAX
  )
    throw new ChatringError(
      'INVALID_OPTION',
      `follow: pollIntervalMs must be an integer from ${POLL_INTERVAL_MS_MIN} to ${POLL_INTERVAL_MS_MAX}`,
    );
  const pageSize = options.pageSize ?? PAGE_SIZE_MAX;
  if (!Number.isInteger(pageSize) || pageSize < PAGE_SIZE_MIN || pageSize > PAGE_SIZE_MAX)
    throw new ChatringError(
      'INVALID_OPTION',
      `follow: pageSize must be an integer from ${PAGE_SIZE_MIN} to ${PAGE_SIZE_MAX}`,
    );
  const { signal } = options;
  // From now: the cursor of a first page names the mailbox version it was read at.
  let cursor = options.cursor ?? (await read({ pageSize: 1 })).cursor;
  while (signal?.aborted !== true) {
    const answer = await read({ pageSize, cursor });
    const changes = (answer.messages ?? answer.conversations ?? []).length;
    if (changes > 0) yield answer;
    cursor = answer.cursor;
    // A full page may not be all; a short one is everything up to the version it was read at.
    if (changes < pageSize) await untilAborted(clock.sleep(pollIntervalMs), signal);
  }
}
