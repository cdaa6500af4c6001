import {
  LOCAL_NODES_MAX,
  LOCAL_ROUTERS_MAX,
  LOCAL_STANDBYS_MAX,
  WARM_HANDOFF_BYTES_DEFAULT,
} from '../protocol/index.js';
import { resolve } from 'node:path';
import type { StoreOptions } from '../store-adapter/index.js';
import { storeOptionsFrom, type StoreFlags } from './store-flags.js';

/**
 * Options of `chatring start`, validated once and frozen. Each comes from its flag, else from the
 * environment variable of the same name (CHATRING_PORT, or plain PORT), else its default.
 */
export interface LocalClusterOptions {
  /** @default 8080 */
  port: number;
  /** @default ./.chatring-data */
  dataDir: string;
  /** @default 3 */
  nodes: number;
  /** Idle standbys ready to take a dead node's slot. @default 1 */
  standbys: number;
  /** The embedded store in dataDir (default), or Cassandra. */
  store: StoreOptions;
  /** Node lease; a dead node is replaced within about leaseMs + heartbeatIntervalMs. @default 3000 */
  leaseMs: number;
  /** @default 500 */
  heartbeatIntervalMs: number;
  /** Start a member again when it dies (off: watch a dead node's slot fail over). @default true */
  restartMembers: boolean;
  /** Put the control plane in Redis (else in the router's process). */
  redisUrl?: string;
  /** Routers to start; more than one needs redisUrl. @default 1 */
  routers: number;
  /** Cached state a node hands to new owners per ring change. @default 67108864 (64 MiB) */
  warmHandoffBytesMax: number;
}

export const LOCAL_CLUSTER_LIMITS = Object.freeze({
  nodesMax: LOCAL_NODES_MAX,
  standbysMax: LOCAL_STANDBYS_MAX,
  routersMax: LOCAL_ROUTERS_MAX,
});

export function resolveClusterOptions(
  flags: Record<string, string | undefined>,
  env: NodeJS.ProcessEnv,
): Readonly<LocalClusterOptions> {
  const pick = (name: string, envName: string, fallback: string) =>
    flags[name] ?? env[`CHATRING_${envName}`] ?? env[envName] ?? fallback;
  const dataDir = resolve(pick('dataDir', 'DATA_DIR', './.chatring-data'));
  const redisUrl = flags.redis ?? env.CHATRING_REDIS_URL;
  if (redisUrl !== undefined && !/^rediss?:\/\//.test(redisUrl))
    throw new Error(`--redis must be a redis:// URL, got "${redisUrl}"`);
  const routers = integerOption(
    '--routers',
    pick('routers', 'ROUTERS', '1'),
    1,
    LOCAL_CLUSTER_LIMITS.routersMax,
  );
  if (routers > 1 && redisUrl === undefined)
    throw new Error('--routers above 1 needs --redis: routers share the control plane there');
  return Object.freeze({
    routers,
    warmHandoffBytesMax: integerOption(
      '--warm-handoff-bytes-max',
      pick('warmHandoffBytesMax', 'WARM_HANDOFF_BYTES_MAX', String(WARM_HANDOFF_BYTES_DEFAULT)),
      0,
      Number.MAX_SAFE_INTEGER,
    ),
    ...(redisUrl === undefined ? {} : { redisUrl }),
    port: integerOption('--port', pick('port', 'PORT', '8080'), 0, 65_535),
    dataDir,
    nodes: integerOption('--nodes', pick('nodes', 'NODES', '3'), 1, LOCAL_CLUSTER_LIMITS.nodesMax),
    standbys: integerOption(
      '--standbys',
      pick('standbys', 'STANDBYS', '1'),
      0,
      LOCAL_CLUSTER_LIMITS.standbysMax,
    ),
    store: storeOptionsFrom(flags as StoreFlags, env, dataDir),
    leaseMs: integerOption('--lease-ms', pick('leaseMs', 'LEASE_MS', '3000'), 100, 600_000),
    restartMembers: booleanOption(
      '--restart-members',
      pick('restartMembers', 'RESTART_MEMBERS', 'true'),
    ),
    heartbeatIntervalMs: integerOption(
      '--heartbeat-interval-ms',
      pick('heartbeatIntervalMs', 'HEARTBEAT_INTERVAL_MS', '500'),
      10,
      60_000,
    ),
  });
}

export function integerOption(name: string, text: string, min: number, max: number): number {
  if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max) {
    throw new Error(`${name} must be an integer from ${min} to ${max}, got "${text}"`);
  }
  return Number(text);
}

export function booleanOption(name: string, text: string): boolean {
  if (text === 'true' || text === '1') return true;
  if (text === 'false' || text === '0') return false;
  throw new Error(`${name} must be true or false, got "${text}"`);
}
