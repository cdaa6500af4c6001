import type { ClusterStatus, NodeStatus, RingConfig } from '../protocol/index.js';

/** What a backend knows of one node's lease. */
export interface NodeLiveness {
  alive: boolean;
  /** Set once the node has heartbeated at least once. */
  leaseAgeMs?: number | undefined;
}

/** Every node the ring knows of: serving, standby, parked, admitted, or only registered. */
export function knownNodeIds(ring: RingConfig): string[] {
  return [
    ...new Set([
      ...ring.slots.map((a) => a.nodeId),
      ...ring.standbys,
      ...(ring.parked ?? []),
      ...(ring.admitted ?? []),
      ...Object.keys(ring.nodes),
    ]),
  ];
}

/** The status both backends report (`ringctl status`), from the ring and each node's liveness. */
export function clusterStatusOf(
  ring: RingConfig,
  backend: string,
  timings: { leaseMs: number; heartbeatIntervalMs: number },
  livenessOf: (nodeId: string) => NodeLiveness,
): ClusterStatus {
  const nodes: NodeStatus[] = knownNodeIds(ring).map((nodeId) => {
    const { alive, leaseAgeMs } = livenessOf(nodeId);
    const slots = ring.slots.filter((a) => a.nodeId === nodeId).map((a) => a.slot);
    const state = nodeState(
      leaseAgeMs !== undefined || alive,
      alive,
      slots.length > 0,
      (ring.parked ?? []).includes(nodeId),
    );
    const info = ring.nodes[nodeId] ?? { nodeId, url: '' };
    return {
      ...info,
      nodeId,
      state,
      slots,
      ...(leaseAgeMs === undefined ? {} : { leaseAgeMs: Math.round(leaseAgeMs) }),
    };
  });
  return {
    epoch: ring.epoch,
    backend,
    leaseMs: timings.leaseMs,
    heartbeatIntervalMs: timings.heartbeatIntervalMs,
    slots: ring.slots.map((a) => ({ ...a })),
    standbys: [...ring.standbys],
    nodes,
  };
}

function nodeState(
  seen: boolean,
  alive: boolean,
  serving: boolean,
  parked: boolean,
): NodeStatus['state'] {
  if (!seen) return 'joining';
  if (!alive) return 'dead';
  if (serving) return 'serving';
  return parked ? 'parked' : 'standby';
}
