/**
 * Proves the node's ownership guard with an injected monotonic clock (no real time): it refuses
 * everything before its first lease renewal; serves its own users after one; stops serving once
 * leaseMs - leaseSafetyMs has passed since the renewal was *sent* (a paused node wakes up refusing
 * with OWNER_UNAVAILABLE); refuses other nodes' users with NOT_OWNER; adopts and announces every
 * newer ring; ignores older or equal rings; fires onLeaseRegained on a renewal after a lapse.
 */
import t from 'tap';
import { Ownership } from '../../cache-node/ownership.js';
import {
  RING_RELEASE_EPOCH_AHEAD_MAX,
  type RingConfig,
  type SlotAssignment,
} from '../../protocol/index.js';
import { RingView } from '../../ring/index.js';

const LEASE_MS = 3_000;
/** The serving margin: a fifth of the lease. */
const SAFETY_MS = 600;

function ring(epoch: number, slots: SlotAssignment[]): RingConfig {
  return { epoch, virtualNodesPerWeight: 40, slots, standbys: [], nodes: {} };
}

const twoNodes = (epoch: number) =>
  ring(epoch, [
    { slot: 'slot-0', nodeId: 'node-a', weight: 1 },
    { slot: 'slot-1', nodeId: 'node-b', weight: 1 },
    { slot: 'slot-2', nodeId: 'node-a', weight: 1 },
  ]);

/** A user the given ring maps to `slot`. */
function userInSlot(config: RingConfig, slot: string): string {
  const view = new RingView(config);
  for (let index = 0; index < 10_000; index += 1) {
    const userId = `user-${index}`;
    if (view.slotOf(userId) === slot) return userId;
  }
  throw new Error(`no user maps to ${slot}`);
}

function setup() {
  const clock = { now: 1_000 };
  const ownership = new Ownership({
    nodeId: 'node-a',
    leaseMs: LEASE_MS,
    monotonicNow: () => clock.now,
  });
  return { clock, ownership };
}

const mine = userInSlot(twoNodes(1), 'slot-0');
const alsoMine = userInSlot(twoNodes(1), 'slot-2');
const theirs = userInSlot(twoNodes(1), 'slot-1');

t.test('not serving before the first renewal', async (t) => {
  const { ownership } = setup();
  t.throws(
    () => ownership.assertServing(mine),
    { code: 'OWNER_UNAVAILABLE', status: 503 },
    'no ring yet',
  );
  t.equal(ownership.epoch, 0);
  t.same(ownership.ownedSlots(), []);
  ownership.updateRing(twoNodes(1));
  t.throws(
    () => ownership.assertServing(mine),
    { code: 'OWNER_UNAVAILABLE' },
    'a ring alone proves no lease',
  );
  t.ok(ownership.leaseRemainingMs() < 0);
});

t.test('serving after a renewal, for its own slots only', async (t) => {
  const { clock, ownership } = setup();
  ownership.renewed(clock.now, twoNodes(1), LEASE_MS);
  t.doesNotThrow(() => ownership.assertServing(mine));
  t.doesNotThrow(() => ownership.assertServing(alsoMine));
  t.throws(() => ownership.assertServing(theirs), {
    code: 'NOT_OWNER',
    status: 421,
    retryable: true,
  });
  t.same(ownership.ownedSlots().sort(), ['slot-0', 'slot-2']);
  t.equal(ownership.epoch, 1);
  t.equal(ownership.leaseRemainingMs(), LEASE_MS - SAFETY_MS);
});

t.test(
  'stops serving once leaseMs - leaseSafetyMs has passed since the renewal was sent',
  async (t) => {
    const { clock, ownership } = setup();
    const sentAt = clock.now;
    clock.now += 900; // the renewal's answer took 900 ms to come back: the lease counts from sentAt
    ownership.renewed(sentAt, twoNodes(1), LEASE_MS);
    clock.now = sentAt + LEASE_MS - SAFETY_MS - 1;
    t.doesNotThrow(() => ownership.assertServing(mine), '1 ms before the serving deadline');
    t.equal(ownership.leaseRemainingMs(), 1);
    clock.now = sentAt + LEASE_MS - SAFETY_MS;
    t.throws(() => ownership.assertServing(mine), { code: 'OWNER_UNAVAILABLE' }, 'at the deadline');
  },
);

t.test('a paused node (SIGSTOP) wakes up refusing from its stale view', async (t) => {
  const { clock, ownership } = setup();
  ownership.renewed(clock.now, twoNodes(1), LEASE_MS);
  t.doesNotThrow(() => ownership.assertServing(mine));
  clock.now += 60_000; // paused for a minute; nothing ran meanwhile
  t.throws(() => ownership.assertServing(mine), { code: 'OWNER_UNAVAILABLE' });
  t.throws(
    () => ownership.assertServing(theirs),
    { code: 'NOT_OWNER' },
    'other nodes users are still NOT_OWNER',
  );
});

t.test('an older renewal answer arriving late does not extend the lease', async (t) => {
  const { clock, ownership } = setup();
  ownership.renewed(5_000, twoNodes(1), LEASE_MS);
  ownership.renewed(2_000, twoNodes(1), LEASE_MS);
  clock.now = 5_000 + LEASE_MS - SAFETY_MS - 1;
  t.doesNotThrow(() => ownership.assertServing(mine), 'the newest sentAt counts');
  clock.now = 5_000 + LEASE_MS - SAFETY_MS;
  t.throws(() => ownership.assertServing(mine), { code: 'OWNER_UNAVAILABLE' });
});

t.test(
  'a shorter granted lease shortens serving, and the safety margin never exceeds a fifth of it',
  async (t) => {
    const { clock, ownership } = setup();
    ownership.renewed(clock.now, twoNodes(1), 1_000);
    t.equal(ownership.leaseRemainingMs(), 1_000 - 200, 'safety capped at leaseMs / 5');
  },
);

t.test(
  'a newer ring is adopted and announced; its users of a lost slot are refused at once',
  async (t) => {
    const { clock, ownership } = setup();
    ownership.renewed(clock.now, twoNodes(1), LEASE_MS);
    const adopted: number[] = [];
    ownership.onRingAdopted((view) => adopted.push(view.epoch));
    const inSlot2 = userInSlot(twoNodes(1), 'slot-2');
    t.doesNotThrow(() => ownership.assertServing(inSlot2), 'serving slot-2 before');
    const withoutSlot2 = ring(2, [
      { slot: 'slot-0', nodeId: 'node-a', weight: 1 },
      { slot: 'slot-1', nodeId: 'node-b', weight: 1 },
    ]);
    ownership.updateRing(withoutSlot2);
    t.same(adopted, [2]);
    t.equal(ownership.epoch, 2);
    t.same(ownership.ownedSlots(), ['slot-0']);
    // A user slot-2 held that the new ring gives to node-b: refused by node-a from now on.
    const [before, after] = [new RingView(twoNodes(1)), new RingView(withoutSlot2)];
    const movedUser = Array.from({ length: 10_000 }, (_, index) => `user-${index}`).find(
      (userId) => before.slotOf(userId) === 'slot-2' && after.ownerIdOf(userId) === 'node-b',
    );
    if (movedUser === undefined) throw new Error('no user moved from slot-2 to node-b');
    t.throws(
      () => ownership.assertServing(movedUser),
      { code: 'NOT_OWNER' },
      'a removed slot’s user is refused at once',
    );

    const slot0ToStandby = ring(3, [
      { slot: 'slot-0', nodeId: 'standby-1', weight: 1 },
      { slot: 'slot-1', nodeId: 'node-b', weight: 1 },
    ]);
    ownership.updateRing(slot0ToStandby);
    t.same(adopted, [2, 3], 'a slot given to another node is a new ring too');
    t.same(ownership.ownedSlots(), []);
    t.throws(
      () => ownership.assertServing(mine),
      { code: 'NOT_OWNER' },
      'its users are refused at once',
    );
  },
);

t.test('a newer ring that keeps or adds slots is adopted and announced once', async (t) => {
  const { clock, ownership } = setup();
  ownership.renewed(clock.now, twoNodes(1), LEASE_MS);
  const adopted: number[] = [];
  ownership.onRingAdopted((view) => adopted.push(view.epoch));
  ownership.updateRing({
    ...twoNodes(2),
    slots: [...twoNodes(2).slots, { slot: 'slot-3', nodeId: 'node-a', weight: 1 }],
  });
  t.same(adopted, [2]);
  t.equal(ownership.ownedSlots().length, 3);
});

t.test('an older or equal ring is ignored and not announced', async (t) => {
  const { clock, ownership } = setup();
  ownership.renewed(clock.now, twoNodes(5), LEASE_MS);
  let fired = 0;
  ownership.onRingAdopted(() => (fired += 1));
  const empty = (epoch: number) => ring(epoch, [{ slot: 'slot-9', nodeId: 'node-z', weight: 1 }]);
  ownership.updateRing(empty(4));
  ownership.updateRing(empty(5));
  ownership.renewed(clock.now, empty(3), LEASE_MS);
  t.equal(fired, 0);
  t.equal(ownership.epoch, 5);
  t.doesNotThrow(() => ownership.assertServing(mine), 'still serving by the epoch-5 ring');
});

t.test(
  'a renewal after a lapse fires onLeaseRegained; one within the lease does not',
  async (t) => {
    const { clock, ownership } = setup();
    let regained = 0;
    ownership.onLeaseRegained(() => (regained += 1));
    ownership.renewed(clock.now, twoNodes(1), LEASE_MS);
    t.equal(
      regained,
      1,
      'the first renewal counts as regaining (nothing cached can be trusted before it)',
    );
    clock.now += 1_000;
    ownership.renewed(clock.now, twoNodes(1), LEASE_MS);
    t.equal(regained, 1, 'a renewal within the lease');
    clock.now += LEASE_MS - SAFETY_MS; // exactly at the deadline: lapsed
    t.throws(() => ownership.assertServing(mine), { code: 'OWNER_UNAVAILABLE' });
    ownership.renewed(clock.now, twoNodes(1), LEASE_MS);
    t.equal(regained, 2, 'a renewal after the lapse');
    t.doesNotThrow(() => ownership.assertServing(mine), 'serving again');
  },
);

t.test(
  'listeners run in registration order, lapse listeners before the new ring is adopted',
  async (t) => {
    const { clock, ownership } = setup();
    const events: string[] = [];
    ownership.onLeaseRegained(() => events.push(`regained at epoch ${ownership.epoch}`));
    ownership.onRingAdopted((view) => events.push(`adopted epoch ${view.epoch}`));
    ownership.renewed(clock.now, twoNodes(1), LEASE_MS);
    clock.now += 10_000;
    ownership.renewed(
      clock.now,
      ring(2, [{ slot: 'slot-0', nodeId: 'node-a', weight: 1 }]),
      LEASE_MS,
    );
    t.same(events, [
      'regained at epoch 0',
      'adopted epoch 1',
      'regained at epoch 1',
      'adopted epoch 2',
    ]);
  },
);

t.test(
  'a release whose target is more than RING_RELEASE_EPOCH_AHEAD_MAX ahead is refused and changes nothing',
  async (t) => {
    const { clock, ownership } = setup();
    ownership.renewed(clock.now, twoNodes(5), LEASE_MS);
    // The target gives slot-0 (and so `mine`) to node-b.
    const target = (epoch: number) =>
      ring(epoch, [
        { slot: 'slot-0', nodeId: 'node-b', weight: 1 },
        { slot: 'slot-1', nodeId: 'node-b', weight: 1 },
        { slot: 'slot-2', nodeId: 'node-a', weight: 1 },
      ]);
    t.throws(
      () => ownership.beginRelease('far', target(5 + RING_RELEASE_EPOCH_AHEAD_MAX + 1)),
      {
        code: 'INVALID_FIELD',
        message: /^targetRing\.epoch 1006 is more than 1000 ahead of this node's ring \(epoch 5\)/,
      },
      'one past the bound (a target no control plane publishes soon: those users would wait forever)',
    );
    t.doesNotThrow(() => ownership.assertServing(mine), 'nothing changed: still serving');

    ownership.beginRelease('near', target(5 + RING_RELEASE_EPOCH_AHEAD_MAX));
    t.throws(
      () => ownership.assertServing(mine),
      { code: 'OWNER_UNAVAILABLE' },
      'exactly at the bound: released',
    );
    t.doesNotThrow(() => ownership.assertServing(alsoMine), 'a user the target keeps here');
    ownership.cancelRelease('near');
    t.doesNotThrow(() => ownership.assertServing(mine), 'served again after the cancel');
    ownership.beginRelease('stale', target(5));
    t.throws(
      () => ownership.assertServing(mine),
      { code: 'OWNER_UNAVAILABLE' },
      'a target at or below the current epoch is taken (a change re-planned over a registration)',
    );
    ownership.updateRing(twoNodes(6));
    t.doesNotThrow(() => ownership.assertServing(mine), 'and settled by the next ring');
  },
);

t.test('with no ring yet, any target epoch is taken (the node serves nobody yet)', async (t) => {
  const { ownership } = setup();
  t.doesNotThrow(() => ownership.beginRelease('c', twoNodes(RING_RELEASE_EPOCH_AHEAD_MAX + 5)));
});
