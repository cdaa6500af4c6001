/** control-plane/: the ring, leases, standbys and failover. */
export * from './control-plane.js';
export * from '../ring/index.js';
export {
  InProcessControlPlane,
  type InProcessControlPlaneOptions,
} from './in-process-control-plane.js';
export {
  HttpControlPlaneClient,
  type HttpControlPlaneClientOptions,
} from './http-control-plane-client.js';
export { registerControlPlaneRoutes, CONTROL_PLANE_PATHS } from './control-plane-routes.js';
export * from './ring-change-orchestrator.js';
export * from './ring-change-routes.js';
export { RedisControlPlane } from './redis/redis-control-plane.js';
export { EpochConflictError, type EpochConflictReason } from './redis/epoch-conflict-error.js';
export { type DetectorOutcome } from './redis/failure-detector.js';
export { redisControlPlaneKeys, type RedisControlPlaneKeys } from './redis/redis-keys.js';
export {
  DEFAULT_REDIS_CONTROL_PLANE_OPTIONS,
  resolveRedisControlPlaneOptions,
  type RedisControlPlaneEvent,
  type RedisControlPlaneOptions,
  type RedisTlsOptions,
  type ResolvedRedisControlPlaneOptions,
} from './redis/redis-options.js';
export * from './control-plane-link.js';
