/**
 * Regression tests for two MailboxService bugs found by the unit tests (both fixed):
 *
 * 1. Gapless cursor: a change committed while a cursor query waited for the store was skipped for
 *    good, because the cursor was computed from the mailbox version read *after* the query.
 * 2. Mailbox isolation: a sender reusing a clientMessageId for another recipient made the other
 *    owner's idempotency hit (a message of another conversation) land in a third user's mailbox.
 *    Now such a send is refused with CLIENT_MESSAGE_ID_CONFLICT and nothing is stored.
 */
import t from 'tap';
import { startHarness } from './service-harness.js';

t.test(
  'cursor: a change committed while a cursor query is in flight is delivered by the next cursor',
  async (t) => {
    const h = startHarness(t);
    await h.send('alice', 'bob', 'one');
    const seen = await h.conversations('bob');
    await h.send('bob', 'dave', 'two'); // bob's mailbox moves past the cursor, so the next query reads the store

    let release = () => {};
    h.store.holdChangedAfter = new Promise<void>((resolve) => (release = resolve));
    // The store has answered (it saw 'two') but the answer is still on its way back...
    const inFlight = h.conversations('bob', { cursor: seen.cursor });
    await new Promise<void>((resolve) => setImmediate(resolve));
    t.equal(h.store.calls.conversationsChangedAfter, 1, 'the cursor query has read the store');
    // ...when another message to bob commits (store, then memory).
    await h.send('bob', 'erin', 'three');
    release();
    const first = await inFlight;
    t.same(
      first.conversations.map((c) => c.conversationId),
      ['bob~dave'],
      'the query returns what the store saw',
    );
    const second = await h.conversations('bob', { cursor: first.cursor });
    t.same(
      second.conversations.map((c) => c.conversationId),
      ['bob~erin'],
      'the change that landed meanwhile comes with the next cursor (: the cursor skipped it)',
    );
  },
);

t.test(
  'cursor (messages): a message committed while a cursor query is in flight is delivered by the next cursor',
  async (t) => {
    const h = startHarness(t);
    await h.send('alice', 'bob', 'one');
    const seen = await h.messages('bob', 'alice~bob');
    await h.send('alice', 'bob', 'two');

    let release = () => {};
    h.store.holdChangedAfter = new Promise<void>((resolve) => (release = resolve));
    const inFlight = h.messages('bob', 'alice~bob', { cursor: seen.cursor });
    await new Promise<void>((resolve) => setImmediate(resolve));
    await h.send('alice', 'bob', 'three');
    release();
    const first = await inFlight;
    t.same(
      first.messages.map((m) => m.clientMessageId),
      ['two'],
    );
    const second = await h.messages('bob', 'alice~bob', { cursor: first.cursor });
    t.same(
      second.messages.map((m) => m.clientMessageId),
      ['three'],
      'the change committed during the query is returned by the next cursor',
    );
  },
);

t.test(
  'isolation: reusing a clientMessageId for another recipient never puts a message in a third mailbox',
  async (t) => {
    const h = startHarness(t);
    await h.send('alice', 'bob', 'c-1', 'for bob only');
    // aaron < alice, so aaron's owner coordinates and alice's owner writes alice's copy: it finds
    // alice's message to bob under (alice, c-1) and hands it back.
    await t.rejects(h.send('alice', 'aaron', 'c-1', 'for aaron'), {
      code: 'CLIENT_MESSAGE_ID_CONFLICT',
    });
    await t.rejects(
      h.send('alice', 'carol', 'c-1', 'for carol'),
      { code: 'CLIENT_MESSAGE_ID_CONFLICT' },
      'also when the sender coordinates',
    );
    const aaron = await h.conversations('aaron');
    t.same(
      aaron.conversations
        .map((c) => c.conversationId)
        .filter((id) => !id.split('~').includes('aaron')),
      [],
      'aaron has no conversation he is not part of',
    );
    const stored = await h.embedded.recentConversations('aaron', 10);
    t.same(
      stored.filter((row) => !row.participants.includes('aaron')),
      [],
      'nor does the store',
    );
  },
);

t.test(
  'repair: a half-sent message (coordinator commit failed) reaches the coordinator copy without a client retry',
  async (t) => {
    const h = startHarness(t, { service: { repairDelayMs: 5 } });
    h.store.failCommit = (commit) => {
      // Fail only the coordinator's (alice's) copy, once.
      if (commit.ownerId !== 'alice') return undefined;
      h.store.failCommit = undefined;
      return new Error('store down');
    };
    await t.rejects(h.send('alice', 'bob', 'half', 'half sent'), { code: 'STORE_UNAVAILABLE' });
    t.equal(h.service.pendingRepairs, 1, 'a repair is pending');
    for (let i = 0; i < 200 && h.service.pendingRepairs > 0; i += 1)
      await new Promise((resolve) => setTimeout(resolve, 5));
    const alice = await h.messages('alice', 'alice~bob');
    const bob = await h.messages('bob', 'alice~bob');
    t.same(alice.messages, bob.messages, 'both copies hold the same message');
    t.equal(alice.messages.length, 1);
    const retry = await h.send('alice', 'bob', 'half', 'half sent');
    t.equal(retry.duplicate, true, 'a late client retry is a duplicate');
  },
);
