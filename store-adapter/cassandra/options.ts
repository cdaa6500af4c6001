import type { ConnectionOptions } from 'node:tls';
import {
  ANY_RULE,
  CASSANDRA_REPLICATION_FACTOR_MAX,
  CASSANDRA_TIMEOUT_MS_MAX,
  ChatringError,
  MESSAGE_BUCKET_MS_MAX,
  VERSIONS_PER_BUCKET_MAX,
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
  type GivenOptions,
  type OptionRule,
  type OptionRules,
} from '../../protocol/index.js';

/**
 * The Cassandra store's options: typed, defaulted, validated once at start-up, then frozen. A bad
 * or unknown key fails with INVALID_OPTION naming the key, so a typo in a config file cannot fall
 * back silently to a default.
 */

/** Consistency levels the store accepts for plain reads: only levels that overlap every write. */
export const READ_CONSISTENCY_LEVELS = ['QUORUM', 'LOCAL_QUORUM', 'ALL'] as const;
/** Consistency levels the store accepts for writes (and for the commit phase of the mailbox LWT). */
export const WRITE_CONSISTENCY_LEVELS = ['QUORUM', 'LOCAL_QUORUM', 'EACH_QUORUM', 'ALL'] as const;
/** Consistency levels for the Paxos phase of the mailbox compare-and-set and its serial reads. */
export const SERIAL_CONSISTENCY_LEVELS = ['SERIAL', 'LOCAL_SERIAL'] as const;

export type ReadConsistencyLevel = (typeof READ_CONSISTENCY_LEVELS)[number];
export type WriteConsistencyLevel = (typeof WRITE_CONSISTENCY_LEVELS)[number];
export type SerialConsistencyLevel = (typeof SERIAL_CONSISTENCY_LEVELS)[number];

export interface SimpleStrategyReplication {
  class: 'SimpleStrategy';
  /** Copies of every row. Use 1 only for a single dev node; QUORUM of 1 is that node. */
  replicationFactor: number;
}

export interface NetworkTopologyStrategyReplication {
  class: 'NetworkTopologyStrategy';
  /** Replicas per data center, e.g. `{ dc1: 3, dc2: 3 }`. */
  dataCenters: Readonly<Record<string, number>>;
}

export type KeyspaceReplication = SimpleStrategyReplication | NetworkTopologyStrategyReplication;

export interface CassandraTlsOptions {
  /**
   * A PEM file with the certificate authorities that signed the nodes' certificates.
   * @default the system's CAs
   */
  caFile?: string;
  /**
   * A PEM client certificate, for nodes that ask for one (`client_encryption_options`
   * `require_client_auth`); give keyFile with it.
   */
  certFile?: string;
  /** The unencrypted PEM private key of certFile. */
  keyFile?: string;
  /**
   * The name every node's certificate must carry (also sent as SNI), for nodes that share one
   * certificate. Without it each node is checked against the address the driver connects to.
   */
  serverName?: string;
  /**
   * Refuse nodes whose certificate does not verify. Turn off only to debug a handshake: the
   * password then goes to whoever answers.
   * @default true
   */
  rejectUnauthorized: boolean;
}

export interface CassandraStoreOptions {
  /**
   * Nodes to contact first, as `host:port` (`[::1]:9042` for IPv6). The driver discovers the rest
   * of the cluster from them. A comma-separated string is accepted too.
   * @default ['127.0.0.1:9042']
   */
  contactPoints: readonly string[];
  /**
   * The data center this process sends its requests to (the driver's local DC). SimpleSnitch calls
   * its only data center `datacenter1`.
   * @default 'datacenter1'
   */
  localDataCenter: string;
  /**
   * The keyspace; created on first start if missing. Lower case letters, digits and `_`, at most
   * 48 characters, starting with a letter.
   * @default 'chatring'
   */
  keyspace: string;
  /**
   * How the keyspace is replicated when the store creates it. An existing keyspace is never altered
   * (change replication with ALTER KEYSPACE and a repair).
   * @default { class: 'SimpleStrategy', replicationFactor: 1 }
   */
  replication: KeyspaceReplication;
  /**
   * Credentials for PasswordAuthenticator: a username with a password (1 to 4096 bytes) or a
   * passwordFile, or none of them. Options travel as JSON on the command lines of the nodes the
   * launcher spawns: pass the password by passwordFile (or CHATRING_CASSANDRA_PASSWORD in the CLI).
   */
  username?: string;
  password?: string;
  /**
   * A file holding the password on one line (a trailing line break is ignored), read when the store
   * opens. Not with password.
   */
  passwordFile?: string;
  /**
   * Encrypt client connections. `true` verifies the nodes against the system's CAs; the files are
   * read and checked when the store opens (an unreadable or malformed one is INVALID_OPTION naming
   * the option and the path).
   * @default false
   */
  tls: false | CassandraTlsOptions;
  /**
   * Consistency of every read. Must overlap `writeConsistency` (QUORUM + QUORUM), so a new owner
   * reads everything the old owner acknowledged.
   * @default 'QUORUM'
   */
  readConsistency: ReadConsistencyLevel;
  /**
   * Consistency of every write, and of the commit phase of the mailbox compare-and-set.
   * @default 'QUORUM'
   */
  writeConsistency: WriteConsistencyLevel;
  /**
   * Consistency of the Paxos phase of the mailbox compare-and-set. `SERIAL` fences writers in every
   * data center; `LOCAL_SERIAL` is only safe when all owners of a user live in one data center.
   * @default 'SERIAL'
   */
  serialConsistency: SerialConsistencyLevel;
  /**
   * Deadline of one store operation (a commit is a compare-and-set, a batch and a clear), retries
   * included. Past it the caller gets STORE_UNAVAILABLE and may retry the same commit. Timeouts
   * shrink on the way down (ARCHITECTURE.md, "Timeouts nest"): this one must leave a send's
   * commit inside the node's delivery deadline (4 s) and the router's attempt timeout (8 s), so a
   * store that stops answering fails sends with STORE_UNAVAILABLE, not with a router timeout.
   * @default 3000
   */
  requestTimeoutMs: number;
  /**
   * How long one attempt on one coordinator may take (the driver's `socketOptions.readTimeout`).
   * Longer than Cassandra's own write timeout (2 s), so a slow write's own timeout error, which
   * says whether it may have been applied, arrives first; a point read slower than this is a node
   * in trouble, and the retry policy tries the next one.
   * @default 2500
   */
  attemptTimeoutMs: number;
  /**
   * How long opening a connection to one node may take.
   * @default 2000
   */
  connectTimeoutMs: number;
  /**
   * Deadline of one schema statement at start-up (CREATE KEYSPACE/TABLE wait for schema agreement).
   * @default 60000
   */
  schemaTimeoutMs: number;
  /**
   * Width of one message partition in time: a conversation's messages sent in one bucket share a
   * partition. Fixed when the keyspace is created; a later start with another width is refused.
   * @default 2592000000 (30 days)
   */
  messageBucketMs: number;
  /**
   * Mailbox versions per partition of the change logs behind the cursor. Fixed when the keyspace is
   * created, like `messageBucketMs`.
   * @default 10000
   */
  versionsPerBucket: number;
}

const DAY_MS = 24 * 60 * 60 * 1000;

export const DEFAULT_CASSANDRA_STORE_OPTIONS: Readonly<CassandraStoreOptions> = Object.freeze({
  contactPoints: Object.freeze(['127.0.0.1:9042']),
  localDataCenter: 'datacenter1',
  keyspace: 'chatring',
  replication: Object.freeze({ class: 'SimpleStrategy', replicationFactor: 1 } as const),
  tls: false,
  readConsistency: 'QUORUM',
  writeConsistency: 'QUORUM',
  serialConsistency: 'SERIAL',
  requestTimeoutMs: 3_000,
  attemptTimeoutMs: 2_500,
  connectTimeoutMs: 2_000,
  schemaTimeoutMs: 60_000,
  messageBucketMs: 30 * DAY_MS,
  versionsPerBucket: 10_000,
});

/** The component name every INVALID_OPTION message of this store starts with. */
const COMPONENT = 'cassandra';

/** Cassandra's own limit on keyspace names is 48 characters; lower case avoids quoting rules. */
const KEYSPACE_PATTERN = /^[a-z][a-z0-9_]{0,47}$/;
const CONTACT_POINT_PATTERN = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9][A-Za-z0-9.-]*):(\d{1,5})$/;
/** Data center names go into the CREATE KEYSPACE statement; keep them to a quote-free alphabet. */
const DATA_CENTER_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

const DATA_CENTER_RULE: OptionRule = {
  kind: 'string',
  pattern: DATA_CENTER_PATTERN,
  describe: 'a data center name',
};
const REPLICATION_FACTOR_RULE = integerRule(1, CASSANDRA_REPLICATION_FACTOR_MAX);
const TIMEOUT_RULE = integerRule(1, CASSANDRA_TIMEOUT_MS_MAX);

/** A string that must be one of `allowed` (consistency level names: only `[A-Z_]`, safe in a pattern). */
function oneOfRule(allowed: readonly string[]): OptionRule {
  return {
    kind: 'string',
    pattern: new RegExp(`^(${allowed.join('|')})$`),
    describe: `one of ${allowed.join(', ')}`,
  };
}

/**
 * The flat options are checked by their rule; `contactPoints`, `replication` and `tls` take more
 * than one shape and the credentials must never be echoed, so those are checked by the parsers
 * below (ANY_RULE here only makes them known keys).
 */
const OPTION_RULES: OptionRules<CassandraStoreOptions> = {
  contactPoints: ANY_RULE,
  localDataCenter: DATA_CENTER_RULE,
  keyspace: {
    kind: 'string',
    pattern: KEYSPACE_PATTERN,
    describe: 'a keyspace name: a lower case letter, then up to 47 of [a-z0-9_]',
  },
  replication: ANY_RULE,
  username: ANY_RULE,
  password: ANY_RULE,
  passwordFile: ANY_RULE,
  tls: ANY_RULE,
  readConsistency: oneOfRule(READ_CONSISTENCY_LEVELS),
  writeConsistency: oneOfRule(WRITE_CONSISTENCY_LEVELS),
  serialConsistency: oneOfRule(SERIAL_CONSISTENCY_LEVELS),
  requestTimeoutMs: TIMEOUT_RULE,
  attemptTimeoutMs: TIMEOUT_RULE,
  connectTimeoutMs: TIMEOUT_RULE,
  schemaTimeoutMs: TIMEOUT_RULE,
  messageBucketMs: integerRule(1, MESSAGE_BUCKET_MS_MAX),
  versionsPerBucket: integerRule(1, VERSIONS_PER_BUCKET_MAX),
};

/**
 * Validates raw options (from a config file, flags or code), fills in defaults and returns a deep-
 * frozen object. Throws INVALID_OPTION naming the first unknown or invalid key.
 */
export function parseCassandraOptions(
  raw: Record<string, unknown>,
): Readonly<CassandraStoreOptions> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ChatringError('INVALID_OPTION', `${COMPONENT}: options must be an object`);
  }
  const given = raw as GivenOptions<CassandraStoreOptions>;
  const checked = resolveOptions(COMPONENT, DEFAULT_CASSANDRA_STORE_OPTIONS, given, OPTION_RULES);
  const options: CassandraStoreOptions = {
    ...checked,
    contactPoints: parseContactPoints(checked.contactPoints, 'contactPoints'),
    replication: parseReplication(checked.replication, 'replication'),
    tls: parseTls(checked.tls, 'tls'),
  };
  if (checked.username !== undefined)
    options.username = parseNonEmptyString(checked.username, 'username');
  if (checked.password !== undefined)
    options.password = checkedPassword(COMPONENT, 'password', checked.password, 'must be');
  if (checked.passwordFile !== undefined)
    options.passwordFile = parseNonEmptyString(checked.passwordFile, 'passwordFile');
  checkCombinations(options);
  return deepFreeze(options);
}

function checkCombinations(options: CassandraStoreOptions): void {
  requireOption(
    options.password === undefined || options.passwordFile === undefined,
    COMPONENT,
    'passwordFile',
    'cannot be given with password: give one',
  );
  const hasPassword = options.password !== undefined || options.passwordFile !== undefined;
  if ((options.username === undefined) === hasPassword) {
    const missing = options.username === undefined ? 'username' : 'password';
    throw invalidOption(
      COMPONENT,
      missing,
      'is required when the other credential is given (password or passwordFile)',
    );
  }
  requireOption(
    options.attemptTimeoutMs <= options.requestTimeoutMs,
    COMPONENT,
    'attemptTimeoutMs',
    `(${options.attemptTimeoutMs}) must not exceed "requestTimeoutMs" (${options.requestTimeoutMs})`,
  );
  if (
    options.replication.class === 'NetworkTopologyStrategy' &&
    !(options.localDataCenter in options.replication.dataCenters)
  ) {
    throw invalidOption(
      COMPONENT,
      'localDataCenter',
      `("${options.localDataCenter}") is not one of "replication.dataCenters" ` +
        `(${Object.keys(options.replication.dataCenters).join(', ')})`,
    );
  }
}

function parseContactPoints(value: unknown, key: string): readonly string[] {
  const list = typeof value === 'string' ? value.split(',').map((entry) => entry.trim()) : value;
  if (!Array.isArray(list) || list.length === 0) {
    throw invalidOption(COMPONENT, key, 'must be a non-empty array of "host:port" strings');
  }
  return list.map((entry: unknown, index) => {
    const match = typeof entry === 'string' ? CONTACT_POINT_PATTERN.exec(entry) : null;
    const port = Number(match?.[2]);
    if (match === null || port < 1 || port > 65_535) {
      throw invalidOption(
        COMPONENT,
        `${key}[${index}]`,
        `must be "host:port" with a port in 1..65535, got ${describe(entry)}`,
      );
    }
    return entry as string;
  });
}

function parseReplication(value: unknown, key: string): KeyspaceReplication {
  const record = parseRecord(value, key);
  if (record.class === 'SimpleStrategy') {
    rejectUnknownKeys(record, key, ['class', 'replicationFactor']);
    const name = `${key}.replicationFactor`;
    checkOption(COMPONENT, name, record.replicationFactor, REPLICATION_FACTOR_RULE);
    return { class: 'SimpleStrategy', replicationFactor: record.replicationFactor as number };
  }
  if (record.class === 'NetworkTopologyStrategy') {
    rejectUnknownKeys(record, key, ['class', 'dataCenters']);
    return {
      class: 'NetworkTopologyStrategy',
      dataCenters: parseDataCenters(record.dataCenters, `${key}.dataCenters`),
    };
  }
  throw invalidOption(
    COMPONENT,
    `${key}.class`,
    `must be "SimpleStrategy" or "NetworkTopologyStrategy", got ${describe(record.class)}`,
  );
}

function parseDataCenters(value: unknown, key: string): Record<string, number> {
  const record = parseRecord(value, key);
  const entries = Object.entries(record);
  if (entries.length === 0)
    throw invalidOption(COMPONENT, key, 'must name at least one data center');
  const dataCenters: Record<string, number> = {};
  for (const [dataCenter, factor] of entries) {
    checkOption(COMPONENT, `${key} name`, dataCenter, DATA_CENTER_RULE);
    checkOption(COMPONENT, `${key}.${dataCenter}`, factor, REPLICATION_FACTOR_RULE);
    dataCenters[dataCenter] = factor as number;
  }
  return dataCenters;
}

function parseTls(value: unknown, key: string): false | CassandraTlsOptions {
  if (value === false) return false;
  if (value === true) return { rejectUnauthorized: true };
  const record = parseRecord(value, key);
  rejectUnknownKeys(record, key, [
    'caFile',
    'certFile',
    'keyFile',
    'serverName',
    'rejectUnauthorized',
  ]);
  const tls: CassandraTlsOptions = { rejectUnauthorized: true };
  for (const file of ['caFile', 'certFile', 'keyFile'] as const)
    if (record[file] !== undefined) tls[file] = parseNonEmptyString(record[file], `${key}.${file}`);
  if ((tls.certFile === undefined) !== (tls.keyFile === undefined)) {
    const [missing, given] =
      tls.certFile === undefined ? ['certFile', 'keyFile'] : ['keyFile', 'certFile'];
    throw invalidOption(COMPONENT, `${key}.${missing}`, `is required with ${key}.${given}`);
  }
  if (record.serverName !== undefined)
    tls.serverName = checkServerName(COMPONENT, `${key}.serverName`, record.serverName);
  if (record.rejectUnauthorized !== undefined) {
    if (typeof record.rejectUnauthorized !== 'boolean') {
      throw invalidOption(
        COMPONENT,
        `${key}.rejectUnauthorized`,
        `must be a boolean, got ${describe(record.rejectUnauthorized)}`,
      );
    }
    tls.rejectUnauthorized = record.rejectUnauthorized;
  }
  return tls;
}

/**
 * What the driver needs beyond the options: the password (given, or read from passwordFile) and the
 * TLS files, read and checked. Called when the store opens; an unreadable or malformed file is
 * INVALID_OPTION naming the option and the path.
 */
export function readConnectionSecrets(options: Readonly<CassandraStoreOptions>): {
  credentials?: { username: string; password: string };
  sslOptions?: ConnectionOptions;
} {
  const { username, password, passwordFile, tls } = options;
  const secret =
    passwordFile === undefined
      ? password
      : readPasswordFile(COMPONENT, 'passwordFile', passwordFile);
  return {
    ...(username === undefined || secret === undefined
      ? {}
      : { credentials: { username, password: secret } }),
    ...(tls === false ? {} : { sslOptions: readTlsFiles(tls) }),
  };
}

/** node:tls connect options; rejectUnauthorized always explicit (the driver's default is false). */
function readTlsFiles(tls: Readonly<CassandraTlsOptions>): ConnectionOptions {
  const sslOptions: ConnectionOptions = { rejectUnauthorized: tls.rejectUnauthorized };
  if (tls.caFile !== undefined)
    sslOptions.ca = readCertificates(COMPONENT, 'tls.caFile', tls.caFile);
  if (tls.certFile !== undefined && tls.keyFile !== undefined) {
    const cert = readCertificates(COMPONENT, 'tls.certFile', tls.certFile);
    sslOptions.cert = cert;
    sslOptions.key = readPrivateKey(COMPONENT, 'tls.keyFile', tls.keyFile, {
      name: 'tls.certFile',
      pem: cert,
    });
  }
  if (tls.serverName !== undefined) sslOptions.servername = tls.serverName;
  return sslOptions;
}

function parseRecord(value: unknown, key: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalidOption(COMPONENT, key, `must be an object, got ${describe(value)}`);
  }
  return value as Record<string, unknown>;
}

function rejectUnknownKeys(
  record: Record<string, unknown>,
  key: string,
  known: readonly string[],
): void {
  for (const name of Object.keys(record)) {
    if (!known.includes(name)) {
      throw invalidOption(COMPONENT, `${key}.${name}`, `is unknown; known: ${known.join(', ')}`);
    }
  }
}

/** Never echoes the value: it may be a password. */
function parseNonEmptyString(value: unknown, key: string): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw invalidOption(COMPONENT, key, 'must be a non-empty string');
  }
  return value;
}

/** Shows a bad value in an error without echoing long strings in full. */
function describe(value: unknown): string {
  if (typeof value === 'string')
    return value.length > 40 ? `a ${value.length}-character string` : JSON.stringify(value);
  if (Array.isArray(value)) return 'an array';
  if (value === null) return 'null';
  return typeof value === 'object' ? 'an object' : String(value);
}

function deepFreeze<T>(value: T): Readonly<T> {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
