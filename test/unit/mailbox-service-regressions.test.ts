/**
 * Regression tests for MailboxService bugs (all fixed):
 *
 * 1. Gapless cursor: a change committed while a cursor query waited for the store was skipped for
 *    good, because the cursor was computed from the mailbox version read *after* the query.
 * 2. Mailbox isolation: a sender reusing a clientMessageId for another recipient made the other
 *    owner's idempotency hit (a message of another conversation) land in a third user's mailbox.
 *    Now such a send is refused with CLIENT_MESSAGE_ID_CONFLICT and nothing is stored.
 * 3. Clock window (issue 10): a deliver with sentAt 2^53 - 1 left its conversation unable to take
 *    another message (sentAt strictly increases). Now a proposal more than DELIVER_CLOCK_SKEW_MS_MAX
 *    ahead of the owner's clock, or more than DELIVER_SENT_AT_AGE_MS_MAX behind it, is refused
 *    with INVALID_FIELD before anything changes, and a coordinator does not commit an answer
 *    stamped past the window (INTERNAL). Late completions of half-sent messages still work.
 */
import { join } from 'node:path';
import t from 'tap';
import { MailboxCache } from '../../cache-node/mailbox-cache.js';
import { MailboxService } from '../../cache-node/mailbox-service.js';
import { UserLockTable } from '../../cache-node/user-lock-table.js';
import {
  DELIVER_CLOCK_SKEW_MS_MAX,
  DELIVER_SENT_AT_AGE_MS_MAX,
  conversationIdOf,
  type DeliverResponse,
  type Message,
} from '../../protocol/index.js';
import { EmbeddedStore } from '../../store-adapter/index.js';
import { FakeOwnership, startHarness } from './service-harness.js';

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

/** A coordinator's proposal from alice to bob (bob's owner writes the first copy). */
function proposal(sentAt: number, clientMessageId = `c-${sentAt}`): Message {
  return {
    messageId: `m-${clientMessageId}`,
    conversationId: conversationIdOf('alice', 'bob'),
    senderId: 'alice',
    recipientId: 'bob',
    content: 'hi',
    clientMessageId,
    sentAt,
  };
}

t.test(
  'deliver: sentAt within [now - DELIVER_SENT_AT_AGE_MS_MAX, now + DELIVER_CLOCK_SKEW_MS_MAX] of the owner’s clock, else INVALID_FIELD and nothing changes',
  async (t) => {
    const h = startHarness(t);
    h.clock.now = 2 * DELIVER_SENT_AT_AGE_MS_MAX;
    const now = h.clock.now;
    const refused = [
      now + DELIVER_CLOCK_SKEW_MS_MAX + 1,
      now - DELIVER_SENT_AT_AGE_MS_MAX - 1,
      Number.MAX_SAFE_INTEGER, // the attack of issue 10
      0,
    ];
    for (const sentAt of refused) {
      const before = { commits: h.store.calls.commit, checks: h.ownership.checks };
      await t.rejects(
        h.service.deliver(proposal(sentAt)),
        { code: 'INVALID_FIELD', status: 400, message: /^message\.sentAt is / },
        `sentAt ${sentAt}`,
      );
      t.same(
        { commits: h.store.calls.commit, checks: h.ownership.checks },
        before,
        'refused before ownership, lock or store were touched',
      );
    }
    t.equal(await h.embedded.mailboxVersion('bob'), 0, 'bob’s mailbox unchanged');
    t.notOk(h.cache.has('bob'), 'nothing loaded');

    const oldest = await h.service.deliver(proposal(now - DELIVER_SENT_AT_AGE_MS_MAX));
    t.equal(oldest.message.sentAt, now - DELIVER_SENT_AT_AGE_MS_MAX, 'exactly at the age bound');
    const newest = await h.service.deliver(proposal(now + DELIVER_CLOCK_SKEW_MS_MAX));
    t.equal(newest.message.sentAt, now + DELIVER_CLOCK_SKEW_MS_MAX, 'exactly at the skew bound');
    h.clock.now += 1; // a millisecond later: the next message is stamped after the newest
    const next = await h.send('alice', 'bob', 'after');
    t.equal(
      next.message.sentAt,
      now + DELIVER_CLOCK_SKEW_MS_MAX + 1,
      'the conversation still takes messages, after the newest',
    );
  },
);

t.test(
  'a half-sent message completed more than DELIVER_SENT_AT_AGE_MS_MAX later keeps its time (repair and client retry)',
  async (t) => {
    // The retry comes two days late: inside an idempotency window of three (a retry after the
    // window may be stored anew; test/unit/idempotency-window.test.ts).
    const h = startHarness(t, {
      service: { repairDelayMs: 5, idempotencyWindowMs: 3 * DELIVER_SENT_AT_AGE_MS_MAX },
    });
    const failAlice = () => {
      h.store.failCommit = (commit) => {
        if (commit.ownerId !== 'alice') return undefined;
        h.store.failCommit = undefined;
        return new Error('store down');
      };
    };
    failAlice();
    const sentAt = h.clock.now;
    await t.rejects(h.send('alice', 'bob', 'repaired'), { code: 'STORE_UNAVAILABLE' });
    h.clock.now += DELIVER_SENT_AT_AGE_MS_MAX + 3_600_000; // the repair runs a day and an hour later
    let stored = await h.embedded.messageByClientId('alice', 'alice', 'repaired');
    for (let i = 0; i < 400 && stored === undefined; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 5));
      stored = await h.embedded.messageByClientId('alice', 'alice', 'repaired');
    }
    t.equal(stored?.sentAt, sentAt, 'the repair wrote alice’s copy with the original time');

    failAlice();
    const late = h.clock.now;
    await t.rejects(h.send('alice', 'bob', 'retried'), { code: 'STORE_UNAVAILABLE' });
    h.service.close(); // no repair: only the client's retry, two days later
    h.clock.now += 2 * DELIVER_SENT_AT_AGE_MS_MAX;
    const retry = await h.send('alice', 'bob', 'retried');
    t.same([retry.duplicate, retry.message.sentAt], [true, late], 'the retry completes it');
    const alice = await h.messages('alice', 'alice~bob');
    t.same(
      alice.messages.map((m) => m.clientMessageId),
      ['retried', 'repaired'],
      'both copies complete',
    );
  },
);

t.test(
  'a coordinator does not commit an answer stamped more than DELIVER_CLOCK_SKEW_MS_MAX ahead (INTERNAL)',
  async (t) => {
    const embedded = new EmbeddedStore({
      path: join(t.testdir(), 'store.sqlite'),
      synchronous: 'NORMAL',
    });
    t.teardown(() => embedded.close());
    const locks = new UserLockTable();
    const now = 5_000_000;
    let answer: (message: Message) => DeliverResponse = (message) => ({
      message,
      duplicate: false,
    });
    const service = new MailboxService({
      store: embedded,
      locks,
      cache: new MailboxCache({}, (userId) => locks.isBusy(userId)),
      ownership: new FakeOwnership(),
      delivery: { deliver: async (message) => answer(message) },
      now: () => now,
    });
    t.teardown(() => service.close());
    const send = (recipientId: string, clientMessageId: string) =>
      service.send({ senderId: 'alice', recipientId, content: 'hi', clientMessageId });

    const stampedAt =
      (sentAt: number, duplicate = false) =>
      (message: Message) => ({
        message: { ...message, sentAt },
        duplicate,
      });
    answer = stampedAt(now + DELIVER_CLOCK_SKEW_MS_MAX);
    t.equal((await send('bob', 'at')).message.sentAt, now + DELIVER_CLOCK_SKEW_MS_MAX, 'at it');
    const version = await embedded.mailboxVersion('alice');

    answer = stampedAt(now + DELIVER_CLOCK_SKEW_MS_MAX + 1);
    await t.rejects(send('carol', 'past'), { code: 'INTERNAL', message: /not committed/ });
    answer = stampedAt(Number.MAX_SAFE_INTEGER, true);
    await t.rejects(send('dave', 'dup'), { code: 'INTERNAL' }, 'a duplicate answer too');
    t.equal(await embedded.mailboxVersion('alice'), version, 'alice’s mailbox unchanged');
    t.equal(service.pendingRepairs, 0, 'and nothing scheduled to repair it');
  },
);
