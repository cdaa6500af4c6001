import {
  ANY_RULE,
  BOOLEAN_RULE,
  FUNCTION_RULE,
  REDIS_COMMAND_TIMEOUT_MS_MIN,
  REDIS_CONNECT_TIMEOUT_MS_MIN,
  REDIS_KEY_PREFIX_PATTERN,
  REGISTRATION_ATTEMPTS_LIMIT,
  SYSTEM_CLOCK,
  TIMEOUT_MS_MAX,
  integerRule,
  requireOption,
  resolveOptions,
  type Clock,
  type OptionRules,
  type RingConfig,
} from '../../protocol/index.js';
import { separateTimings, type ControlPlaneTimings } from '../control-plane.js';
import { checkedRingOption } from '../ring-config-check.js';

/** What a RedisControlPlane reports about itself (logging, metrics, tests). */
export type RedisControlPlaneEvent =
  | { type: 'connected'; reconnect: boolean }
  | { type: 'disconnected'; error?: string }
  /** Redis could not be reached (or answered too late): the failure detector grants grace. */
  | { type: 'degraded'; error: string }
  /** No node may be declared dead before `untilMs` (monotonic clock of this instance). */
  | { type: 'grace'; untilMs: number; reason: 'connected' | 'degraded' | 'seeded' }
  /** Redis had no ring (first start, or it lost its data); this instance's ring was offered. */
  | { type: 'seeded'; epoch: number; origin: 'initial' | 'remembered' }
  | { type: 'ring'; epoch: number; source: 'push' | 'poll' | 'reconnect' | 'write' | 'read' }
  | { type: 'failover'; epoch: number; deadNodeIds: string[] };

/**
 * Options of a RedisControlPlane. Timings must be the same in every instance of one cluster; they
 * are checked by resolveControlPlaneTimings like on every other backend.
 */
export interface RedisControlPlaneOptions extends Partial<ControlPlaneTimings> {
  /** `redis://[user:password@]host:port[/db]` (or `rediss://` for TLS). */
  redisUrl: string;
  /**
   * Prefix of every key and channel. Use a hash tag (`{chatring}:`) on a Redis Cluster so all
   * keys share one slot (the scripts touch several keys).
   * @default 'chatring:'
   */
  keyPrefix?: string;
  /** The ring to seed Redis with when it holds none and this instance remembers none. */
  initialRing?: RingConfig;
  /**
   * Run the failure detector here. Routers: yes (every router runs one; the compare-and-set makes
   * sure only one applies each change). Cache nodes and ringctl: no.
   * @default true
   */
  failureDetector?: boolean;
  /**
   * Keep a subscriber connection for pushed ring changes (routers and nodes: yes; ringctl: no).
   * @default true
   */
  listenForRingChanges?: boolean;
  /**
   * Backstop poll of the ring, in case a push was lost. Push stays the primary path.
   * @default 5000
   */
  ringPollIntervalMs?: number;
  /** @default 1000 */
  connectTimeoutMs?: number;
  /**
   * A command not answered within this fails (the failure detector then grants grace: a Redis that
   * stalled may have let leases expire that nodes could not renew). Must be below leaseMs.
   * @default min(1000, floor(leaseMs / 3))
   */
  commandTimeoutMs?: number;
  /** First reconnect delay; it doubles per attempt up to reconnectBackoffMaxMs. @default 25 */
  reconnectBackoffBaseMs?: number;
  /**
   * Longest reconnect delay. Kept well under leaseMs: after an outage a node has one lease of grace
   * to renew, and its reconnect delay eats into it.
   * @default min(1000, max(reconnectBackoffBaseMs, floor(leaseMs / 4)))
   */
  reconnectBackoffMaxMs?: number;
  /** How long `start()` waits for Redis before it fails. @default 10000 */
  startTimeoutMs?: number;
  /** Compare-and-set attempts for one heartbeat's registration / node-info update. @default 3 */
  registrationAttemptsMax?: number;
  /** Time for grace periods (injected for tests). @default SYSTEM_CLOCK */
  clock?: Clock;
  /** Told about connections, grace periods, seeding and failovers. */
  onEvent?: (event: RedisControlPlaneEvent) => void;
}

export interface ResolvedRedisControlPlaneOptions extends ControlPlaneTimings {
  redisUrl: string;
  keyPrefix: string;
  initialRing: RingConfig | undefined;
  failureDetector: boolean;
  listenForRingChanges: boolean;
  ringPollIntervalMs: number;
  connectTimeoutMs: number;
  commandTimeoutMs: number;
  reconnectBackoffBaseMs: number;
  reconnectBackoffMaxMs: number;
  startTimeoutMs: number;
  registrationAttemptsMax: number;
  clock: Clock;
  onEvent: (event: RedisControlPlaneEvent) => void;
}

/** The options with a fixed default (the timings have theirs in DEFAULT_CONTROL_PLANE_TIMINGS). */
type FixedDefaultOption =
  | 'keyPrefix'
  | 'failureDetector'
  | 'listenForRingChanges'
  | 'ringPollIntervalMs'
  | 'connectTimeoutMs'
  | 'reconnectBackoffBaseMs'
  | 'startTimeoutMs'
  | 'registrationAttemptsMax'
  | 'clock'
  | 'onEvent';

export const DEFAULT_REDIS_CONTROL_PLANE_OPTIONS: Readonly<
  Required<Pick<RedisControlPlaneOptions, FixedDefaultOption>>
> = Object.freeze({
  keyPrefix: 'chatring:',
  failureDetector: true,
  listenForRingChanges: true,
  ringPollIntervalMs: 5_000,
  connectTimeoutMs: 1_000,
  reconnectBackoffBaseMs: 25,
  startTimeoutMs: 10_000,
  registrationAttemptsMax: 3,
  clock: SYSTEM_CLOCK,
  onEvent: () => undefined,
});

/**
 * commandTimeoutMs and reconnectBackoffMaxMs default to a share of the lease (a third, a quarter),
 * capped at this: short leases need short timeouts, long ones gain nothing from waiting longer.
 */
const LEASE_SHARE_DEFAULT_CAP_MS = 1_000;

/** Every option but the timings, which resolveControlPlaneTimings checks. */
type RedisOnlyOptions = Omit<RedisControlPlaneOptions, keyof ControlPlaneTimings>;

const COMPONENT = 'RedisControlPlane';

const CONNECT_TIMEOUT_RULE = integerRule(REDIS_CONNECT_TIMEOUT_MS_MIN, TIMEOUT_MS_MAX);

/** reconnectBackoffMaxMs, clock and initialRing are checked again below (relations and shapes). */
const REDIS_OPTION_RULES: OptionRules<RedisOnlyOptions> = {
  redisUrl: { kind: 'string', pattern: /^rediss?:\/\//, describe: 'a redis:// or rediss:// URL' },
  keyPrefix: {
    kind: 'string',
    pattern: REDIS_KEY_PREFIX_PATTERN,
    describe: '1-64 characters of [A-Za-z0-9_:.{}-]',
  },
  initialRing: ANY_RULE,
  failureDetector: BOOLEAN_RULE,
  listenForRingChanges: BOOLEAN_RULE,
  ringPollIntervalMs: CONNECT_TIMEOUT_RULE,
  connectTimeoutMs: CONNECT_TIMEOUT_RULE,
  commandTimeoutMs: integerRule(REDIS_COMMAND_TIMEOUT_MS_MIN, TIMEOUT_MS_MAX),
  reconnectBackoffBaseMs: integerRule(1, TIMEOUT_MS_MAX),
  reconnectBackoffMaxMs: integerRule(1, TIMEOUT_MS_MAX),
  startTimeoutMs: CONNECT_TIMEOUT_RULE,
  registrationAttemptsMax: integerRule(1, REGISTRATION_ATTEMPTS_LIMIT),
  clock: ANY_RULE,
  onEvent: FUNCTION_RULE,
};

/** Checks every option (a bad one fails with INVALID_OPTION naming it), fills defaults, freezes. */
export function resolveRedisControlPlaneOptions(
  given: RedisControlPlaneOptions,
): Readonly<ResolvedRedisControlPlaneOptions> {
  const { timings, own: rest } = separateTimings(COMPONENT, given);
  requireOption(rest.redisUrl !== undefined, COMPONENT, 'redisUrl', 'is required');
  // resolveOptions fills every key of the defaults and checked redisUrl's type: the cast only
  // tells the compiler what that call guarantees.
  const checked = resolveOptions<Partial<RedisOnlyOptions>>(
    COMPONENT,
    DEFAULT_REDIS_CONTROL_PLANE_OPTIONS,
    rest,
    REDIS_OPTION_RULES,
  ) as Readonly<RedisOnlyOptions & typeof DEFAULT_REDIS_CONTROL_PLANE_OPTIONS>;
  const { initialRing, clock } = checked;
  requireOption(
    typeof clock?.monotonicNow === 'function',
    COMPONENT,
    'clock',
    'must be a Clock (monotonicNow, wallNow, sleep)',
  );
  const { commandTimeoutMs, reconnectBackoffMaxMs } = leaseBoundTimeouts(checked, timings.leaseMs);
  return Object.freeze({
    ...timings,
    redisUrl: checked.redisUrl,
    keyPrefix: checked.keyPrefix,
    initialRing:
      initialRing === undefined
        ? undefined
        : checkedRingOption(COMPONENT, 'initialRing', initialRing),
    failureDetector: checked.failureDetector,
    listenForRingChanges: checked.listenForRingChanges,
    ringPollIntervalMs: checked.ringPollIntervalMs,
    connectTimeoutMs: checked.connectTimeoutMs,
    commandTimeoutMs,
    reconnectBackoffBaseMs: checked.reconnectBackoffBaseMs,
    reconnectBackoffMaxMs,
    startTimeoutMs: checked.startTimeoutMs,
    registrationAttemptsMax: checked.registrationAttemptsMax,
    clock,
    onEvent: checked.onEvent,
  });
}

/**
 * commandTimeoutMs and reconnectBackoffMaxMs: by default a share of the lease, and in any case
 * below it (a command that outlives a lease is useless) and not below the first backoff.
 */
function leaseBoundTimeouts(
  checked: Pick<RedisOnlyOptions, 'commandTimeoutMs' | 'reconnectBackoffMaxMs'> & {
    reconnectBackoffBaseMs: number;
  },
  leaseMs: number,
): { commandTimeoutMs: number; reconnectBackoffMaxMs: number } {
  const commandTimeoutMs =
    checked.commandTimeoutMs ?? Math.min(LEASE_SHARE_DEFAULT_CAP_MS, Math.floor(leaseMs / 3));
  requireOption(
    commandTimeoutMs < leaseMs,
    COMPONENT,
    'commandTimeoutMs',
    `must be below leaseMs (${leaseMs}), got ${commandTimeoutMs}`,
  );
  const { reconnectBackoffBaseMs } = checked;
  const reconnectBackoffMaxMs =
    checked.reconnectBackoffMaxMs ??
    Math.min(LEASE_SHARE_DEFAULT_CAP_MS, Math.max(reconnectBackoffBaseMs, Math.floor(leaseMs / 4)));
  requireOption(
    reconnectBackoffMaxMs >= reconnectBackoffBaseMs,
    COMPONENT,
    'reconnectBackoffMaxMs',
    `must be at least reconnectBackoffBaseMs (${reconnectBackoffBaseMs}), got ${reconnectBackoffMaxMs}`,
  );
  return { commandTimeoutMs, reconnectBackoffMaxMs };
}
