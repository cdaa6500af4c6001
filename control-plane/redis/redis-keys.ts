/**
 * The key layout of the Redis control plane (what each key holds, and why, is at the top of
 * redis-control-plane.ts). ringctl and the tests read it; `{prefix}` defaults to `chatring:`.
 */
export interface RedisControlPlaneKeys {
  /** Hash {epoch, config}: the ring as JSON, and its epoch beside it for the scripts. */
  ring: string;
  /** Pub/sub channel: every write publishes the new epoch. */
  ringChanged: string;
  /** Hash nodeId → Redis time (ms) of its last heartbeat (status only). */
  lastSeen: string;
  /** String with PX leaseMs, set when the ring had to be seeded. */
  seedWindow: string;
  /** String with PX leaseMs, set by each heartbeat: present = alive. */
  lease(nodeId: string): string;
}

export function redisControlPlaneKeys(prefix: string): RedisControlPlaneKeys {
  return {
    ring: `${prefix}ring`,
    ringChanged: `${prefix}ring-changed`,
    lastSeen: `${prefix}last-seen`,
    seedWindow: `${prefix}seed-window`,
    lease: (nodeId) => `${prefix}lease:${nodeId}`,
  };
}
