import { performance } from 'node:perf_hooks';
import type { RingConfig } from '../protocol/index.js';
import { DEFAULT_CONTROL_PLANE_TIMINGS, type ControlPlaneTimings } from './control-plane.js';

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

/** Options of a RedisControlPlane. Timings must be the same in every instance of one cluster. */
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
  /** Monotonic clock in ms (injected for tests). @default performance.now */
  monotonicNow?: () => number;
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
  monotonicNow: () => number;
  onEvent: (event: RedisControlPlaneEvent) => void;
}

export const DEFAULT_REDIS_CONTROL_PLANE_OPTIONS = Object.freeze({
  keyPrefix: 'chatring:',
  failureDetector: true,
  listenForRingChanges: true,
  ringPollIntervalMs: 5_000,
  connectTimeoutMs: 1_000,
  commandTimeoutMsMax: 1_000,
  reconnectBackoffBaseMs: 25,
  reconnectBackoffMaxMsMax: 1_000,
  startTimeoutMs: 10_000,
  registrationAttemptsMax: 3,
});

const KEY_PREFIX_PATTERN = /^[A-Za-z0-9_:.{}-]{1,64}$/;

/** Checks every option (a bad one fails with a message naming it), fills defaults, freezes. */
export function resolveRedisControlPlaneOptions(
  options: RedisControlPlaneOptions,
): Readonly<ResolvedRedisControlPlaneOptions> {
  const defaults = DEFAULT_REDIS_CONTROL_PLANE_OPTIONS;
  if (typeof options.redisUrl !== 'string' || !/^rediss?:\/\//.test(options.redisUrl))
    throw new TypeError('redisUrl must be a redis:// or rediss:// URL');
  const keyPrefix = options.keyPrefix ?? defaults.keyPrefix;
  if (!KEY_PREFIX_PATTERN.test(keyPrefix))
    throw new TypeError('keyPrefix must be 1-64 characters of [A-Za-z0-9_:.{}-]');
  const leaseMs = integer('leaseMs', options.leaseMs, DEFAULT_CONTROL_PLANE_TIMINGS.leaseMs, 20);
  const heartbeatIntervalMs = integer(
    'heartbeatIntervalMs',
    options.heartbeatIntervalMs,
    DEFAULT_CONTROL_PLANE_TIMINGS.heartbeatIntervalMs,
    5,
  );
  if (heartbeatIntervalMs >= leaseMs)
    throw new RangeError('heartbeatIntervalMs must be below leaseMs (a lease needs renewals)');
  // A node never seen gets at least one lease, like every node after a (re)connection.
  const startupGraceMs = Math.max(
    leaseMs,
    integer(
      'startupGraceMs',
      options.startupGraceMs,
      DEFAULT_CONTROL_PLANE_TIMINGS.startupGraceMs,
      0,
    ),
  );
  const commandTimeoutMs = integer(
    'commandTimeoutMs',
    options.commandTimeoutMs,
    Math.min(defaults.commandTimeoutMsMax, Math.floor(leaseMs / 3)),
    5,
  );
  if (commandTimeoutMs >= leaseMs) throw new RangeError('commandTimeoutMs must be below leaseMs');
  const reconnectBackoffBaseMs = integer(
    'reconnectBackoffBaseMs',
    options.reconnectBackoffBaseMs,
    defaults.reconnectBackoffBaseMs,
    1,
  );
  const reconnectBackoffMaxMs = integer(
    'reconnectBackoffMaxMs',
    options.reconnectBackoffMaxMs,
    Math.min(
      defaults.reconnectBackoffMaxMsMax,
      Math.max(reconnectBackoffBaseMs, Math.floor(leaseMs / 4)),
    ),
    reconnectBackoffBaseMs,
  );
  if (options.initialRing !== undefined) assertRing('initialRing', options.initialRing);
  if (options.monotonicNow !== undefined && typeof options.monotonicNow !== 'function')
    throw new TypeError('monotonicNow must be a function');
  if (options.onEvent !== undefined && typeof options.onEvent !== 'function')
    throw new TypeError('onEvent must be a function');
  return Object.freeze({
    redisUrl: options.redisUrl,
    keyPrefix,
    leaseMs,
    heartbeatIntervalMs,
    startupGraceMs,
    initialRing:
      options.initialRing === undefined ? undefined : structuredClone(options.initialRing),
    failureDetector: boolean('failureDetector', options.failureDetector, defaults.failureDetector),
    listenForRingChanges: boolean(
      'listenForRingChanges',
      options.listenForRingChanges,
      defaults.listenForRingChanges,
    ),
    ringPollIntervalMs: integer(
      'ringPollIntervalMs',
      options.ringPollIntervalMs,
      defaults.ringPollIntervalMs,
      10,
    ),
    connectTimeoutMs: integer(
      'connectTimeoutMs',
      options.connectTimeoutMs,
      defaults.connectTimeoutMs,
      10,
    ),
    commandTimeoutMs,
    reconnectBackoffBaseMs,
    reconnectBackoffMaxMs,
    startTimeoutMs: integer('startTimeoutMs', options.startTimeoutMs, defaults.startTimeoutMs, 10),
    registrationAttemptsMax: integer(
      'registrationAttemptsMax',
      options.registrationAttemptsMax,
      defaults.registrationAttemptsMax,
      1,
      100,
    ),
    monotonicNow: options.monotonicNow ?? (() => performance.now()),
    onEvent: options.onEvent ?? (() => undefined),
  });
}

/** Throws unless `ring` has the shape of a RingConfig (a ring read back from Redis, or given). */
export function assertRing(name: string, ring: unknown): asserts ring is RingConfig {
  const candidate = ring as Partial<RingConfig> | null;
  const valid =
    typeof candidate === 'object' &&
    candidate !== null &&
    Number.isSafeInteger(candidate.epoch) &&
    (candidate.epoch ?? 0) >= 1 &&
    Number.isSafeInteger(candidate.virtualNodesPerWeight) &&
    Array.isArray(candidate.slots) &&
    candidate.slots.every(
      (a) =>
        typeof a?.slot === 'string' && typeof a.nodeId === 'string' && typeof a.weight === 'number',
    ) &&
    Array.isArray(candidate.standbys) &&
    candidate.standbys.every((nodeId) => typeof nodeId === 'string') &&
    typeof candidate.nodes === 'object' &&
    candidate.nodes !== null;
  if (!valid)
    throw new TypeError(`${name} is not a ring config (epoch >= 1, slots, standbys, nodes)`);
}

function integer(
  name: string,
  value: number | undefined,
  fallback: number,
  min: number,
  max = 3_600_000,
): number {
  const chosen = value ?? fallback;
  if (!Number.isSafeInteger(chosen) || chosen < min || chosen > max)
    throw new RangeError(`${name} must be an integer in ${min}..${max} (got ${String(value)})`);
  return chosen;
}

function boolean(name: string, value: boolean | undefined, fallback: boolean): boolean {
  if (value !== undefined && typeof value !== 'boolean')
    throw new TypeError(`${name} must be a boolean`);
  return value ?? fallback;
}
