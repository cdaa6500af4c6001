/**
 * Proves MailboxCache bounds memory by LRU over users: a read makes a user most recently used;
 * at exactly cacheBytesMax nothing is evicted and one byte over evicts the least recently used;
 * pinned users (their lock is held) are never evicted; windows are trimmed to windowMessagesMax
 * on recharge; deleteWhere drops exactly the matching users; stats count users, bytes, evictions.
 */
import t from 'tap';
import { DEFAULT_MAILBOX_CACHE_OPTIONS, MailboxCache } from '../../cache-node/mailbox-cache.js';
import {
  MAILBOX_OVERHEAD_BYTES,
  MESSAGE_OVERHEAD_BYTES,
  MailboxState,
  messageBytes,
} from '../../cache-node/mailbox-state.js';
import { message, row } from './mailbox-fixtures.js';

/** An empty mailbox costs exactly MAILBOX_OVERHEAD_BYTES (600). */
const emptyState = (userId: string) => new MailboxState(userId, 0, [], 200);
const notPinned = () => false;
const userIds = (cache: MailboxCache, candidates: string[]) =>
  candidates.filter((userId) => cache.has(userId));

t.test('defaults: 256 MiB, 200 messages per window, frozen', async (t) => {
  t.same(DEFAULT_MAILBOX_CACHE_OPTIONS, {
    cacheBytesMax: 256 * 1024 * 1024,
    windowMessagesMax: 200,
  });
  t.ok(Object.isFrozen(DEFAULT_MAILBOX_CACHE_OPTIONS));
  const cache = new MailboxCache({ cacheBytesMax: 10 }, notPinned);
  t.same(
    cache.options,
    { cacheBytesMax: 10, windowMessagesMax: 200 },
    'partial options fall back to the defaults',
  );
  t.ok(Object.isFrozen(cache.options));
});

t.test('get returns the cached state; a miss is undefined', async (t) => {
  const cache = new MailboxCache({}, notPinned);
  const alice = emptyState('alice');
  cache.put(alice);
  t.equal(cache.get('alice'), alice);
  t.equal(cache.get('bob'), undefined);
  t.same(cache.stats(), { users: 1, bytes: MAILBOX_OVERHEAD_BYTES, evictions: 0 });
});

t.test('at exactly cacheBytesMax nothing is evicted', async (t) => {
  const cache = new MailboxCache({ cacheBytesMax: 3 * MAILBOX_OVERHEAD_BYTES }, notPinned);
  for (const userId of ['a', 'b', 'c']) cache.put(emptyState(userId));
  t.same(cache.stats(), { users: 3, bytes: 3 * MAILBOX_OVERHEAD_BYTES, evictions: 0 });
});

t.test('one byte over cacheBytesMax evicts the least recently used user', async (t) => {
  const cache = new MailboxCache({ cacheBytesMax: 3 * MAILBOX_OVERHEAD_BYTES - 1 }, notPinned);
  for (const userId of ['a', 'b']) cache.put(emptyState(userId));
  t.equal(cache.stats().evictions, 0);
  cache.put(emptyState('c'));
  t.same(userIds(cache, ['a', 'b', 'c']), ['b', 'c'], 'a, the oldest, went');
  t.same(cache.stats(), { users: 2, bytes: 2 * MAILBOX_OVERHEAD_BYTES, evictions: 1 });
});

t.test(
  'get refreshes recency: the least recently *used* user goes, not the first put',
  async (t) => {
    const cache = new MailboxCache({ cacheBytesMax: 3 * MAILBOX_OVERHEAD_BYTES }, notPinned);
    for (const userId of ['a', 'b', 'c']) cache.put(emptyState(userId));
    cache.get('a');
    cache.put(emptyState('d'));
    t.same(userIds(cache, ['a', 'b', 'c', 'd']), ['a', 'c', 'd'], 'b was the least recently used');
    t.ok(cache.has('c'), 'has() does not refresh recency ...');
    cache.put(emptyState('e'));
    t.same(userIds(cache, ['a', 'c', 'd', 'e']), ['a', 'd', 'e'], '... so c goes next');
    t.equal(cache.stats().evictions, 2);
  },
);

t.test('growing a state and recharging evicts others past the budget, LRU first', async (t) => {
  const cache = new MailboxCache({ cacheBytesMax: 4 * MAILBOX_OVERHEAD_BYTES }, notPinned);
  for (const userId of ['a', 'b', 'c']) cache.put(emptyState(userId));
  const c = cache.get('c') as MailboxState;
  c.applyCommit(1, row('c', 'x', 1));
  cache.recharge(c);
  t.equal(cache.stats().bytes, 3 * MAILBOX_OVERHEAD_BYTES + 400, 'recharge counts the growth');
  c.applyCommit(2, row('c', 'y', 2));
  c.applyCommit(3, row('c', 'z', 3));
  cache.recharge(c);
  t.same(userIds(cache, ['a', 'b', 'c']), ['b', 'c'], 'a evicted once over budget');
  t.equal(cache.stats().bytes, 2 * MAILBOX_OVERHEAD_BYTES + 3 * 400);
});

t.test('pinned users are never evicted, even when they are the least recently used', async (t) => {
  const pinned = new Set(['a']);
  const cache = new MailboxCache({ cacheBytesMax: 2 * MAILBOX_OVERHEAD_BYTES }, (userId) =>
    pinned.has(userId),
  );
  cache.put(emptyState('a'));
  cache.put(emptyState('b'));
  cache.put(emptyState('c'));
  t.same(
    userIds(cache, ['a', 'b', 'c']),
    ['a', 'c'],
    'b, the oldest unpinned user, went instead of a',
  );
  pinned.add('c');
  cache.put(emptyState('d'));
  t.same(
    userIds(cache, ['a', 'c', 'd']),
    ['a', 'c'],
    'with a and c pinned, d (just put) is the one evicted',
  );
  pinned.add('e');
  pinned.add('f');
  cache.put(emptyState('e'));
  cache.put(emptyState('f'));
  t.same(
    userIds(cache, ['a', 'c', 'e', 'f']),
    ['a', 'c', 'e', 'f'],
    'when every user is pinned, none is evicted',
  );
  t.equal(cache.stats().bytes, 4 * MAILBOX_OVERHEAD_BYTES, 'the overshoot is visible in stats');
  pinned.clear();
  cache.put(emptyState('g'));
  t.same(
    userIds(cache, ['a', 'c', 'e', 'f', 'g']),
    ['f', 'g'],
    'once unpinned, the overshoot is evicted at the next charge',
  );
});

t.test('recharge trims windows to windowMessagesMax', async (t) => {
  const cache = new MailboxCache({ windowMessagesMax: 2 }, notPinned);
  const state = new MailboxState('alice', 1, [row('alice', 'bob', 30)], 200);
  const messages = [30, 20, 10].map((sentAt) => message('bob', 'alice', sentAt));
  state.setWindow('alice~bob', messages, true);
  cache.put(state);
  const window = state.conversations.get('alice~bob')?.window;
  t.same(
    window?.messages.map((m) => m.sentAt),
    [30, 20],
  );
  t.equal(window?.complete, false);
  t.equal(cache.stats().bytes, state.bytes, 'the charge is taken after the trim');
  t.equal(
    state.bytes,
    MAILBOX_OVERHEAD_BYTES + 400 + 2 * messageBytes(messages[0] as (typeof messages)[0]),
  );
  t.ok(messageBytes(messages[0] as (typeof messages)[0]) > MESSAGE_OVERHEAD_BYTES);
});

t.test(
  'put replaces a user state without double counting; recharge of a replaced state is ignored',
  async (t) => {
    const cache = new MailboxCache({}, notPinned);
    const first = emptyState('alice');
    cache.put(first);
    const second = emptyState('alice');
    cache.put(second);
    t.same(cache.stats(), { users: 1, bytes: MAILBOX_OVERHEAD_BYTES, evictions: 0 });
    first.applyCommit(1, row('alice', 'bob', 1));
    cache.recharge(first);
    t.equal(
      cache.stats().bytes,
      MAILBOX_OVERHEAD_BYTES,
      'a stale state object cannot change the count',
    );
    t.equal(cache.get('alice'), second);
    cache.recharge(emptyState('nobody'));
    t.equal(cache.stats().users, 1, 'recharge never adds a user');
  },
);

t.test('delete, deleteWhere and clear', async (t) => {
  const cache = new MailboxCache({}, notPinned);
  for (const userId of ['a1', 'a2', 'b1', 'b2', 'c1']) cache.put(emptyState(userId));
  cache.delete('c1');
  cache.delete('missing');
  t.equal(cache.stats().users, 4);
  t.equal(
    cache.deleteWhere((userId) => userId.startsWith('a')),
    2,
    'returns how many it dropped',
  );
  t.same(userIds(cache, ['a1', 'a2', 'b1', 'b2']), ['b1', 'b2']);
  t.same(
    cache.stats(),
    { users: 2, bytes: 2 * MAILBOX_OVERHEAD_BYTES, evictions: 0 },
    'deletes are not evictions',
  );
  t.equal(
    cache.deleteWhere(() => false),
    0,
  );
  cache.clear();
  t.same(cache.stats(), { users: 0, bytes: 0, evictions: 0 });
  t.equal(cache.get('b1'), undefined);
});
