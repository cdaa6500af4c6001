import { md5Hash32, mix32 } from './key-hash.js';

/**
 * Rendezvous (highest random weight) hashing: every slot scores every key and the highest score
 * wins. Perfect minimal movement for any add or remove, balance as good as the hash, but a lookup
 * costs O(slots). Reference implementation for bench/ only: a slot's seed is the MD5 hash of its
 * name, a score is mix32(keyHash XOR slotSeed).
 */
export class RendezvousHash {
  readonly slots: readonly string[];
  readonly #seeds: Uint32Array;

  constructor(slots: readonly string[]) {
    if (slots.length === 0) throw new Error('RendezvousHash: needs at least one slot');
    this.slots = [...slots];
    this.#seeds = Uint32Array.from(slots, (slot) => md5Hash32(slot));
  }

  /** Index into `slots` of the winner for a key hash. */
  indexOf(key32: number): number {
    let best = -1;
    let bestScore = -1;
    for (let index = 0; index < this.#seeds.length; index += 1) {
      const score = mix32(key32 ^ (this.#seeds[index] ?? 0));
      if (score > bestScore) {
        bestScore = score;
        best = index;
      }
    }
    return best;
  }

  slotOf(key: string): string {
    return this.slots[this.indexOf(md5Hash32(key))] ?? '';
  }
}
