/**
 * Proves RingView, the routing function every router and node shares, is deterministic and moves
 * as few users as consistent hashing promises: two instances built from one config agree on every
 * user; giving a slot to another node (standby promotion) moves exactly that slot's users; adding
 * a slot moves users only onto it, about 1/(N+1) of them; removing a slot moves only its users;
 * an empty ring maps nobody.
 */
import t from 'tap';
import HashRing from 'hashring';
import { type RingConfig, type SlotAssignment } from '../../protocol/index.js';
import { RingView } from '../../ring/index.js';

const USER_COUNT = 20_000;
const userIds = Array.from(
  { length: USER_COUNT },
  (_, index) => `user_${index.toString(36)}_${(index * 7919) % 1000}`,
);

function ringOf(slots: SlotAssignment[], epoch = 1, virtualNodesPerWeight = 40): RingConfig {
  const nodes: RingConfig['nodes'] = {};
  for (const { nodeId } of slots) nodes[nodeId] = { nodeId, url: `http://127.0.0.1/${nodeId}` };
  return { epoch, virtualNodesPerWeight, slots, standbys: [], nodes };
}

function slotsOfSize(count: number): SlotAssignment[] {
  return Array.from({ length: count }, (_, index) => ({
    slot: `slot-${index}`,
    nodeId: `node-${index}`,
    weight: 1,
  }));
}

function slotMap(view: RingView): Map<string, string | undefined> {
  return new Map(userIds.map((userId) => [userId, view.slotOf(userId)]));
}

t.test('maps every user to a slot of the ring, the same one on every call', async (t) => {
  const view = new RingView(ringOf(slotsOfSize(4)));
  const slotNames = new Set(['slot-0', 'slot-1', 'slot-2', 'slot-3']);
  const first = slotMap(view);
  for (const [userId, slot] of first) {
    if (slot === undefined || !slotNames.has(slot))
      t.fail(`user ${userId} mapped to ${String(slot)}`);
  }
  t.same(slotMap(view), first, 'asking again gives the same answer');
  const used = new Set(first.values());
  t.equal(used.size, 4, 'every slot receives users');
});

t.test(
  'two instances built from the same config (two routers) agree on every user and owner',
  async (t) => {
    const config = ringOf(slotsOfSize(5), 7);
    const routerA = new RingView(structuredClone(config));
    const routerB = new RingView(structuredClone(config));
    let disagreements = 0;
    for (const userId of userIds) {
      if (
        routerA.slotOf(userId) !== routerB.slotOf(userId) ||
        routerA.ownerIdOf(userId) !== routerB.ownerIdOf(userId)
      )
        disagreements += 1;
    }
    t.equal(disagreements, 0);
    t.equal(routerA.epoch, 7);
    const someUser = userIds[0] as string;
    t.same(
      routerA.ownerOf(someUser),
      config.nodes[routerA.ownerIdOf(someUser) as string],
      'ownerOf returns the node info of the owner',
    );
  },
);

t.test(
  'standby promotion (same slot name, other nodeId) moves exactly the users of that slot',
  async (t) => {
    const before = new RingView(ringOf(slotsOfSize(4), 1));
    const promotedSlots = slotsOfSize(4).map((assignment) =>
      assignment.slot === 'slot-2' ? { ...assignment, nodeId: 'standby-9' } : assignment,
    );
    const after = new RingView(ringOf(promotedSlots, 2));
    let movedOwner = 0;
    let slotOwnersOfMoved = 0;
    let slotTwoUsers = 0;
    let movedSlot = 0;
    for (const userId of userIds) {
      if (after.slotOf(userId) !== before.slotOf(userId)) movedSlot += 1;
      if (before.slotOf(userId) === 'slot-2') slotTwoUsers += 1;
      if (before.ownerIdOf(userId) !== after.ownerIdOf(userId)) {
        movedOwner += 1;
        if (before.ownerIdOf(userId) === 'node-2' && after.ownerIdOf(userId) === 'standby-9')
          slotOwnersOfMoved += 1;
      }
    }
    t.equal(movedSlot, 0, 'no user changes slot: the ring positions are the slot names');
    t.ok(slotTwoUsers > 0, 'slot-2 has users');
    t.equal(movedOwner, slotTwoUsers, 'exactly the users of slot-2 change owner');
    t.equal(slotOwnersOfMoved, movedOwner, 'and each of them goes from node-2 to the standby');
    t.same(after.slotsOf('standby-9'), ['slot-2']);
    t.same(after.slotsOf('node-2'), []);
  },
);

t.test('adding a slot moves users only onto the new slot, about 1/(N+1) of them', async (t) => {
  for (const slotCount of [3, 4, 5, 8]) {
    const before = new RingView(ringOf(slotsOfSize(slotCount), 1));
    const after = new RingView(ringOf(slotsOfSize(slotCount + 1), 2));
    const newSlot = `slot-${slotCount}`;
    let moved = 0;
    let movedBetweenOldSlots = 0;
    for (const userId of userIds) {
      const from = before.slotOf(userId);
      const to = after.slotOf(userId);
      if (from === to) continue;
      moved += 1;
      if (to !== newSlot) movedBetweenOldSlots += 1;
    }
    const share = moved / USER_COUNT;
    const expected = 1 / (slotCount + 1);
    t.equal(
      movedBetweenOldSlots,
      0,
      `${slotCount}→${slotCount + 1}: no user moves between old slots`,
    );
    // Deterministic (md5 over fixed ids); 3 percentage points leaves room for 40 vnodes per slot.
    t.ok(
      Math.abs(share - expected) < 0.03,
      `${slotCount}→${slotCount + 1}: moved share ${share.toFixed(4)} is within 0.03 of ${expected.toFixed(4)}`,
    );
  }
});

t.test('removing a slot moves only the users of that slot', async (t) => {
  const before = new RingView(ringOf(slotsOfSize(5), 1));
  const after = new RingView(
    ringOf(
      slotsOfSize(5).filter((assignment) => assignment.slot !== 'slot-3'),
      2,
    ),
  );
  let moved = 0;
  let movedFromOtherSlots = 0;
  let slotThreeUsers = 0;
  for (const userId of userIds) {
    const from = before.slotOf(userId);
    const to = after.slotOf(userId);
    if (from === 'slot-3') slotThreeUsers += 1;
    if (to === 'slot-3') t.fail(`${userId} still maps to the removed slot`);
    if (from === to) continue;
    moved += 1;
    if (from !== 'slot-3') movedFromOtherSlots += 1;
  }
  t.ok(slotThreeUsers > 0);
  t.equal(moved, slotThreeUsers, 'every user of the removed slot moves');
  t.equal(movedFromOtherSlots, 0, 'no other user moves');
});

t.test('weights scale a slot share', async (t) => {
  const view = new RingView(
    ringOf([
      { slot: 'slot-0', nodeId: 'node-0', weight: 1 },
      { slot: 'slot-1', nodeId: 'node-1', weight: 3 },
    ]),
  );
  const heavy = userIds.filter((userId) => view.slotOf(userId) === 'slot-1').length / USER_COUNT;
  t.ok(heavy > 0.65 && heavy < 0.85, `weight 3 of 4 gets ${heavy.toFixed(3)} of the users`);
});

t.test('an empty ring maps nobody', async (t) => {
  const view = new RingView(ringOf([]));
  t.equal(view.slotOf('alice'), undefined);
  t.equal(view.ownerIdOf('alice'), undefined);
  t.equal(view.ownerOf('alice'), undefined);
  t.same(view.slotsOf('node-0'), []);
});

t.test('a slot whose node has no NodeInfo has an owner id but no owner address', async (t) => {
  const config = ringOf(slotsOfSize(1));
  config.nodes = {};
  const view = new RingView(config);
  t.equal(view.ownerIdOf('alice'), 'node-0');
  t.equal(view.ownerOf('alice'), undefined);
});

t.test(
  'user ids that are Object.prototype keys route like any other and pollute nothing',
  async (t) => {
    const config: RingConfig = {
      epoch: 1,
      virtualNodesPerWeight: 160,
      slots: [0, 1, 2].map((index) => ({ slot: `slot-${index}`, nodeId: `n${index}`, weight: 1 })),
      standbys: [],
      nodes: {},
    };
    const view = new RingView(config);
    const baseline = new HashRing(
      { 'slot-0': { vnodes: 160 }, 'slot-1': { vnodes: 160 }, 'slot-2': { vnodes: 160 } },
      'md5',
    );
    const tricky = [
      '__proto__',
      'constructor',
      'toString',
      'hasOwnProperty',
      'value',
      'next',
      'before',
    ];
    for (const userId of [...tricky, ...tricky]) {
      const slot = view.slotOf(userId);
      t.match(slot, /^slot-[0-2]$/, `${userId} has a slot`);
    }
    for (const userId of ['value', 'next', 'before', 'alice'])
      t.equal(view.slotOf(userId), baseline.get(userId), `${userId}: same slot as plain hashring`);
    t.equal(Object.getOwnPropertyNames(Object.prototype).includes('value'), false);
    t.equal(({} as Record<string, unknown>).next, undefined, 'Object.prototype has no next');
    t.equal(({} as Record<string, unknown>).before, undefined, 'Object.prototype has no before');
  },
);

t.test('the lookup cache is bounded and never changes an answer', async (t) => {
  const view = new RingView({
    epoch: 1,
    virtualNodesPerWeight: 40,
    slots: [0, 1, 2, 3].map((index) => ({ slot: `slot-${index}`, nodeId: `n${index}`, weight: 1 })),
    standbys: [],
    nodes: {},
  });
  const first = new Map<string, string | undefined>();
  for (let index = 0; index < 25_000; index += 1) first.set(`u${index}`, view.slotOf(`u${index}`));
  let changed = 0;
  for (const [userId, slot] of first) if (view.slotOf(userId) !== slot) changed += 1;
  t.equal(changed, 0, 'evicted and recomputed lookups agree');
});
