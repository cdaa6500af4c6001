/**
 * The Cassandra commit protocol on a real Cassandra: one Paxos round per commit in the steady
 * state (counted with the store's stats() and a query observer), cold loads without a SERIAL read,
 * and a crash at every step boundary of a commit (after the compare-and-set, half-way through the
 * rows either way round, after the rows before the acknowledgement) leaving a state that a fresh
 * store instance reads exactly (its FIRST read of each kind sees the whole commit, never half) and
 * that the next commit from another instance, or a re-sent commit, completes.
 */
import t, { type Test } from 'tap';
import cassandra from 'cassandra-driver';
import { randomUUID } from 'node:crypto';
import { conversationIdOf, type Message } from '../../protocol/index.js';
import {
  openCassandraStore,
  parseCassandraOptions,
  StoreVersionConflictError,
  type CassandraStore,
  type CassandraStoreHooks,
  type MailboxCommit,
  type MessageCommit,
} from '../../store-adapter/index.js';
import {
  emptyCassandraStoreCounters,
  type CassandraStoreCounters,
  type QueryKind,
} from '../../store-adapter/cassandra/index.js';
import { BucketLayout } from '../../store-adapter/cassandra/buckets.js';
import { commitRows } from '../../store-adapter/cassandra/commit-rows.js';
import { cqlStatements } from '../../store-adapter/cassandra/statements.js';
import { cassandraTestKeyspace } from '../helpers/cassandra.js';
import { freshUser, makeMessage, messageCommit } from './store-conformance.js';

const cluster = await cassandraTestKeyspace(t, 'commits');
const options = parseCassandraOptions(cluster.storeOptions());
const statements = cqlStatements(cluster.keyspace);
const buckets = new BucketLayout(options);

/** Counts requests by kind and the sequential round trips of one operation running alone. */
class RoundTrips {
  inFlight = 0;
  roundTrips = 0;
  readonly started: Partial<Record<QueryKind, number>> = {};

  readonly observer = {
    started: (kind: QueryKind) => {
      if (this.inFlight === 0) this.roundTrips += 1;
      this.inFlight += 1;
      this.started[kind] = (this.started[kind] ?? 0) + 1;
    },
    finished: () => {
      this.inFlight -= 1;
    },
  };

  /** Runs `work` alone and returns its round trips and the store's counters it moved. */
  async measure(
    store: CassandraStore,
    work: () => Promise<unknown>,
  ): Promise<{ roundTrips: number; delta: CassandraStoreCounters }> {
    const before = store.stats().counters;
    const roundTripsBefore = this.roundTrips;
    await work();
    const after = store.stats().counters;
    const delta = Object.fromEntries(
      Object.entries(after).map(([key, value]) => [
        key,
        value - before[key as keyof CassandraStoreCounters],
      ]),
    ) as CassandraStoreCounters;
    return { roundTrips: this.roundTrips - roundTripsBefore, delta };
  }
}

async function open(hooks: CassandraStoreHooks = {}): Promise<CassandraStore> {
  return openCassandraStore(cluster.storeOptions(), hooks);
}

/** What a commit of `version` for `ownerId` sends, as the cache node builds it. */
function nextMessage(ownerId: string, peer: string, version: number): MessageCommit {
  return messageCommit(ownerId, version, makeMessage(peer, ownerId, version * 1_000), version);
}

/** The store's counters as it opens; a delta names only the counters it moved. */
const ZERO = emptyCassandraStoreCounters();

t.test(
  'the steady state: one Paxos round per commit, no SERIAL read, no roll-forward',
  async (t) => {
    const trips = new RoundTrips();
    const store = await open({ queryObserver: trips.observer });
    t.teardown(() => store.close());
    const [alice, bob] = [freshUser('a'), freshUser('b')];

    // The cold load of an unknown user: one read of the mailbox row, then the conversations.
    const load = await trips.measure(store, async () => {
      t.equal(await store.mailboxVersion(alice), 0);
      t.same(await store.recentConversations(alice, 10), []);
    });
    t.equal(load.delta.serialReads, 0, 'a cold load runs no SERIAL read');
    t.equal(load.delta.lwts, 0);

    const first = await trips.measure(store, () => store.commit(nextMessage(alice, bob, 1)));
    t.same(
      first.delta,
      { ...ZERO, requests: 3, lwts: 1, writes: 2 },
      'version 1: the LWT, the body and the batch',
    );
    t.equal(first.roundTrips, 2, 'version 1: two round trips (the LWT, then both writes at once)');

    for (let version = 2; version <= 5; version += 1) {
      const commit = nextMessage(alice, bob, version);
      const lookup = await trips.measure(store, () =>
        store.messageByClientId(alice, commit.message.senderId, commit.message.clientMessageId),
      );
      t.same(
        lookup.delta,
        { ...ZERO, requests: 2, reads: 2 },
        `version ${version}: the idempotency lookup is the index read beside the row's head`,
      );
      t.equal(lookup.roundTrips, 1);
      const sent = await trips.measure(store, () => store.commit(commit));
      t.same(
        sent.delta,
        { ...ZERO, requests: 3, lwts: 1, writes: 2 },
        `version ${version}: one LWT and the two row writes, no clear, no read`,
      );
      t.equal(sent.roundTrips, 2, `version ${version}: two sequential round trips`);
    }
    const row = await store.conversation(alice, conversationIdOf(alice, bob));
    if (row === undefined) throw new Error('the conversation row is missing');
    const read = await trips.measure(store, () =>
      store.commit({
        kind: 'read',
        ownerId: alice,
        version: 6,
        commitId: randomUUID(),
        conversation: { ...row, unreadCount: 0, version: 6 },
      }),
    );
    t.same(read.delta, { ...ZERO, requests: 2, lwts: 1, writes: 1 }, 'a read commit: LWT + batch');
    t.equal(await store.mailboxVersion(alice), 6);
    t.equal(trips.inFlight, 0);
  },
);

t.test(
  'a send, as a cache node runs it on warm mailboxes: 2 LWTs, 10 requests, 6 round trips',
  async (t) => {
    const trips = new RoundTrips();
    const store = await open({ queryObserver: trips.observer });
    t.teardown(() => store.close());
    const [alice, bob] = [freshUser('a'), freshUser('b')];
    // Both mailboxes loaded (the cold load) and written once, as on a warm node.
    for (const owner of [alice, bob]) {
      await store.mailboxVersion(owner);
      await store.commit(nextMessage(owner, owner === alice ? bob : alice, 1));
    }
    const message = makeMessage(alice, bob, 5_000);
    const send = await trips.measure(store, async () => {
      // Per mailbox (the sender's copy, then the recipient's): the idempotency lookup, the commit.
      for (const [owner, version] of [
        [alice, 2],
        [bob, 2],
      ] as const) {
        t.equal(await store.messageByClientId(owner, alice, message.clientMessageId), undefined);
        await store.commit(messageCommit(owner, version, message, owner === bob ? 1 : 0));
      }
    });
    t.same(send.delta, { ...ZERO, requests: 10, lwts: 2, reads: 4, writes: 4 });
    t.equal(send.roundTrips, 6);
  },
);

t.test(
  'a cold load by another process: no SERIAL read, one roll-forward of the stored commit, then none',
  async (t) => {
    const writer = await open();
    const trips = new RoundTrips();
    const loader = await open({ queryObserver: trips.observer });
    t.teardown(async () => {
      await Promise.all([writer.close(), loader.close()]);
    });
    const [alice, bob] = [freshUser('a'), freshUser('b')];
    for (let version = 1; version <= 3; version += 1)
      await writer.commit(nextMessage(alice, bob, version));

    const cold = await trips.measure(loader, async () => {
      t.equal(await loader.mailboxVersion(alice), 3);
      t.equal((await loader.recentConversations(alice, 10)).length, 1);
    });
    t.equal(cold.delta.serialReads, 0, 'no SERIAL read');
    t.equal(cold.delta.lwts, 0);
    t.equal(cold.delta.rollForwards, 1, 'the stored (last) commit is re-applied once');
    t.equal(cold.roundTrips, 3, 'the row, the roll-forward, the conversations (with the head)');

    const warm = await trips.measure(loader, () => loader.mailboxVersion(alice));
    t.same(warm.delta, { ...ZERO, requests: 1, reads: 1 }, 'then one small read');

    // The loader becomes the owner: its first commit needs no SERIAL read either.
    const next = await trips.measure(loader, () => loader.commit(nextMessage(alice, bob, 4)));
    t.same(next.delta, { ...ZERO, requests: 3, lwts: 1, writes: 2 });

    // The previous owner, which still believes it knows the mailbox, is fenced by the CAS.
    await t.rejects(writer.commit(nextMessage(alice, bob, 4)), StoreVersionConflictError);
    t.equal(await writer.mailboxVersion(alice), 4, 'and then reads the new owner’s commit');
  },
);

/** Where a commit's writer dies, and what it leaves behind. */
interface CrashPoint {
  name: string;
  /** Whether the rows of the commit are all written when it dies. */
  rowsComplete: boolean;
  hooks: CassandraStoreHooks;
}

/** Crash hooks fire once each time they are armed (crashedMailbox arms them for one commit). */
let armed = false;

function disarm(): boolean {
  const wasArmed = armed;
  armed = false;
  return wasArmed;
}

const crash = (where: string) => {
  throw new Error(`simulated crash ${where}`);
};

/** Writes part of a commit's rows behind the store's back, as a writer dying half-way would. */
async function writeSomeRows(commit: MailboxCommit, part: 'body' | 'batch'): Promise<void> {
  const { body, batch } = commitRows(statements, buckets, commit);
  const writeOptions = {
    prepare: true,
    consistency: cassandra.types.consistencies.quorum,
    timestamp: commit.version,
  };
  if (part === 'body' && body !== undefined) {
    await cluster.client.execute(body.query, body.params, writeOptions);
  }
  if (part === 'batch') await cluster.client.batch(batch, { ...writeOptions, logged: false });
}

const CRASH_POINTS: CrashPoint[] = [
  {
    name: 'after the compare-and-set, before any row',
    rowsComplete: false,
    hooks: { afterIntentDurable: () => (disarm() ? crash('after the CAS') : undefined) },
  },
  {
    name: 'after the message body, before the batch',
    rowsComplete: false,
    hooks: {
      afterIntentDurable: async (commit) => {
        if (!disarm()) return;
        await writeSomeRows(commit, 'body');
        crash('after the body');
      },
    },
  },
  {
    name: 'after the batch, before the message body',
    rowsComplete: false,
    hooks: {
      afterIntentDurable: async (commit) => {
        if (!disarm()) return;
        await writeSomeRows(commit, 'batch');
        crash('after the batch');
      },
    },
  },
  {
    name: 'after all the rows, before the acknowledgement',
    rowsComplete: true,
    hooks: { afterRowsWritten: () => (disarm() ? crash('after the rows') : undefined) },
  },
];

/** Reads, each of which must be the FIRST operation a fresh process runs on its user. */
const FIRST_READS = [
  'mailboxVersion',
  'recentConversations',
  'conversation',
  'conversationsChangedAfter',
  'messagesPage',
  'messagesChangedAfter',
  'messageByClientId',
] as const;

/** Two committed messages, then a third whose writer (`crashing`) dies at its crash point. */
async function crashedMailbox(
  store: CassandraStore,
  crashing: CassandraStore,
): Promise<{ owner: string; kept: MessageCommit[]; lost: MessageCommit }> {
  const [owner, peer] = [freshUser('o'), freshUser('p')];
  const kept = [nextMessage(owner, peer, 1), nextMessage(owner, peer, 2)];
  for (const commit of kept) await store.commit(commit);
  const lost = nextMessage(owner, peer, 3);
  armed = true;
  await crashing.commit(lost).then(
    () => {
      throw new Error('the crash hook did not fire');
    },
    (error: Error) => {
      if (!/simulated crash/.test(error.message)) throw error;
    },
  );
  return { owner, kept, lost };
}

/** Every read of `reader` shows exactly `commits`, the last one whole. */
async function expectExactly(
  t: Test,
  reader: CassandraStore,
  owner: string,
  commits: MessageCommit[],
): Promise<void> {
  const last = commits.at(-1)!;
  const { conversationId } = last.message;
  t.equal(await reader.mailboxVersion(owner), last.version, 'the version');
  t.same(
    (await reader.messagesPage(owner, conversationId, { limit: 100 })).map((m) => m.messageId),
    commits.map((c) => c.message.messageId).reverse(),
    'every message once, newest first',
  );
  t.same(
    (await reader.messagesChangedAfter(owner, conversationId, 0, 100)).map((m) => m.version),
    commits.map((c) => c.version),
  );
  t.same(await reader.conversationsChangedAfter(owner, 0, 100), [last.conversation]);
  t.same(await reader.recentConversations(owner, 10), [last.conversation]);
  const found = await reader.messageByClientId(
    owner,
    last.message.senderId,
    last.message.clientMessageId,
  );
  t.equal(found?.messageId, last.message.messageId);
}

/** The first read of one kind by a process that never saw the owner: the whole last commit. */
async function firstRead(
  t: Test,
  reader: CassandraStore,
  kind: (typeof FIRST_READS)[number],
  owner: string,
  lost: MessageCommit,
): Promise<void> {
  const { conversationId, senderId, clientMessageId, messageId } = lost.message;
  const label = `${kind}, the first read, sees the whole commit`;
  switch (kind) {
    case 'mailboxVersion':
      t.equal(await reader.mailboxVersion(owner), 3, label);
      t.same(
        (await reader.messagesPage(owner, conversationId, { limit: 1 }))[0]?.messageId,
        messageId,
        'and its rows are there',
      );
      return;
    case 'recentConversations':
      t.same(await reader.recentConversations(owner, 10), [lost.conversation], label);
      return;
    case 'conversation':
      t.same(await reader.conversation(owner, conversationId), lost.conversation, label);
      return;
    case 'conversationsChangedAfter':
      t.same(await reader.conversationsChangedAfter(owner, 2, 10), [lost.conversation], label);
      return;
    case 'messagesPage':
      t.same(
        (await reader.messagesPage(owner, conversationId, { limit: 10 })).map((m) => m.version),
        [3, 2, 1],
        label,
      );
      return;
    case 'messagesChangedAfter':
      t.same(
        (await reader.messagesChangedAfter(owner, conversationId, 2, 10)).map((m) => m.messageId),
        [messageId],
        label,
      );
      return;
    case 'messageByClientId':
      t.equal(
        (await reader.messageByClientId(owner, senderId, clientMessageId))?.messageId,
        messageId,
        label,
      );
      return;
  }
}

for (const point of CRASH_POINTS) {
  t.test(`a writer that dies ${point.name}`, async (t) => {
    const store = await open();
    const crashing = await open(point.hooks);
    t.teardown(async () => {
      await Promise.all([store.close(), crashing.close()]);
    });

    t.test('each first read of a fresh process sees the whole commit, never half', async (t) => {
      const mailboxes = [];
      for (const kind of FIRST_READS)
        mailboxes.push({ kind, ...(await crashedMailbox(store, crashing)) });
      const reader = await open();
      t.teardown(() => reader.close());
      for (const { kind, owner, lost } of mailboxes) await firstRead(t, reader, kind, owner, lost);
      for (const { owner, kept, lost } of mailboxes)
        await expectExactly(t, reader, owner, [...kept, lost]);
    });

    t.test('the next commit from another fresh process completes it first', async (t) => {
      const { owner, kept, lost } = await crashedMailbox(store, crashing);
      const next = await open();
      t.teardown(() => next.close());
      const after = nextMessage(owner, lost.message.senderId, 4);
      const before = next.stats().counters;
      await next.commit(after);
      const stats = next.stats().counters;
      t.equal(stats.serialReads - before.serialReads, 1, 'one SERIAL read: it knew nothing');
      t.equal(stats.lwts - before.lwts, 1);
      t.equal(stats.rollForwards - before.rollForwards, 1, 'the dead writer’s commit re-applied');
      const fresh = await open();
      t.teardown(() => fresh.close());
      await expectExactly(t, fresh, owner, [...kept, lost, after]);
    });

    t.test('the process itself, living on after the failure, completes it first', async (t) => {
      // (A STORE_UNAVAILABLE from the rows leaves the process running, not knowing them settled.)
      const { owner, kept, lost } = await crashedMailbox(store, crashing);
      const after = nextMessage(owner, lost.message.senderId, 4);
      const before = crashing.stats().counters;
      await crashing.commit(after);
      const stats = crashing.stats().counters;
      t.equal(stats.serialReads - before.serialReads, 1, 'one SERIAL read');
      t.equal(stats.rollForwards - before.rollForwards, 1, 'its own commit re-applied');
      await expectExactly(t, store, owner, [...kept, lost, after]);
    });

    t.test(
      're-sending the commit succeeds and completes it; a different commit at its version conflicts',
      async (t) => {
        const { owner, kept, lost } = await crashedMailbox(store, crashing);
        const other = await open();
        t.teardown(() => other.close());
        await t.rejects(other.commit(nextMessage(owner, lost.message.senderId, 3)), {
          code: 'STORE_VERSION_CONFLICT',
        });
        await other.commit(lost);
        await other.commit(lost);
        const fresh = await open();
        t.teardown(() => fresh.close());
        await expectExactly(t, fresh, owner, [...kept, lost]);
        t.equal(
          await messageRowCount(owner, lost.message),
          1,
          point.rowsComplete ? 'one row, as written' : 'one row, rolled forward',
        );
      },
    );
  });
}

t.test(
  'a row whose intent an older release cleared is settled as it stands; an old intent rolls forward',
  async (t) => {
    const store = await open();
    t.teardown(() => store.close());
    const [alice, bob] = [freshUser('a'), freshUser('b')];
    const first = nextMessage(alice, bob, 1);
    await store.commit(first);
    // What the previous release left after its second LWT: the same row, the intent cleared.
    await cluster.client.execute(
      `UPDATE ${cluster.keyspace}.mailboxes SET pending_commit = null WHERE owner_id = ? IF version = ? AND last_commit_id = ?`,
      [alice, 1, first.commitId],
      { prepare: true },
    );
    const next = await open();
    t.teardown(() => next.close());
    const before = next.stats().counters;
    t.equal(await next.mailboxVersion(alice), 1);
    t.equal(next.stats().counters.rollForwards - before.rollForwards, 0, 'nothing to roll forward');
    const second = nextMessage(alice, bob, 2);
    await next.commit(second);
    await expectExactly(t, store, alice, [first, second]);
  },
);

t.test('two processes committing in turn each settle the other’s last commit first', async (t) => {
  // A handoff back and forth without a load in between: each commit finds a commit it does not
  // know settled, reads the row at SERIAL and rolls it forward before its compare-and-set.
  const [one, two] = await Promise.all([open(), open()]);
  t.teardown(async () => {
    await Promise.all([one.close(), two.close()]);
  });
  const [alice, bob] = [freshUser('a'), freshUser('b')];
  const commits: MessageCommit[] = [];
  for (let version = 1; version <= 6; version += 1) {
    const writer = version % 2 === 0 ? two : one;
    const before = writer.stats().counters;
    const commit = nextMessage(alice, bob, version);
    await writer.commit(commit);
    commits.push(commit);
    const stats = writer.stats().counters;
    t.equal(stats.lwts - before.lwts, 1, `version ${version}: one LWT`);
    t.equal(
      stats.serialReads - before.serialReads,
      version === 1 ? 0 : 1,
      `version ${version}: ${version === 1 ? 'no SERIAL read' : 'one SERIAL read'}`,
    );
  }
  const fresh = await open();
  t.teardown(() => fresh.close());
  await expectExactly(t, fresh, alice, commits);
  await expectExactly(t, one, alice, commits);
  await expectExactly(t, two, alice, commits);
});

async function messageRowCount(ownerId: string, message: Message): Promise<number> {
  const result = await cluster.client.execute(
    `SELECT message_id FROM ${cluster.keyspace}.messages WHERE owner_id = ? AND conversation_id = ? AND sent_bucket = ? AND sent_at = ?`,
    [ownerId, message.conversationId, buckets.sentBucket(message.sentAt), message.sentAt],
    { prepare: true, consistency: cassandra.types.consistencies.quorum },
  );
  return result.rows.length;
}
