import type { RingConfig } from '../protocol/index.js';

/**
 * Pure failover planning. Given the ring and each node's last heartbeat, returns the next ring, or
 * undefined when nothing changes: a serving node whose lease lapsed hands its slot to a live
 * standby (same slot, same ring position: exactly its users move), or, with no standby, the slot
 * leaves the ring and its users spread over the rest. A ring never loses its last slot: with no
 * node left there is nowhere to move users, so it waits for one to come back.
 */
export function planFailover(
  ring: RingConfig,
  lastHeartbeatAt: ReadonlyMap<string, number>,
  now: number,
  leaseMs: number,
): RingConfig | undefined {
  const isAlive = (nodeId: string) =>
    now - (lastHeartbeatAt.get(nodeId) ?? Number.NEGATIVE_INFINITY) <= leaseMs;
  const standbys = ring.standbys.filter(isAlive);
  const deadStandbys = ring.standbys.filter((nodeId) => !isAlive(nodeId));
  let slots = ring.slots;
  let changed = deadStandbys.length > 0;
  for (const assignment of ring.slots) {
    if (isAlive(assignment.nodeId)) continue;
    const replacement = standbys.shift();
    if (replacement !== undefined) {
      slots = slots.map((a) => (a.slot === assignment.slot ? { ...a, nodeId: replacement } : a));
      changed = true;
    } else if (slots.length > 1) {
      slots = slots.filter((a) => a.slot !== assignment.slot);
      changed = true;
    }
  }
  if (!changed) return undefined;
  return { ...withoutChangeId(ring), epoch: ring.epoch + 1, slots, standbys };
}

/** Registers a node nobody has placed yet as a standby; undefined if it is already known. */
export function planRegistration(ring: RingConfig, nodeId: string): RingConfig | undefined {
  const known =
    ring.slots.some((a) => a.nodeId === nodeId) ||
    ring.standbys.includes(nodeId) ||
    (ring.parked ?? []).includes(nodeId);
  if (known) return undefined;
  return { ...withoutChangeId(ring), epoch: ring.epoch + 1, standbys: [...ring.standbys, nodeId] };
}

/** The ring a fresh local cluster starts with: slot-i served by node-(i+1). */
export function initialRing(nodeIds: readonly string[], virtualNodesPerWeight = 160): RingConfig {
  return {
    epoch: 1,
    virtualNodesPerWeight,
    slots: nodeIds.map((nodeId, index) => ({ slot: `slot-${index}`, nodeId, weight: 1 })),
    standbys: [],
    nodes: {},
  };
}

/** A ring derived from one an operator's change published is no longer that change's ring. */
export function withoutChangeId(ring: RingConfig): RingConfig {
  const { changeId: _changeId, ...rest } = ring;
  return rest;
}
