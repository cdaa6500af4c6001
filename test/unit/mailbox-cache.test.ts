/**
 * Proves MailboxCache bounds memory by LRU over users: a read makes a user most recently used;
 * at exactly cacheBytesMax nothing is evicted and one byte over evicts the least recently used;
 * pinned users (their lock is held) are never evicted; windows are trimmed to windowMessagesMax
 * on recharge; deleteWhere drops exactly the matching users; stats count users, bytes, evictions.
 * Empty mailboxes a cold load finds (any unknown user id) live in their own LRU bounded by
 * emptyMailboxesMax, so no number of reads of unknown users evicts a real user; an empty mailbox
 * that gets its first message moves under the byte budget, and one that was not kept is reloaded
 * from the store, message included. What reads cache in a state (JSON texts, cursors) is charged
 * by `charge`, which evicts past the budget but trims nothing; hits keep an exact LRU order.
 */
import t from 'tap';
import { DEFAULT_MAILBOX_CACHE_OPTIONS, MailboxCache } from '../../cache-node/mailbox-cache.js';
import {
  CHANGE_OVERHEAD_BYTES,
  MAILBOX_OVERHEAD_BYTES,
  MESSAGE_OVERHEAD_BYTES,
  MailboxState,
  messageBytes,
} from '../../cache-node/mailbox-state.js';
import { EMPTY_MAILBOXES_LIMIT, conversationIdOf } from '../../protocol/index.js';
import { message, row } from './mailbox-fixtures.js';
import { startHarness } from './service-harness.js';

/** An empty mailbox costs exactly MAILBOX_OVERHEAD_BYTES (600). */
const emptyState = (userId: string) => new MailboxState(userId, 0, [], 200);
const notPinned = () => false;
const userIds = (cache: MailboxCache, candidates: string[]) =>
  candidates.filter((userId) => cache.has(userId));

t.test('defaults: 256 MiB, 200 messages per window, 10,000 empty mailboxes, frozen', async (t) => {
  t.same(DEFAULT_MAILBOX_CACHE_OPTIONS, {
    cacheBytesMax: 256 * 1024 * 1024,
    windowMessagesMax: 200,
    emptyMailboxesMax: 10_000,
  });
  t.ok(Object.isFrozen(DEFAULT_MAILBOX_CACHE_OPTIONS));
  const cache = new MailboxCache({ cacheBytesMax: 10 }, notPinned);
  t.same(
    cache.options,
    { cacheBytesMax: 10, windowMessagesMax: 200, emptyMailboxesMax: 10_000 },
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
  // Each commit charges its row (400) and the change the feed keeps of it.
  const perCommit = 400 + CHANGE_OVERHEAD_BYTES;
  const cache = new MailboxCache(
    { cacheBytesMax: 4 * MAILBOX_OVERHEAD_BYTES + 3 * CHANGE_OVERHEAD_BYTES },
    notPinned,
  );
  for (const userId of ['a', 'b', 'c']) cache.put(emptyState(userId));
  const c = cache.get('c') as MailboxState;
  c.applyCommit(1, row('c', 'x', 1));
  cache.recharge(c);
  t.equal(
    cache.stats().bytes,
    3 * MAILBOX_OVERHEAD_BYTES + perCommit,
    'recharge counts the growth',
  );
  c.applyCommit(2, row('c', 'y', 2));
  c.applyCommit(3, row('c', 'z', 3));
  cache.recharge(c);
  t.same(userIds(cache, ['a', 'b', 'c']), ['b', 'c'], 'a evicted once over budget');
  t.equal(cache.stats().bytes, 2 * MAILBOX_OVERHEAD_BYTES + 3 * perCommit);
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

// ---- Empty mailboxes (reads of unknown users) ----

/** A mailbox with one conversation: a real user, 600 + 400 estimated bytes. */
const realState = (userId: string) => new MailboxState(userId, 1, [row(userId, 'peer', 1)], 200);
const REAL_BYTES = MAILBOX_OVERHEAD_BYTES + 400;

t.test('emptyMailboxesMax is checked: 0 to EMPTY_MAILBOXES_LIMIT', async (t) => {
  for (const emptyMailboxesMax of [-1, EMPTY_MAILBOXES_LIMIT + 1, 1.5])
    t.throws(() => new MailboxCache({ emptyMailboxesMax }, notPinned), {
      code: 'INVALID_OPTION',
      message: /emptyMailboxesMax/,
    });
  for (const emptyMailboxesMax of [0, EMPTY_MAILBOXES_LIMIT])
    t.equal(
      new MailboxCache({ emptyMailboxesMax }, notPinned).options.emptyMailboxesMax,
      emptyMailboxesMax,
    );
});

t.test(
  'empty mailboxes loaded cold have their own LRU: at exactly emptyMailboxesMax none goes, one more evicts the least recently used empty one, never a real user',
  async (t) => {
    const cache = new MailboxCache(
      { cacheBytesMax: 2 * REAL_BYTES, emptyMailboxesMax: 3 },
      notPinned,
    );
    cache.putLoaded(realState('r1'));
    cache.putLoaded(realState('r2'));
    for (const userId of ['e1', 'e2', 'e3']) cache.putLoaded(emptyState(userId));
    const everyone = ['r1', 'r2', 'e1', 'e2', 'e3', 'e4'];
    t.same(userIds(cache, everyone), ['r1', 'r2', 'e1', 'e2', 'e3'], 'at the limit: all kept');
    t.same(cache.emptyStats(), { users: 3, evictions: 0 });
    t.same(
      cache.stats(),
      { users: 5, bytes: 2 * REAL_BYTES + 3 * MAILBOX_OVERHEAD_BYTES, evictions: 0 },
      'empty mailboxes are counted in the stats but not against cacheBytesMax',
    );
    cache.get('e1');
    cache.putLoaded(emptyState('e4'));
    t.same(
      userIds(cache, everyone),
      ['r1', 'r2', 'e1', 'e3', 'e4'],
      'one more: e2, the least recently used empty mailbox, went; the real users stay',
    );
    t.same(cache.emptyStats(), { users: 3, evictions: 1 });
    t.equal(cache.stats().evictions, 1);
  },
);

t.test('a flood of reads of unknown users never evicts a real user', async (t) => {
  const cache = new MailboxCache({ cacheBytesMax: REAL_BYTES, emptyMailboxesMax: 100 }, notPinned);
  const real = realState('real');
  cache.putLoaded(real);
  for (let i = 0; i < 100_000; i += 1) cache.putLoaded(emptyState(`unknown-${i}`));
  t.equal(cache.get('real'), real, 'the real user is still cached');
  t.same(cache.emptyStats(), { users: 100, evictions: 99_900 });
  t.same(cache.stats(), {
    users: 101,
    bytes: REAL_BYTES + 100 * MAILBOX_OVERHEAD_BYTES,
    evictions: 99_900,
  });
});

t.test(
  'emptyMailboxesMax 0 keeps no empty mailbox; real ones and put() are unchanged',
  async (t) => {
    const cache = new MailboxCache({ emptyMailboxesMax: 0 }, notPinned);
    cache.putLoaded(emptyState('nobody'));
    t.notOk(cache.has('nobody'), 'not kept');
    t.same(cache.stats(), { users: 0, bytes: 0, evictions: 0 }, 'and not counted as an eviction');
    cache.putLoaded(realState('real'));
    t.ok(cache.has('real'), 'a mailbox with conversations is kept');
    cache.put(emptyState('warm'));
    t.ok(cache.has('warm'), 'put (a warm handoff) keeps any state under the byte budget');
  },
);

t.test(
  'an empty mailbox that gets its first conversation moves under the byte budget',
  async (t) => {
    const cache = new MailboxCache(
      { cacheBytesMax: 2 * REAL_BYTES, emptyMailboxesMax: 1 },
      notPinned,
    );
    const bob = emptyState('bob');
    cache.putLoaded(bob);
    t.same(cache.emptyStats().users, 1);
    bob.applyCommit(1, row('bob', 'alice', 1));
    cache.recharge(bob);
    t.same(cache.emptyStats(), { users: 0, evictions: 0 }, 'left the empty LRU');
    t.same(
      cache.stats(),
      // Its row, and the change the feed keeps of the commit that made it.
      { users: 1, bytes: REAL_BYTES + CHANGE_OVERHEAD_BYTES, evictions: 0 },
      'charged as a real user',
    );
    cache.putLoaded(emptyState('x'));
    cache.putLoaded(emptyState('y'));
    t.same(userIds(cache, ['bob', 'x', 'y']), ['bob', 'y'], 'empty mailboxes no longer touch it');
    t.equal(cache.get('bob'), bob);
    cache.putLoaded(realState('r1'));
    cache.putLoaded(realState('r2'));
    t.notOk(cache.has('bob'), 'and it is evicted like any real user, by real users');
  },
);

t.test('recharge never adds an empty mailbox that was not kept, even after a commit', async (t) => {
  const cache = new MailboxCache({ emptyMailboxesMax: 0 }, notPinned);
  const carol = emptyState('carol');
  cache.putLoaded(carol);
  carol.applyCommit(1, row('carol', 'alice', 1));
  cache.recharge(carol);
  t.notOk(
    cache.has('carol'),
    'the next load reads the store (the state may have been dropped on purpose)',
  );
  const kept = new MailboxCache({ emptyMailboxesMax: 1 }, notPinned);
  const dave = emptyState('dave');
  kept.putLoaded(dave);
  kept.putLoaded(emptyState('erin'));
  dave.applyCommit(1, row('dave', 'alice', 1));
  kept.recharge(dave);
  t.notOk(kept.has('dave'), 'nor one evicted before its commit');
});

t.test('pinned empty mailboxes are never evicted; the overshoot goes once unpinned', async (t) => {
  const pinned = new Set(['e1']);
  const cache = new MailboxCache({ emptyMailboxesMax: 1 }, (userId) => pinned.has(userId));
  cache.putLoaded(emptyState('e1'));
  cache.putLoaded(emptyState('e2'));
  t.same(userIds(cache, ['e1', 'e2']), ['e1'], 'with e1 pinned, e2 (just loaded) went');
  pinned.add('e3');
  cache.putLoaded(emptyState('e3'));
  t.same(userIds(cache, ['e1', 'e3']), ['e1', 'e3'], 'every empty one pinned: none evicted');
  pinned.clear();
  cache.putLoaded(emptyState('e4'));
  t.same(
    userIds(cache, ['e1', 'e3', 'e4']),
    ['e4'],
    'unpinned, the overshoot goes at the next load',
  );
});

t.test(
  'get, peek, delete, deleteWhere, clear and usersByRecency cover empty mailboxes',
  async (t) => {
    const cache = new MailboxCache({}, notPinned);
    cache.putLoaded(realState('r1'));
    const e1 = emptyState('e1');
    cache.putLoaded(e1);
    cache.putLoaded(realState('r2'));
    cache.putLoaded(emptyState('e2'));
    t.same(cache.usersByRecency(), ['r2', 'r1', 'e2', 'e1'], 'real users first, then empty ones');
    t.equal(cache.peek('e1'), e1);
    t.equal(cache.get('e1'), e1);
    t.same(cache.usersByRecency(), ['r2', 'r1', 'e1', 'e2'], 'get refreshed e1');
    cache.delete('e1');
    t.notOk(cache.has('e1'));
    t.same(cache.emptyStats(), { users: 1, evictions: 0 }, 'a delete is not an eviction');
    cache.put(realState('e2'));
    t.same(cache.emptyStats().users, 0, 'put replaces an empty entry of the same user');
    t.same(
      cache.stats(),
      { users: 3, bytes: 3 * REAL_BYTES, evictions: 0 },
      'without double counting',
    );
    cache.putLoaded(emptyState('e3'));
    cache.putLoaded(emptyState('r1'));
    t.same(userIds(cache, ['r1', 'r2', 'e2', 'e3']), ['r1', 'r2', 'e2', 'e3']);
    t.same(
      cache.stats().bytes,
      2 * REAL_BYTES + 2 * MAILBOX_OVERHEAD_BYTES,
      'r1 reloaded empty: one entry',
    );
    t.equal(
      cache.deleteWhere((userId) => userId === 'e3' || userId === 'r2'),
      2,
    );
    t.same(userIds(cache, ['r1', 'r2', 'e2', 'e3']), ['r1', 'e2']);
    cache.clear();
    t.same(cache.stats(), { users: 0, bytes: 0, evictions: 0 });
    t.same(cache.emptyStats(), { users: 0, evictions: 0 });
  },
);

t.test(
  'service: reads of unknown users never evict real users, and cost them no reload',
  async (t) => {
    // Room for alice's and bob's mailboxes (one conversation each) and little more: before empty
    // mailboxes had their own LRU, 200 unknown users (600 bytes each) pushed both out.
    const h = startHarness(t, { cache: { cacheBytesMax: 4_000, emptyMailboxesMax: 10 } });
    await h.send('alice', 'bob', 'c1');
    await h.conversations('alice');
    await h.conversations('bob');
    t.ok(h.cache.has('alice') && h.cache.has('bob'), 'both real users cached');
    let found = 0;
    for (let i = 0; i < 200; i += 1)
      found += (await h.conversations(`nobody-${i}`)).conversations.length;
    t.equal(found, 0, '200 unknown users read: all empty');
    t.ok(h.cache.has('alice') && h.cache.has('bob'), 'still cached after 200 unknown users');
    t.same(h.cache.emptyStats(), { users: 10, evictions: 190 });
    const loads = h.service.stats.storeLoads;
    t.equal((await h.conversations('alice')).conversations.length, 1);
    t.equal(h.service.stats.storeLoads, loads, 'a cache hit');
  },
);

t.test(
  'service: a message to a user whose empty mailbox was not kept is read in full',
  async (t) => {
    const h = startHarness(t, { cache: { emptyMailboxesMax: 0 } });
    const before = await h.conversations('bob');
    t.same(before.conversations, []);
    t.notOk(h.cache.has('bob'), 'the empty mailbox was not kept');
    const sent = await h.send('alice', 'bob', 'c1', 'hello bob');
    const after = await h.conversations('bob');
    t.equal(after.conversations.length, 1, 'the conversation is there');
    t.equal(after.conversations[0]?.unreadCount, 1);
    const delta = await h.conversations('bob', { cursor: before.cursor });
    t.equal(delta.conversations.length, 1, 'the cursor from the empty read sees the change');
    const messages = await h.messages('bob', conversationIdOf('alice', 'bob'));
    t.same(
      messages.messages.map((m) => m.messageId),
      [sent.message.messageId],
      'and the message',
    );
  },
);

t.test('service: an empty mailbox kept, then evicted or written, always reads right', async (t) => {
  const h = startHarness(t, { cache: { emptyMailboxesMax: 2 } });
  // bob's empty mailbox is kept, then pushed out by two more unknown users, then written.
  t.same((await h.conversations('bob')).conversations, []);
  await h.conversations('carol');
  await h.conversations('dave');
  t.notOk(h.cache.has('bob'), 'evicted from the empty LRU');
  await h.send('alice', 'bob', 'c1');
  t.equal((await h.conversations('bob')).conversations.length, 1, 'reloaded with the message');
  // frank's empty mailbox is kept; his first message moves it under the byte budget.
  t.same((await h.conversations('frank')).conversations, []);
  t.ok(h.cache.has('frank'), 'kept empty');
  await h.send('frank', 'zed', 'c2');
  t.ok(h.cache.has('frank'), 'still cached after the write');
  const cached = h.cache.usersByRecency();
  const empties = cached.slice(cached.length - h.cache.emptyStats().users);
  t.notOk(empties.includes('frank'), 'no longer among the empty ones (listed last)');
  const loads = h.service.stats.storeLoads;
  const franks = await h.conversations('frank');
  t.equal(franks.conversations.length, 1, 'served from memory with the message');
  t.equal(h.service.stats.storeLoads, loads, 'without a store load');
});

t.test(
  'charge counts what reads cached in a state, evicts past the budget, trims nothing',
  async (t) => {
    const cache = new MailboxCache({ windowMessagesMax: 2 }, notPinned);
    const state = new MailboxState('alice', 1, [row('alice', 'bob', 30)], 200);
    cache.put(state);
    const window = [30, 20, 10].map((sentAt) => message('bob', 'alice', sentAt));
    state.setWindow('alice~bob', window, true);
    const loaded = state.bytes;
    state.messageTextAt(state.conversations.get('alice~bob')?.window as never, 2);
    state.cursorAt(undefined, state.version);
    t.ok(state.bytes > loaded, 'texts and cursors are charged to the state');
    cache.charge(state);
    t.equal(cache.stats().bytes, state.bytes, 'and to the cache');
    t.equal(
      state.conversations.get('alice~bob')?.window?.messages.length,
      3,
      'charge trims no window (a read changes none)',
    );
    cache.charge(emptyState('nobody'));
    t.equal(cache.stats().users, 1, 'a state that is not cached is ignored');

    const small = new MailboxCache({ cacheBytesMax: 2 * MAILBOX_OVERHEAD_BYTES + 100 }, notPinned);
    const [older, newer] = [emptyState('older'), emptyState('newer')];
    small.put(older);
    small.put(newer);
    newer.cursorAt(undefined, newer.version);
    small.charge(newer);
    t.same(userIds(small, ['older', 'newer']), ['newer'], 'past the budget: the LRU user goes');

    const empties = new MailboxCache({}, notPinned);
    const unknown = emptyState('unknown');
    empties.putLoaded(unknown);
    unknown.cursorAt(undefined, unknown.version);
    empties.charge(unknown);
    t.equal(empties.stats().bytes, unknown.bytes, 'an empty mailbox is counted in its own LRU');
  },
);

t.test('recency order: hits, puts and deletes keep exact LRU order', async (t) => {
  const cache = new MailboxCache({}, notPinned);
  for (const userId of ['a', 'b', 'c', 'd']) cache.put(emptyState(userId));
  cache.get('b');
  cache.get('a');
  cache.get('a');
  cache.delete('c');
  cache.put(emptyState('e'));
  cache.get('d');
  t.same(cache.usersByRecency(), ['d', 'e', 'a', 'b'], 'most recently used first');
  cache.deleteWhere((userId) => userId === 'a' || userId === 'd');
  t.same(cache.usersByRecency(), ['e', 'b']);
  cache.clear();
  t.same(cache.usersByRecency(), []);
  cache.put(emptyState('f'));
  t.same(cache.usersByRecency(), ['f'], 'usable after clear');
});
