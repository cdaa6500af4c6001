/** One row per algorithm and ring size: RingView (the product), plain hashring (the baseline), jump and rendezvous. */
import HashRing from 'hashring';
import { RingView } from '../../ring/index.js';
import { jumpConsistentHash } from '../lib/jump-consistent-hash.js';
import { md5Hash32 } from '../lib/key-hash.js';
import { RendezvousHash } from '../lib/rendezvous-hash.js';
import {
  internalsOf,
  mirrorOfRingView,
  placeOnHashring,
  pointSlots,
  remap,
  ringConfig,
  slotNames,
  verifyAgainst,
} from './hashring-mirror.js';
import { balanceOf, movementOnAdd, movementOnRemove, nsPerCall } from './ring-figures.js';
import { type RingRow } from './ring-results.js';
import { HASHRING_POINTS_PER_VNODE, HOT_KEYS, settings } from './ring-settings.js';

export function measureRingView(
  users: string[],
  hashes: Uint32Array,
  slotCount: number,
  vnodes: number,
): RingRow {
  const names = slotNames(slotCount);
  const view = new RingView(ringConfig(names, vnodes));
  const base = mirrorOfRingView(names, vnodes);
  const placed = placeOnHashring(base, names, hashes);
  const verified = verifyAgainst(
    users,
    placed,
    names,
    (user) => view.slotOf(user),
    settings.verifyUsers,
  );

  const addedNames = slotNames(slotCount + 1);
  const added = placeOnHashring(mirrorOfRingView(addedNames, vnodes), addedNames, hashes);
  const removedSlot = names[0] ?? 'slot-0';
  const remainingNames = names.filter((name) => name !== removedSlot);
  const removedPlacement = remap(
    placeOnHashring(mirrorOfRingView(remainingNames, vnodes), remainingNames, hashes),
    remainingNames,
    names,
  );

  const internals = internalsOf(base);
  const pointSlot = pointSlots(internals, names);
  return {
    algorithm: 'ringview',
    slots: slotCount,
    vnodesPerSlot: vnodes,
    ringPoints: internals.ring.length,
    balance: balanceOf(placed, slotCount),
    added: movementOnAdd(placed, added, slotCount),
    removed: { ...movementOnRemove(placed, removedPlacement, 0, slotCount), removedSlot },
    lookup: {
      coldNs: nsPerCall((index) => view.slotOf(users[index] ?? '') ?? '', users.length),
      hotNs: nsPerCall(
        (index) => view.slotOf(users[index] ?? '') ?? '',
        Math.min(HOT_KEYS, users.length),
      ),
      placementNs: nsPerCall(
        (index) => pointSlot[internals.find(hashes[index] ?? 0)] ?? 0,
        users.length,
      ),
    },
    verified,
  };
}

export function measurePlainHashring(
  users: string[],
  hashes: Uint32Array,
  slotCount: number,
): { row: RingRow; agreementWithRingView40?: number } {
  const names = slotNames(slotCount);
  const ring = new HashRing(names);
  const placed = placeOnHashring(ring, names, hashes);
  const verified = verifyAgainst(
    users,
    placed,
    names,
    (user) => ring.get(user),
    settings.verifyUsers,
  );
  const addedNames = slotNames(slotCount + 1);
  const added = placeOnHashring(new HashRing(addedNames), addedNames, hashes);
  const removedSlot = names[0] ?? 'slot-0';
  const remainingNames = names.filter((name) => name !== removedSlot);
  const removedPlacement = remap(
    placeOnHashring(new HashRing(remainingNames), remainingNames, hashes),
    remainingNames,
    names,
  );
  const internals = internalsOf(ring);
  const pointSlot = pointSlots(internals, names);
  const ringView40 = placeOnHashring(mirrorOfRingView(names, 40), names, hashes);
  let same = 0;
  for (let index = 0; index < placed.length; index += 1)
    if (placed[index] === ringView40[index]) same += 1;
  return {
    row: {
      algorithm: 'hashring-plain',
      slots: slotCount,
      vnodesPerSlot: internals.ring.length / slotCount / HASHRING_POINTS_PER_VNODE,
      ringPoints: internals.ring.length,
      balance: balanceOf(placed, slotCount),
      added: movementOnAdd(placed, added, slotCount),
      removed: { ...movementOnRemove(placed, removedPlacement, 0, slotCount), removedSlot },
      lookup: {
        coldNs: nsPerCall((index) => ring.get(users[index] ?? ''), users.length),
        hotNs: nsPerCall((index) => ring.get(users[index] ?? ''), Math.min(HOT_KEYS, users.length)),
        placementNs: nsPerCall(
          (index) => pointSlot[internals.find(hashes[index] ?? 0)] ?? 0,
          users.length,
        ),
      },
      verified,
    },
    agreementWithRingView40: same / placed.length,
  };
}

export function measureJump(users: string[], hashes: Uint32Array, slotCount: number): RingRow {
  const place = (buckets: number) =>
    Uint16Array.from(hashes, (hash) => jumpConsistentHash(hash, buckets));
  const placed = place(slotCount);
  const added = place(slotCount + 1);
  const removed = place(slotCount - 1);
  return {
    algorithm: 'jump',
    slots: slotCount,
    balance: balanceOf(placed, slotCount),
    added: movementOnAdd(placed, added, slotCount),
    removed: {
      ...movementOnRemove(placed, removed, slotCount - 1, slotCount),
      removedSlot: `bucket ${slotCount - 1} (the last: jump cannot remove others)`,
    },
    lookup: {
      coldNs: nsPerCall(
        (index) => jumpConsistentHash(md5Hash32(users[index] ?? ''), slotCount),
        users.length,
      ),
      hotNs: nsPerCall(
        (index) => jumpConsistentHash(md5Hash32(users[index] ?? ''), slotCount),
        Math.min(HOT_KEYS, users.length),
      ),
      placementNs: nsPerCall(
        (index) => jumpConsistentHash(hashes[index] ?? 0, slotCount),
        users.length,
      ),
    },
  };
}

export function measureRendezvous(
  users: string[],
  hashes: Uint32Array,
  slotCount: number,
): RingRow {
  const names = slotNames(slotCount);
  const base = new RendezvousHash(names);
  const placed = Uint16Array.from(hashes, (hash) => base.indexOf(hash));
  const addedHash = new RendezvousHash(slotNames(slotCount + 1));
  const added = Uint16Array.from(hashes, (hash) => addedHash.indexOf(hash));
  const removedSlot = names[0] ?? 'slot-0';
  const remainingNames = names.filter((name) => name !== removedSlot);
  const remaining = new RendezvousHash(remainingNames);
  const removed = remap(
    Uint16Array.from(hashes, (hash) => remaining.indexOf(hash)),
    remainingNames,
    names,
  );
  return {
    algorithm: 'rendezvous',
    slots: slotCount,
    balance: balanceOf(placed, slotCount),
    added: movementOnAdd(placed, added, slotCount),
    removed: { ...movementOnRemove(placed, removed, 0, slotCount), removedSlot },
    lookup: {
      coldNs: nsPerCall((index) => base.slotOf(users[index] ?? ''), users.length),
      hotNs: nsPerCall(
        (index) => base.slotOf(users[index] ?? ''),
        Math.min(HOT_KEYS, users.length),
      ),
      placementNs: nsPerCall((index) => base.indexOf(hashes[index] ?? 0), users.length),
    },
  };
}
