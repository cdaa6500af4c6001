/**
 * ring/: the pure ring math every other layer routes and plans by: the ring view (userId → slot →
 * node), operator change plans and previews, failover and registration plans, and the cluster
 * status derived from a ring and its leases. No I/O; it imports only protocol/.
 */
export * from './ring-view.js';
export * from './ring-change-plan.js';
export * from './failover-plan.js';
export * from './cluster-status.js';
export * from './public-ring.js';
