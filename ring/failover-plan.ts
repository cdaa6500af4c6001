import { ChatringError, type RingConfig } from '../protocol/index.js';

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
  retentionMs: number = Number.POSITIVE_INFINITY,
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
  const nodes = prunedNodes(ring, slots, standbys, lastHeartbeatAt, now, retentionMs);
  if (!changed && nodes === ring.nodes) return undefined;
  return { ...withoutChangeId(ring), epoch: ring.epoch + 1, slots, standbys, nodes };
}

/**
 * Members that left: a node placed nowhere (no slot, not a standby, not parked or admitted) whose
 * last heartbeat is older than `retentionMs` is forgotten, so it must be admitted again to come
 * back. Nodes with no heartbeat on record are kept: not knowing is not evidence of leaving.
 */
function prunedNodes(
  ring: RingConfig,
  slots: RingConfig['slots'],
  standbys: readonly string[],
  lastHeartbeatAt: ReadonlyMap<string, number>,
  now: number,
  retentionMs: number,
): RingConfig['nodes'] {
  const placed = new Set([
    ...slots.map((a) => a.nodeId),
    ...standbys,
    ...(ring.parked ?? []),
    ...(ring.admitted ?? []),
  ]);
  const gone = Object.keys(ring.nodes).filter((nodeId) => {
    const last = lastHeartbeatAt.get(nodeId);
    return !placed.has(nodeId) && last !== undefined && now - last > retentionMs;
  });
  if (gone.length === 0) return ring.nodes;
  const nodes = { ...ring.nodes };
  for (const nodeId of gone) delete nodes[nodeId];
  return nodes;
}

/**
 * A heartbeat from a member placed nowhere: one admitted (by an operator or the launcher) or
 * registered before (it served or stood by, then died) becomes a standby; undefined if it is
 * already placed. Anyone else is refused: holding the cluster secret does not let a process join
 * under a new id (UNKNOWN_MEMBER; `ringctl member add` admits it).
 */
export function planRegistration(ring: RingConfig, nodeId: string): RingConfig | undefined {
  const placed =
    ring.slots.some((a) => a.nodeId === nodeId) ||
    ring.standbys.includes(nodeId) ||
    (ring.parked ?? []).includes(nodeId);
  if (placed) return undefined;
  const admitted = ring.admitted ?? [];
  if (!admitted.includes(nodeId) && !Object.hasOwn(ring.nodes, nodeId))
    throw new ChatringError(
      'UNKNOWN_MEMBER',
      `node ${nodeId} is not a member of this cluster; an operator admits it with \`ringctl member add ${nodeId}\``,
    );
  const { admitted: _admitted, ...rest } = withoutChangeId(ring);
  const stillAdmitted = admitted.filter((id) => id !== nodeId);
  return {
    ...rest,
    ...(stillAdmitted.length === 0 ? {} : { admitted: stillAdmitted }),
    epoch: ring.epoch + 1,
    standbys: [...ring.standbys, nodeId],
  };
}

/** The ring a fresh local cluster starts with: slot-i served by node-(i+1); `standbyIds` admitted. */
export function initialRing(
  nodeIds: readonly string[],
  virtualNodesPerWeight = 160,
  standbyIds: readonly string[] = [],
): RingConfig {
  return {
    epoch: 1,
    virtualNodesPerWeight,
    slots: nodeIds.map((nodeId, index) => ({ slot: `slot-${index}`, nodeId, weight: 1 })),
    standbys: [],
    ...(standbyIds.length === 0 ? {} : { admitted: [...standbyIds] }),
    nodes: {},
  };
}

/** A ring derived from one an operator's change published is no longer that change's ring. */
export function withoutChangeId(ring: RingConfig): RingConfig {
  const { changeId: _changeId, ...rest } = ring;
  return rest;
}
