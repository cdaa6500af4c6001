import HashRing from 'hashring';
import type { NodeInfo, RingConfig } from '../protocol/index.js';

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

  constructor(config: RingConfig) {
    this.config = config;
    this.#ownerBySlot = new Map(
      config.slots.map((assignment) => [assignment.slot, assignment.nodeId]),
    );
    this.#ring =
      config.slots.length === 0
        ? undefined
        : new HashRing(vnodesBySlot(config), 'md5', { 'max cache size': 10_000 });
  }

  get epoch(): number {
    return this.config.epoch;
  }

  /** The slot a user hashes to; undefined only on an empty ring. */
  slotOf(userId: string): string | undefined {
    return this.#ring?.get(userId);
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
