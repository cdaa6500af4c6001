/** The conversations of the failover load: half of them touch a user the victim owns. */
import { conversationIdOf, orderedPair } from '../../protocol/index.js';
import type { RingView } from '../../ring/index.js';
import type { Pair } from './failover-results.js';
import { settings } from './failover-settings.js';

/** Users `fo-<seed>-<n>`, half owned by the victim; every pair has at least one victim-owned user in half the pairs. */
export function choosePairs(ring: RingView, victimId: string): Pair[] {
  const owned: string[] = [];
  const others: string[] = [];
  for (
    let index = 0;
    owned.length < settings.pairs || others.length < settings.pairs * 2;
    index += 1
  ) {
    const userId = `fo${settings.seed}u${String(index).padStart(5, '0')}`;
    (ring.ownerIdOf(userId) === victimId ? owned : others).push(userId);
    if (index > 1_000_000) throw new Error('could not find users on the victim');
  }
  const pairs: Pair[] = [];
  for (let index = 0; index < settings.pairs; index += 1) {
    // Even pairs: a victim-owned user with another; odd pairs: two users the victim does not own.
    const a =
      index % 2 === 0 ? (owned[index] as string) : (others[settings.pairs + index] as string);
    const b = others[index] as string;
    const [low, high] = orderedPair(a, b);
    const lowOnVictim = ring.ownerIdOf(low) === victimId;
    const highOnVictim = ring.ownerIdOf(high) === victimId;
    pairs.push({
      low,
      high,
      conversationId: conversationIdOf(low, high),
      affected: lowOnVictim || highOnVictim,
      lowOnVictim,
      highOnVictim,
    });
  }
  return pairs;
}
