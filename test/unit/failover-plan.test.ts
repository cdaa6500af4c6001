/**
 * Proves the pure failover planner: a dead serving node's slot goes to a live standby (same slot
 * name and weight, so exactly its users move; epoch + 1); with no live standby the slot leaves the
 * ring; the last slot is never removed; dead standbys are dropped; a ring of live nodes is left
 * alone (undefined); a lease is alive up to and including leaseMs. Also planRegistration and
 * initialRing.
 */
import t from 'tap';
import { initialRing, planFailover, planRegistration } from '../../ring/index.js';
import type { RingConfig } from '../../protocol/index.js';

const LEASE_MS = 3_000;
const NOW = 100_000;
const alive = NOW - 100;
const dead = NOW - LEASE_MS - 1;

function ringWith(standbys: string[] = [], nodeCount = 3): RingConfig {
  return {
    ...initialRing(Array.from({ length: nodeCount }, (_, index) => `node-${index + 1}`)),
    epoch: 7,
    standbys,
  };
}

function heartbeats(entries: Record<string, number>): Map<string, number> {
  return new Map(Object.entries(entries));
}

t.test('initialRing: slot-i served by the i-th node, epoch 1, no standbys', async (t) => {
  t.same(initialRing(['a', 'b'], 10), {
    epoch: 1,
    virtualNodesPerWeight: 10,
    slots: [
      { slot: 'slot-0', nodeId: 'a', weight: 1 },
      { slot: 'slot-1', nodeId: 'b', weight: 1 },
    ],
    standbys: [],
    nodes: {},
  });
  t.equal(initialRing(['a']).virtualNodesPerWeight, 160, 'default virtual nodes per weight');
});

t.test('all nodes alive: no change (undefined)', async (t) => {
  const ring = ringWith(['standby-1']);
  t.equal(
    planFailover(
      ring,
      heartbeats({ 'node-1': alive, 'node-2': alive, 'node-3': alive, 'standby-1': alive }),
      NOW,
      LEASE_MS,
    ),
    undefined,
  );
});

t.test('a lease is alive up to and including leaseMs after the last heartbeat', async (t) => {
  const ring = ringWith();
  const atLimit = heartbeats({ 'node-1': NOW - LEASE_MS, 'node-2': alive, 'node-3': alive });
  t.equal(planFailover(ring, atLimit, NOW, LEASE_MS), undefined, 'exactly leaseMs old: alive');
  const past = heartbeats({ 'node-1': NOW - LEASE_MS - 1, 'node-2': alive, 'node-3': alive });
  t.not(planFailover(ring, past, NOW, LEASE_MS), undefined, '1 ms older: dead');
});

t.test(
  'a dead serving node: a live standby takes its slot (same name, same weight), epoch + 1',
  async (t) => {
    const ring = ringWith(['standby-1', 'standby-2']);
    ring.slots[1] = { slot: 'slot-1', nodeId: 'node-2', weight: 2 };
    const before = structuredClone(ring);
    const next = planFailover(
      ring,
      heartbeats({
        'node-1': alive,
        'node-2': dead,
        'node-3': alive,
        'standby-1': alive,
        'standby-2': alive,
      }),
      NOW,
      LEASE_MS,
    );
    t.same(next?.slots, [
      { slot: 'slot-0', nodeId: 'node-1', weight: 1 },
      { slot: 'slot-1', nodeId: 'standby-1', weight: 2 },
      { slot: 'slot-2', nodeId: 'node-3', weight: 1 },
    ]);
    t.equal(next?.epoch, 8);
    t.same(next?.standbys, ['standby-2'], 'the promoted standby leaves the pool');
    t.equal(next?.virtualNodesPerWeight, ring.virtualNodesPerWeight);
    t.same(ring, before, 'the input ring is not mutated');
  },
);

t.test(
  'a dead standby is skipped: the first live one is promoted, the dead one dropped',
  async (t) => {
    const ring = ringWith(['standby-dead', 'standby-live']);
    const next = planFailover(
      ring,
      heartbeats({
        'node-1': dead,
        'node-2': alive,
        'node-3': alive,
        'standby-dead': dead,
        'standby-live': alive,
      }),
      NOW,
      LEASE_MS,
    );
    t.equal(next?.slots[0]?.nodeId, 'standby-live');
    t.same(next?.standbys, []);
  },
);

t.test('two dead nodes, one standby: one slot promoted, the other removed', async (t) => {
  const ring = ringWith(['standby-1']);
  const next = planFailover(
    ring,
    heartbeats({ 'node-1': dead, 'node-2': dead, 'node-3': alive, 'standby-1': alive }),
    NOW,
    LEASE_MS,
  );
  t.same(next?.slots, [
    { slot: 'slot-0', nodeId: 'standby-1', weight: 1 },
    { slot: 'slot-2', nodeId: 'node-3', weight: 1 },
  ]);
  t.equal(next?.epoch, 8, 'one change of epoch for the whole plan');
});

t.test('no standby: the dead node slot leaves the ring', async (t) => {
  const ring = ringWith();
  const next = planFailover(
    ring,
    heartbeats({ 'node-1': alive, 'node-2': dead, 'node-3': alive }),
    NOW,
    LEASE_MS,
  );
  t.same(
    next?.slots.map((a) => a.slot),
    ['slot-0', 'slot-2'],
  );
  t.equal(next?.epoch, 8);
});

t.test('a node never seen is dead', async (t) => {
  const ring = ringWith();
  const next = planFailover(ring, heartbeats({ 'node-1': alive, 'node-3': alive }), NOW, LEASE_MS);
  t.same(
    next?.slots.map((a) => a.nodeId),
    ['node-1', 'node-3'],
  );
});

t.test('the last slot is never removed', async (t) => {
  const single = ringWith([], 1);
  t.equal(
    planFailover(single, heartbeats({ 'node-1': dead }), NOW, LEASE_MS),
    undefined,
    'one dead slot, no standby: unchanged',
  );
  const allDead = planFailover(ringWith(), heartbeats({}), NOW, LEASE_MS);
  t.equal(allDead?.slots.length, 1, 'every node dead: one slot stays');
  const singleWithDeadStandby = planFailover(
    ringWith(['standby-1'], 1),
    heartbeats({ 'node-1': dead, 'standby-1': dead }),
    NOW,
    LEASE_MS,
  );
  t.same(
    singleWithDeadStandby?.slots,
    single.slots,
    'the dead standby is dropped, the last slot kept',
  );
  t.same(singleWithDeadStandby?.standbys, []);
});

t.test('dead standbys alone are dropped from the pool', async (t) => {
  const ring = ringWith(['standby-1', 'standby-2']);
  const next = planFailover(
    ring,
    heartbeats({
      'node-1': alive,
      'node-2': alive,
      'node-3': alive,
      'standby-1': dead,
      'standby-2': alive,
    }),
    NOW,
    LEASE_MS,
  );
  t.same(next?.standbys, ['standby-2']);
  t.same(next?.slots, ring.slots, 'slots untouched');
  t.equal(next?.epoch, 8);
});

t.test('a plan applied again with the same heartbeats changes nothing more', async (t) => {
  const beats = heartbeats({
    'node-1': alive,
    'node-2': dead,
    'node-3': alive,
    'standby-1': alive,
  });
  const next = planFailover(ringWith(['standby-1']), beats, NOW, LEASE_MS);
  t.not(next, undefined);
  t.equal(planFailover(next as RingConfig, beats, NOW, LEASE_MS), undefined);
});

t.test(
  'planRegistration: an admitted or once-registered node joins the standby pool; a placed one changes nothing; anyone else is refused',
  async (t) => {
    const ring = { ...ringWith(['standby-1']), admitted: ['node-9', 'node-10'] };
    const next = planRegistration(ring, 'node-9');
    t.same(next?.standbys, ['standby-1', 'node-9']);
    t.same(next?.admitted, ['node-10'], 'no longer waiting to join');
    t.equal(next?.epoch, 8);
    t.same(next?.slots, ring.slots);
    t.throws(() => planRegistration(ring, 'node-11'), { code: 'UNKNOWN_MEMBER' });
    const gone = {
      ...ring,
      nodes: { 'node-11': { nodeId: 'node-11', url: 'http://127.0.0.1:1' } },
    };
    t.same(
      planRegistration(gone, 'node-11')?.standbys,
      ['standby-1', 'node-11'],
      'a dead node that comes back',
    );
    t.throws(
      () => planRegistration(ring, '__proto__'),
      { code: 'UNKNOWN_MEMBER' },
      'no prototype keys',
    );
    t.equal(planRegistration(ring, 'node-2'), undefined, 'a serving node');
    t.equal(planRegistration(ring, 'standby-1'), undefined, 'a standby');
    t.same(ring.standbys, ['standby-1'], 'the input ring is not mutated');
  },
);

t.test(
  'planFailover forgets members that left: placed nowhere and silent past the retention',
  async (t) => {
    const retentionMs = 60_000;
    const info = (nodeId: string) => ({ nodeId, url: `http://127.0.0.1:1/${nodeId}` });
    const ring: RingConfig = {
      ...ringWith([]),
      parked: ['parked-1'],
      admitted: ['admitted-1'],
      nodes: Object.fromEntries(
        ['node-1', 'node-2', 'node-3', 'gone-1', 'gone-2', 'parked-1', 'unseen'].map((id) => [
          id,
          info(id),
        ]),
      ),
    };
    const seen = heartbeats({
      'node-1': alive,
      'node-2': alive,
      'node-3': alive,
      'gone-1': NOW - retentionMs,
      'gone-2': NOW - retentionMs - 1,
      'parked-1': NOW - retentionMs - 1,
    });
    const next = planFailover(ring, seen, NOW, LEASE_MS, retentionMs);
    t.same(
      Object.keys(next?.nodes ?? {}).sort(),
      ['gone-1', 'node-1', 'node-2', 'node-3', 'parked-1', 'unseen'],
      'gone-2 is forgotten; at the retention is kept; parked and never-seen are kept',
    );
    t.equal(next?.epoch, ring.epoch + 1);
    t.equal(
      planFailover(ring, seen, NOW, LEASE_MS),
      undefined,
      'no retention given: nothing pruned',
    );
  },
);
