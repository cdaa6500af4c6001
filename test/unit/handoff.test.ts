/**
 * Proves the warm handoff without sockets or real time (a fake peer client, an injected clock):
 * the old owner stops serving the users a change takes away, drops their state and sends it to
 * the new owner in batches of batchBytesMax; a batch that fails moves its users cold but is never
 * silent (the release result and the stats count it, with the reason); the new owner keeps the
 * states aside and adopts them only with the ring of their change, drops them on cancel, and lets
 * them expire after PENDING_WARM_TTL_MS; options are checked once.
 */
import t from 'tap';
import {
  ChatringError,
  DELIVER_CLOCK_SKEW_MS_MAX,
  PENDING_WARM_TTL_MS,
  WARM_HANDOFF_BYTES_DEFAULT,
  parseWarmBatch,
  type Clock,
  type RingConfig,
  type WarmBatch,
} from '../../protocol/index.js';
import { RingView } from '../../ring/index.js';
import type { PeerRequest } from '../../transport/index.js';
import { DEFAULT_HANDOFF_OPTIONS, Handoff } from '../../cache-node/handoff.js';
import { MailboxCache } from '../../cache-node/mailbox-cache.js';
import { MailboxState } from '../../cache-node/mailbox-state.js';
import { Ownership } from '../../cache-node/ownership.js';
import { UserLockTable } from '../../cache-node/user-lock-table.js';
import { row } from './mailbox-fixtures.js';

const nodes = {
  'node-a': { nodeId: 'node-a', url: 'http://node-a' },
  'node-b': { nodeId: 'node-b', url: 'http://node-b' },
};
/** Epoch 1: node-a serves both slots. Epoch 2 (the change): slot-1 moves to node-b. */
const before: RingConfig = {
  epoch: 1,
  virtualNodesPerWeight: 40,
  slots: [
    { slot: 'slot-0', nodeId: 'node-a', weight: 1 },
    { slot: 'slot-1', nodeId: 'node-a', weight: 1 },
  ],
  standbys: ['node-b'],
  nodes,
};
const CHANGE = 'change-1';
const after: RingConfig = {
  ...before,
  epoch: 2,
  slots: [
    { slot: 'slot-0', nodeId: 'node-a', weight: 1 },
    { slot: 'slot-1', nodeId: 'node-b', weight: 1 },
  ],
  standbys: [],
  changeId: CHANGE,
};

const view = new RingView(before);
const users = Array.from({ length: 200 }, (_, index) => `user-${index}`);
const moving = users.filter((userId) => view.slotOf(userId) === 'slot-1').slice(0, 6);
const staying = users.filter((userId) => view.slotOf(userId) === 'slot-0').slice(0, 2);

class FakeClock implements Clock {
  now = 1_000;
  monotonicNow = () => this.now;
  wallNow = () => this.now;
  sleep = async () => undefined;
}

/** Records every call; `fail` makes the next calls throw what a PeerClient throws. */
class FakePeers {
  readonly sent: { url: string; request: PeerRequest }[] = [];
  fail: ChatringError | undefined;

  async call<T>(url: string, request: PeerRequest): Promise<T> {
    this.sent.push({ url, request });
    if (this.fail !== undefined) throw this.fail;
    return { accepted: 0 } as T;
  }
}

/** One node: its ownership (renewed at epoch 1), cache, locks and handoff. */
function node(nodeId: string, options: Partial<typeof DEFAULT_HANDOFF_OPTIONS> = {}) {
  const clock = new FakeClock();
  const ownership = new Ownership({ nodeId, leaseMs: 3_000, monotonicNow: clock.monotonicNow });
  ownership.renewed(clock.now, before, 3_000);
  const locks = new UserLockTable();
  const cache = new MailboxCache({}, (userId) => locks.isBusy(userId));
  const peers = new FakePeers();
  const handoff = new Handoff({ nodeId, ownership, cache, locks, peers, clock }, options);
  return { clock, ownership, locks, cache, peers, handoff };
}

function cacheUsers(cache: MailboxCache, userIds: string[]): void {
  for (const userId of userIds)
    cache.put(new MailboxState(userId, 1, [row(userId, 'peer', 10, { snippet: 'hi' })], 200));
}

/** The batches sent, as the new owner's route would parse them. */
const batchesOf = (peers: FakePeers): WarmBatch[] =>
  peers.sent.map(({ request }) => parseWarmBatch(JSON.parse(JSON.stringify(request.body))));

t.test('release: moving users stop being served and go warm to their new owner', async (t) => {
  t.ok(moving.length >= 4 && staying.length === 2, 'the ring moves some users and keeps others');
  const old = node('node-a');
  cacheUsers(old.cache, [...moving, ...staying]);
  const result = await old.handoff.release(CHANGE, after);
  t.equal(result.changeId, CHANGE);
  t.equal(result.releasedUsers, moving.length);
  t.equal(result.warmUsers, moving.length);
  t.ok(result.warmBytes > 0);
  t.equal(result.warmUsersFailed, 0);
  t.equal(result.warmFailure, '');
  for (const userId of moving) {
    t.notOk(old.cache.has(userId), `${userId} dropped`);
    t.throws(() => old.ownership.assertServing(userId), { code: 'OWNER_UNAVAILABLE' });
  }
  for (const userId of staying) t.ok(old.cache.has(userId), `${userId} kept`);
  t.same(
    old.peers.sent.map(({ url, request }) => [url, request.path, request.timeoutMs]),
    [['http://node-b', '/internal/v1/handoff/warm', DEFAULT_HANDOFF_OPTIONS.batchTimeoutMs]],
    'one batch (they fit in 1 MiB), to the new owner, through the peer client',
  );
  const [batch] = batchesOf(old.peers);
  t.equal(batch?.changeId, CHANGE);
  t.same(batch?.snapshots.map((s) => s.ownerId).sort(), [...moving].sort());
  t.same(old.handoff.stats, {
    releasedUsers: moving.length,
    warmUsersSent: moving.length,
    warmUsersReceived: 0,
    warmUsersAdopted: 0,
    warmBatchesFailed: 0,
    warmUsersFailed: 0,
    lastWarmFailure: '',
  });
});

t.test('release: a batch is sent each time it reaches batchBytesMax', async (t) => {
  const old = node('node-a', { batchBytesMax: 1 });
  cacheUsers(old.cache, moving);
  await old.handoff.release(CHANGE, after);
  t.equal(old.peers.sent.length, moving.length, 'one user per batch');
});

t.test('release: warmBytesMax 0 moves every user cold and sends nothing', async (t) => {
  const old = node('node-a', { warmBytesMax: 0 });
  cacheUsers(old.cache, moving);
  const result = await old.handoff.release(CHANGE, after);
  t.equal(result.releasedUsers, moving.length);
  t.equal(result.warmUsers, 0);
  t.equal(old.peers.sent.length, 0);
});

t.test('a failed warm batch moves its users cold, counted and with its reason', async (t) => {
  const old = node('node-a', { batchBytesMax: 1 });
  cacheUsers(old.cache, moving);
  old.peers.fail = new ChatringError('OWNER_UNAVAILABLE', 'warm handoff: connect ECONNREFUSED');
  const result = await old.handoff.release(CHANGE, after);
  t.equal(result.releasedUsers, moving.length, 'the release itself succeeds');
  t.equal(result.warmUsersFailed, moving.length);
  t.match(result.warmFailure, /http:\/\/node-b: warm handoff: connect ECONNREFUSED/);
  for (const userId of moving) t.notOk(old.cache.has(userId), 'dropped all the same');
  t.equal(old.handoff.stats.warmBatchesFailed, moving.length);
  t.equal(old.handoff.stats.warmUsersFailed, moving.length);
  t.match(old.handoff.stats.lastWarmFailure, /ECONNREFUSED/);
});

t.test('the new owner adopts warm states only with the ring of their change', async (t) => {
  const old = node('node-a');
  cacheUsers(old.cache, moving);
  await old.handoff.release(CHANGE, after);
  const [batch] = batchesOf(old.peers);
  if (batch === undefined) throw new Error('no batch sent');

  const next = node('node-b');
  t.equal(next.handoff.acceptWarm(batch), moving.length);
  t.equal(next.handoff.stats.warmUsersReceived, moving.length);
  t.notOk(next.cache.has(moving[0] ?? ''), 'kept aside, not cached yet');
  next.ownership.updateRing({ ...after, changeId: 'another-change' });
  t.equal(next.handoff.stats.warmUsersAdopted, 0, 'a ring of another change adopts nothing');

  const again = node('node-b');
  again.handoff.acceptWarm(batch);
  again.ownership.updateRing(after);
  t.equal(again.handoff.stats.warmUsersAdopted, moving.length);
  for (const userId of moving) t.ok(again.cache.has(userId), `${userId} cached warm`);
  for (const snapshot of batch.snapshots)
    t.same(again.cache.peek(snapshot.ownerId)?.toSnapshot(), snapshot, 'arrived as it left');
});

t.test('cancel drops the change’s pending states; others expire after the TTL', async (t) => {
  const old = node('node-a');
  cacheUsers(old.cache, moving);
  await old.handoff.release(CHANGE, after);
  const [batch] = batchesOf(old.peers);
  if (batch === undefined) throw new Error('no batch sent');

  const cancelled = node('node-b');
  cancelled.handoff.acceptWarm(batch);
  cancelled.handoff.cancel(CHANGE);
  cancelled.ownership.updateRing(after);
  t.equal(cancelled.handoff.stats.warmUsersAdopted, 0, 'nothing left to adopt after cancel');

  const late = node('node-b');
  late.handoff.acceptWarm(batch);
  late.clock.now += PENDING_WARM_TTL_MS + 1;
  late.ownership.updateRing({ ...after, changeId: 'unrelated' }); // any adoption sweeps expired states
  late.ownership.updateRing({ ...after, epoch: 3 });
  t.equal(late.handoff.stats.warmUsersAdopted, 0, 'expired before its ring came');

  const inTime = node('node-b');
  inTime.handoff.acceptWarm(batch);
  inTime.clock.now += PENDING_WARM_TTL_MS - 1;
  inTime.ownership.updateRing({ ...after, epoch: 2, changeId: 'unrelated' });
  inTime.ownership.updateRing({ ...after, epoch: 3 });
  t.equal(inTime.handoff.stats.warmUsersAdopted, moving.length, 'within the TTL it waits');
});

t.test('options: defaults from one place, every option checked', async (t) => {
  t.equal(DEFAULT_HANDOFF_OPTIONS.warmBytesMax, WARM_HANDOFF_BYTES_DEFAULT);
  t.ok(Object.isFrozen(DEFAULT_HANDOFF_OPTIONS));
  const bad: Record<string, unknown>[] = [
    { batchBytesMax: 0 },
    { warmBytesMax: -1 },
    { batchTimeoutMs: 1.5 },
    { warmBytesMax: '64' },
    { unknown: 1 },
  ];
  for (const options of bad) {
    t.throws(() => node('node-a', options as Partial<typeof DEFAULT_HANDOFF_OPTIONS>), {
      code: 'INVALID_OPTION',
      message: /^Handoff: option/,
    });
  }
});

/** A warm batch for `moving`, each mailbox with one conversation last updated at `lastUpdated`. */
function batchAt(lastUpdated: number, conversationsFrom = 0): WarmBatch {
  return parseWarmBatch({
    changeId: CHANGE,
    snapshots: moving.map((userId) => ({
      ...new MailboxState(userId, 1, [row(userId, 'peer', lastUpdated)], 200).toSnapshot(),
      conversationsFrom,
    })),
  });
}

t.test(
  'acceptWarm: times at most DELIVER_CLOCK_SKEW_MS_MAX ahead of the clock; past it the batch is refused whole',
  async (t) => {
    const next = node('node-b');
    const latest = next.clock.now + DELIVER_CLOCK_SKEW_MS_MAX;
    t.throws(
      () => next.handoff.acceptWarm(batchAt(latest + 1)),
      {
        code: 'INVALID_FIELD',
        message:
          /^snapshots\[0\]\.conversations\[0\]\.row\.lastUpdatedTimestamp is 61001, more than 60000 ms ahead/,
      },
      'one past: a conversation that would stamp every later message after it',
    );
    t.throws(() => next.handoff.acceptWarm(batchAt(10, latest + 1)), {
      code: 'INVALID_FIELD',
      message: /^snapshots\[0\]\.conversationsFrom is 61001/,
    });
    t.throws(
      () => next.handoff.acceptWarm(batchAt(Number.MAX_SAFE_INTEGER)),
      { code: 'INVALID_FIELD' },
      'the 2^53 - 1 of issue 10',
    );
    t.equal(next.handoff.stats.warmUsersReceived, 0, 'nothing received');
    next.ownership.updateRing(after);
    t.equal(next.handoff.stats.warmUsersAdopted, 0, 'nothing kept aside: nothing adopted');
    for (const userId of moving) t.notOk(next.cache.has(userId), `${userId} moves cold`);

    const atLimit = node('node-b');
    t.equal(atLimit.handoff.acceptWarm(batchAt(latest, latest)), moving.length, 'exactly at it');
    atLimit.ownership.updateRing(after);
    t.equal(atLimit.handoff.stats.warmUsersAdopted, moving.length);
  },
);

t.test('acceptWarm drops states that waited past the TTL before keeping new ones', async (t) => {
  const next = node('node-b');
  next.handoff.acceptWarm(batchAt(10));
  next.clock.now += PENDING_WARM_TTL_MS + 1;
  next.handoff.acceptWarm({ changeId: 'another', snapshots: [] });
  next.ownership.updateRing(after); // without the sweep, the ring of their change would adopt them
  t.equal(next.handoff.stats.warmUsersAdopted, 0, 'the expired states were dropped');
  for (const userId of moving) t.notOk(next.cache.has(userId));

  const inTime = node('node-b');
  inTime.handoff.acceptWarm(batchAt(10));
  inTime.clock.now += PENDING_WARM_TTL_MS;
  inTime.handoff.acceptWarm({ changeId: 'another', snapshots: [] });
  inTime.ownership.updateRing(after);
  t.equal(inTime.handoff.stats.warmUsersAdopted, moving.length, 'exactly at the TTL: kept');
});

t.test(
  'release: a new owner with no usable address gets nothing; its users move cold',
  async (t) => {
    const old = node('node-a');
    cacheUsers(old.cache, moving);
    const unreachable: RingConfig = {
      ...after,
      nodes: { ...nodes, 'node-b': { nodeId: 'node-b', url: '' } },
    };
    const result = await old.handoff.release(CHANGE, unreachable);
    t.equal(result.releasedUsers, moving.length);
    t.equal(result.warmUsers, 0);
    t.equal(old.peers.sent.length, 0, 'no request to an empty URL');
    for (const userId of moving) t.notOk(old.cache.has(userId), `${userId} dropped`);
  },
);
