/**
 * Jump consistent hash (Lamping & Veach, 2014): maps a key to one of `buckets` buckets with no
 * table, near-perfect balance, and only 1/(n+1) of keys moving when a bucket is added. Its limit
 * is that buckets are numbered: only the last one can be removed, so it cannot drop an arbitrary
 * failed node without renumbering (which is why chatring does not use it).
 *
 * Reference implementation for bench/ only. The paper steps a 64-bit LCG; JavaScript has no fast
 * 64-bit multiply, so this steps mulberry32 (a 32-bit generator) seeded by the key instead. What
 * the algorithm needs is a deterministic per-key random sequence, which both give.
 */
export function jumpConsistentHash(key32: number, buckets: number): number {
  if (!Number.isSafeInteger(buckets) || buckets < 1)
    throw new Error(`jumpConsistentHash: buckets must be >= 1, got ${buckets}`);
  let state = key32 | 0;
  let bucket = -1;
  let next = 0;
  while (next < buckets) {
    bucket = next;
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    const random = (t ^ (t >>> 14)) >>> 0;
    next = Math.floor((bucket + 1) * (4_294_967_296 / (random + 1)));
  }
  return bucket;
}
