import { createHash } from 'node:crypto';

/**
 * The 32-bit key hash hashring uses (ketama): the first four bytes of the MD5 digest, little end
 * first. The reference algorithms (jump, rendezvous) hash keys the same way, so their lookup times
 * differ from the ring's only by the placement step, not by the key hash.
 */
export function md5Hash32(key: string): number {
  const digest = createHash('md5').update(key).digest();
  return (
    (((digest[3] ?? 0) << 24) |
      ((digest[2] ?? 0) << 16) |
      ((digest[1] ?? 0) << 8) |
      (digest[0] ?? 0)) >>>
    0
  );
}

/** MurmurHash3's 32-bit finalizer: a bijective avalanche mixer. */
export function mix32(value: number): number {
  let h = value >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}
