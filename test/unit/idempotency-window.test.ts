/**
 * Issue 12, part 1: the owner answers "is this clientMessageId new?" from memory within the
 * idempotency window, goes to the store's index only where memory cannot prove it, and keeps the
 * contract at the window's edge: a retry within the window is recognised; after it, a retry may
 * be stored as a new message, in both mailboxes alike.
 */
import t from 'tap';
import {
  SENT_KEYS_MESSAGES_PER_CONVERSATION_MAX,
  SENT_KEYS_MAX,
} from '../../cache-node/mailbox-loader.js';
import { SentKeys } from '../../cache-node/sent-keys.js';
import {
  DELIVER_CLOCK_SKEW_MS_MAX,
  IDEMPOTENCY_WINDOW_MS_DEFAULT,
  IDEMPOTENCY_WINDOW_MS_MAX,
  IDEMPOTENCY_WINDOW_MS_MIN,
} from '../../protocol/index.js';
import { MailboxService } from '../../cache-node/mailbox-service.js';
import { startHarness, type Harness } from './service-harness.js';

const WINDOW_MS = IDEMPOTENCY_WINDOW_MS_DEFAULT;

/** Every clientMessageId in the user's copy of the conversation, newest first. */
async function idsIn(h: Harness, userId: string, conversationId: string): Promise<string[]> {
  const page = await h.messages(userId, conversationId, { pageSize: '200' });
  return page.messages.map((message) => message.clientMessageId);
}

/** Drops both users' cached state, as a restart or a new owner would start. */
function forget(h: Harness, ...userIds: string[]): void {
  for (const userId of userIds) h.cache.delete(userId);
}

t.test('warm sends prove their clientMessageIds new from memory: 0 index reads', async (t) => {
  const h = startHarness(t);
  await h.send('alice', 'bob', 'first');
  const readsBefore = h.store.calls.messageByClientId;
  const statsBefore = { ...h.service.stats };
  for (let index = 0; index < 20; index += 1) {
    h.clock.now += 1_000;
    await h.send(index % 2 === 0 ? 'alice' : 'bob', index % 2 === 0 ? 'bob' : 'alice', `m${index}`);
  }
  t.equal(h.store.calls.messageByClientId - readsBefore, 0, 'the index was not read');
  t.equal(h.service.stats.idempotencyStoreReads, statsBefore.idempotencyStoreReads);
  t.equal(
    h.service.stats.idempotencyFromMemory - statsBefore.idempotencyFromMemory,
    40,
    'both copies of 20 sends proved new in memory',
  );
  t.equal((await idsIn(h, 'alice', 'alice~bob')).length, 21);
  t.same(await idsIn(h, 'alice', 'alice~bob'), await idsIn(h, 'bob', 'alice~bob'));
});

t.test('a retry memory knows is answered from the store: the same message', async (t) => {
  const h = startHarness(t);
  const first = await h.send('alice', 'bob', 'once');
  const reads = h.store.calls.messageByClientId;
  h.clock.now += 5_000;
  const retry = await h.send('alice', 'bob', 'once');
  t.equal(retry.duplicate, true);
  t.equal(retry.message.messageId, first.message.messageId);
  t.equal(h.store.calls.messageByClientId - reads, 1, 'one index read: the coordinator’s copy');
  t.same(await idsIn(h, 'bob', 'alice~bob'), ['once']);
});

t.test('the window’s edge: recognised at it, from memory or after a reload', async (t) => {
  for (const reload of [false, true]) {
    const h = startHarness(t);
    const sent = await h.send('alice', 'bob', 'edge');
    h.clock.now = sent.message.sentAt + WINDOW_MS;
    if (reload) forget(h, 'alice', 'bob');
    const retry = await h.send('alice', 'bob', 'edge');
    t.equal(retry.duplicate, true, `recognised at the edge (${reload ? 'reloaded' : 'warm'})`);
    t.equal(retry.message.messageId, sent.message.messageId);
    t.same(await idsIn(h, 'alice', 'alice~bob'), ['edge']);
    t.same(await idsIn(h, 'bob', 'alice~bob'), ['edge']);
  }
});

t.test(
  'after the window (and its skew margin) a retry may be new: in both mailboxes alike',
  async (t) => {
    for (const reload of [false, true]) {
      const h = startHarness(t);
      const sent = await h.send('alice', 'bob', 'late');
      h.clock.now = sent.message.sentAt + WINDOW_MS + DELIVER_CLOCK_SKEW_MS_MAX + 1;
      if (reload) forget(h, 'alice', 'bob');
      const reads = h.store.calls.messageByClientId;
      const retry = await h.send('alice', 'bob', 'late');
      t.equal(retry.duplicate, false, `stored anew (${reload ? 'reloaded' : 'warm'})`);
      t.equal(h.store.calls.messageByClientId - reads, 0, 'memory proved it new: no index read');
      t.not(retry.message.messageId, sent.message.messageId, 'a new message');
      // Both messages are kept, in both mailboxes alike (store conformance: the index answers the
      // newest).
      const alice = await h.messages('alice', 'alice~bob', { pageSize: '200' });
      const bob = await h.messages('bob', 'alice~bob', { pageSize: '200' });
      t.same(
        alice.messages.map((m) => [m.messageId, m.sentAt]),
        bob.messages.map((m) => [m.messageId, m.sentAt]),
        'never in one mailbox only',
      );
      t.same(
        alice.messages.map((m) => [m.clientMessageId, m.messageId]),
        [
          ['late', retry.message.messageId],
          ['late', sent.message.messageId],
        ],
        'the new message beside the first',
      );
    }
  },
);

t.test('keys that do not reach back a full window send the check to the store', async (t) => {
  const h = startHarness(t);
  const old = await h.send('bob', 'carol', 'old');
  // More messages in one conversation than a key load reads of it: the keys stop short of `old`.
  for (let index = 0; index < SENT_KEYS_MESSAGES_PER_CONVERSATION_MAX + 5; index += 1) {
    h.clock.now += 10;
    await h.send('bob', 'carol', `busy${index}`);
  }
  forget(h, 'bob', 'carol');
  h.clock.now += 1_000;
  const reads = h.store.calls.messageByClientId;
  const storeReadsBefore = h.service.stats.idempotencyStoreReads;
  const retry = await h.send('bob', 'carol', 'old');
  t.equal(retry.duplicate, true, 'the retry is recognised');
  t.equal(retry.message.messageId, old.message.messageId);
  t.ok(h.store.calls.messageByClientId - reads >= 1, 'the store answered');
  t.ok(h.service.stats.idempotencyStoreReads > storeReadsBefore, 'counted as a store read');
  for (const owner of ['bob', 'carol']) {
    const all = await h.embedded.messagesPage(owner, 'bob~carol', { limit: 1_000 });
    t.equal(all.filter((m) => m.clientMessageId === 'old').length, 1, `once in ${owner}’s copy`);
    t.equal(
      all.length,
      SENT_KEYS_MESSAGES_PER_CONVERSATION_MAX + 6,
      `nothing else added (${owner})`,
    );
  }
});

t.test(
  'a retry the other copy recognised is checked in the store before the coordinator writes',
  async (t) => {
    // bob's keys stop short (a busy conversation with carol), alice's reach back the whole window:
    // after the window alice's memory calls `x` new, bob's store finds it. alice must not add a
    // second copy of bob's answer to her mailbox.
    const h = startHarness(t, { service: { idempotencyWindowMs: IDEMPOTENCY_WINDOW_MS_MIN } });
    const x = await h.send('alice', 'bob', 'x');
    h.clock.now = x.message.sentAt + IDEMPOTENCY_WINDOW_MS_MIN + DELIVER_CLOCK_SKEW_MS_MAX + 1;
    for (let index = 0; index < SENT_KEYS_MESSAGES_PER_CONVERSATION_MAX + 5; index += 1) {
      h.clock.now += 10;
      await h.send('bob', 'carol', `busy${index}`);
    }
    forget(h, 'alice', 'bob');
    const commits = h.store.calls.commit;
    const aliceVersion = await h.embedded.mailboxVersion('alice');
    const retry = await h.send('alice', 'bob', 'x');
    t.equal(h.store.calls.commit, commits, 'nothing committed: a cursor sync sees no change');
    t.equal(await h.embedded.mailboxVersion('alice'), aliceVersion);
    t.equal(retry.duplicate, true);
    t.equal(retry.message.messageId, x.message.messageId);
    t.same(await idsIn(h, 'alice', 'alice~bob'), ['x'], 'one copy in alice’s mailbox');
    t.same(await idsIn(h, 'bob', 'alice~bob'), ['x'], 'one in bob’s');
  },
);

t.test(
  'a stale state’s "new" cannot make a second copy: the compare-and-set refuses',
  async (t) => {
    const h = startHarness(t);
    await h.send('alice', 'bob', 'warm');
    // Another owner (a handoff race) commits `k` to alice's copy behind this node's back.
    const version = await h.embedded.mailboxVersion('alice');
    const row = (await h.embedded.conversation('alice', 'alice~bob'))!;
    const message = {
      messageId: 'other-owner-1',
      conversationId: 'alice~bob',
      senderId: 'alice',
      recipientId: 'bob',
      content: 'k',
      clientMessageId: 'k',
      sentAt: h.clock.now + 1_000,
    };
    await h.embedded.commit({
      kind: 'message',
      ownerId: 'alice',
      version: version + 1,
      commitId: 'c-other',
      conversation: { ...row, lastUpdatedTimestamp: message.sentAt, version: version + 1 },
      message,
    });
    h.clock.now += 2_000;
    await t.rejects(h.send('alice', 'bob', 'k'), { code: 'NOT_OWNER' }, 'refused, not doubled');
    const retry = await h.send('alice', 'bob', 'k');
    t.equal(retry.message.messageId, 'other-owner-1', 'the retry finds the other owner’s message');
    t.equal((await idsIn(h, 'alice', 'alice~bob')).filter((id) => id === 'k').length, 1);
  },
);

t.test('SentKeys: bounded, and the proof only ever shrinks its reach', async (t) => {
  const keys = new SentKeys(100, 3, [
    { senderId: 'a', clientMessageId: '1', sentAt: 100 },
    { senderId: 'a', clientMessageId: '2', sentAt: 110 },
    { senderId: 'b', clientMessageId: '1', sentAt: 120 },
  ]);
  t.equal(keys.size, 3);
  t.notOk(keys.provesAbsent('a', '1', 100), 'a known key is never proved absent');
  t.ok(keys.provesAbsent('a', '3', 100), 'an unknown one is, from coversFrom on');
  t.notOk(keys.provesAbsent('a', '3', 99), 'but not before it');
  const bytes = keys.bytes;
  keys.add({ senderId: 'b', clientMessageId: '2', sentAt: 130 }); // the 4th: the oldest goes
  t.equal(keys.size, 3, 'at most keysMax');
  t.equal(keys.coversFrom, 101, 'past the forgotten key');
  t.notOk(keys.provesAbsent('a', '1', 100), 'what was forgotten is not proved absent');
  t.equal(keys.bytes, bytes + 2 * 3 - 2 * 3, 'bytes follow the keys');
  keys.forgetBefore(125);
  t.equal(keys.size, 1);
  t.equal(keys.coversFrom, 125);
  t.ok(keys.provesAbsent('a', '2', 125));
  keys.forgetBefore(50);
  t.equal(keys.coversFrom, 125, 'a lower cutoff never widens the reach');
  t.equal(SENT_KEYS_MAX, 10_000);
});

t.test('the window option is checked at its limits', async (t) => {
  const h = startHarness(t);
  const make = (idempotencyWindowMs: number) =>
    new MailboxService(
      {
        store: h.store,
        locks: h.locks,
        cache: h.cache,
        ownership: h.ownership,
        delivery: { deliver: () => Promise.reject(new Error('unused')) },
        now: () => 0,
      },
      { idempotencyWindowMs },
    );
  t.ok(make(IDEMPOTENCY_WINDOW_MS_MIN), 'the least');
  t.ok(make(IDEMPOTENCY_WINDOW_MS_MAX), 'the most');
  t.throws(() => make(IDEMPOTENCY_WINDOW_MS_MIN - 1), { code: 'INVALID_OPTION' });
  t.throws(() => make(IDEMPOTENCY_WINDOW_MS_MAX + 1), { code: 'INVALID_OPTION' });
});
