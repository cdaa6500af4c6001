import {
  LISTEN_PORT_MAX,
  LOCAL_NODES_MAX,
  LOCAL_ROUTERS_MAX,
  LOCAL_STANDBYS_MAX,
  WARM_HANDOFF_BYTES_DEFAULT,
  ChatringError,
} from '../protocol/index.js';
import { resolve } from 'node:path';
import { DEFAULT_CONTROL_PLANE_TIMINGS } from '../control-plane/index.js';
import { DEFAULT_CACHE_NODE_OPTIONS } from '../cache-node/index.js';
import { DEFAULT_ROUTER_OPTIONS } from '../router/index.js';
import type { StoreOptions } from '../store-adapter/index.js';
import {
  booleanOption,
  hostOption,
  integerOption,
  isWildcardHost,
  redisConnectionOptions,
  redisUrlOption,
  timingOptions,
  type RedisConnectionFlags,
  type RedisConnectionOptions,
} from './flag-values.js';
import { storeOptionsFrom, type StoreFlags } from './store-flags.js';

/**
 * Options of `chatring start`, validated once and frozen. Each comes from its flag, else from the
 * environment variable of the same name (CHATRING_PORT, or plain PORT), else its default.
 */
export interface LocalClusterOptions {
  /** @default 8080 */
  port: number;
  /** Where the router listens (every router, with `routers` above 1). @default 127.0.0.1 */
  routerHost: string;
  /**
   * Where the nodes listen: node-1, node-2, ... then the standbys, each on the next host of the list,
   * cycling through it. Each advertises `http://HOST:PORT` of where it listens.
   * @default ['127.0.0.1']
   */
  nodeHosts: readonly string[];
  /** @default ./.chatring-data */
  dataDir: string;
  /** @default 3 */
  nodes: number;
  /** Idle standbys ready to take a dead node's slot. @default 1 */
  standbys: number;
  /** The embedded store in dataDir (default), or Cassandra. */
  store: StoreOptions;
  /** Node lease; a dead node is replaced within about leaseMs + heartbeatIntervalMs. @default 1500 */
  leaseMs: number;
  /** @default 250 */
  heartbeatIntervalMs: number;
  /** Start a member again when it dies (off: watch a dead node's slot fail over). @default true */
  restartMembers: boolean;
  /**
   * On the embedded store, run the file's one writer in the launcher: every node sends its commits
   * there, to be batched together (store-adapter/embedded/commit-server.ts). Off: each node writes
   * the file itself, queuing for its lock. @default true
   */
  commitServer: boolean;
  /** Put the control plane in Redis (else in the router's process). */
  redisUrl?: string;
  /** AUTH and TLS to that Redis, handed to every member through its environment. @default {} */
  redisConnection: RedisConnectionOptions;
  /** Routers to start; more than one needs redisUrl. @default 1 */
  routers: number;
  /** Cached state a node hands to new owners per ring change. @default 67108864 (64 MiB) */
  warmHandoffBytesMax: number;
  /**
   * Profile every member with V8's CPU profiler: each writes `<member>.cpuprofile` here when it
   * exits (bench/profile-summary.ts reads them). Undefined: no profiling.
   */
  cpuProfDir?: string;
}

export const LOCAL_CLUSTER_LIMITS = Object.freeze({
  nodesMax: LOCAL_NODES_MAX,
  standbysMax: LOCAL_STANDBYS_MAX,
  routersMax: LOCAL_ROUTERS_MAX,
});

/** The one source of each default; the timings' and the warm budget's are their owners'. */
export const DEFAULT_LOCAL_CLUSTER_OPTIONS = Object.freeze({
  port: DEFAULT_ROUTER_OPTIONS.port,
  routerHost: DEFAULT_ROUTER_OPTIONS.host,
  nodeHosts: Object.freeze([DEFAULT_CACHE_NODE_OPTIONS.host]),
  dataDir: './.chatring-data',
  nodes: 3,
  standbys: 1,
  leaseMs: DEFAULT_CONTROL_PLANE_TIMINGS.leaseMs,
  heartbeatIntervalMs: DEFAULT_CONTROL_PLANE_TIMINGS.heartbeatIntervalMs,
  restartMembers: true,
  commitServer: true,
  routers: 1,
  warmHandoffBytesMax: WARM_HANDOFF_BYTES_DEFAULT,
});

type IntegerOptionName = 'port' | 'nodes' | 'standbys' | 'routers' | 'warmHandoffBytesMax';

export function resolveClusterOptions(
  flags: Record<string, string | undefined>,
  env: NodeJS.ProcessEnv,
): Readonly<LocalClusterOptions> {
  const defaults = DEFAULT_LOCAL_CLUSTER_OPTIONS;
  const pick = (name: string, envName: string) =>
    flags[name] ?? env[`CHATRING_${envName}`] ?? env[envName];
  const integer = (name: IntegerOptionName, envName: string, min: number, max: number) => {
    const text = pick(name, envName);
    const flag = `--${name.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`)}`;
    return text === undefined ? defaults[name] : integerOption(flag, text, min, max);
  };
  const dataDir = resolve(pick('dataDir', 'DATA_DIR') ?? defaults.dataDir);
  const redisUrl = redisUrlOption(flags.redis, env);
  const routers = integer('routers', 'ROUTERS', 1, LOCAL_CLUSTER_LIMITS.routersMax);
  if (routers > 1 && redisUrl === undefined)
    throw new ChatringError(
      'INVALID_OPTION',
      '--routers above 1 needs --redis: routers share the control plane there',
    );
  const nodes = integer('nodes', 'NODES', 1, LOCAL_CLUSTER_LIMITS.nodesMax);
  const standbys = integer('standbys', 'STANDBYS', 0, LOCAL_CLUSTER_LIMITS.standbysMax);
  const routerHost = pick('routerHost', 'ROUTER_HOST');
  const nodeHosts = pick('nodeHosts', 'NODE_HOSTS');
  const restartMembers = pick('restartMembers', 'RESTART_MEMBERS');
  const commitServer = pick('commitServer', 'COMMIT_SERVER');
  const cpuProfDir = pick('cpuProfDir', 'CPU_PROF_DIR');
  const timings = timingOptions('chatring start', {
    leaseMs: pick('leaseMs', 'LEASE_MS'),
    heartbeatIntervalMs: pick('heartbeatIntervalMs', 'HEARTBEAT_INTERVAL_MS'),
  });
  return Object.freeze({
    routers,
    warmHandoffBytesMax: integer(
      'warmHandoffBytesMax',
      'WARM_HANDOFF_BYTES_MAX',
      0,
      Number.MAX_SAFE_INTEGER,
    ),
    ...(redisUrl === undefined ? {} : { redisUrl }),
    ...(cpuProfDir === undefined ? {} : { cpuProfDir: resolve(cpuProfDir) }),
    redisConnection: redisConnectionOptions(redisUrl, flags as RedisConnectionFlags, env),
    port: integer('port', 'PORT', 0, LISTEN_PORT_MAX),
    routerHost:
      routerHost === undefined
        ? defaults.routerHost
        : launcherHostOption('--router-host', routerHost),
    nodeHosts:
      nodeHosts === undefined ? defaults.nodeHosts : nodeHostsOption(nodeHosts, nodes + standbys),
    dataDir,
    nodes,
    standbys,
    store: storeOptionsFrom(flags as StoreFlags, env, dataDir),
    leaseMs: timings.leaseMs,
    heartbeatIntervalMs: timings.heartbeatIntervalMs,
    restartMembers:
      restartMembers === undefined
        ? defaults.restartMembers
        : booleanOption('--restart-members', restartMembers),
    commitServer:
      commitServer === undefined
        ? defaults.commitServer
        : booleanOption('--commit-server', commitServer),
  });
}

/**
 * A host the launcher puts members on. Its members advertise where they listen (the launcher gives
 * them no other URL), so a wildcard, which nobody can be sent to, is refused: a member on every
 * interface is run by itself, with `chatring router|node --advertise-url`.
 */
function launcherHostOption(name: string, text: string): string {
  const host = hostOption(name, text);
  if (isWildcardHost(host))
    throw new ChatringError(
      'INVALID_OPTION',
      `${name} ${text} is every interface, which nobody can be sent to: launched members advertise the address they listen on, so give one others reach them at`,
    );
  return host;
}

/**
 * `--node-hosts HOST[,HOST...]`: one host per member at most (nodes then standbys take them in
 * turn, cycling), since a host left without a member is a mistake in the list, not a placement.
 */
function nodeHostsOption(text: string, members: number): readonly string[] {
  const hosts = text.split(',');
  if (hosts.length > members)
    throw new ChatringError(
      'INVALID_OPTION',
      `--node-hosts names ${hosts.length} hosts for ${members} nodes and standbys: at most one per member`,
    );
  return Object.freeze(hosts.map((host) => launcherHostOption('--node-hosts', host)));
}
