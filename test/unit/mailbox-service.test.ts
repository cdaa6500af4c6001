/**
 * Proves the cache node's data path (MailboxService) over the real embedded store, on one node
 * (delivery calls the same service; ownership is a fake the test steers; the wall clock is
 * injected): concurrent cold reads of one user cost exactly one store load; a retried send returns
 * the same messageId and sentAt with duplicate:true and leaves one copy per mailbox; sentAt is
 * strictly increasing per conversation even when the clock goes backwards; unread counts and
 * markRead; offset pages are gapless across the cached window and the store; the cursor returns
 * late deliveries that a timestamp delta misses, and pages through every change exactly once
 * (cursorAfter); a failed commit answers STORE_UNAVAILABLE and leaves nothing visible; a store
 * version conflict answers NOT_OWNER and drops the user's cache; a node that loses ownership
 * mid-write does not acknowledge it.
 */
import t from 'tap';
import { cursorAfter } from '../../cache-node/mailbox-reads.js';
import { ChatringError, PAGE_SIZE_MAX, type Message } from '../../protocol/index.js';
import { EmbeddedStore, StoreVersionConflictError } from '../../store-adapter/index.js';
import { startHarness, type Harness } from './service-harness.js';

const ids = (messages: Message[]) => messages.map((m) => m.clientMessageId);

/** Every message of a user's conversation straight from the store (what is durable). */
async function durableMessages(harness: Harness, ownerId: string, conversationId: string) {
  return harness.embedded.messagesPage(ownerId, conversationId, { limit: 1_000 });
}

t.test('concurrent cold reads of one user cause exactly one store load', async (t) => {
  const h = startHarness(t);
  for (let index = 0; index < 3; index += 1) await h.send('alice', 'bob', `m${index}`);
  h.service.evictWhere(() => true);
  const before = { ...h.service.stats };
  const storeBefore = { ...h.store.calls };
  const answers = await Promise.all(Array.from({ length: 8 }, () => h.conversations('bob')));
  t.equal(h.service.stats.storeLoads - before.storeLoads, 1, 'one store load');
  t.equal(h.service.stats.cacheMisses - before.cacheMisses, 1, 'one cache miss');
  t.equal(
    h.store.calls.mailboxVersion - storeBefore.mailboxVersion,
    1,
    'the store read the version once',
  );
  t.equal(
    h.store.calls.recentConversations - storeBefore.recentConversations,
    1,
    'and the conversations once',
  );
  for (const answer of answers) t.same(answer, answers[0], 'every reader got the same answer');
  t.equal(answers[0]?.conversations[0]?.unreadCount, 3);

  await h.conversations('bob');
  t.equal(h.service.stats.cacheHits - before.cacheHits, 1, 'a later read is a cache hit');
  t.equal(h.service.stats.storeLoads - before.storeLoads, 1, 'and loads nothing');
});

t.test('concurrent cold reads of one conversation load its message window once', async (t) => {
  const h = startHarness(t);
  for (let index = 0; index < 3; index += 1) await h.send('alice', 'bob', `m${index}`);
  h.service.evictWhere(() => true);
  const pagesBefore = h.store.calls.messagesPage;
  const answers = await Promise.all(
    Array.from({ length: 6 }, () => h.messages('bob', 'alice~bob')),
  );
  t.equal(h.store.calls.messagesPage - pagesBefore, 1, 'one window load');
  for (const answer of answers) t.same(ids(answer.messages), ['m2', 'm1', 'm0']);
});

t.test('a retried send returns the same messageId and sentAt with duplicate:true', async (t) => {
  const h = startHarness(t);
  h.clock.now = 5_000;
  const first = await h.send('alice', 'bob', 'c-1', 'hello');
  t.equal(first.duplicate, false);
  t.equal(first.message.sentAt, 5_000);
  h.clock.now = 9_000;
  const retry = await h.send('alice', 'bob', 'c-1', 'hello');
  t.same(
    retry,
    { message: first.message, duplicate: true },
    'same message, same sentAt, duplicate',
  );
  const changed = await h.send('alice', 'bob', 'c-1', 'a different text');
  t.same(
    changed.message,
    first.message,
    'the key is (senderId, clientMessageId): the original wins',
  );

  h.service.evictWhere(() => true);
  const coldRetry = await h.send('alice', 'bob', 'c-1', 'hello');
  t.same(coldRetry, { message: first.message, duplicate: true }, 'also from a cold cache');

  for (const owner of ['alice', 'bob']) {
    const stored = await durableMessages(h, owner, 'alice~bob');
    t.same(
      stored.map((m) => m.messageId),
      [first.message.messageId],
      `exactly one copy in ${owner}'s mailbox`,
    );
  }
  const reverse = await h.send('bob', 'alice', 'c-1', 'from bob');
  t.equal(
    reverse.duplicate,
    false,
    'the same clientMessageId from the other sender is another message',
  );
  const bobRetry = await h.send('bob', 'alice', 'c-1', 'from bob');
  t.same(
    bobRetry,
    { message: reverse.message, duplicate: true },
    'a sender with the higher id retries the same way',
  );
});

t.test(
  'sentAt is strictly increasing per conversation even when the clock goes backwards',
  async (t) => {
    const h = startHarness(t);
    const sentAts: number[] = [];
    const steps: [string, string, number][] = [
      ['alice', 'bob', 5_000],
      ['bob', 'alice', 4_000],
      ['alice', 'bob', 4_000],
      ['bob', 'alice', 1],
      ['alice', 'bob', 5_002],
      ['alice', 'bob', 7_000],
    ];
    for (const [index, [senderId, recipientId, now]] of steps.entries()) {
      h.clock.now = now;
      sentAts.push((await h.send(senderId, recipientId, `m${index}`)).message.sentAt);
    }
    t.same(sentAts, [5_000, 5_001, 5_002, 5_003, 5_004, 7_000]);
    const alice = await h.messages('alice', 'alice~bob');
    const bob = await h.messages('bob', 'alice~bob');
    t.same(
      alice.messages.map((m) => m.sentAt),
      [...sentAts].reverse(),
      'newest first',
    );
    t.same(bob.messages, alice.messages, 'both copies carry the same ids and times');
    h.clock.now = 10;
    const other = await h.send('alice', 'carol', 'x');
    t.equal(other.message.sentAt, 10, 'the floor is per conversation, not global');
  },
);

t.test('unread counts and markRead', async (t) => {
  const h = startHarness(t);
  for (let index = 0; index < 3; index += 1) await h.send('alice', 'bob', `a${index}`);
  await h.send('bob', 'alice', 'b0');
  const unread = async (userId: string) =>
    (await h.conversations(userId)).conversations[0]?.unreadCount;
  t.equal(await unread('bob'), 3, 'the recipient counts what it received');
  t.equal(await unread('alice'), 1, 'one message to alice; her own do not count');

  const versionBefore = await h.embedded.mailboxVersion('bob');
  t.same(await h.service.markRead('bob', 'alice~bob'), { unreadCount: 0 });
  t.equal(await unread('bob'), 0);
  t.equal(await unread('alice'), 1, 'the other participant is untouched');
  t.equal(await h.embedded.mailboxVersion('bob'), versionBefore + 1, 'a read is one commit');
  t.same(await h.service.markRead('bob', 'alice~bob'), { unreadCount: 0 });
  t.equal(
    await h.embedded.mailboxVersion('bob'),
    versionBefore + 1,
    'reading again commits nothing',
  );
  t.same(
    await h.service.markRead('bob', 'bob~zed'),
    { unreadCount: 0 },
    'a conversation bob does not have',
  );
  t.equal(await h.embedded.mailboxVersion('bob'), versionBefore + 1);
  await t.rejects(h.service.markRead('bob', 'alice~carol'), { code: 'INVALID_CONVERSATION_ID' });

  await h.send('alice', 'bob', 'a3');
  h.service.evictWhere(() => true);
  t.equal(await unread('bob'), 1, 'counts survive a reload from the store');
});

t.test(
  'offset pages are gapless across the cached window, the store, and the conversation list',
  async (t) => {
    const h = startHarness(t, {
      service: { windowMessagesLoaded: 3, recentConversationsLoaded: 2 },
    });
    const sent: string[] = [];
    for (let index = 0; index < 10; index += 1) {
      h.clock.now = 1_000 + index;
      await h.send(
        index % 2 === 0 ? 'alice' : 'bob',
        index % 2 === 0 ? 'bob' : 'alice',
        `m${index}`,
      );
      sent.unshift(`m${index}`);
    }
    for (const peer of ['carol', 'dave', 'erin', 'frank']) {
      h.clock.now += 1;
      await h.send(peer, 'bob', `hi-${peer}`);
    }
    const expectedConversations = ['bob~frank', 'bob~erin', 'bob~dave', 'bob~carol', 'alice~bob'];
    for (const pageSize of [1, 2, 3, 4, 7, 50]) {
      h.service.evictWhere(() => true);
      const messages: string[] = [];
      const conversations: string[] = [];
      for (let page = 0; page * pageSize < 12; page += 1) {
        const query = { page: String(page), pageSize: String(pageSize) };
        messages.push(...ids((await h.messages('bob', 'alice~bob', query)).messages));
        conversations.push(
          ...(await h.conversations('bob', query)).conversations.map((c) => c.conversationId),
        );
      }
      t.same(messages, sent, `messages, pageSize ${pageSize}: every one once, newest first`);
      t.same(conversations, expectedConversations, `conversations, pageSize ${pageSize}`);
    }
    const delta = await h.messages('bob', 'alice~bob', { lastUpdatedTimestamp: String(1_006) });
    t.same(ids(delta.messages), ['m9', 'm8', 'm7'], 'timestamp delta: only newer messages');
    t.equal(delta.isDeltaUpdate, true);
    const conversationDelta = await h.conversations('bob', { lastUpdatedTimestamp: String(1_010) });
    t.same(
      conversationDelta.conversations.map((c) => c.conversationId),
      ['bob~frank', 'bob~erin', 'bob~dave'],
    );
  },
);

t.test(
  'the cursor returns a late delivery that a timestamp delta misses (conversation list)',
  async (t) => {
    const h = startHarness(t);
    h.clock.now = 5_000;
    await h.send('alice', 'bob', 'first');
    const seen = await h.conversations('bob');
    t.equal(seen.conversations[0]?.lastUpdatedTimestamp, 5_000);
    t.equal(seen.isDeltaUpdate, false);

    h.clock.now = 100; // carol's message is stamped before what bob already saw
    await h.send('carol', 'bob', 'late');
    const byTimestamp = await h.conversations('bob', { lastUpdatedTimestamp: '5000' });
    t.same(byTimestamp.conversations, [], 'a timestamp delta cannot see it');
    const byCursor = await h.conversations('bob', { cursor: seen.cursor });
    t.same(
      byCursor.conversations.map((c) => [c.conversationId, c.lastUpdatedTimestamp]),
      [['bob~carol', 100]],
    );
    t.equal(byCursor.isDeltaUpdate, true);
    const after = await h.conversations('bob', { cursor: byCursor.cursor });
    t.same(after.conversations, [], 'nothing twice');
    t.equal(after.cursor, byCursor.cursor, 'an empty delta keeps the cursor');
  },
);

t.test(
  'the cursor returns a half-sent message completed by a retry, older than what was seen (messages)',
  async (t) => {
    const h = startHarness(t);
    h.clock.now = 1_000;
    // The coordinator (alice, the lower id) fails to write her copy after bob's was written.
    h.store.failCommit = (commit) => {
      if (
        commit.ownerId !== 'alice' ||
        commit.kind !== 'message' ||
        commit.message.clientMessageId !== 'late'
      )
        return undefined;
      h.store.failCommit = undefined;
      return new Error('disk full');
    };
    await t.rejects(h.send('alice', 'bob', 'late'), { code: 'STORE_UNAVAILABLE' });
    t.same(ids((await h.messages('bob', 'alice~bob')).messages), ['late'], 'bob has his copy');
    t.same(ids((await h.messages('alice', 'alice~bob')).messages), [], 'alice has none');

    const next = await h.send('alice', 'bob', 'next');
    t.equal(next.message.sentAt, 1_001, 'placed after the copy bob already holds');
    const seen = await h.messages('alice', 'alice~bob');
    t.same(ids(seen.messages), ['next']);

    const retry = await h.send('alice', 'bob', 'late');
    t.equal(retry.duplicate, true, 'the retry finds bob’s copy');
    t.equal(retry.message.sentAt, 1_000, 'and keeps its original time');
    const byTimestamp = await h.messages('alice', 'alice~bob', { lastUpdatedTimestamp: '1001' });
    t.same(byTimestamp.messages, [], 'a timestamp delta misses the late copy');
    const byCursor = await h.messages('alice', 'alice~bob', { cursor: seen.cursor });
    t.same(byCursor.messages, [retry.message], 'the cursor returns it');
    for (const owner of ['alice', 'bob']) {
      const stored = await durableMessages(h, owner, 'alice~bob');
      t.same(
        stored.map((m) => m.clientMessageId),
        ['next', 'late'],
        `${owner}: each message exactly once`,
      );
    }
  },
);

t.test(
  'cursorAfter: a full page stops at its last change; a short page reaches max(versionBefore, last)',
  async (t) => {
    const v = (...versions: number[]) => versions.map((version) => ({ version }));
    t.equal(cursorAfter(v(), 5, 9), 9, 'nothing changed: the version read before');
    t.equal(cursorAfter(v(3, 4), 2, 9), 4, 'full page: maybe more after 4');
    t.equal(cursorAfter(v(3, 4), 3, 9), 9, 'short page: everything up to 9 was returned');
    t.equal(cursorAfter(v(3, 11), 3, 9), 11, 'short page with a change newer than versionBefore');
  },
);

t.test('cursor paging returns every change exactly once, then stays put', async (t) => {
  const h = startHarness(t);
  const start = await h.conversations('bob');
  for (const [index, peer] of ['carol', 'dave', 'erin', 'frank', 'gina'].entries()) {
    h.clock.now = 2_000 + index;
    await h.send(peer, 'bob', `hi-${peer}`);
  }
  await h.service.markRead('bob', 'bob~carol'); // carol's row changes again: listed once, at its latest
  let cursor = start.cursor;
  const pages: string[][] = [];
  for (let round = 0; round < 10; round += 1) {
    const page = await h.conversations('bob', { cursor, pageSize: '2' });
    cursor = page.cursor;
    if (page.conversations.length === 0) break;
    pages.push(page.conversations.map((c) => c.conversationId));
  }
  t.same(
    pages.flat().sort(),
    ['bob~carol', 'bob~dave', 'bob~erin', 'bob~frank', 'bob~gina'],
    'each changed row once',
  );
  t.equal(pages.length, 3, '2 + 2 + 1');
  const end = await h.conversations('bob', { cursor });
  t.equal(end.cursor, cursor, 'no change, no movement');

  const messagesStart = await h.messages('bob', 'bob~gina');
  for (let index = 0; index < 5; index += 1) await h.send('gina', 'bob', `g${index}`);
  const seenMessages: string[] = [];
  cursor = messagesStart.cursor;
  for (let round = 0; round < 10; round += 1) {
    const page = await h.messages('bob', 'bob~gina', { cursor, pageSize: '2' });
    cursor = page.cursor;
    if (page.messages.length === 0) break;
    seenMessages.push(...ids(page.messages).reverse());
  }
  t.same(
    seenMessages,
    ['g0', 'g1', 'g2', 'g3', 'g4'],
    'message deltas: every new message once, in order',
  );
});

t.test(
  'a store that throws on commit: STORE_UNAVAILABLE, nothing visible, the cache dropped',
  async (t) => {
    const h = startHarness(t);
    await h.send('alice', 'bob', 'warm');
    t.ok(h.cache.has('bob'));
    h.store.failCommit = () => {
      h.store.failCommit = undefined;
      return new Error('connection reset');
    };
    await t.rejects(h.send('alice', 'bob', 'lost'), {
      name: 'ChatringError',
      code: 'STORE_UNAVAILABLE',
      retryable: true,
    });
    t.notOk(h.cache.has('bob'), 'the failed user’s cached state is dropped');
    t.same(ids((await h.messages('bob', 'alice~bob')).messages), ['warm'], 'bob sees nothing new');
    t.same(
      ids((await h.messages('alice', 'alice~bob')).messages),
      ['warm'],
      'alice sees nothing new',
    );
    t.same(
      (await durableMessages(h, 'bob', 'alice~bob')).map((m) => m.clientMessageId),
      ['warm'],
      'and the store holds nothing new',
    );
    const retry = await h.send('alice', 'bob', 'lost');
    t.equal(retry.duplicate, false, 'the retry is the first success');
    t.same(ids((await h.messages('bob', 'alice~bob')).messages), ['lost', 'warm']);
  },
);

t.test('a ChatringError from the store passes through unchanged', async (t) => {
  const h = startHarness(t);
  h.store.failCommit = () => {
    h.store.failCommit = undefined;
    return new ChatringError('STORE_UNAVAILABLE', 'the store timed out');
  };
  await t.rejects(h.send('alice', 'bob', 'x'), { code: 'STORE_UNAVAILABLE' });
});

t.test(
  'a store version conflict (another owner wrote): NOT_OWNER and the user’s cache is dropped',
  async (t) => {
    const h = startHarness(t);
    await h.send('alice', 'bob', 'before');
    t.ok(h.cache.has('bob'));
    // Another node, believing it owns bob, commits to bob's mailbox through its own store handle.
    const other = new EmbeddedStore({ path: h.storePath, synchronous: 'NORMAL' });
    t.teardown(() => other.close());
    const version = await other.mailboxVersion('bob');
    const foreign = {
      ...(await other.conversation('bob', 'alice~bob'))!,
      unreadCount: 0,
      version: version + 1,
    };
    await other.commit({
      kind: 'read',
      ownerId: 'bob',
      version: version + 1,
      commitId: 'foreign-read',
      conversation: foreign,
    });

    await t.rejects(h.send('alice', 'bob', 'after'), {
      name: 'ChatringError',
      code: 'NOT_OWNER',
      status: 421,
    });
    t.notOk(h.cache.has('bob'), 'the stale state is gone');
    t.same(
      ids((await h.messages('alice', 'alice~bob')).messages),
      ['before'],
      'nothing acknowledged, nothing in alice’s copy',
    );
    const retry = await h.send('alice', 'bob', 'after');
    t.equal(retry.duplicate, false, 'the retry reloads bob and succeeds');
    const bob = await h.conversations('bob');
    t.equal(bob.conversations[0]?.unreadCount, 1, 'the foreign read is reflected after the reload');
  },
);

t.test('a StoreVersionConflictError thrown by the store maps to NOT_OWNER', async (t) => {
  const h = startHarness(t);
  await h.send('alice', 'bob', 'warm');
  h.store.failCommit = (commit) => {
    h.store.failCommit = undefined;
    return new StoreVersionConflictError(commit.ownerId, commit.version - 1, commit.version);
  };
  await t.rejects(h.send('alice', 'bob', 'x'), { code: 'NOT_OWNER' });
  t.notOk(h.cache.has('bob'));
});

t.test(
  'ownership: refused users are not served, and a write durable after ownership was lost is not acknowledged',
  async (t) => {
    const h = startHarness(t);
    h.ownership.refused.set('bob', 'NOT_OWNER');
    const loadsBefore = h.service.stats.storeLoads;
    await t.rejects(h.conversations('bob'), { code: 'NOT_OWNER' });
    await t.rejects(
      h.send('alice', 'bob', 'x'),
      { code: 'NOT_OWNER' },
      'a send needs the recipient’s owner too',
    );
    t.same(await durableMessages(h, 'alice', 'alice~bob'), [], 'nothing stored');
    t.equal(h.service.stats.storeLoads - loadsBefore, 1, 'only alice was loaded, bob never');
    h.ownership.refused.clear();

    h.store.afterCommit = (commit) => {
      if (commit.ownerId === 'alice') h.ownership.refused.set('alice', 'OWNER_UNAVAILABLE');
    };
    await t.rejects(
      h.send('alice', 'bob', 'y'),
      { code: 'OWNER_UNAVAILABLE' },
      'the lease lapsed during the commit',
    );
    h.store.afterCommit = undefined;
    h.ownership.refused.clear();
    const retry = await h.send('alice', 'bob', 'y');
    t.equal(retry.duplicate, true, 'the retry finds the durable message');
    t.same(
      (await durableMessages(h, 'alice', 'alice~bob')).map((m) => m.clientMessageId),
      ['y'],
      'exactly once',
    );
  },
);

t.test('a page of the largest size (200) from a warm window reads the store 0 times', async (t) => {
  const h = startHarness(t);
  for (let index = 0; index < PAGE_SIZE_MAX + 50; index += 1) {
    h.clock.now = 10_000 + index;
    await h.send('alice', 'bob', `w${index}`);
  }
  h.service.evictWhere(() => true);
  const first = await h.messages('bob', 'alice~bob', { pageSize: String(PAGE_SIZE_MAX) });
  t.equal(first.messages.length, PAGE_SIZE_MAX);
  const loadsAfterFirst = h.service.stats.storeLoads;
  for (let round = 0; round < 3; round += 1) {
    const again = await h.messages('bob', 'alice~bob', { pageSize: String(PAGE_SIZE_MAX) });
    t.same(ids(again.messages), ids(first.messages));
  }
  t.equal(h.service.stats.storeLoads, loadsAfterFirst, 'warm: no store read for pageSize 200');
  const deeper = await h.messages('bob', 'alice~bob', {
    page: '1',
    pageSize: String(PAGE_SIZE_MAX),
  });
  t.equal(deeper.messages.length, 50, 'the page below the window');
  t.equal(h.service.stats.storeLoads, loadsAfterFirst + 1, 'one store read, counted');
});
