import type { NodeInfo, RingConfig } from '../protocol/index.js';
import { planRegistration, withoutChangeId } from '../ring/index.js';

/**
 * What a heartbeat changes in the ring, on every backend: an unknown node is registered as a
 * standby, and a known node's changed address or pid is recorded. Undefined when nothing changes
 * (the usual heartbeat), so renewals do not move the epoch.
 */
export function planNodeUpdate(ring: RingConfig, node: NodeInfo): RingConfig | undefined {
  const registered = planRegistration(ring, node.nodeId) ?? ring;
  const known = registered.nodes[node.nodeId];
  if (registered === ring && known?.url === node.url && known.pid === node.pid) return undefined;
  const info: NodeInfo =
    node.pid === undefined
      ? { nodeId: node.nodeId, url: node.url }
      : { nodeId: node.nodeId, url: node.url, pid: node.pid };
  return {
    ...withoutChangeId(registered),
    epoch: ring.epoch + 1,
    nodes: { ...registered.nodes, [node.nodeId]: info },
  };
}
