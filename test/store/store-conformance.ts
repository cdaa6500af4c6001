/**
 * The store conformance suite: written once, run against every MailboxStore implementation
 * (embedded-store.test.ts, cassandra-store.test.ts). It proves the contract the cache node relies
 * on: version compare-and-set, idempotent re-sent commits, the orders of every list, the
 * idempotency index, and that a rejected commit changes nothing.
 */
import { randomUUID } from 'node:crypto';
import type { Test } from 'tap';
import { conversationIdOf, orderedPair, type Message } from '../../protocol/index.js';
import {
  StoreVersionConflictError,
  type ConversationRow,
  type MailboxStore,
  type MessageCommit,
} from '../../store-adapter/index.js';

export interface ConformanceTarget {
  name: string;
  open(): Promise<MailboxStore>;
}

/** A fresh user id per test, so tests never see each other's rows in a shared store. */
export function freshUser(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

export function messageCommit(
  ownerId: string,
  version: number,
  message: Message,
  unreadCount = 0,
): MessageCommit {
  const conversation: ConversationRow = {
    conversationId: message.conversationId,
    participants: orderedPair(message.senderId, message.recipientId),
    snippet: message.content.slice(0, 100),
    lastUpdatedTimestamp: message.sentAt,
    unreadCount,
    version,
  };
  return { kind: 'message', ownerId, version, commitId: randomUUID(), conversation, message };
}

export function makeMessage(
  senderId: string,
  recipientId: string,
  sentAt: number,
  content = `hello at ${sentAt}`,
): Message {
  return {
    messageId: randomUUID(),
    conversationId: conversationIdOf(senderId, recipientId),
    senderId,
    recipientId,
    content,
    clientMessageId: randomUUID(),
    sentAt,
  };
}

export function runStoreConformance(t: Test, target: ConformanceTarget): void {
  let store: MailboxStore;
  t.before(async () => {
    store = await target.open();
  });
  t.teardown(async () => {
    await store.close();
  });

  t.test('a new mailbox is at version 0 and empty', async (t) => {
    const user = freshUser('new');
    t.equal(await store.mailboxVersion(user), 0);
    t.same(await store.recentConversations(user, 10), []);
    t.equal(await store.conversation(user, conversationIdOf(user, 'zz')), undefined);
    t.equal(await store.messageByClientId(user, user, 'nope'), undefined);
  });

  t.test('a commit stores the message, the conversation row and the version', async (t) => {
    const [alice, bob] = [freshUser('a'), freshUser('b')];
    const message = makeMessage(alice, bob, 1_000, 'héllo 👋');
    await store.commit(messageCommit(alice, 1, message));
    t.equal(await store.mailboxVersion(alice), 1);
    t.equal(await store.mailboxVersion(bob), 0, 'no other mailbox changes');
    const page = await store.messagesPage(alice, message.conversationId, { limit: 10 });
    t.same(page, [{ ...message, version: 1 }]);
    const row = await store.conversation(alice, message.conversationId);
    t.equal(row?.snippet, 'héllo 👋');
    t.equal(row?.version, 1);
    t.same(await store.messageByClientId(alice, alice, message.clientMessageId), {
      ...message,
      version: 1,
    });
  });

  t.test(
    'the version is a compare-and-set: gaps and stale writers are refused and change nothing',
    async (t) => {
      const [alice, bob] = [freshUser('a'), freshUser('b')];
      await store.commit(messageCommit(alice, 1, makeMessage(alice, bob, 10)));
      const skipping = makeMessage(alice, bob, 20);
      await t.rejects(store.commit(messageCommit(alice, 3, skipping)), StoreVersionConflictError);
      const stale = makeMessage(alice, bob, 30);
      await t.rejects(
        store.commit(messageCommit(alice, 1, stale)),
        StoreVersionConflictError,
        'a second writer of version 1',
      );
      t.equal(await store.mailboxVersion(alice), 1);
      t.equal(await store.messageByClientId(alice, alice, skipping.clientMessageId), undefined);
      t.equal(await store.messageByClientId(alice, alice, stale.clientMessageId), undefined);
      t.equal((await store.messagesPage(alice, stale.conversationId, { limit: 10 })).length, 1);
    },
  );

  t.test('re-sending the same commit is a no-op success', async (t) => {
    const [alice, bob] = [freshUser('a'), freshUser('b')];
    const commit = messageCommit(alice, 1, makeMessage(alice, bob, 10));
    await store.commit(commit);
    await store.commit(commit);
    t.equal(await store.mailboxVersion(alice), 1);
    t.equal(
      (await store.messagesPage(alice, commit.message.conversationId, { limit: 10 })).length,
      1,
    );
  });

  t.test('messages page newest first, by sentAt bounds, without overlap', async (t) => {
    const [alice, bob] = [freshUser('a'), freshUser('b')];
    const sent: Message[] = [];
    for (let i = 1; i <= 25; i += 1) {
      const message =
        i % 2 === 0 ? makeMessage(alice, bob, 1_000 + i) : makeMessage(bob, alice, 1_000 + i);
      sent.push(message);
      await store.commit(messageCommit(alice, i, message));
    }
    const conversationId = conversationIdOf(alice, bob);
    const first = await store.messagesPage(alice, conversationId, { limit: 10 });
    t.same(
      first.map((m) => m.sentAt),
      [1025, 1024, 1023, 1022, 1021, 1020, 1019, 1018, 1017, 1016],
    );
    const second = await store.messagesPage(alice, conversationId, { limit: 10, sentBefore: 1016 });
    t.same(
      second.map((m) => m.sentAt),
      [1015, 1014, 1013, 1012, 1011, 1010, 1009, 1008, 1007, 1006],
    );
    const newer = await store.messagesPage(alice, conversationId, { limit: 100, sentAfter: 1022 });
    t.same(
      newer.map((m) => m.sentAt),
      [1025, 1024, 1023],
    );
    const window = await store.messagesPage(alice, conversationId, {
      limit: 100,
      sentAfter: 1002,
      sentBefore: 1005,
    });
    t.same(
      window.map((m) => m.sentAt),
      [1004, 1003],
    );
  });

  t.test(
    'messagesChangedAfter lists by version, including a late delivery with an old sentAt',
    async (t) => {
      const [alice, bob] = [freshUser('a'), freshUser('b')];
      await store.commit(messageCommit(alice, 1, makeMessage(alice, bob, 5_000)));
      await store.commit(messageCommit(alice, 2, makeMessage(bob, alice, 6_000)));
      const late = makeMessage(bob, alice, 4_000, 'late');
      await store.commit(messageCommit(alice, 3, late));
      const changes = await store.messagesChangedAfter(alice, late.conversationId, 1, 10);
      t.same(
        changes.map((m) => [m.version, m.sentAt]),
        [
          [2, 6_000],
          [3, 4_000],
        ],
      );
      t.same(
        (await store.messagesChangedAfter(alice, late.conversationId, 0, 2)).map((m) => m.version),
        [1, 2],
        'limit',
      );
    },
  );

  t.test(
    'conversations: most recent first, changed-after by version, reads update the row',
    async (t) => {
      const alice = freshUser('a');
      const peers = [freshUser('p'), freshUser('q'), freshUser('r')];
      let version = 0;
      for (const [index, peer] of peers.entries()) {
        version += 1;
        await store.commit(
          messageCommit(alice, version, makeMessage(peer, alice, 100 * (index + 1)), 1),
        );
      }
      const recent = await store.recentConversations(alice, 10);
      t.same(
        recent.map((row) => row.lastUpdatedTimestamp),
        [300, 200, 100],
      );
      t.same((await store.recentConversations(alice, 2)).length, 2);

      const first = recent[2];
      if (first === undefined) throw new Error('unreachable');
      version += 1;
      await store.commit({
        kind: 'read',
        ownerId: alice,
        version,
        commitId: randomUUID(),
        conversation: { ...first, unreadCount: 0, version },
      });
      const changed = await store.conversationsChangedAfter(alice, 2, 10);
      t.same(
        changed.map((row) => [row.conversationId, row.version, row.unreadCount]),
        [
          [recent[0]?.conversationId, 3, 1],
          [first.conversationId, 4, 0],
        ],
      );
      t.equal(await store.mailboxVersion(alice), 4);
    },
  );

  t.test('the idempotency index is per owner and per sender', async (t) => {
    const [alice, bob] = [freshUser('a'), freshUser('b')];
    const message = makeMessage(alice, bob, 10);
    await store.commit(messageCommit(alice, 1, message));
    await store.commit(messageCommit(bob, 1, message));
    t.equal(
      (await store.messageByClientId(bob, alice, message.clientMessageId))?.messageId,
      message.messageId,
    );
    t.equal(
      await store.messageByClientId(bob, bob, message.clientMessageId),
      undefined,
      'another sender',
    );
    t.equal(
      await store.messageByClientId(freshUser('c'), alice, message.clientMessageId),
      undefined,
      'another owner',
    );
  });

  t.test(
    'a clientMessageId used again (after the idempotency window) keeps both messages; the index answers the newest',
    async (t) => {
      const [alice, bob] = [freshUser('a'), freshUser('b')];
      const first = makeMessage(alice, bob, 10);
      const again = { ...makeMessage(alice, bob, 20), clientMessageId: first.clientMessageId };
      await store.commit(messageCommit(bob, 1, first));
      await store.commit(messageCommit(bob, 2, again));
      const page = await store.messagesPage(bob, first.conversationId, { limit: 10 });
      t.same(
        page.map((message) => message.messageId),
        [again.messageId, first.messageId],
        'both kept, newest first',
      );
      t.equal(
        (await store.messageByClientId(bob, alice, first.clientMessageId))?.messageId,
        again.messageId,
        'the newest',
      );
    },
  );

  t.test('content at the limit round-trips byte for byte', async (t) => {
    const [alice, bob] = [freshUser('a'), freshUser('b')];
    const content = '€'.repeat(21_845); // 65,535 UTF-8 bytes: the largest content the API accepts
    const message = makeMessage(alice, bob, 10, content);
    await store.commit(messageCommit(alice, 1, message));
    const [stored] = await store.messagesPage(alice, message.conversationId, { limit: 1 });
    t.equal(stored?.content, content);
  });
}
