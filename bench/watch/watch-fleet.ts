/**
 * The watchers of bench/watch.ts: one long-poll loop per watched user on the change feed, either
 * through the router (an HTTP request held per watcher, each on its own connection) or
 * client-direct (one ChatringClient: every watch rides its one member link per node). Each loop
 * starts from a cursor pinned beforehand (pinCursors), re-issues its watch with the answer's cursor
 * at once, and records when each message arrived (performance.now()), at which user, and how often.
 */
import { Pool } from 'undici';
import { ChatringClient, type ChangesResponse } from '../../client/index.js';

export type WatchMode = 'router' | 'direct';

export interface Delivery {
  /** performance.now() of the first answer that carried the message. */
  firstAt: number;
  /** The watched user whose answer carried it first. */
  userId: string;
  /** Answers that carried it (more than 1: doubled). */
  times: number;
}

export interface WatchFleet {
  /** By messageId. */
  readonly deliveries: Map<string, Delivery>;
  /** Watch answers received (with or without changes) and failed watch requests. */
  readonly answers: { withChanges: number; empty: number; failed: number };
  /** Each user's latest cursor (where its next watch starts). */
  readonly cursors: ReadonlyMap<string, string>;
  stop(): Promise<void>;
}

/** Changes per answer: the most the feed gives. */
const PAGE_SIZE = 200;
/** Pin reads in flight at once. */
const PIN_BATCH = 500;

/**
 * Each user's cursor as of now (a feed read without a cursor), read client-direct by a client of
 * its own that is closed afterwards, so the router holds no socket of it. It loads every user's
 * mailbox into its owner's cache: memory measured after it is the watches' alone.
 */
export async function pinCursors(
  routerUrl: string,
  users: readonly string[],
): Promise<Map<string, string>> {
  const client = new ChatringClient({ routerUrls: [routerUrl], deadlineMs: 30_000 });
  const cursors = new Map<string, string>();
  try {
    for (let from = 0; from < users.length; from += PIN_BATCH)
      await Promise.all(
        users.slice(from, from + PIN_BATCH).map(async (user) => {
          cursors.set(user, (await client.changes(user)).cursor);
        }),
      );
  } finally {
    await client.close();
  }
  return cursors;
}

/** Starts one watch loop per user, each from its pinned cursor. */
export function holdWatches(
  mode: WatchMode,
  routerUrl: string,
  cursors: ReadonlyMap<string, string>,
  waitMs: number,
): WatchFleet {
  const deliveries = new Map<string, Delivery>();
  const answers = { withChanges: 0, empty: 0, failed: 0 };
  const latest = new Map(cursors);
  let stopping = false;
  const record = (user: string, answer: ChangesResponse): void => {
    if (answer.changes.length === 0) {
      answers.empty += 1;
      return;
    }
    answers.withChanges += 1;
    const at = performance.now();
    for (const change of answer.changes) {
      const id = change.message?.messageId;
      if (id === undefined) continue;
      const seen = deliveries.get(id);
      if (seen === undefined) deliveries.set(id, { firstAt: at, userId: user, times: 1 });
      else seen.times += 1;
    }
  };
  let read: (user: string, cursor: string) => Promise<ChangesResponse>;
  let close: () => Promise<void>;
  if (mode === 'router') {
    // One connection per held watch: HTTP/1.1 holds a connection for the request's life.
    const pool = new Pool(routerUrl, {
      connections: cursors.size + 16,
      pipelining: 1,
      headersTimeout: waitMs + 30_000,
      bodyTimeout: waitMs + 30_000,
      connectTimeout: 30_000,
    });
    read = async (user, cursor) => {
      const response = await pool.request({
        method: 'GET',
        path: `/v1/users/${user}/changes?cursor=${encodeURIComponent(cursor)}&waitMs=${waitMs}&pageSize=${PAGE_SIZE}`,
      });
      const text = await response.body.text();
      if (response.statusCode !== 200)
        throw new Error(`HTTP ${response.statusCode}: ${text.slice(0, 200)}`);
      return JSON.parse(text) as ChangesResponse;
    };
    close = () => pool.destroy();
  } else {
    // A call's deadline is deadlineMs + waitMs: 10 s beyond the hold.
    const client = new ChatringClient({ routerUrls: [routerUrl], deadlineMs: 10_000 });
    read = (user, cursor) => client.changes(user, { cursor, waitMs, pageSize: PAGE_SIZE });
    close = () => client.close();
  }
  // stop() does not wait for the reads in flight: ChatringClient.close() leaves its calls
  // retrying until their deadline (deadlineMs + waitMs), so a loop leaves its read behind.
  let release = (): void => undefined;
  const stopped = new Promise<undefined>((resolve) => {
    release = () => resolve(undefined);
  });
  const loops = [...cursors].map(async ([user, pinned]) => {
    let cursor = pinned;
    while (!stopping) {
      const reading = read(user, cursor);
      reading.catch(() => undefined);
      try {
        const answer = await Promise.race([reading, stopped]);
        if (answer === undefined) return;
        record(user, answer);
        cursor = answer.cursor;
        latest.set(user, cursor);
      } catch {
        if (stopping) return;
        answers.failed += 1;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
  });
  return {
    deliveries,
    answers,
    cursors: latest,
    async stop() {
      stopping = true;
      release();
      await close();
      await Promise.allSettled(loops);
    },
  };
}
