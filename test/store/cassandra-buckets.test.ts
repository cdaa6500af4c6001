/**
 * What the Cassandra store's partitioning must not break, with bucket widths tiny enough that
 * every list crosses many partitions: message pages across time buckets (newest first, no gap, no
 * overlap, with sentBefore and sentAfter, over empty stretches of time), the cursor's change logs
 * across version buckets, and the write-ahead intent: a commit whose writer died between the
 * compare-and-set and its rows becomes fully visible exactly once, and a paused writer that wakes
 * up later cannot overwrite newer rows.
 *
 * Every answer is checked against a plain in-memory model of the mailbox.
 */
import t, { type Test } from 'tap';
import cassandra from 'cassandra-driver';
import { randomUUID } from 'node:crypto';
import { conversationIdOf, type Message } from '../../protocol/index.js';
import {
  openCassandraStore,
  type ConversationRow,
  type MailboxCommit,
  type MailboxStore,
  type StoredMessage,
} from '../../store-adapter/index.js';
import { cassandraTestKeyspace } from '../helpers/cassandra.js';
import { freshUser, makeMessage, messageCommit } from './store-conformance.js';

/** 10 ms per message partition and 3 versions per change-log partition: everything crosses buckets. */
const TINY_BUCKETS = { messageBucketMs: 10, versionsPerBucket: 3 };

const cluster = await cassandraTestKeyspace(t, 'buckets');
const store = await openCassandraStore(cluster.storeOptions(TINY_BUCKETS));
t.teardown(() => store.close());

/** A seeded generator, so a failing case replays exactly. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1_664_525 + 1_013_904_223) >>> 0;
    return state / 2 ** 32;
  };
}

/** The mailbox as the contract describes it: what every store answer is compared with. */
class MailboxModel {
  readonly messages: StoredMessage[] = [];
  readonly conversations = new Map<string, ConversationRow>();
  version = 0;

  apply(commit: MailboxCommit): void {
    this.version = commit.version;
    this.conversations.set(commit.conversation.conversationId, commit.conversation);
    if (commit.kind === 'message')
      this.messages.push({ ...commit.message, version: commit.version });
  }

  page(
    conversationId: string,
    limit: number,
    sentBefore = Infinity,
    sentAfter = -Infinity,
  ): number[] {
    return this.messages
      .filter(
        (m) => m.conversationId === conversationId && m.sentAt < sentBefore && m.sentAt > sentAfter,
      )
      .map((m) => m.sentAt)
      .sort((a, b) => b - a)
      .slice(0, limit);
  }

  messagesChangedAfter(conversationId: string, afterVersion: number, limit: number): number[] {
    return this.messages
      .filter((m) => m.conversationId === conversationId && m.version > afterVersion)
      .map((m) => m.version)
      .sort((a, b) => a - b)
      .slice(0, limit);
  }

  conversationsChangedAfter(afterVersion: number, limit: number): ConversationRow[] {
    return [...this.conversations.values()]
      .filter((row) => row.version > afterVersion)
      .sort((a, b) => a.version - b.version)
      .slice(0, limit);
  }

  recent(limit: number): ConversationRow[] {
    return [...this.conversations.values()]
      .sort(
        (a, b) =>
          b.lastUpdatedTimestamp - a.lastUpdatedTimestamp ||
          (a.conversationId < b.conversationId ? -1 : 1),
      )
      .slice(0, limit);
  }
}

async function commitBoth(
  model: MailboxModel,
  commit: MailboxCommit,
  target: MailboxStore = store,
): Promise<void> {
  await target.commit(commit);
  model.apply(commit);
}

function readCommit(ownerId: string, version: number, row: ConversationRow): MailboxCommit {
  return {
    kind: 'read',
    ownerId,
    version,
    commitId: randomUUID(),
    conversation: { ...row, unreadCount: 0, version },
  };
}

t.test(
  'a wide conversation pages newest first across time buckets, with no gap and no overlap',
  async (t) => {
    const random = seededRandom(7);
    const [alice, bob] = [freshUser('a'), freshUser('b')];
    const model = new MailboxModel();
    // 150 messages: mostly 1-25 ms apart (0-2 buckets), with a few long silences of many empty buckets.
    let sentAt = 1_000_000;
    for (let version = 1; version <= 150; version += 1) {
      sentAt += version % 40 === 0 ? 5_000 : 1 + Math.floor(random() * 25);
      const message =
        random() < 0.5 ? makeMessage(alice, bob, sentAt) : makeMessage(bob, alice, sentAt);
      await commitBoth(model, messageCommit(alice, version, message));
    }
    const conversationId = conversationIdOf(alice, bob);

    const walked: number[] = [];
    let sentBefore: number | undefined;
    for (;;) {
      const page = await store.messagesPage(alice, conversationId, {
        limit: 13,
        ...(sentBefore === undefined ? {} : { sentBefore }),
      });
      if (page.length === 0) break;
      walked.push(...page.map((m) => m.sentAt));
      sentBefore = page[page.length - 1]?.sentAt;
    }
    t.same(
      walked,
      model.page(conversationId, Infinity),
      'paging back with sentBefore visits every message once, newest first',
    );

    // Random windows, including bounds that fall exactly on bucket edges and on message times.
    const all = model.page(conversationId, Infinity);
    for (let i = 0; i < 40; i += 1) {
      const pick = () =>
        random() < 0.5
          ? (all[Math.floor(random() * all.length)] ?? 0)
          : Math.floor((1_000_000 + random() * 30_000) / 10) * 10;
      const [low, high] = [pick(), pick()].sort((a, b) => a - b) as [number, number];
      const limit = 1 + Math.floor(random() * 30);
      const window = await store.messagesPage(alice, conversationId, {
        limit,
        sentAfter: low,
        sentBefore: high,
      });
      t.same(
        window.map((m) => m.sentAt),
        model.page(conversationId, limit, high, low),
        `window (${low}, ${high}) limit ${limit}`,
      );
      const newer = await store.messagesPage(alice, conversationId, { limit, sentAfter: low });
      t.same(
        newer.map((m) => m.sentAt),
        model.page(conversationId, limit, Infinity, low),
        `after ${low} limit ${limit}`,
      );
    }

    // Paging forward in time: consecutive 200 ms windows (each `sentAfter` the previous window's end).
    const forward: number[] = [];
    const [newest = 0, oldest = 0] = [all[0], all[all.length - 1]];
    for (let after = oldest - 1; after < newest; after += 200) {
      const page = await store.messagesPage(alice, conversationId, {
        limit: 500,
        sentAfter: after,
        sentBefore: after + 201,
      });
      forward.push(...page.map((m) => m.sentAt).reverse());
    }
    t.same(
      forward,
      [...all].reverse(),
      'forward windows with sentAfter cover every message once, oldest to newest',
    );

    t.same(
      await store.messagesPage(alice, conversationId, { limit: 5, sentAfter: 10, sentBefore: 11 }),
      [],
      'an empty window',
    );
    t.same(
      await store.messagesPage(alice, conversationId, { limit: 5, sentBefore: 1_000_000 }),
      [],
      'before everything',
    );
  },
);

t.test(
  'changed-after lists cross version buckets, skipping superseded conversation changes',
  async (t) => {
    const random = seededRandom(11);
    const alice = freshUser('a');
    const peers = [freshUser('p'), freshUser('q'), freshUser('r'), freshUser('s')];
    const model = new MailboxModel();
    let sentAt = 5_000;
    for (let version = 1; version <= 40; version += 1) {
      const peer = peers[Math.floor(random() * peers.length)] ?? 'unreachable';
      const existing = model.conversations.get(conversationIdOf(alice, peer));
      sentAt += 1 + Math.floor(random() * 20);
      if (existing !== undefined && random() < 0.25) {
        await commitBoth(model, readCommit(alice, version, existing));
      } else {
        const message =
          random() < 0.5 ? makeMessage(alice, peer, sentAt) : makeMessage(peer, alice, sentAt);
        await commitBoth(model, messageCommit(alice, version, message, Math.floor(random() * 5)));
      }
    }
    // A late delivery: an old sentAt, the newest version.
    const latePeer = peers[0] ?? 'unreachable';
    await commitBoth(
      model,
      messageCommit(alice, 41, makeMessage(latePeer, alice, 4_000, 'late'), 1),
    );

    for (const peer of peers) {
      const conversationId = conversationIdOf(alice, peer);
      for (let afterVersion = 0; afterVersion <= 41; afterVersion += 1) {
        for (const limit of [1, 2, 5, 100]) {
          const changes = await store.messagesChangedAfter(
            alice,
            conversationId,
            afterVersion,
            limit,
          );
          const expected = model.messagesChangedAfter(conversationId, afterVersion, limit);
          if (
            !same(
              changes.map((m) => m.version),
              expected,
            )
          ) {
            t.same(
              changes.map((m) => m.version),
              expected,
              `messages of ${peer} after ${afterVersion} limit ${limit}`,
            );
          }
        }
      }
    }
    t.pass('messagesChangedAfter matches the model for every version and limit');

    for (let afterVersion = 0; afterVersion <= 41; afterVersion += 1) {
      for (const limit of [1, 2, 3, 100]) {
        const changed = await store.conversationsChangedAfter(alice, afterVersion, limit);
        const expected = model.conversationsChangedAfter(afterVersion, limit);
        if (!same(changed, expected))
          t.same(changed, expected, `conversations after ${afterVersion} limit ${limit}`);
      }
    }
    t.pass(
      'conversationsChangedAfter matches the model for every version and limit (walked and scanned)',
    );
    t.same(
      await store.recentConversations(alice, 100),
      model.recent(100),
      'recent conversations, most recent first',
    );
    t.same(
      await store.recentConversations(alice, 2),
      model.recent(2),
      'recent conversations, limited',
    );
  },
);

t.test(
  'a commit whose writer died after the compare-and-set becomes visible exactly once',
  async (t) => {
    const crashing = await openCassandraStore(cluster.storeOptions(TINY_BUCKETS), {
      afterIntentDurable: () => {
        throw new Error('simulated crash between the LWT and the batch');
      },
    });
    t.teardown(() => crashing.close());

    t.test('a reader rolls it forward', async (t) => {
      const [alice, bob] = [freshUser('a'), freshUser('b')];
      const model = new MailboxModel();
      await commitBoth(model, messageCommit(alice, 1, makeMessage(alice, bob, 100)));
      const lost = messageCommit(alice, 2, makeMessage(bob, alice, 200), 1);
      await t.rejects(crashing.commit(lost), /simulated crash/);
      t.equal(await pendingIntentVersion(alice), 2, 'the intent is durable');
      t.equal(await messageRowCount(alice, lost.message), 0, 'no row of the commit was written');

      const page = await store.messagesPage(alice, lost.message.conversationId, { limit: 10 });
      t.same(
        page.map((m) => m.sentAt),
        [200, 100],
        'the first read sees the whole commit',
      );
      t.equal(
        await pendingIntentVersion(alice),
        2,
        'the row keeps the last commit as its intent (the next commit replaces it)',
      );
      model.apply(lost);
      await expectExactly(t, model, alice, lost.message);
    });

    t.test('the next commit rolls it forward before applying itself', async (t) => {
      const [alice, bob] = [freshUser('a'), freshUser('b')];
      const model = new MailboxModel();
      const lost = messageCommit(alice, 1, makeMessage(alice, bob, 100));
      await t.rejects(crashing.commit(lost), /simulated crash/);
      model.apply(lost);
      await commitBoth(model, messageCommit(alice, 2, makeMessage(bob, alice, 200)));
      await expectExactly(t, model, alice, lost.message);
    });

    t.test(
      're-sending the same commit is a success that completes it; another commit at its version conflicts',
      async (t) => {
        const [alice, bob] = [freshUser('a'), freshUser('b')];
        const model = new MailboxModel();
        const lost = messageCommit(alice, 1, makeMessage(alice, bob, 100));
        await t.rejects(crashing.commit(lost), /simulated crash/);
        await t.rejects(store.commit(messageCommit(alice, 1, makeMessage(alice, bob, 150))), {
          code: 'STORE_VERSION_CONFLICT',
        });
        await store.commit(lost);
        model.apply(lost);
        t.equal(await messageRowCount(alice, lost.message), 1, 'the re-sent commit wrote the rows');
        await store.commit(lost);
        await expectExactly(t, model, alice, lost.message);
      },
    );

    t.test(
      'mailboxVersion rolls it forward, so a loader never counts a version it cannot read',
      async (t) => {
        const [alice, bob] = [freshUser('a'), freshUser('b')];
        const lost = messageCommit(alice, 1, makeMessage(alice, bob, 100));
        await t.rejects(crashing.commit(lost), /simulated crash/);
        t.equal(await store.mailboxVersion(alice), 1);
        t.equal(await messageRowCount(alice, lost.message), 1);
      },
    );
  },
);

t.test(
  'a paused writer that wakes after others moved on cannot overwrite newer rows',
  async (t) => {
    let release: () => void = () => undefined;
    let paused: () => void = () => undefined;
    const pausedAtIntent = new Promise<void>((resolve) => (paused = resolve));
    const sleeping = await openCassandraStore(cluster.storeOptions(TINY_BUCKETS), {
      afterIntentDurable: () => {
        paused();
        return new Promise<void>((resolve) => (release = resolve));
      },
    });
    t.teardown(() => sleeping.close());
    const [alice, bob] = [freshUser('a'), freshUser('b')];
    const model = new MailboxModel();
    const first = messageCommit(alice, 1, makeMessage(alice, bob, 100, 'first'));
    const stalled = sleeping.commit(first);
    await pausedAtIntent;
    // Meanwhile the new owner loads the mailbox (finishing `first`) and commits over the same row.
    t.equal(await store.mailboxVersion(alice), 1);
    model.apply(first);
    await commitBoth(model, messageCommit(alice, 2, makeMessage(bob, alice, 200, 'second'), 1));
    release();
    await stalled;
    const row = await store.conversation(alice, first.message.conversationId);
    t.equal(row?.snippet, 'second', 'the late rewrite of version 1 did not win over version 2');
    t.equal(row?.version, 2);
    await expectExactly(t, model, alice, first.message);
  },
);

/** Every read of the store agrees with the model, and `message` is stored exactly once. */
async function expectExactly(
  t: Test,
  model: MailboxModel,
  ownerId: string,
  message: Message,
): Promise<void> {
  const { conversationId } = message;
  t.equal(await store.mailboxVersion(ownerId), model.version, 'mailbox version');
  t.same(
    (await store.messagesPage(ownerId, conversationId, { limit: 100 })).map((m) => m.sentAt),
    model.page(conversationId, 100),
  );
  t.same(
    (await store.messagesChangedAfter(ownerId, conversationId, 0, 100)).map((m) => m.version),
    model.messagesChangedAfter(conversationId, 0, 100),
  );
  t.same(
    await store.conversationsChangedAfter(ownerId, 0, 100),
    model.conversationsChangedAfter(0, 100),
  );
  t.same(await store.recentConversations(ownerId, 100), model.recent(100));
  t.equal(
    (await store.messageByClientId(ownerId, message.senderId, message.clientMessageId))?.messageId,
    message.messageId,
  );
  t.equal(await messageRowCount(ownerId, message), 1, 'one row for the message');
}

async function pendingIntentVersion(ownerId: string): Promise<number | undefined> {
  const result = await cluster.client.execute(
    `SELECT pending_commit FROM ${cluster.keyspace}.mailboxes WHERE owner_id = ?`,
    [ownerId],
    { prepare: true, consistency: cassandra.types.consistencies.serial },
  );
  const pending = result.first()?.get('pending_commit') as string | null | undefined;
  return pending === null || pending === undefined
    ? undefined
    : (JSON.parse(pending) as MailboxCommit).version;
}

async function messageRowCount(ownerId: string, message: Message): Promise<number> {
  const bucket =
    Math.floor(message.sentAt / TINY_BUCKETS.messageBucketMs) * TINY_BUCKETS.messageBucketMs;
  const result = await cluster.client.execute(
    `SELECT message_id FROM ${cluster.keyspace}.messages WHERE owner_id = ? AND conversation_id = ? AND sent_bucket = ? AND sent_at = ?`,
    [ownerId, message.conversationId, bucket, message.sentAt],
    { prepare: true, consistency: cassandra.types.consistencies.quorum },
  );
  return result.rows.length;
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
