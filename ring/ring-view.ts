import HashRing from 'hashring';
import type { NodeInfo, RingConfig } from '../protocol/index.js';

/** Lookups a RingView remembers (the same bound hashring's cache had here). */
const RING_LOOKUPS_CACHED_MAX = 10_000;

/**
 * The pure routing function every router and node shares: userId → slot by a virtual-node
 * consistent hash over slot *names* (hashring), then slot → node by the ring config.
 *
 * Hashing slot names rather than node addresses is what lets a standby take over a dead node's
 * slot at the same ring position: exactly that node's users move, nobody else's.
 */
export class RingView {
  readonly config: Readonly<RingConfig>;
  readonly #ring: HashRing | undefined;
  readonly #ownerBySlot: Map<string, string>;
  /**
   * Recent lookups, our own: hashring's `get` caches in a plain object keyed by the user id, so
   * `__proto__` (a valid user id) would reach Object.prototype and corrupt every later lookup.
   * Maps have no such keys. Two generations bound it: when the newer fills, it becomes the older
   * and the oldest is dropped whole (O(1); evicting single entries from a Map's front costs more
   * than the MD5 it saves).
   */
  #recentSlots = new Map<string, string>();
  #olderSlots = new Map<string, string>();
  #epochText: string | undefined;

  constructor(config: RingConfig) {
    this.config = config;
    this.#ownerBySlot = new Map(
      config.slots.map((assignment) => [assignment.slot, assignment.nodeId]),
    );
    this.#ring =
      config.slots.length === 0
        ? undefined
        : new HashRing(vnodesBySlot(config), 'md5', { 'max cache size': 0 });
  }

  get epoch(): number {
    return this.config.epoch;
  }

  /** The epoch as the epoch header carries it, made once per ring rather than per request. */
  get epochText(): string {
    return (this.#epochText ??= String(this.config.epoch));
  }

  /** The slot a user hashes to; undefined only on an empty ring. */
  slotOf(userId: string): string | undefined {
    const ring = this.#ring;
    if (ring === undefined) return undefined;
    const recent = this.#recentSlots.get(userId);
    if (recent !== undefined) return recent;
    // What hashring's `get` computes, without its cache: the first point at or after the key's hash.
    const slot =
      this.#olderSlots.get(userId) ?? ring.ring[ring.find(ring.hashValue(userId))]?.server;
    if (slot === undefined) return undefined;
    if (this.#recentSlots.size >= RING_LOOKUPS_CACHED_MAX / 2) {
      this.#olderSlots = this.#recentSlots;
      this.#recentSlots = new Map();
    }
    this.#recentSlots.set(userId, slot);
    return slot;
  }

  ownerIdOf(userId: string): string | undefined {
    const slot = this.slotOf(userId);
    return slot === undefined ? undefined : this.#ownerBySlot.get(slot);
  }

  ownerOf(userId: string): NodeInfo | undefined {
    const nodeId = this.ownerIdOf(userId);
    return nodeId === undefined ? undefined : this.config.nodes[nodeId];
  }

  slotsOf(nodeId: string): string[] {
    return this.config.slots
      .filter((assignment) => assignment.nodeId === nodeId)
      .map((assignment) => assignment.slot);
  }
}

function vnodesBySlot(config: RingConfig): Record<string, { vnodes: number }> {
  const spec: Record<string, { vnodes: number }> = {};
  for (const assignment of config.slots) {
    spec[assignment.slot] = {
      vnodes: Math.max(1, Math.round(config.virtualNodesPerWeight * assignment.weight)),
    };
  }
  return spec;
}
