/**
 * The watchers of bench/watch.ts: one long-poll loop per watched user on the change feed, either
 * through the router (an HTTP request held per watcher, each on its own connection) or
 * client-direct (ChatringClient: every watch rides the client's one member link per node). Each
 * loop re-issues its watch with the answer's cursor at once, and records when each message
 * arrived (performance.now()), and how often it arrived.
 */
import { Pool } from 'undici';
import { ChatringClient, type ChangesResponse } from '../../client/index.js';

export type WatchMode = 'router' | 'direct';

export interface Delivery {
  /** performance.now() of the first answer that carried the message. */
  firstAt: number;
  /** Answers that carried it (more than 1: doubled). */
  times: number;
}

export interface WatchFleet {
  /** By messageId. */
  readonly deliveries: Map<string, Delivery>;
  /** Watch answers received (with or without changes) and failed watch requests. */
  readonly answers: { withChanges: number; empty: number; failed: number };
  stop(): Promise<void>;
}

export async function startFleet(
  mode: WatchMode,
  routerUrl: string,
  users: readonly string[],
  waitMs: number,
): Promise<WatchFleet> {
  const deliveries = new Map<string, Delivery>();
  const answers = { withChanges: 0, empty: 0, failed: 0 };
  let stopping = false;
  const record = (answer: ChangesResponse): void => {
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
      if (seen === undefined) deliveries.set(id, { firstAt: at, times: 1 });
      else seen.times += 1;
    }
  };
  let read: (user: string, cursor: string | undefined, wait: number) => Promise<ChangesResponse>;
  let close: () => Promise<void>;
  if (mode === 'router') {
    // One connection per held watch: HTTP/1.1 holds a connection for the request's life.
    const pool = new Pool(routerUrl, {
      connections: users.length + 16,
      pipelining: 1,
      headersTimeout: waitMs + 30_000,
      bodyTimeout: waitMs + 30_000,
      connectTimeout: 30_000,
    });
    read = async (user, cursor, wait) => {
      const query = cursor === undefined ? '' : `?cursor=${cursor}&waitMs=${wait}&pageSize=200`;
      const response = await pool.request({
        method: 'GET',
        path: `/v1/users/${user}/changes${query}`,
      });
      const body = (await response.body.json()) as ChangesResponse;
      if (response.statusCode !== 200) throw new Error(`HTTP ${response.statusCode}`);
      return body;
    };
    close = () => pool.destroy();
  } else {
    const client = new ChatringClient({ routerUrls: [routerUrl], deadlineMs: 30_000 });
    read = (user, cursor, wait) =>
      client.changes(user, cursor === undefined ? {} : { cursor, waitMs: wait, pageSize: 200 });
    close = () => client.close();
  }
  // Each watcher pins its cursor first (from now), in batches, so the feed starts at a known
  // version; then its loop holds a watch at all times.
  const cursors: string[] = [];
  for (let from = 0; from < users.length; from += 500) {
    const batch = users.slice(from, from + 500);
    cursors.push(
      ...(await Promise.all(batch.map(async (user) => (await read(user, undefined, 0)).cursor))),
    );
  }
  const loops = users.map(async (user, index) => {
    let cursor = cursors[index] as string;
    while (!stopping) {
      try {
        const answer = await read(user, cursor, waitMs);
        record(answer);
        cursor = answer.cursor;
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
    async stop() {
      stopping = true;
      await close();
      await Promise.allSettled(loops);
    },
  };
}
