/**
 * Users placed on rings fast: each user's key hash computed once and placed with hashring's own
 * `find` on a ring built exactly as RingView builds it, checked against RingView itself on a sample.
 */
import HashRing from 'hashring';
import assert from 'node:assert/strict';
import { type RingConfig } from '../../protocol/index.js';
import { SeededRandom } from '../lib/seeded-random.js';

export interface HashRingInternals {
  ring: { value: number; server: string }[];
  find(hashValue: number): number;
}

/** Deterministic ids of 12 characters from the user id alphabet. */
export function syntheticUserIds(count: number, seed: number): string[] {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-';
  const random = new SeededRandom(seed);
  const ids: string[] = [];
  for (let index = 0; index < count; index += 1) {
    let id = '';
    for (let char = 0; char < 12; char += 1) id += alphabet[random.integerBelow(64)];
    ids.push(id);
  }
  return ids;
}

export function slotNames(count: number): string[] {
  return Array.from({ length: count }, (_, index) => `slot-${index}`);
}

export function ringConfig(names: string[], vnodes: number): RingConfig {
  return {
    epoch: 1,
    virtualNodesPerWeight: vnodes,
    slots: names.map((slot, index) => ({ slot, nodeId: `node-${index}`, weight: 1 })),
    standbys: [],
    nodes: {},
  };
}

/** The hashring RingView builds for this config (protocol/ring-view.ts: vnodes = round(vnodesPerWeight × weight), md5, LRU 10,000). */
export function mirrorOfRingView(names: string[], vnodes: number): HashRing {
  const spec: Record<string, { vnodes: number }> = {};
  for (const name of names) spec[name] = { vnodes: Math.max(1, Math.round(vnodes * 1)) };
  return new HashRing(spec, 'md5', { 'max cache size': 10_000 });
}

export function internalsOf(ring: HashRing): HashRingInternals {
  const candidate = ring as unknown as Partial<HashRingInternals>;
  assert(
    Array.isArray(candidate.ring) && typeof candidate.find === 'function',
    'hashring no longer exposes ring/find: update bench/ring.ts',
  );
  return candidate as HashRingInternals;
}

export function pointSlots(internals: HashRingInternals, names: string[]): Uint16Array {
  const indexOf = new Map(names.map((name, index) => [name, index]));
  return Uint16Array.from(internals.ring, (point) => {
    const index = indexOf.get(point.server);
    assert(index !== undefined, `ring point of unknown slot ${point.server}`);
    return index;
  });
}

/** Slot index of every user, through hashring's own binary search over its continuum. */
export function placeOnHashring(ring: HashRing, names: string[], hashes: Uint32Array): Uint16Array {
  const internals = internalsOf(ring);
  const pointSlot = pointSlots(internals, names);
  const placed = new Uint16Array(hashes.length);
  for (let index = 0; index < hashes.length; index += 1)
    placed[index] = pointSlot[internals.find(hashes[index] ?? 0)] ?? 0;
  return placed;
}

/** Re-expresses slot indexes of a smaller ring in the numbering of the full one. */
export function remap(placed: Uint16Array, from: string[], to: string[]): Uint16Array {
  const toIndex = new Map(to.map((name, index) => [name, index]));
  const table = Uint16Array.from(from, (name) => toIndex.get(name) ?? 0);
  return placed.map((index) => table[index] ?? 0);
}

export function verifyAgainst(
  users: string[],
  placed: Uint16Array,
  names: string[],
  lookup: (user: string) => string | undefined,
  count: number,
): { users: number; mismatches: number } {
  const checked = Math.min(count, users.length);
  let mismatches = 0;
  for (let index = 0; index < checked; index += 1) {
    if (lookup(users[index] ?? '') !== names[placed[index] ?? 0]) mismatches += 1;
  }
  return { users: checked, mismatches };
}
