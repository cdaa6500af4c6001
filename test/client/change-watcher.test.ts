/**
 * The client's watch loop (client/change-watcher.ts) against a scripted change feed, no cluster:
 * it pins a cursor first (from now), then long-polls with it; yields only answers with changes;
 * carries each answer's cursor into the next request; rides out retryable failures (an owner that
 * moved or an outage) from the same cursor; ends with a refusal no retry can mend; stops on its
 * signal; and checks its options at their limits.
 */
import t from 'tap';
import { watchChanges, type ChangesQuery } from '../../client/change-watcher.js';
import { ChatringClient } from '../../client/index.js';
import {
  ChatringError,
  SYSTEM_CLOCK,
  WATCH_WAIT_MS_MAX,
  type ChangesResponse,
  type Clock,
} from '../../protocol/index.js';

/** A clock whose sleeps end at once, counted. */
function instantClock(): Clock & { sleeps: number[] } {
  const sleeps: number[] = [];
  return { ...SYSTEM_CLOCK, sleeps, sleep: async (ms: number) => void sleeps.push(ms) };
}

function answer(cursor: string, versions: number[] = []): ChangesResponse {
  return {
    cursor,
    changes: versions.map((version) => ({
      version,
      conversation: {
        conversationId: 'a~b',
        participants: ['a', 'b'],
        snippet: '',
        lastUpdatedTimestamp: version,
        unreadCount: 0,
      },
    })),
  };
}

/** A feed that answers from a script, recording each query. */
function scripted(steps: (ChangesResponse | ChatringError)[]) {
  const queries: ChangesQuery[] = [];
  let index = 0;
  const read = async (query: ChangesQuery): Promise<ChangesResponse> => {
    queries.push(query);
    const step = steps[index++];
    if (step === undefined) return new Promise(() => undefined); // held for ever
    if (step instanceof ChatringError) throw step;
    return step;
  };
  return { read, queries };
}

async function take(
  iterator: AsyncGenerator<ChangesResponse, void, undefined>,
  count: number,
): Promise<ChangesResponse[]> {
  const seen: ChangesResponse[] = [];
  for await (const page of iterator) {
    seen.push(page);
    if (seen.length === count) break;
  }
  return seen;
}

t.test('pins a cursor, then long-polls from each answer’s cursor', async (t) => {
  const feed = scripted([answer('c0'), answer('c0'), answer('c2', [1, 2]), answer('c3', [3])]);
  const clock = instantClock();
  const pages = await take(watchChanges(feed.read, { waitMs: 1_000, pageSize: 50 }, clock), 2);
  t.same(
    pages.map((page) => page.changes.map((change) => change.version)),
    [[1, 2], [3]],
    'only answers with changes are yielded, in order',
  );
  t.same(feed.queries, [
    { pageSize: 50 },
    { cursor: 'c0', waitMs: 1_000, pageSize: 50 },
    { cursor: 'c0', waitMs: 1_000, pageSize: 50 },
    { cursor: 'c2', waitMs: 1_000, pageSize: 50 },
  ]);
});

t.test('a retryable failure is ridden out from the same cursor', async (t) => {
  const feed = scripted([
    new ChatringError('OWNER_UNAVAILABLE', 'an outage outlasting the retries'),
    answer('c5', [5]),
  ]);
  const clock = instantClock();
  const pages = await take(watchChanges(feed.read, { cursor: 'c4' }, clock), 1);
  t.equal(pages[0]?.cursor, 'c5');
  t.same(
    feed.queries.map((query) => query.cursor),
    ['c4', 'c4'],
    'asked again from where it stood',
  );
  t.same(clock.sleeps, [1_000], 'after a second');
  t.equal(feed.queries[0]?.waitMs, 25_000, 'waitMs defaults to 25 s');
});

t.test('a refusal no retry can mend ends the iteration with it', async (t) => {
  const feed = scripted([new ChatringError('CURSOR_EXPIRED', 'too far behind')]);
  await t.rejects(take(watchChanges(feed.read, { cursor: 'old' }, instantClock()), 1), {
    code: 'CURSOR_EXPIRED',
  });
  const crowded = scripted([new ChatringError('TOO_MANY_WATCHERS', 'the user has 16')]);
  await t.rejects(take(watchChanges(crowded.read, { cursor: 'c' }, instantClock()), 1), {
    code: 'TOO_MANY_WATCHERS',
  });
});

t.test('the signal ends a held wait at once', async (t) => {
  const feed = scripted([answer('c1')]); // then held for ever
  const controller = new AbortController();
  const iterator = watchChanges(feed.read, { signal: controller.signal }, instantClock());
  const done = take(iterator, 1);
  await new Promise((resolve) => setTimeout(resolve, 20));
  t.equal(feed.queries.length, 2, 'the second request is held');
  controller.abort();
  t.same(await done, [], 'the iterator returned');
});

t.test('options at their limits', async (t) => {
  const feed = scripted([answer('c'), answer('c', [1])]);
  const at = (options: object) =>
    take(watchChanges(feed.read, options, instantClock()), 1).then(() => 'ok');
  t.equal(await at({ waitMs: WATCH_WAIT_MS_MAX, pageSize: 200 }), 'ok');
  for (const options of [
    { waitMs: 0 },
    { waitMs: WATCH_WAIT_MS_MAX + 1 },
    { waitMs: 1.5 },
    { pageSize: 0 },
    { pageSize: 201 },
  ])
    await t.rejects(at(options), { code: 'INVALID_OPTION' }, JSON.stringify(options));
  const once = scripted([answer('c'), answer('c', [1])]);
  t.equal(
    (await take(watchChanges(once.read, { waitMs: 1, pageSize: 1 }, instantClock()), 1)).length,
    1,
    'the lower bounds',
  );
});

t.test('closing the client ends its calls under way at once', async (t) => {
  // No router listens on port 1: the call keeps retrying, as a held watch moved between owners would.
  const client = new ChatringClient({ routerUrls: ['http://127.0.0.1:1'], deadlineMs: 60_000 });
  const call = client.changes('bob', { waitMs: 25_000 }).then(
    () => 'answered',
    (error: unknown) => (error as ChatringError).code,
  );
  await new Promise((resolve) => setTimeout(resolve, 200));
  const closedAt = performance.now();
  await client.close();
  t.equal(await call, 'OWNER_UNAVAILABLE');
  t.ok(performance.now() - closedAt < 3_000, 'not after its 85 s deadline');
});
