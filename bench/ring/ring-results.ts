/** The shapes of the ring benchmark's rows (written to ring.json). */

export type Algorithm = 'ringview' | 'hashring-plain' | 'jump' | 'rendezvous';

export interface BalanceFigures {
  maxOverMean: number;
  minOverMean: number;
  stddevUsers: number;
  coefficientOfVariation: number;
}

export interface MovementFigures {
  /** Share of all users whose slot changed. */
  movedShare: number;
  idealShare: number;
  /** Users that moved but did not have to (not onto the added slot / not off the removed one), as a share. */
  excessShare: number;
}

export interface LookupFigures {
  /** ns per call over the whole population cycled (mostly misses in hashring's LRU cache). */
  coldNs: number;
  /** ns per call over 1,000 hot users (hits in hashring's LRU cache). */
  hotNs: number;
  /** ns per placement given the key hash: the algorithm alone, no MD5, no cache. */
  placementNs: number;
}

export interface RingRow {
  algorithm: Algorithm;
  slots: number;
  /** Virtual nodes per slot; undefined for the algorithms that have none. */
  vnodesPerSlot?: number;
  ringPoints?: number;
  balance: BalanceFigures;
  added: MovementFigures;
  removed: MovementFigures & { removedSlot: string };
  lookup: LookupFigures;
  /** Users checked against the real lookup (slotOf / get), and how many disagreed with the fast path. */
  verified?: { users: number; mismatches: number };
}
