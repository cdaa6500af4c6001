/**
 * Group commit on the embedded store: concurrent commits of one process share a transaction (one
 * fsync), bounded by groupCommitMaxCommits; each commit keeps its own compare-and-set outcome;
 * processes sharing the file fence each other; an acknowledged commit survives kill -9.
 */
import t from 'tap';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { conversationIdOf } from '../../protocol/index.js';
import {
  EmbeddedStore,
  GROUP_COMMIT_MAX_COMMITS_MAX,
  GROUP_COMMIT_WAIT_MS_MAX,
  StoreVersionConflictError,
  type MailboxCommit,
  type StoreStats,
} from '../../store-adapter/index.js';
import { spawnTypeScript } from '../helpers/typescript-child.js';
import { freshUser, makeMessage, messageCommit } from './store-conformance.js';

const directory = t.testdir();
const CHILD = fileURLToPath(new URL('./embedded-writer-child.ts', import.meta.url));

function openStore(name: string, options: { groupCommitMaxCommits?: number } = {}) {
  return new EmbeddedStore({ path: join(directory, `${name}.sqlite`), ...options });
}

function firstCommits(count: number): MailboxCommit[] {
  return Array.from({ length: count }, (_, index) => {
    const [owner, peer] = [freshUser('o'), freshUser('p')];
    return messageCommit(owner, 1, makeMessage(peer, owner, 1_000 + index));
  });
}

t.test('concurrent commits of one process land in fewer transactions than commits', async (t) => {
  const store = openStore('many');
  t.teardown(() => store.close());
  const commits = firstCommits(200);
  await Promise.all(commits.map((commit) => store.commit(commit)));
  const { counters, gauges } = store.stats();
  t.equal(counters.commits, 200);
  t.equal(counters.commitsApplied, 200);
  t.equal(counters.transactions, 4, '200 commits in batches of at most 64: 64 + 64 + 64 + 8');
  t.same(gauges, { batchSizeMax: 64, queued: 0 }, 'the high-water mark and the queue are gauges');
  for (const commit of commits) t.equal(await store.mailboxVersion(commit.ownerId), 1);
});

t.test('the batch bound is respected at the limit and one past it', async (t) => {
  const store = openStore('bound', { groupCommitMaxCommits: 8 });
  t.teardown(() => store.close());
  await Promise.all(firstCommits(8).map((commit) => store.commit(commit)));
  t.match(
    store.stats(),
    { counters: { transactions: 1 }, gauges: { batchSizeMax: 8 } },
    'exactly the limit: one transaction',
  );
  await Promise.all(firstCommits(9).map((commit) => store.commit(commit)));
  t.match(
    store.stats(),
    { counters: { transactions: 3, commitsApplied: 17 }, gauges: { batchSizeMax: 8 } },
    '9: 8 + 1',
  );

  const unbatched = openStore('unbatched', { groupCommitMaxCommits: 1 });
  t.teardown(() => unbatched.close());
  await Promise.all(firstCommits(5).map((commit) => unbatched.commit(commit)));
  t.match(
    unbatched.stats(),
    { counters: { transactions: 5 }, gauges: { batchSizeMax: 1 } },
    '1 turns group commit off',
  );
});

t.test('group commit options are checked at their limits', async (t) => {
  const path = join(directory, 'limits.sqlite');
  for (const groupCommitMaxCommits of [0, GROUP_COMMIT_MAX_COMMITS_MAX + 1, 1.5])
    t.throws(() => new EmbeddedStore({ path, groupCommitMaxCommits }), { code: 'INVALID_OPTION' });
  for (const groupCommitWaitMs of [-1, GROUP_COMMIT_WAIT_MS_MAX + 1])
    t.throws(() => new EmbeddedStore({ path, groupCommitWaitMs }), { code: 'INVALID_OPTION' });
  const widest = new EmbeddedStore({
    path,
    groupCommitMaxCommits: GROUP_COMMIT_MAX_COMMITS_MAX,
    groupCommitWaitMs: GROUP_COMMIT_WAIT_MS_MAX,
  });
  t.teardown(() => widest.close());
  const started = performance.now();
  await Promise.all(firstCommits(3).map((commit) => widest.commit(commit)));
  t.ok(performance.now() - started >= GROUP_COMMIT_WAIT_MS_MAX - 1, 'the batch waited for others');
  t.match(widest.stats(), { counters: { transactions: 1 }, gauges: { batchSizeMax: 3 } });
});

t.test('a conflict in a batch fails that commit only; the others are applied', async (t) => {
  const store = openStore('conflicts');
  t.teardown(() => store.close());
  const [alice, bob, carol, dave] = ['a', 'b', 'c', 'd'].map(freshUser) as [
    string,
    string,
    string,
    string,
  ];
  await store.commit(messageCommit(dave, 1, makeMessage(alice, dave, 1)));
  const before = store.stats().counters.transactions;
  const gap = messageCommit(bob, 3, makeMessage(alice, bob, 2));
  const stale = messageCommit(dave, 1, makeMessage(alice, dave, 3));
  const results = await Promise.allSettled([
    store.commit(messageCommit(alice, 1, makeMessage(bob, alice, 4))),
    store.commit(gap),
    store.commit(messageCommit(carol, 1, makeMessage(alice, carol, 5))),
    store.commit(stale),
    store.commit(messageCommit(dave, 2, makeMessage(alice, dave, 6))),
  ]);
  t.same(
    results.map((result) => result.status),
    ['fulfilled', 'rejected', 'fulfilled', 'rejected', 'fulfilled'],
  );
  for (const index of [1, 3]) {
    const result = results[index];
    t.ok(
      result?.status === 'rejected' && result.reason instanceof StoreVersionConflictError,
      `commit ${index} got its own StoreVersionConflictError`,
    );
  }
  t.equal(store.stats().counters.transactions, before + 1, 'all five went in one transaction');
  t.equal(store.stats().counters.conflicts, 2);
  t.equal(await store.mailboxVersion(alice), 1);
  t.equal(await store.mailboxVersion(bob), 0, 'the refused commit changed nothing');
  t.equal(await store.mailboxVersion(carol), 1);
  t.equal(await store.mailboxVersion(dave), 2);
  t.equal(await store.messageByClientId(bob, alice, gap.message.clientMessageId), undefined);
  t.equal(await store.messageByClientId(dave, alice, stale.message.clientMessageId), undefined);
});

t.test('a commit failing half-way is rolled back alone (its own savepoint)', async (t) => {
  const store = openStore('savepoints');
  t.teardown(() => store.close());
  const [good, broken] = firstCommits(2) as [MailboxCommit, MailboxCommit];
  // The conversation row is written before the message, whose content cannot be bound.
  if (broken.kind === 'message')
    (broken.message as { content: unknown }).content = { not: 'a string' };
  const results = await Promise.allSettled([store.commit(good), store.commit(broken)]);
  t.equal(results[0]?.status, 'fulfilled');
  t.equal(results[1]?.status, 'rejected');
  t.equal(store.stats().counters.transactions, 1);
  t.match(store.stats().counters, { commitsFailed: 1, commitsApplied: 1 });
  t.equal(await store.mailboxVersion(broken.ownerId), 0);
  t.equal(await store.conversation(broken.ownerId, broken.conversation.conversationId), undefined);
  t.equal(await store.mailboxVersion(good.ownerId), 1);
});

t.test('commits to one owner in one batch apply in order, as if one after another', async (t) => {
  const store = openStore('order');
  t.teardown(() => store.close());
  const [alice, bob] = [freshUser('a'), freshUser('b')];
  const commits = [1, 2, 3].map((v) => messageCommit(alice, v, makeMessage(bob, alice, v)));
  await Promise.all(commits.map((commit) => store.commit(commit)));
  t.equal(await store.mailboxVersion(alice), 3);
  t.equal(store.stats().counters.transactions, 1);

  const [five, four] = [5, 4].map((v) => messageCommit(alice, v, makeMessage(bob, alice, v)));
  if (five === undefined || four === undefined) throw new Error('unreachable');
  const results = await Promise.allSettled([store.commit(five), store.commit(four)]);
  t.same(
    results.map((result) => result.status),
    ['rejected', 'fulfilled'],
    'version 5 queued before 4 is refused, as it would be applied alone',
  );
  t.equal(await store.mailboxVersion(alice), 4);

  const again = messageCommit(alice, 5, makeMessage(bob, alice, 5));
  await Promise.all([store.commit(again), store.commit(again)]);
  t.equal(await store.mailboxVersion(alice), 5);
  t.equal(store.stats().counters.commitsResent, 1, 'the same commit twice in one batch: a no-op');
  const changes = await store.messagesChangedAfter(alice, conversationIdOf(alice, bob), 0, 100);
  t.same(
    changes.map((m) => m.version),
    [1, 2, 3, 4, 5],
  );
});

t.test('close lets queued commits finish and refuses new ones', async (t) => {
  const store = openStore('closing');
  const commits = firstCommits(10);
  const pending = commits.map((commit) => store.commit(commit));
  const closed = store.close();
  await t.rejects(store.commit(firstCommits(1)[0] as MailboxCommit), /closed/);
  await Promise.all(pending);
  await closed;
  const reopened = openStore('closing');
  t.teardown(() => reopened.close());
  for (const commit of commits) t.equal(await reopened.mailboxVersion(commit.ownerId), 1);
});

interface RaceResult {
  committed: { owner: string; version: number; peer: string; clientMessageId: string }[];
  conflicts: number;
  stats: StoreStats;
}

function spawnChild(args: string[]) {
  return spawnTypeScript(CHILD, args);
}

/** Starts racing children together: each says `ready`, then all get a go line at once. */
async function race(count: number, args: string[]): Promise<RaceResult[]> {
  const children = Array.from({ length: count }, () => spawnChild(args));
  const outputs = children.map((child) => {
    const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    return { child, lines, exited };
  });
  for (const { lines } of outputs) {
    const ready = await lines.next();
    if (ready.value !== 'ready') throw new Error(`child said ${String(ready.value)}`);
  }
  for (const { child } of outputs) child.stdin.end('go\n');
  return Promise.all(
    outputs.map(async ({ lines, exited }) => {
      const result = await lines.next();
      if ((await exited) !== 0) throw new Error('a racing child failed');
      return JSON.parse(String(result.value)) as RaceResult;
    }),
  );
}

t.test('three processes racing on the same owners: every version once, none lost', async (t) => {
  const path = join(directory, 'race.sqlite');
  await new EmbeddedStore({ path }).close(); // the schema exists before the race
  const owners = Array.from({ length: 8 }, () => freshUser('race'));
  const rounds = 40;
  const results = await race(3, ['race', path, owners.join(','), String(rounds)]);
  const store = new EmbeddedStore({ path });
  t.teardown(() => store.close());
  const acknowledged = new Set<string>();
  for (const result of results) {
    t.equal(result.committed.length, owners.length * rounds, 'each process committed every round');
    for (const { owner, version, peer, clientMessageId } of result.committed) {
      t.notOk(acknowledged.has(`${owner}@${version}`), `${owner}@${version} acknowledged once`);
      acknowledged.add(`${owner}@${version}`);
      const stored = await store.messageByClientId(owner, peer, clientMessageId);
      t.equal(stored?.version, version, 'stored as its process committed it');
    }
  }
  for (const owner of owners) t.equal(await store.mailboxVersion(owner), 3 * rounds);
  const transactions = results.reduce(
    (sum, result) => sum + (result.stats.counters.transactions ?? 0),
    0,
  );
  const commits = results.reduce((sum, result) => sum + (result.stats.counters.commits ?? 0), 0);
  t.ok(transactions < commits, `${commits} commits in ${transactions} transactions`);
  t.comment(
    'per process:',
    JSON.stringify(
      results.map(({ stats, conflicts }) => ({ conflicts, ...stats.counters, ...stats.gauges })),
    ),
  );
});

t.test('an acknowledged commit survives kill -9 of its process', async (t) => {
  const path = join(directory, 'crash.sqlite');
  const owners = Array.from({ length: 6 }, () => freshUser('crash'));
  const child = spawnChild(['ack', path, owners.join(',')]);
  const acks: { owner: string; version: number; peer: string; clientMessageId: string }[] = [];
  const exited = new Promise<NodeJS.Signals | null>((resolve) =>
    child.on('exit', (_code, signal) => resolve(signal)),
  );
  for await (const line of createInterface({ input: child.stdout })) {
    const [word, owner, version, peer, clientMessageId] = line.split(' ');
    if (word !== 'ack' || owner === undefined || peer === undefined) continue;
    acks.push({ owner, version: Number(version), peer, clientMessageId: clientMessageId ?? '' });
    if (acks.length === 300) {
      child.kill('SIGKILL');
      break;
    }
  }
  t.equal(await exited, 'SIGKILL');
  const store = new EmbeddedStore({ path });
  t.teardown(() => store.close());
  let missing = 0;
  for (const { owner, version, peer, clientMessageId } of acks) {
    const stored = await store.messageByClientId(owner, peer, clientMessageId);
    if (stored?.version !== version) missing += 1;
  }
  t.equal(missing, 0, `all ${acks.length} acknowledged commits are there after kill -9`);
  for (const owner of owners) {
    const acked = Math.max(0, ...acks.filter((a) => a.owner === owner).map((a) => a.version));
    t.ok((await store.mailboxVersion(owner)) >= acked, `${owner} at least at its last ack`);
  }
});
