import {
  ANY_RULE,
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
} from '../control-plane/index.js';
import type { OwnerClientOptions } from '../transport/index.js';

/** Which control plane a router uses: its own in-process one (one router), or Redis (many). */
export type RouterControlPlane =
  { kind: 'in-process'; dataDir: string } | { kind: 'redis'; redisUrl: string; keyPrefix?: string };

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
  /** The control plane: no default, a router must be told which. */
  controlPlane: RouterControlPlane;
  /**
   * Node ids that serve the slots of a brand-new ring (ignored once a ring exists).
   * @default ['node-1', 'node-2', 'node-3']
   */
  initialNodeIds: readonly string[];
  /**
   * The options of the client that forwards requests to owners (it checks them itself).
   * @default {}
   */
  owners: Partial<OwnerClientOptions>;
}

/** What `startRouter` takes: every option but the control plane may be left to its default. */
export type GivenRouterOptions = GivenOptions<Omit<RouterOptions, 'controlPlane'>> & {
  controlPlane: RouterControlPlane;
};

type DefaultedRouterOptions = Omit<RouterOptions, 'controlPlane'>;

export const DEFAULT_ROUTER_OPTIONS: Readonly<DefaultedRouterOptions> = Object.freeze({
  host: '127.0.0.1',
  port: 8080,
  initialNodeIds: Object.freeze(['node-1', 'node-2', 'node-3']),
  owners: Object.freeze({}),
  ...DEFAULT_CONTROL_PLANE_TIMINGS,
});

const COMPONENT = 'startRouter';

const ROUTER_OPTION_RULES: OptionRules<DefaultedRouterOptions> = {
  host: { kind: 'string', pattern: /^\S+$/, describe: 'a host name or address' },
  port: integerRule(0, LISTEN_PORT_MAX),
  initialNodeIds: ANY_RULE, // checked below: an array of node ids
  owners: ANY_RULE, // checked by OwnerClient
  // The timings are checked together by resolveControlPlaneTimings (heartbeat below lease).
  heartbeatIntervalMs: ANY_RULE,
  leaseMs: ANY_RULE,
  startupGraceMs: ANY_RULE,
};

/** Fills and checks a router's options; throws INVALID_OPTION naming the first bad one. */
export function resolveRouterOptions(given: GivenRouterOptions): Readonly<RouterOptions> {
  const { controlPlane, ...rest } = given;
  const checked = resolveOptions(COMPONENT, DEFAULT_ROUTER_OPTIONS, rest, ROUTER_OPTION_RULES);
  return Object.freeze({
    ...checked,
    ...resolveControlPlaneTimings(COMPONENT, checked),
    initialNodeIds: Object.freeze(checkNodeIds(checked.initialNodeIds)),
    controlPlane: Object.freeze(checkControlPlane(controlPlane)),
  });
}

function checkNodeIds(ids: unknown): string[] {
  if (
    !Array.isArray(ids) ||
    !ids.every((id) => typeof id === 'string' && USER_ID_PATTERN.test(id)) ||
    new Set(ids).size !== ids.length
  )
    throw invalidOption(
      COMPONENT,
      'initialNodeIds',
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
    (given.keyPrefix === undefined || typeof given.keyPrefix === 'string')
  )
    return controlPlane as RouterControlPlane;
  throw invalidOption(
    COMPONENT,
    'controlPlane',
    'must be { kind: "in-process", dataDir } or { kind: "redis", redisUrl, keyPrefix? }',
  );
}
