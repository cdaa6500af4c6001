import type { ClusterStatus, HeartbeatReply, NodeInfo, RingConfig } from '../protocol/index.js';

export type { ClusterStatus, HeartbeatReply, NodeStatus } from '../protocol/index.js';

/**
 * The control plane: the ring (versioned by an epoch; every change a compare-and-set on it), node
 * leases, the standby pool, and failover. Backends: in-process (the single-host default) and Redis.
 */
export interface ControlPlane {
  readonly backend: string;
  currentRing(): Promise<RingConfig>;
  /** Renews a node's lease (registering it as a standby when new) and returns the ring. */
  heartbeat(node: NodeInfo): Promise<HeartbeatReply>;
  /** Push: the listener runs with every new ring, in epoch order. Returns an unsubscribe. */
  subscribe(listener: (ring: RingConfig) => void): () => void;
  status(): Promise<ClusterStatus>;
  close(): Promise<void>;
}

export {
  DEFAULT_CONTROL_PLANE_TIMINGS,
  resolveControlPlaneTimings,
  separateTimings,
  type ControlPlaneTimings,
} from './control-plane-timings.js';
