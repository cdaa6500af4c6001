/** control-plane/: the ring, leases, standbys and failover. */
export * from './control-plane.js';
export * from '../ring/index.js';
export {
  InProcessControlPlane,
  type InProcessControlPlaneOptions,
} from './in-process-control-plane.js';
export { HttpControlPlaneClient } from './http-control-plane-client.js';
export { registerControlPlaneRoutes, CONTROL_PLANE_PATHS } from './control-plane-routes.js';
export * from '../ring/index.js';
export * from './ring-change-orchestrator.js';
export * from './ring-change-routes.js';
export {
  RedisControlPlane,
  EpochConflictError,
  redisControlPlaneKeys,
  type DetectorOutcome,
  type EpochConflictReason,
  type RedisControlPlaneKeys,
} from './redis-control-plane.js';
export {
  DEFAULT_REDIS_CONTROL_PLANE_OPTIONS,
  resolveRedisControlPlaneOptions,
  type RedisControlPlaneEvent,
  type RedisControlPlaneOptions,
  type ResolvedRedisControlPlaneOptions,
} from './redis-options.js';
export * from './control-plane-link.js';
