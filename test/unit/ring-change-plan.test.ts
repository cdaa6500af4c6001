/**
 * Pure ring-change planning: adding a slot to N moves only users onto the new slot, about
 * 1/(N+1) of them, never between two old nodes; removing and promoting move only the affected
 * slot's users; refusals carry stable codes and change nothing.
 */
import t from 'tap';
import { RING_NODES_LIMIT, type RingConfig } from '../../protocol/index.js';
import { RingChangeRefused, planChange, previewChange } from '../../ring/index.js';
import { nodesLosingUsers } from '../../control-plane/index.js';
import { RingView } from '../../ring/index.js';

function ring(nodeIds: string[], standbys: string[] = []): RingConfig {
  const nodes = Object.fromEntries(
    [...nodeIds, ...standbys].map((nodeId) => [nodeId, { nodeId, url: `http://${nodeId}` }]),
  );
  return {
    epoch: 7,
    virtualNodesPerWeight: 40,
    slots: nodeIds.map((nodeId, i) => ({ slot: `slot-${i}`, nodeId, weight: 1 })),
    standbys,
    nodes,
  };
}

const USERS = Array.from({ length: 30_000 }, (_, i) => `user-${i}`);

function moves(before: RingConfig, after: RingConfig) {
  const [a, b] = [new RingView(before), new RingView(after)];
  return USERS.map((u) => [a.ownerIdOf(u), b.ownerIdOf(u)] as const).filter(
    ([from, to]) => from !== to,
  );
}

t.test('adding a node to N moves about 1/(N+1), only onto the new node', async (t) => {
  for (const n of [3, 4, 8]) {
    const before = ring(
      Array.from({ length: n }, (_, i) => `node-${i}`),
      ['spare'],
    );
    const after = planChange(before, { action: 'add', nodeId: 'spare', weight: 1 });
    t.equal(after.epoch, before.epoch + 1);
    t.same(after.standbys, []);
    const moved = moves(before, after);
    t.ok(
      moved.every(([, to]) => to === 'spare'),
      `N=${n}: no user moves between two old nodes`,
    );
    const share = moved.length / USERS.length;
    t.ok(
      Math.abs(share - 1 / (n + 1)) < 0.04,
      `N=${n}: share ${share.toFixed(3)} within 4 points of ${(1 / (n + 1)).toFixed(3)}`,
    );
    t.same(
      nodesLosingUsers(before, after).sort(),
      before.slots.map((s) => s.nodeId).sort(),
      'every old node may lose users',
    );
    const preview = previewChange(before, after);
    t.ok(Math.abs(preview.movedShare - share) < 0.02, 'the preview estimates the same share');
    t.same(preview.slotsChanging, [{ slot: `slot-${n}`, from: null, to: 'spare' }]);
  }
});

t.test('removing a node moves only its users, and it becomes a standby', async (t) => {
  const before = ring(['a', 'b', 'c', 'd']);
  const after = planChange(before, { action: 'remove', nodeId: 'b' });
  t.ok(
    moves(before, after).every(([from]) => from === 'b'),
    'only b’s users move',
  );
  t.same(after.standbys, ['b']);
  t.same(nodesLosingUsers(before, after), ['b']);
});

t.test(
  'promoting a standby into a node’s slot moves exactly that node’s users to it',
  async (t) => {
    const before = ring(['a', 'b', 'c'], ['s1', 's2']);
    const after = planChange(before, { action: 'promote', nodeId: 'c', standbyId: 's2' });
    const moved = moves(before, after);
    t.ok(moved.length > 0 && moved.every(([from, to]) => from === 'c' && to === 's2'));
    t.same(after.standbys, ['s1', 'c']);
    t.equal(
      planChange(before, { action: 'promote', nodeId: 'c' }).slots.find((s) => s.slot === 'slot-2')
        ?.nodeId,
      's1',
      'default: first standby',
    );
  },
);

t.test('refusals have stable codes', async (t) => {
  const one = ring(['a'], ['s']);
  const cases: [Parameters<typeof planChange>[1], string][] = [
    [{ action: 'remove', nodeId: 'a' }, 'LAST_SLOT'],
    [{ action: 'add', nodeId: 'ghost', weight: 1 }, 'UNKNOWN_NODE'],
    [{ action: 'add', nodeId: 'a', weight: 1 }, 'NODE_BUSY'],
    [{ action: 'add', nodeId: 's', weight: 0 }, 'INVALID_WEIGHT'],
    [{ action: 'add', nodeId: 's', weight: 101 }, 'INVALID_WEIGHT'],
    [{ action: 'remove', nodeId: 's' }, 'NOTHING_TO_DO'],
    [{ action: 'promote', nodeId: 'a', standbyId: 'a' }, 'NO_STANDBY'],
    [{ action: 'standby-add', nodeId: 's' }, 'NOTHING_TO_DO'],
    [{ action: 'standby-add', nodeId: 'a' }, 'NODE_BUSY'],
    [{ action: 'standby-remove', nodeId: 'a' }, 'NOTHING_TO_DO'],
  ];
  for (const [change, code] of cases) {
    t.throws(
      () => planChange(one, change),
      { name: 'RingChangeRefused', code },
      `${change.action} ${change.nodeId}: ${code}`,
    );
  }
  t.ok(
    planChange(one, { action: 'add', nodeId: 's', weight: 100 }),
    'weight 100 (the limit) is accepted',
  );
  const noStandby = ring(['a', 'b']);
  t.throws(() => planChange(noStandby, { action: 'promote', nodeId: 'a' }), RingChangeRefused);
});

t.test('a weight-2 slot gets about twice the users of a weight-1 slot', async (t) => {
  const after = planChange(ring(['a', 'b', 'c'], ['big']), {
    action: 'add',
    nodeId: 'big',
    weight: 2,
  });
  const view = new RingView(after);
  const counts = new Map<string, number>();
  for (const u of USERS)
    counts.set(view.ownerIdOf(u) ?? '', (counts.get(view.ownerIdOf(u) ?? '') ?? 0) + 1);
  const share = (counts.get('big') ?? 0) / USERS.length;
  t.ok(share > 0.3 && share < 0.5, `weight 2 of total 5 → ~40% (got ${share.toFixed(3)})`);
});

t.test('member-add admits a new id; member-remove forgets one that serves nothing', async (t) => {
  const ring: RingConfig = {
    epoch: 4,
    virtualNodesPerWeight: 8,
    slots: [{ slot: 'slot-0', nodeId: 'a', weight: 1 }],
    standbys: ['s'],
    parked: ['p'],
    nodes: {
      a: { nodeId: 'a', url: 'http://127.0.0.1:1' },
      s: { nodeId: 's', url: 'http://127.0.0.1:2' },
      p: { nodeId: 'p', url: 'http://127.0.0.1:3' },
    },
  };
  const admitted = planChange(ring, { action: 'member-add', nodeId: 'n' });
  t.same(admitted.admitted, ['n']);
  t.equal(admitted.epoch, 5);
  t.throws(() => planChange(admitted, { action: 'member-add', nodeId: 'n' }), {
    code: 'NOTHING_TO_DO',
  });
  for (const known of ['a', 's', 'p'])
    t.throws(() => planChange(ring, { action: 'member-add', nodeId: known }), {
      code: 'NOTHING_TO_DO',
    });
  t.same(planChange(admitted, { action: 'member-remove', nodeId: 'n' }).admitted, undefined);
  const withoutStandby = planChange(ring, { action: 'member-remove', nodeId: 's' });
  t.same(withoutStandby.standbys, []);
  t.notOk(Object.hasOwn(withoutStandby.nodes, 's'));
  const withoutParked = planChange(ring, { action: 'member-remove', nodeId: 'p' });
  t.equal(withoutParked.parked, undefined);
  t.notOk(Object.hasOwn(withoutParked.nodes, 'p'));
  t.throws(() => planChange(ring, { action: 'member-remove', nodeId: 'a' }), { code: 'NODE_BUSY' });
  t.throws(() => planChange(ring, { action: 'member-remove', nodeId: 'zz' }), {
    code: 'UNKNOWN_NODE',
  });
});

t.test('member-add stops at RING_NODES_LIMIT members', async (t) => {
  const ids = Array.from({ length: RING_NODES_LIMIT - 1 }, (_, i) => `m-${i}`);
  const ring: RingConfig = {
    epoch: 1,
    virtualNodesPerWeight: 8,
    slots: [{ slot: 'slot-0', nodeId: 'a', weight: 1 }],
    standbys: [],
    admitted: ids.slice(1),
    nodes: {},
  };
  // a + (limit - 2) admitted = limit - 1 members: one more fits, then no more.
  const full = planChange(ring, { action: 'member-add', nodeId: 'last' });
  t.equal((full.admitted?.length ?? 0) + 1, RING_NODES_LIMIT);
  t.throws(() => planChange(full, { action: 'member-add', nodeId: 'one-too-many' }), {
    code: 'INVALID_CHANGE',
  });
});
