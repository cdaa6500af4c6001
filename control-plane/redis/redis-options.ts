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
  checkOption,
  checkServerName,
  checkedPassword,
  readCertificates,
  readPasswordFile,
  readPrivateKey,
  integerRule,
  invalidOption,
  requireOption,
  resolveOptions,
  type Clock,
  type OptionRule,
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

/** TLS to Redis (`tls-port`, and `tls-auth-clients yes` for client certificates). */
export interface RedisTlsOptions {
  /**
   * A PEM file with the certificate authorities that signed Redis's certificate.
   * @default the system's CAs
   */
  caFile?: string;
  /** A PEM client certificate, for a Redis that asks for one (`tls-auth-clients`); with keyFile. */
  certFile?: string;
  /** The unencrypted PEM private key of certFile. */
  keyFile?: string;
  /**
   * The name Redis's certificate must carry (also sent as SNI): a DNS name, for a Redis reached by
   * an address its certificate does not name.
   * @default the host of redisUrl
   */
  serverName?: string;
  /**
   * Refuse a Redis whose certificate does not verify. Turn off only to debug a handshake: the
   * password then goes to whoever answers.
   * @default true
   */
  rejectUnauthorized?: boolean;
}

/** TLS as the connections use it (node:tls connect options): the files read and checked. */
export interface ResolvedRedisTls {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  servername?: string;
  rejectUnauthorized: boolean;
}

/**
 * Options of a RedisControlPlane. Timings must be the same in every instance of one cluster; they
 * are checked by resolveControlPlaneTimings like on every other backend.
 */
export interface RedisControlPlaneOptions extends Partial<ControlPlaneTimings> {
  /**
   * `redis://host:port[/db]` (or `rediss://` for TLS). Credentials may be in it
   * (`redis://user:password@…`), but a URL ends up on command lines and in `ps`: prefer `password`
   * or `passwordFile` (the CLI also reads CHATRING_REDIS_PASSWORD). No query string: ioredis would
   * read it as options overriding these.
   */
  redisUrl: string;
  /** The ACL user to AUTH as (Redis 6+); needs a password. Not with credentials in redisUrl. */
  username?: string;
  /**
   * The AUTH password (1 to 4096 bytes). Not with passwordFile, nor with credentials in redisUrl.
   */
  password?: string;
  /**
   * A file holding the AUTH password on one line (a trailing line break is ignored), read once when
   * the control plane is built. Not with password, nor with credentials in redisUrl.
   */
  passwordFile?: string;
  /**
   * TLS: `true` verifies Redis against the system's CAs; `{ caFile, certFile, keyFile, … }` names
   * the files, read and checked when the control plane is built (an unreadable or malformed one is
   * INVALID_OPTION naming it). A rediss:// URL turns TLS on too, and cannot be combined with `false`.
   * @default false (true for a rediss:// URL)
   */
  tls?: boolean | RedisTlsOptions;
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
  username: string | undefined;
  /** From password or passwordFile; undefined: none, or the one in redisUrl. */
  password: string | undefined;
  /** undefined: plain TCP. */
  tls: Readonly<ResolvedRedisTls> | undefined;
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

const FILE_PATH_RULE: OptionRule = { kind: 'string', pattern: /^[^\0]+$/, describe: 'a file path' };
const TLS_OPTION_RULES: OptionRules<RedisTlsOptions> = {
  caFile: FILE_PATH_RULE,
  certFile: FILE_PATH_RULE,
  keyFile: FILE_PATH_RULE,
  serverName: ANY_RULE, // checkServerName
  rejectUnauthorized: BOOLEAN_RULE,
};
/**
 * reconnectBackoffMaxMs, clock and initialRing are checked again below (relations and shapes);
 * redisUrl, password and tls are checked below because they must never be echoed (redisUrl may hold
 * a password) or take more than one shape.
 */
const REDIS_OPTION_RULES: OptionRules<RedisOnlyOptions> = {
  redisUrl: ANY_RULE,
  username: {
    kind: 'string',
    pattern: /^[\x21-\x7e]{1,256}$/,
    describe: '1-256 printable ASCII characters, no spaces',
  },
  password: ANY_RULE,
  passwordFile: FILE_PATH_RULE,
  tls: ANY_RULE,
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
  // resolveOptions fills every key of the defaults (redisUrl is checked by checkedRedisUrl below):
  // the cast only tells the compiler what those calls guarantee.
  const checked = resolveOptions<Partial<RedisOnlyOptions>>(
    COMPONENT,
    DEFAULT_REDIS_CONTROL_PLANE_OPTIONS,
    rest,
    REDIS_OPTION_RULES,
  ) as Readonly<RedisOnlyOptions & typeof DEFAULT_REDIS_CONTROL_PLANE_OPTIONS>;
  const { initialRing, clock } = checked;
  const url = checkedRedisUrl(checked.redisUrl);
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
    ...resolveCredentials(checked, url.credentials),
    tls: resolveTls(checked.tls, url.secure),
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

/**
 * redisUrl: a redis:// or rediss:// URL with a host, at most a database number for a path, and no
 * query or fragment (ioredis reads query items as options, and they would win over ours). Errors
 * show it with any credentials blanked out.
 */
function checkedRedisUrl(value: unknown): { secure: boolean; credentials: boolean } {
  let url: URL | undefined;
  try {
    if (typeof value === 'string' && /^rediss?:\/\//.test(value)) url = new URL(value);
  } catch {
    // refused below
  }
  if (url === undefined || url.hostname === '')
    throw invalidOption(
      COMPONENT,
      'redisUrl',
      `must be a redis:// or rediss:// URL, got ${describeUrl(value)}`,
    );
  requireOption(
    url.search === '' && url.hash === '',
    COMPONENT,
    'redisUrl',
    'must not carry a query or a fragment (give options as options)',
  );
  requireOption(
    /^\/?\d{0,5}$/.test(url.pathname),
    COMPONENT,
    'redisUrl',
    `may name a database number as its path, got ${JSON.stringify(url.pathname)}`,
  );
  return {
    secure: url.protocol === 'rediss:',
    credentials: url.username !== '' || url.password !== '',
  };
}

/** A URL for an error message: its credentials replaced by `***`. */
function describeUrl(value: unknown): string {
  if (typeof value !== 'string') return value === null ? 'null' : typeof value;
  const shown = value.replace(/^([a-z]+:\/\/)[^/@]*@/i, '$1***@');
  return shown.length > 200 ? `a ${value.length}-character string` : JSON.stringify(shown);
}

/** username and the password (given, or read from passwordFile): one place for the credentials. */
function resolveCredentials(
  checked: Pick<RedisOnlyOptions, 'username' | 'password' | 'passwordFile'>,
  urlHasCredentials: boolean,
): { username: string | undefined; password: string | undefined } {
  const { username, password, passwordFile } = checked;
  for (const [name, value] of Object.entries({ username, password, passwordFile }))
    requireOption(
      !urlHasCredentials || value === undefined,
      COMPONENT,
      name,
      'cannot be given with credentials in redisUrl: give them in one place',
    );
  requireOption(
    password === undefined || passwordFile === undefined,
    COMPONENT,
    'passwordFile',
    'cannot be given with password: give one',
  );
  const secret =
    passwordFile !== undefined
      ? readPasswordFile(COMPONENT, 'passwordFile', passwordFile)
      : password === undefined
        ? undefined
        : checkedPassword(COMPONENT, 'password', password, 'must be');
  requireOption(
    username === undefined || secret !== undefined,
    COMPONENT,
    'username',
    'needs a password (password or passwordFile)',
  );
  return { username, password: secret };
}

/** tls as the connections take it: off, the system's CAs, or the named files read and checked. */
function resolveTls(given: unknown, secureUrl: boolean): Readonly<ResolvedRedisTls> | undefined {
  if (given === undefined || given === false) {
    requireOption(
      given === undefined || !secureUrl,
      COMPONENT,
      'tls',
      'is false but redisUrl is rediss:// (TLS): drop one',
    );
    return secureUrl ? Object.freeze({ rejectUnauthorized: true }) : undefined;
  }
  if (given === true) return Object.freeze({ rejectUnauthorized: true });
  if (typeof given !== 'object' || given === null || Array.isArray(given))
    throw invalidOption(
      COMPONENT,
      'tls',
      `must be true, false or { caFile, certFile, keyFile, serverName, rejectUnauthorized }, got ${describeType(given)}`,
    );
  const record = given as Record<string, unknown>;
  const known = Object.keys(TLS_OPTION_RULES);
  for (const [name, value] of Object.entries(record)) {
    const rule = TLS_OPTION_RULES[name as keyof RedisTlsOptions] as OptionRule | undefined;
    if (rule === undefined)
      throw invalidOption(COMPONENT, `tls.${name}`, `is unknown; known: ${known.join(', ')}`);
    if (value !== undefined) checkOption(COMPONENT, `tls.${name}`, value, rule);
  }
  const { caFile, certFile, keyFile, serverName, rejectUnauthorized } = record as RedisTlsOptions;
  if ((certFile === undefined) !== (keyFile === undefined))
    throw invalidOption(
      COMPONENT,
      certFile === undefined ? 'tls.certFile' : 'tls.keyFile',
      `is required with ${certFile === undefined ? 'tls.keyFile' : 'tls.certFile'}`,
    );
  const tls: ResolvedRedisTls = { rejectUnauthorized: rejectUnauthorized ?? true };
  if (serverName !== undefined)
    tls.servername = checkServerName(COMPONENT, 'tls.serverName', serverName);
  if (caFile !== undefined) tls.ca = readCertificates(COMPONENT, 'tls.caFile', caFile);
  if (certFile !== undefined && keyFile !== undefined) {
    const cert = readCertificates(COMPONENT, 'tls.certFile', certFile);
    tls.cert = cert;
    tls.key = readPrivateKey(COMPONENT, 'tls.keyFile', keyFile, {
      name: 'tls.certFile',
      pem: cert,
    });
  }
  return Object.freeze(tls);
}

function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : typeof value;
}
