import type { NodeInfo, RingConfig } from '../protocol/index.js';
import type { HeartbeatReply } from './control-plane.js';
import { HttpControlPlaneClient } from './http-control-plane-client.js';
import { RedisControlPlane } from './redis/redis-control-plane.js';
import type { RedisControlPlaneOptions } from './redis/redis-options.js';
import type { MemberSigner } from '../transport/index.js';

/** Where a node (or ringctl) finds the control plane: a router hosting it (local mode), or Redis. */
export type ControlPlaneAddress =
  | { kind: 'http'; url: string }
  | {
      kind: 'redis';
      redisUrl: string;
      keyPrefix?: string;
      leaseMs: number;
      heartbeatIntervalMs: number;
      /** AUTH and TLS (username, password or passwordFile, tls), checked by RedisControlPlane. */
      connection?: Pick<RedisControlPlaneOptions, 'username' | 'password' | 'passwordFile' | 'tls'>;
    };

/** What a cache node needs from the control plane: renew its lease, read the ring, hear of changes. */
export interface ControlPlaneLink {
  heartbeat(node: NodeInfo): Promise<HeartbeatReply>;
  currentRing(): Promise<RingConfig>;
  /** Push, where the backend has it (Redis pub/sub); over HTTP the ring comes with each renewal. */
  subscribe(listener: (ring: RingConfig) => void): () => void;
  close(): Promise<void>;
}

export async function connectControlPlane(
  address: ControlPlaneAddress,
  timeoutMs: number,
  signer: MemberSigner,
): Promise<ControlPlaneLink> {
  if (address.kind === 'http') {
    const client = new HttpControlPlaneClient(address.url, { timeoutMs, signer });
    return {
      heartbeat: (node) => client.heartbeat(node),
      currentRing: () => client.currentRing(),
      subscribe: () => () => undefined,
      close: () => client.close(),
    };
  }
  // A node's handle: it renews its own lease and listens for rings; routers run the failure detector.
  return RedisControlPlane.open({
    redisUrl: address.redisUrl,
    ...address.connection,
    ...(address.keyPrefix === undefined ? {} : { keyPrefix: address.keyPrefix }),
    leaseMs: address.leaseMs,
    heartbeatIntervalMs: address.heartbeatIntervalMs,
    failureDetector: false,
  });
}
