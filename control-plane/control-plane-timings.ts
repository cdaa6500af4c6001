import {
  ChatringError,
  HEARTBEAT_INTERVAL_MS_MAX,
  HEARTBEAT_INTERVAL_MS_MIN,
  LEASE_MS_MAX,
  LEASE_MS_MIN,
  TIMEOUT_MS_MAX,
  integerRule,
  requireOption,
  resolveOptions,
  type GivenOptions,
  type OptionRules,
} from '../protocol/index.js';

/**
 * The lease timings every backend (in-process, Redis), every process (router, node) and every
 * command line (`chatring start|router|node`) shares, checked by one function with one set of
 * bounds, so no two places can disagree about what a valid lease is.
 */
export interface ControlPlaneTimings {
  /**
   * How often nodes renew their lease.
   * @default 250
   */
  heartbeatIntervalMs: number;
  /**
   * A node whose last renewal is older than this is dead; its slot goes to a standby. Detection
   * takes at most leaseMs + heartbeatIntervalMs (one failure-detector tick).
   *
   * The trade-off is failover time against stalls: a node serves only while its last renewal was
   * sent less than 4/5 of the lease ago, so with 1.5 s and renewals every 250 ms a node that
   * stalls (a GC pause, a blocked event loop, SIGSTOP) for up to ~0.95 s loses nothing; a longer
   * stall makes it refuse (retryably) until a renewal succeeds, and one past the lease makes the
   * control plane give its slot to a standby. Node heaps are small (a 256 MiB cache by default) and
   * V8's pauses on them are tens of ms, so 1.5 s buys a kill -9 to first success under 2 s
   * (bench/failover.ts) at the cost of 4 renewals a second per node. Raise it (and the heartbeat)
   * for nodes with large heaps, or across links that drop packets for seconds.
   * @default 1500
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
  heartbeatIntervalMs: 250,
  leaseMs: 1_500,
  startupGraceMs: 15_000,
});

const CONTROL_PLANE_TIMING_RULES: OptionRules<ControlPlaneTimings> = {
  heartbeatIntervalMs: integerRule(HEARTBEAT_INTERVAL_MS_MIN, HEARTBEAT_INTERVAL_MS_MAX),
  leaseMs: integerRule(LEASE_MS_MIN, LEASE_MS_MAX),
  startupGraceMs: integerRule(0, TIMEOUT_MS_MAX),
};

/**
 * Fills and checks the timings: each within its bounds, and a heartbeat shorter than the lease (a
 * lease needs renewals). `startupGraceMs` below the lease is raised to it: a node never seen gets at
 * least one lease, like every node after a (re)connection. `component` names the caller in errors.
 */
export function resolveControlPlaneTimings(
  component: string,
  given: GivenOptions<ControlPlaneTimings> = {},
): Readonly<ControlPlaneTimings> {
  const picked: GivenOptions<ControlPlaneTimings> = {
    heartbeatIntervalMs: given.heartbeatIntervalMs,
    leaseMs: given.leaseMs,
    startupGraceMs: given.startupGraceMs,
  };
  const timings = resolveOptions(
    component,
    DEFAULT_CONTROL_PLANE_TIMINGS,
    picked,
    CONTROL_PLANE_TIMING_RULES,
  );
  requireOption(
    timings.heartbeatIntervalMs < timings.leaseMs,
    component,
    'heartbeatIntervalMs',
    `must be below leaseMs (a lease needs renewals), got ${timings.heartbeatIntervalMs} >= ${timings.leaseMs}`,
  );
  return Object.freeze({
    ...timings,
    startupGraceMs: Math.max(timings.startupGraceMs, timings.leaseMs),
  });
}

/**
 * Splits a backend's options into the shared timings, checked here by the one rule, and the
 * backend's own options, left for its own rule table.
 */
export function separateTimings<T extends GivenOptions<ControlPlaneTimings>>(
  component: string,
  given: T,
): { timings: Readonly<ControlPlaneTimings>; own: Omit<T, keyof ControlPlaneTimings> } {
  if (typeof given !== 'object' || given === null)
    throw new ChatringError('INVALID_OPTION', `${component}: options must be an object`);
  const { heartbeatIntervalMs, leaseMs, startupGraceMs, ...own } = given;
  const timings = resolveControlPlaneTimings(component, {
    heartbeatIntervalMs,
    leaseMs,
    startupGraceMs,
  });
  return { timings, own };
}
