import type { Redis } from 'ioredis';
import type { NodeLiveness } from '../../ring/index.js';
import type { RedisControlPlaneKeys } from './redis-keys.js';

/** What Redis says about some nodes' leases, read in one pipeline. */
export interface LeaseReadings {
  /** Redis's clock, in ms. */
  redisNowMs: number;
  /** PTTL of each node's lease key, in the order asked (-2: absent, the lease lapsed). */
  ttlsMs: number[];
  /** Redis time of each node's last heartbeat; undefined: never heartbeated to this Redis. */
  lastSeenMs: (number | undefined)[];
}

/** PTTL of each node's lease key, the last-seen times, and Redis's clock. */
export async function readLeases(
  commands: Redis,
  keys: RedisControlPlaneKeys,
  nodeIds: readonly string[],
): Promise<LeaseReadings> {
  const pipeline = commands.pipeline().time();
  for (const nodeId of nodeIds) pipeline.pttl(keys.lease(nodeId));
  if (nodeIds.length > 0) pipeline.hmget(keys.lastSeen, ...nodeIds);
  const results = (await pipeline.exec()) ?? [];
  for (const [error] of results) if (error) throw error;
  const values = results.map(([, value]) => value);
  const [seconds, microseconds] = (values[0] as [string, string] | undefined) ?? ['0', '0'];
  const ttlsMs = nodeIds.map((_, index) => Number(values[index + 1]));
  const lastSeen = (values[nodeIds.length + 1] as (string | null)[] | undefined) ?? [];
  return {
    redisNowMs: Number(seconds) * 1000 + Math.floor(Number(microseconds) / 1000),
    ttlsMs,
    lastSeenMs: nodeIds.map((_, index) => {
      const text = lastSeen[index];
      return text === null || text === undefined ? undefined : Number(text);
    }),
  };
}

/**
 * Each node's liveness for status(): alive while its lease key exists; its lease age from the key's
 * remaining TTL when alive, else from its last heartbeat on Redis's clock.
 */
export function leaseLiveness(
  nodeIds: readonly string[],
  readings: LeaseReadings,
  leaseMs: number,
): Map<string, NodeLiveness> {
  const { redisNowMs, ttlsMs, lastSeenMs } = readings;
  return new Map(
    nodeIds.map((nodeId, index) => {
      const ttlMs = ttlsMs[index] ?? -2;
      const lastSeen = lastSeenMs[index];
      const alive = ttlMs !== -2;
      const leaseAgeMs = alive
        ? Math.max(0, leaseMs - Math.max(ttlMs, 0))
        : lastSeen === undefined
          ? undefined
          : Math.max(0, redisNowMs - lastSeen);
      return [nodeId, { alive, leaseAgeMs }] as const;
    }),
  );
}
