/**
 * The change feed (cache-node/change-feed.ts) over the real embedded store, on one node (the
 * service harness): every change after a cursor comes back once, oldest first, from memory;
 * a request with nothing to answer is held until the commit that changes the mailbox wakes it,
 * or answered empty at its waitMs; a cursor older than memory reaches is replayed from the store
 * (after a reload, a handoff, or past the changes kept) with the same changes; past the replay
 * bound it is CURSOR_EXPIRED; held requests are bounded per user and per node (at the limit and
 * one past it), and answered retryably when the user leaves the node or the node stops. Also the
 * query's own limits (parseChangesQuery) and the change log's bound (FEED_CHANGES_KEPT).
 */
import t from 'tap';
import { FEED_CHANGES_KEPT, MailboxState } from '../../cache-node/mailbox-state.js';
import {
  ChatringError,
  FEED_REPLAY_VERSIONS_MAX,
  WATCH_PAGE_SIZE_DEFAULT,
  WATCH_WAIT_MS_MAX,
  encodeCursor,
  parseChangesQuery,
  type ChangesResponse,
  type MailboxChange,
} from '../../protocol/index.js';
import { startHarness, type Harness } from './service-harness.js';

function changes(h: Harness, userId: string, raw: Record<string, string> = {}) {
  return h.service.changes(userId, parseChangesQuery(raw, userId));
}

/** Follows the feed from `cursor` to its end, page by page; every change, in order. */
async function drain(h: Harness, userId: string, cursor: string, pageSize = 200) {
  const seen: MailboxChange[] = [];
  for (let pages = 0; pages < 1_000; pages += 1) {
    const answer = await changes(h, userId, { cursor, pageSize: String(pageSize) });
    seen.push(...answer.changes);
    if (answer.cursor === cursor) return { seen, cursor };
    cursor = answer.cursor;
  }
  throw new Error('the feed did not end');
}

async function refusal(promise: Promise<unknown>): Promise<ChatringError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ChatringError) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

const start = (userId: string) => encodeCursor({ userId }, 0);

t.test('the query is checked at its limits', async (t) => {
  t.same(parseChangesQuery({}, 'bob'), {
    afterVersion: undefined,
    waitMs: 0,
    pageSize: WATCH_PAGE_SIZE_DEFAULT,
  });
  t.equal(parseChangesQuery({ waitMs: String(WATCH_WAIT_MS_MAX) }, 'bob').waitMs, 30_000);
  for (const waitMs of [String(WATCH_WAIT_MS_MAX + 1), '-1', '1.5', 'soon', ''])
    t.throws(() => parseChangesQuery({ waitMs }, 'bob'), { code: 'INVALID_QUERY' }, waitMs);
  t.equal(
    parseChangesQuery({ pageSize: '500' }, 'bob').pageSize,
    200,
    'pageSize clamps as lists do',
  );
  t.equal(parseChangesQuery({ pageSize: '0' }, 'bob').pageSize, 1);
  t.throws(() => parseChangesQuery({ page: '1' }, 'bob'), { code: 'INVALID_QUERY' });
  t.throws(() => parseChangesQuery({ waitMs: ['1', '2'] }, 'bob'), { code: 'INVALID_QUERY' });
  t.equal(parseChangesQuery({ cursor: encodeCursor({ userId: 'bob' }, 7) }, 'bob').afterVersion, 7);
  t.throws(
    () => parseChangesQuery({ cursor: encodeCursor({ userId: 'alice' }, 7) }, 'bob'),
    { code: 'INVALID_CURSOR' },
    "another user's cursor",
  );
  t.throws(
    () =>
      parseChangesQuery(
        { cursor: encodeCursor({ userId: 'bob', conversationId: 'a~bob' }, 7) },
        'bob',
      ),
    { code: 'INVALID_CURSOR' },
    "a conversation's messages cursor",
  );
});

t.test('every change after the cursor, once, oldest first, from memory', async (t) => {
  const h = startHarness(t);
  const first = await changes(h, 'bob');
  t.same(first.changes, [], 'without a cursor the feed starts now');
  await h.send('alice', 'bob', 'm1');
  await h.send('bob', 'carol', 'm2');
  await h.service.markRead('bob', 'alice~bob');
  await h.send('alice', 'bob', 'm3');
  const loadsBefore = h.service.stats.storeLoads;
  const page = await changes(h, 'bob', { cursor: first.cursor });
  t.same(
    page.changes.map((change) => [change.version, change.message?.clientMessageId ?? 'read']),
    [
      [1, 'm1'],
      [2, 'm2'],
      [3, 'read'],
      [4, 'm3'],
    ],
  );
  t.same(
    page.changes.map((change) => change.conversation.unreadCount),
    [1, 0, 0, 1],
    'each change carries the row as it left it',
  );
  t.equal(h.service.stats.storeLoads, loadsBefore, 'answered from memory');
  t.same(page.changes[0]?.message, (await h.messages('bob', 'alice~bob')).messages.at(-1));
  const again = await changes(h, 'bob', { cursor: page.cursor });
  t.same(again, { changes: [], cursor: page.cursor }, 'nothing after the last cursor');
  const paged = await drain(h, 'bob', first.cursor, 1);
  t.same(paged.seen, page.changes, 'a page of one at a time gives the same changes');
  t.equal(paged.cursor, page.cursor);
  const conversationsCursor = (await h.conversations('bob')).cursor;
  t.same(
    (await changes(h, 'bob', { cursor: conversationsCursor })).changes,
    [],
    "the conversation list's cursor starts the feed where the list stood",
  );
  t.rejects(changes(h, 'bob', { cursor: encodeCursor({ userId: 'bob' }, 99) }), {
    code: 'INVALID_CURSOR',
  });
});

t.test('a held request is woken by the commit, or answered empty at waitMs', async (t) => {
  const h = startHarness(t);
  const { cursor } = await changes(h, 'bob');
  const held = changes(h, 'bob', { cursor, waitMs: '20000' });
  await new Promise((resolve) => setTimeout(resolve, 20));
  t.equal(h.service.feedStats.watchers, 1, 'held');
  const startedAt = performance.now();
  const sent = await h.send('alice', 'bob', 'wake');
  const answer = await held;
  t.ok(performance.now() - startedAt < 5_000, 'woken, not timed out');
  t.same(
    answer.changes.map((change) => change.message),
    [sent.message],
  );
  t.equal(h.service.feedStats.watchers, 0);
  t.equal(h.service.feedStats.wokenByCommit, 1);

  const quietAt = performance.now();
  const quiet = await changes(h, 'bob', { cursor: answer.cursor, waitMs: '150' });
  t.ok(performance.now() - quietAt >= 140, 'held for its waitMs');
  t.same(quiet, { changes: [], cursor: answer.cursor }, 'then answered empty, same cursor');
  t.equal(h.service.feedStats.answeredEmpty, 1);

  // A commit to another user wakes nobody here; a read of bob's own does.
  const readWait = changes(h, 'bob', { cursor: answer.cursor, waitMs: '20000' });
  await h.send('carol', 'dave', 'elsewhere');
  await new Promise((resolve) => setTimeout(resolve, 20));
  t.equal(h.service.feedStats.watchers, 1, 'still held after a commit to other users');
  await h.service.markRead('bob', 'alice~bob');
  const read = await readWait;
  t.equal(read.changes.length, 1);
  t.equal(read.changes[0]?.message, undefined, 'a read has no message');
  t.equal(read.changes[0]?.conversation.unreadCount, 0);
});

t.test('a cursor older than memory is replayed from the store, the same changes', async (t) => {
  const h = startHarness(t);
  for (let index = 0; index < 5; index += 1) {
    await h.send('alice', 'bob', `a${index}`);
    await h.send('bob', 'carol', `c${index}`);
  }
  await h.service.markRead('bob', 'alice~bob');
  await h.send('dave', 'bob', 'd0');
  await h.service.markRead('bob', 'bob~dave');
  const fromMemory = await drain(h, 'bob', start('bob'));
  h.service.evictWhere(() => true); // as after a restart or a failover: loaded at the latest version
  const replaysBefore = h.service.feedStats.storeReplays;
  const replayed = await drain(h, 'bob', start('bob'));
  t.ok(h.service.feedStats.storeReplays > replaysBefore, 'read from the store');
  t.same(
    replayed.seen.filter((change) => change.message !== undefined).map((c) => c.message),
    fromMemory.seen.filter((change) => change.message !== undefined).map((c) => c.message),
    'every message once, in version order',
  );
  const versions = replayed.seen.map((change) => change.version);
  t.same(
    versions,
    [...versions].sort((a, b) => a - b),
    'ascending versions',
  );
  t.equal(replayed.cursor, fromMemory.cursor, 'and the cursor ends where memory ends');
  const lastRows = new Map(
    fromMemory.seen.map((change) => [change.conversation.conversationId, change.conversation]),
  );
  const replayedRows = new Map(
    replayed.seen.map((change) => [change.conversation.conversationId, change.conversation]),
  );
  t.same(replayedRows, lastRows, 'each conversation ends as it stands');

  // Small pages across the replay: still each message once.
  h.service.evictWhere(() => true);
  const paged = await drain(h, 'bob', start('bob'), 3);
  t.same(
    paged.seen.filter((change) => change.message !== undefined).map((c) => c.message?.messageId),
    fromMemory.seen
      .filter((change) => change.message !== undefined)
      .map((c) => c.message?.messageId),
  );
  t.equal(paged.cursor, fromMemory.cursor);
});

t.test('memory keeps the last FEED_CHANGES_KEPT changes; beyond, the store answers', async (t) => {
  const state = new MailboxState('bob', 0, [], 200);
  const row = (version: number) => ({
    conversationId: 'alice~bob',
    participants: ['alice', 'bob'] as [string, string],
    snippet: 's',
    lastUpdatedTimestamp: version,
    unreadCount: 0,
    version,
  });
  const bytesAtStart = state.bytes;
  for (let version = 1; version <= FEED_CHANGES_KEPT; version += 1)
    state.applyCommit(version, row(version));
  t.equal(state.changesAfter(0, 1_000)?.length, FEED_CHANGES_KEPT, 'all kept at the bound');
  t.ok(state.bytes > bytesAtStart, 'charged to the byte budget');
  const bytesAtBound = state.bytes;
  state.applyCommit(FEED_CHANGES_KEPT + 1, row(FEED_CHANGES_KEPT + 1));
  t.equal(state.changesAfter(0, 1_000), undefined, 'one past: the oldest is gone');
  t.equal(state.changesAfter(1, 1_000)?.length, FEED_CHANGES_KEPT);
  t.equal(state.changesAfter(1, 1_000)?.[0]?.version, 2);
  t.ok(state.bytes - bytesAtBound < 200, 'the bytes stay bounded');
  t.equal(state.changesAfter(FEED_CHANGES_KEPT + 2, 10), undefined, 'a version not reached yet');
});

t.test(
  'a cursor FEED_REPLAY_VERSIONS_MAX behind is replayed; one more is CURSOR_EXPIRED',
  async (t) => {
    const h = startHarness(t);
    for (let index = 0; index <= FEED_REPLAY_VERSIONS_MAX; index += 1)
      await h.send('alice', 'bob', `m${index}`);
    h.service.evictWhere(() => true);
    const version = FEED_REPLAY_VERSIONS_MAX + 1; // bob's mailbox version now
    const expired = await refusal(changes(h, 'bob', { cursor: start('bob') }));
    t.equal(expired.code, 'CURSOR_EXPIRED');
    t.equal(expired.status, 410);
    const atBound = await changes(h, 'bob', {
      cursor: encodeCursor({ userId: 'bob' }, version - FEED_REPLAY_VERSIONS_MAX),
      pageSize: '200',
    });
    t.equal(atBound.changes.length, 200, 'the bound itself replays');
    t.equal(atBound.changes[0]?.version, version - FEED_REPLAY_VERSIONS_MAX + 1);
  },
);

t.test('held requests are bounded per user and per node, at the limit and one past', async (t) => {
  const h = startHarness(t, { service: { watchersPerUserMax: 3, watchersPerNodeMax: 4 } });
  await h.send('alice', 'bob', 'm0');
  const cursorOf = async (userId: string) => (await changes(h, userId)).cursor;
  const bob = await cursorOf('bob');
  const alice = await cursorOf('alice');
  const carol = await cursorOf('carol');
  const held: Promise<ChangesResponse>[] = [];
  for (let index = 0; index < 3; index += 1)
    held.push(changes(h, 'bob', { cursor: bob, waitMs: '20000' }));
  await new Promise((resolve) => setTimeout(resolve, 20));
  const perUser = await refusal(changes(h, 'bob', { cursor: bob, waitMs: '20000' }));
  t.equal(perUser.code, 'TOO_MANY_WATCHERS', 'a fourth for one user');
  t.equal(perUser.status, 429);
  held.push(changes(h, 'alice', { cursor: alice, waitMs: '20000' }));
  await new Promise((resolve) => setTimeout(resolve, 20));
  t.equal(h.service.feedStats.watchers, 4, 'the node bound itself is held');
  const perNode = await refusal(changes(h, 'carol', { cursor: carol, waitMs: '20000' }));
  t.equal(perNode.code, 'TOO_MANY_WATCHERS', 'a fifth on the node');
  t.equal(h.service.feedStats.watchersRefused, 2);
  t.equal(h.service.feedStats.watchers, 4, 'a refusal holds nothing');
  t.same((await changes(h, 'carol', { cursor: carol })).changes, [], 'waitMs 0 is never held');
  await h.send('alice', 'bob', 'm1');
  const answers = await Promise.all(held);
  for (const answer of answers) t.equal(answer.changes.length, 1, 'each woken once');
  t.equal(h.service.feedStats.watchers, 0);
});

t.test(
  'held requests leave with the user: the refusal sends callers to the new owner',
  async (t) => {
    const h = startHarness(t);
    const bob = (await changes(h, 'bob')).cursor;
    const alice = (await changes(h, 'alice')).cursor;
    const bobHeld = refusal(changes(h, 'bob', { cursor: bob, waitMs: '20000' }));
    const aliceHeld = changes(h, 'alice', { cursor: alice, waitMs: '20000' });
    await new Promise((resolve) => setTimeout(resolve, 20));
    h.ownership.refused.set('bob', 'NOT_OWNER'); // the ring moved bob away
    h.service.releaseUnservedWatchers();
    const moved = await bobHeld;
    t.equal(moved.code, 'NOT_OWNER');
    t.equal(h.service.feedStats.released, 1);
    t.equal(h.service.feedStats.watchers, 1, "alice's watch stays");
    h.service.releaseAllWatchers(); // the node stops
    t.equal((await refusal(aliceHeld)).code, 'OWNER_UNAVAILABLE');
    t.equal(
      (await refusal(changes(h, 'alice', { cursor: alice, waitMs: '1000' }))).code,
      'OWNER_UNAVAILABLE',
      'a stopping node holds nothing new',
    );
  },
);

t.test('a lapsed lease answers held requests within the lease check', async (t) => {
  const h = startHarness(t);
  const bob = (await changes(h, 'bob')).cursor;
  const held = refusal(changes(h, 'bob', { cursor: bob, waitMs: '20000' }));
  await new Promise((resolve) => setTimeout(resolve, 20));
  const lapsedAt = performance.now();
  h.ownership.refused.set('bob', 'OWNER_UNAVAILABLE');
  const refused = await held;
  t.equal(refused.code, 'OWNER_UNAVAILABLE');
  t.ok(performance.now() - lapsedAt < 2_000, 'answered by the periodic check, not at waitMs');
});
