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

export interface ControlPlaneTimings {
  /**
   * How often nodes renew their lease.
   * @default 500
   */
  heartbeatIntervalMs: number;
  /**
   * A node whose last renewal is older than this is dead; its slot goes to a standby. Detection
   * takes at most leaseMs + heartbeatIntervalMs (one failure-detector tick).
   * @default 3000
   */
  leaseMs: number;
  /**
   * After the control plane starts, how long a node of the ring may go without a first heartbeat
   * before it is declared dead (at least leaseMs).
   * @default 15000
   */
  startupGraceMs: number;
}

export const DEFAULT_CONTROL_PLANE_TIMINGS: Readonly<ControlPlaneTimings> = Object.freeze({
  heartbeatIntervalMs: 500,
  leaseMs: 3_000,
  startupGraceMs: 15_000,
});
