import {
  ANY_RULE,
  BOOLEAN_RULE,
  LISTEN_PORT_MAX,
  USER_ID_PATTERN,
  integerRule,
  invalidOption,
  resolveOptions,
  type GivenOptions,
  type OptionRules,
} from '../protocol/index.js';
import {
  DEFAULT_CONTROL_PLANE_TIMINGS,
  resolveControlPlaneTimings,
  type ControlPlaneTimings,
  type RedisControlPlaneOptions,
} from '../control-plane/index.js';
import {
  LOG_LEVEL_RULE,
  type Credentials,
  type HttpServerOptions,
  type LogLevel,
  type OwnerClientOptions,
} from '../transport/index.js';

/** Which control plane a router uses: its own in-process one (one router), or Redis (many). */
export type RouterControlPlane =
  | { kind: 'in-process'; dataDir: string }
  | {
      kind: 'redis';
      redisUrl: string;
      keyPrefix?: string;
      /** AUTH and TLS (username, password or passwordFile, tls), checked by RedisControlPlane. */
      connection?: Pick<RedisControlPlaneOptions, 'username' | 'password' | 'passwordFile' | 'tls'>;
    };

/**
 * A router's options, checked once by `startRouter` (unknown keys refused) and frozen. The lease
 * timings are the control plane's (`ControlPlaneTimings`, one rule for every backend).
 */
export interface RouterOptions extends ControlPlaneTimings {
  /**
   * Listen address.
   * @default '127.0.0.1'
   */
  host: string;
  /**
   * Listen port; 0 picks a free one.
   * @default 8080
   */
  port: number;
  /**
   * The URL others reach this router at (http(s)://host:port); undefined: `http://host:port` of
   * where it listens (refused for a wildcard host such as 0.0.0.0).
   * @default undefined
   */
  advertiseUrl: string | undefined;
  /** The control plane: no default, a router must be told which. */
  controlPlane: RouterControlPlane;
  /**
   * Node ids that serve the slots of a brand-new ring (ignored once a ring exists).
   * @default ['node-1', 'node-2', 'node-3']
   */
  initialNodeIds: readonly string[];
  /**
   * Node ids admitted to a brand-new ring as future standbys (ignored once a ring exists).
   * @default []
   */
  initialStandbyIds: readonly string[];
  /**
   * The options of the client that forwards requests to owners (it checks them itself).
   * @default {}
   */
  owners: Partial<OwnerClientOptions>;
  /**
   * The HTTP server's bounds (createHttpServer checks them; heartbeats are never refused).
   * @default {}
   */
  http: GivenOptions<HttpServerOptions>;
  /**
   * Structured JSON logs on stdout at this level (transport/logging); `silent` logs nothing and
   * costs nothing. `chatring router` defaults to info.
   * @default 'silent'
   */
  logLevel: LogLevel;
  /**
   * Prometheus metrics at `GET /metrics` (transport/metrics); false: no registry, no request hook,
   * no route (the bench measures their cost that way).
   * @default true
   */
  metrics: boolean;
  /**
   * Bearer tokens `GET /metrics` then requires (plain or `sha256:<hex>`; the operator token and
   * member signatures are taken too); undefined: it is open (docs/security.md).
   * @default undefined
   */
  metricsTokens: readonly string[] | undefined;
  /** The cluster secret and, beyond loopback, app and operator tokens: no default. */
  credentials: Credentials;
}

/** What `startRouter` takes: every option but the control plane may be left to its default. */
export type GivenRouterOptions = GivenOptions<
  Omit<RouterOptions, 'controlPlane' | 'credentials'>
> & {
  controlPlane: RouterControlPlane;
  credentials: Credentials;
};

type DefaultedRouterOptions = Omit<RouterOptions, 'controlPlane' | 'credentials'>;

export const DEFAULT_ROUTER_OPTIONS: Readonly<DefaultedRouterOptions> = Object.freeze({
  host: '127.0.0.1',
  port: 8080,
  advertiseUrl: undefined,
  initialNodeIds: Object.freeze(['node-1', 'node-2', 'node-3']),
  initialStandbyIds: Object.freeze([]),
  owners: Object.freeze({}),
  http: Object.freeze({}),
  logLevel: 'silent',
  metrics: true,
  metricsTokens: undefined,
  ...DEFAULT_CONTROL_PLANE_TIMINGS,
});

const COMPONENT = 'startRouter';

const ROUTER_OPTION_RULES: OptionRules<DefaultedRouterOptions> = {
  host: { kind: 'string', pattern: /^\S+$/, describe: 'a host name or address' },
  port: integerRule(0, LISTEN_PORT_MAX),
  advertiseUrl: { kind: 'string', describe: 'an http(s)://host:port URL' },
  initialNodeIds: ANY_RULE, // checked below: an array of node ids
  initialStandbyIds: ANY_RULE, // likewise
  owners: ANY_RULE, // checked by OwnerClient
  http: ANY_RULE, // checked by createHttpServer
  logLevel: LOG_LEVEL_RULE,
  metrics: BOOLEAN_RULE,
  metricsTokens: ANY_RULE, // checked by TokenSet when the router starts
  // The timings are checked together by resolveControlPlaneTimings (heartbeat below lease).
  heartbeatIntervalMs: ANY_RULE,
  leaseMs: ANY_RULE,
  startupGraceMs: ANY_RULE,
};

/** Fills and checks a router's options; throws INVALID_OPTION naming the first bad one. */
export function resolveRouterOptions(given: GivenRouterOptions): Readonly<RouterOptions> {
  // The credentials are checked where they are used (processSecurity, at start).
  const { controlPlane, credentials, ...rest } = given;
  const checked = resolveOptions(COMPONENT, DEFAULT_ROUTER_OPTIONS, rest, ROUTER_OPTION_RULES);
  return Object.freeze({
    ...checked,
    ...resolveControlPlaneTimings(COMPONENT, checked),
    initialNodeIds: Object.freeze(checkNodeIds('initialNodeIds', checked.initialNodeIds)),
    initialStandbyIds: Object.freeze(checkNodeIds('initialStandbyIds', checked.initialStandbyIds)),
    credentials,
    controlPlane: Object.freeze(checkControlPlane(controlPlane)),
  });
}

function checkNodeIds(name: string, ids: unknown): string[] {
  if (
    !Array.isArray(ids) ||
    !ids.every((id) => typeof id === 'string' && USER_ID_PATTERN.test(id)) ||
    new Set(ids).size !== ids.length
  )
    throw invalidOption(
      COMPONENT,
      name,
      'must be distinct node ids (1-64 characters of [A-Za-z0-9_-])',
    );
  return [...(ids as string[])];
}

function checkControlPlane(controlPlane: unknown): RouterControlPlane {
  const given = (controlPlane ?? {}) as Partial<Record<string, unknown>>;
  if (given.kind === 'in-process' && typeof given.dataDir === 'string' && given.dataDir !== '')
    return controlPlane as RouterControlPlane;
  if (
    given.kind === 'redis' &&
    typeof given.redisUrl === 'string' &&
    (given.keyPrefix === undefined || typeof given.keyPrefix === 'string') &&
    (given.connection === undefined ||
      (typeof given.connection === 'object' && given.connection !== null))
  )
    return controlPlane as RouterControlPlane;
  throw invalidOption(
    COMPONENT,
    'controlPlane',
    'must be { kind: "in-process", dataDir } or { kind: "redis", redisUrl, keyPrefix?, connection? }',
  );
}
