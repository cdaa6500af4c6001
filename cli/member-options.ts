import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import {
  ChatringError,
  LISTEN_PORT_MAX,
  IDEMPOTENCY_WINDOW_MS_MAX,
  IDEMPOTENCY_WINDOW_MS_MIN,
  WATCHERS_PER_NODE_LIMIT,
  WATCHERS_PER_USER_LIMIT,
  TIMEOUT_MS_MAX,
  WARM_HANDOFF_BYTES_DEFAULT,
} from '../protocol/index.js';
import {
  DEFAULT_CONTROL_PLANE_TIMINGS,
  DEFAULT_REDIS_CONTROL_PLANE_OPTIONS,
  type ControlPlaneAddress,
} from '../control-plane/index.js';
import {
  DEFAULT_CACHE_NODE_OPTIONS,
  DEFAULT_MAILBOX_CACHE_OPTIONS,
  failpointsFromEnvironment,
  type CacheNodeOptions,
} from '../cache-node/index.js';
import { DEFAULT_ROUTER_OPTIONS, type GivenRouterOptions } from '../router/index.js';
import {
  LOG_LEVELS,
  LOG_LEVEL_DEFAULT,
  logLevelOption,
  resolveHttpServerOptions,
} from '../transport/index.js';
import {
  addRedisConnectionFlags,
  advertiseUrlOption,
  booleanOption,
  heartbeatIntervalOption,
  hostOption,
  integerOption,
  listenOption,
  redisConnectionOptions,
  redisUrlOption,
  timingOptions,
  type RedisConnectionFlags,
  jsonObjectOption,
} from './flag-values.js';
import { addStoreFlags, storeOptionsFrom, type StoreFlags } from './store-flags.js';
import { addCredentialFlags, credentialsFrom, type CredentialFlags } from './credential-flags.js';

/**
 * The two one-member commands, `chatring router` and `chatring node` (the launcher spawns them;
 * operators can too): their shared flags, and each command's flags turned into the options of
 * `startRouter` / `startCacheNode`. A flag left out is left to the default of the component that
 * owns it, so no default is written twice.
 */

/** The flags both commands take (see addMemberFlags). */
export interface MemberFlags extends CredentialFlags, RedisConnectionFlags {
  redis?: string;
  redisKeyPrefix?: string;
  listen?: string;
  host?: string;
  port?: string;
  advertiseUrl?: string;
  leaseMs?: string;
  heartbeatIntervalMs?: string;
  httpOptions?: string;
  logLevel?: string;
  metrics?: string;
  metricsTokenFile?: string;
}

export interface RouterFlags extends MemberFlags {
  dataDir?: string;
  initialNodes?: string;
  initialStandbys?: string;
}

export interface NodeFlags extends MemberFlags, StoreFlags {
  nodeId: string;
  controlPlaneUrl?: string;
  dataDir: string;
  cacheBytesMax?: string;
  warmHandoffBytesMax?: string;
}

export function addRouterFlags(command: Command): Command {
  command.option('--data-dir <dir>', 'where the ring lives (in-process control plane)');
  return addMemberFlags(command, DEFAULT_ROUTER_OPTIONS)
    .option(
      '--initial-nodes <ids>',
      `comma-separated node ids of a brand-new ring (default ${DEFAULT_ROUTER_OPTIONS.initialNodeIds.join(',')})`,
    )
    .option(
      '--initial-standbys <ids>',
      'comma-separated node ids a brand-new ring admits as standbys (default none)',
    );
}

export function addNodeFlags(command: Command): Command {
  command
    .requiredOption('--node-id <id>', 'stable node id')
    .option('--control-plane-url <url>', 'the router hosting the control plane (local mode)')
    .requiredOption('--data-dir <dir>', 'where the embedded store lives')
    .option(
      '--commit-server-socket <path>',
      'embedded store: send commits to the commit server listening there (chatring start runs one) instead of writing the file here; unreachable, the node writes itself (env CHATRING_COMMIT_SERVER_SOCKET)',
    );
  addMemberFlags(command, DEFAULT_CACHE_NODE_OPTIONS)
    .option(
      '--warm-handoff-bytes-max <bytes>',
      `most cached state handed to new owners in one ring change; 0: users always move cold (default ${WARM_HANDOFF_BYTES_DEFAULT})`,
    )
    .option(
      '--cache-bytes-max <bytes>',
      `memory budget of cached mailboxes (default ${DEFAULT_MAILBOX_CACHE_OPTIONS.cacheBytesMax})`,
    );
  return addStoreFlags(command);
}

/** The flags both commands take: where the control plane is, where to listen, the lease timings. */
/** `defaults`: the member's own DEFAULT options, shown in `--help` (a node listens on any free
 * port unless told otherwise: the control plane learns its URL). */
function addMemberFlags(command: Command, defaults: { host: string; port: number }): Command {
  const { leaseMs, heartbeatIntervalMs } = DEFAULT_CONTROL_PLANE_TIMINGS;
  return addRedisConnectionFlags(
    addCredentialFlags(command).option(
      '--redis <url>',
      'the control plane on Redis (env CHATRING_REDIS_URL)',
    ),
  )
    .option(
      '--redis-key-prefix <prefix>',
      `prefix of chatring keys in Redis (default ${DEFAULT_REDIS_CONTROL_PLANE_OPTIONS.keyPrefix})`,
    )
    .option(
      '--listen <host:port>',
      `where to listen, --host and --port in one (an IPv6 host in brackets: [::1]:8080); default ${listenTextOf(defaults)}`,
    )
    .option('--host <host>', `listen address: an IP address or DNS name (default ${defaults.host})`)
    .option('--port <port>', `listen port; 0: any free port (default ${defaults.port})`)
    .option(
      '--advertise, --advertise-url <url>',
      'the http(s)://host:port others reach this process at; needed when listening on 0.0.0.0 or :: (default http://HOST:PORT; one per process, so no environment variable)',
    )
    .option(
      '--lease-ms <ms>',
      `node lease; every router and node on one Redis must use the same (default ${leaseMs})`,
    )
    .option(
      '--heartbeat-interval-ms <ms>',
      `lease renewal interval (default ${heartbeatIntervalMs})`,
    )
    .option(
      '--http-options <json>',
      'the HTTP server bounds as JSON, e.g. {"requestsInFlightMax":2000,"requestTimeoutMs":10000} (env CHATRING_HTTP_OPTIONS; docs/operations.md)',
    )
    .option(
      '--log-level <level>',
      `JSON logs on stdout from this level: ${LOG_LEVELS.join(', ')} (env CHATRING_LOG_LEVEL; default ${LOG_LEVEL_DEFAULT})`,
    )
    .option(
      '--metrics <bool>',
      'Prometheus metrics at GET /metrics; false: none (env CHATRING_METRICS; default true)',
    )
    .option(
      '--metrics-token-file <file>',
      'bearer tokens GET /metrics then requires, one per line (env CHATRING_METRICS_TOKEN, comma-separated, or CHATRING_METRICS_TOKEN_FILE); default: open (docs/security.md)',
    );
}

/**
 * `--metrics` (else CHATRING_METRICS; default true) and the metrics tokens: `--metrics-token-file`,
 * else CHATRING_METRICS_TOKEN (comma-separated), else CHATRING_METRICS_TOKEN_FILE; one token per
 * line in a file, blank lines and `#` comments skipped. Tokens come from files or the environment,
 * never argv, as every credential does (credential-flags.ts).
 */
function metricsOptionsFrom(
  flags: MemberFlags,
  env: NodeJS.ProcessEnv,
): { metrics?: boolean; metricsTokens?: string[] } {
  const enabled = flags.metrics ?? env.CHATRING_METRICS;
  const file = flags.metricsTokenFile ?? env.CHATRING_METRICS_TOKEN_FILE;
  const inline = flags.metricsTokenFile === undefined ? env.CHATRING_METRICS_TOKEN : undefined;
  const tokens =
    inline !== undefined
      ? inline.split(',')
      : file === undefined
        ? undefined
        : readTokenFile(file, flags.metricsTokenFile === undefined).split('\n');
  const metricsTokens = tokens
    ?.map((token) => token.trim())
    .filter((token) => token !== '' && !token.startsWith('#'));
  return {
    ...(enabled === undefined || enabled === ''
      ? {}
      : {
          metrics: booleanOption(
            flags.metrics === undefined ? 'CHATRING_METRICS' : '--metrics',
            enabled,
          ),
        }),
    ...(metricsTokens === undefined || metricsTokens.length === 0 ? {} : { metricsTokens }),
  };
}

function readTokenFile(path: string, fromEnvironment: boolean): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    const what = fromEnvironment ? 'CHATRING_METRICS_TOKEN_FILE' : '--metrics-token-file';
    throw new ChatringError(
      'INVALID_OPTION',
      `${what}: cannot read ${path}: ${(error as Error).message}`,
      { cause: error },
    );
  }
}

/** The HTTP server's bounds: JSON from the flag or CHATRING_HTTP_OPTIONS, checked by the server. */
function httpOptionsFrom(flags: MemberFlags, env: NodeJS.ProcessEnv): Record<string, unknown> {
  const parsed = jsonObjectOption('--http-options', flags.httpOptions ?? env.CHATRING_HTTP_OPTIONS);
  // Checked now, so a bad one stops the start with the flag's name rather than deep in a server.
  resolveHttpServerOptions(parsed);
  return parsed;
}

export function routerOptionsFrom(flags: RouterFlags, env: NodeJS.ProcessEnv): GivenRouterOptions {
  const redisUrl = redisUrlOption(flags.redis, env);
  if (redisUrl === undefined) redisConnectionOptions(redisUrl, flags, env); // refuses stray flags
  if (redisUrl === undefined && flags.dataDir === undefined)
    throw new ChatringError(
      'INVALID_OPTION',
      'give --data-dir (in-process control plane) or --redis URL',
    );
  return {
    ...addressFrom(flags),
    controlPlane:
      redisUrl === undefined
        ? { kind: 'in-process', dataDir: flags.dataDir ?? '' }
        : {
            kind: 'redis',
            redisUrl,
            ...keyPrefixOf(flags),
            connection: redisConnectionOptions(redisUrl, flags, env),
          },
    initialNodeIds: flags.initialNodes?.split(',').filter(Boolean),
    initialStandbyIds: flags.initialStandbys?.split(',').filter(Boolean),
    credentials: credentialsFrom(flags, env),
    http: httpOptionsFrom(flags, env),
    logLevel: logLevelOption('chatring router', flags.logLevel ?? env.CHATRING_LOG_LEVEL),
    ...metricsOptionsFrom(flags, env),
    ...timingOptions('chatring router', flags),
  };
}

export function nodeOptionsFrom(flags: NodeFlags, env: NodeJS.ProcessEnv): CacheNodeOptions {
  const { cacheBytesMax, warmHandoffBytesMax } = flags;
  const address = addressFrom(flags);
  return {
    nodeId: flags.nodeId,
    host: address.host ?? DEFAULT_CACHE_NODE_OPTIONS.host,
    port: address.port ?? DEFAULT_CACHE_NODE_OPTIONS.port,
    advertiseUrl: address.advertiseUrl,
    ...nodeControlPlaneFrom(flags, env),
    store: storeOptionsFrom(flags, env, flags.dataDir),
    credentials: credentialsFrom(flags, env),
    http: httpOptionsFrom(flags, env),
    logLevel: logLevelOption('chatring node', flags.logLevel ?? env.CHATRING_LOG_LEVEL),
    ...metricsOptionsFrom(flags, env),
    ...(cacheBytesMax === undefined
      ? {}
      : { cache: { cacheBytesMax: bytesOption('--cache-bytes-max', cacheBytesMax, 1) } }),
    ...(warmHandoffBytesMax === undefined
      ? {}
      : {
          handoff: {
            warmBytesMax: bytesOption('--warm-handoff-bytes-max', warmHandoffBytesMax, 0),
          },
        }),
    failpoints: failpointsFromEnvironment(env),
    ...serviceOptionsFrom(env),
  };
}

/**
 * The data path's knobs from the environment: how soon a half-sent message's coordinator copy is
 * retried (a test and operations knob), the idempotency window (every node of a cluster should
 * be given the same), and the change feed's bounds on held requests.
 */
function serviceOptionsFrom(env: NodeJS.ProcessEnv): Pick<CacheNodeOptions, 'service'> {
  const knobs = [
    ['CHATRING_REPAIR_DELAY_MS', 'repairDelayMs', 1, TIMEOUT_MS_MAX],
    [
      'CHATRING_IDEMPOTENCY_WINDOW_MS',
      'idempotencyWindowMs',
      IDEMPOTENCY_WINDOW_MS_MIN,
      IDEMPOTENCY_WINDOW_MS_MAX,
    ],
    ['CHATRING_WATCHERS_PER_USER_MAX', 'watchersPerUserMax', 1, WATCHERS_PER_USER_LIMIT],
    ['CHATRING_WATCHERS_PER_NODE_MAX', 'watchersPerNodeMax', 1, WATCHERS_PER_NODE_LIMIT],
  ] as const;
  const service: Record<string, number> = {};
  for (const [variable, option, min, max] of knobs) {
    const text = env[variable];
    if (text !== undefined) service[option] = integerOption(variable, text, min, max);
  }
  return Object.keys(service).length === 0 ? {} : { service };
}

/** Where a node finds the control plane, and how often it renews its lease there. */
function nodeControlPlaneFrom(
  flags: NodeFlags,
  env: NodeJS.ProcessEnv,
): { controlPlane: ControlPlaneAddress; heartbeatIntervalMs: number } {
  const redisUrl = redisUrlOption(flags.redis, env);
  const connection = redisConnectionOptions(redisUrl, flags, env);
  if (redisUrl !== undefined) {
    const { leaseMs, heartbeatIntervalMs } = timingOptions('chatring node', flags);
    return {
      controlPlane: {
        kind: 'redis',
        redisUrl,
        ...keyPrefixOf(flags),
        connection,
        leaseMs,
        heartbeatIntervalMs,
      },
      heartbeatIntervalMs,
    };
  }
  if (flags.controlPlaneUrl === undefined)
    throw new ChatringError(
      'INVALID_OPTION',
      'give --control-plane-url (local mode) or --redis URL',
    );
  // Local mode: the router hosting the control plane owns the lease; only the heartbeat is ours.
  return {
    controlPlane: { kind: 'http', url: flags.controlPlaneUrl },
    heartbeatIntervalMs:
      flags.heartbeatIntervalMs === undefined
        ? DEFAULT_CONTROL_PLANE_TIMINGS.heartbeatIntervalMs
        : heartbeatIntervalOption(flags.heartbeatIntervalMs),
  };
}

function bytesOption(name: string, text: string, min: number): number {
  return integerOption(name, text, min, Number.MAX_SAFE_INTEGER);
}

/**
 * Where a member listens and what it tells others: `--listen HOST:PORT`, or `--host` and `--port`
 * (one way or the other: both would leave the operator guessing which won), and `--advertise-url`,
 * each checked here so a refusal names the flag typed. Undefined: the member's default. A wildcard
 * host without an advertised URL is left to the member, which refuses it naming --advertise-url
 * before anything binds (protocol/http-url.ts), after its credentials check: a member on every
 * interface without tokens hears about the tokens first.
 */
function addressFrom(flags: MemberFlags): {
  host: string | undefined;
  port: number | undefined;
  advertiseUrl: string | undefined;
} {
  if (flags.listen !== undefined && (flags.host !== undefined || flags.port !== undefined))
    throw new ChatringError(
      'INVALID_OPTION',
      `--listen is --host and --port in one: give ${flags.host === undefined ? '--port' : '--host'} or --listen, not both`,
    );
  const listen = flags.listen === undefined ? undefined : listenOption('--listen', flags.listen);
  return {
    host: listen?.host ?? (flags.host === undefined ? undefined : hostOption('--host', flags.host)),
    port: listen?.port ?? portOption(flags.port),
    advertiseUrl:
      flags.advertiseUrl === undefined
        ? undefined
        : advertiseUrlOption('--advertise-url', flags.advertiseUrl),
  };
}

/** `--listen`'s form of a default address, for `--help`. */
function listenTextOf({ host, port }: { host: string; port: number }): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}

function portOption(text: string | undefined): number | undefined {
  return text === undefined ? undefined : integerOption('--port', text, 0, LISTEN_PORT_MAX);
}

function keyPrefixOf(flags: MemberFlags): { keyPrefix?: string } {
  return flags.redisKeyPrefix === undefined ? {} : { keyPrefix: flags.redisKeyPrefix };
}
