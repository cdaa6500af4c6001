import { isIP } from 'node:net';
import type { Command } from 'commander';
import {
  ChatringError,
  HEARTBEAT_INTERVAL_MS_MAX,
  HEARTBEAT_INTERVAL_MS_MIN,
  LEASE_MS_MAX,
  LEASE_MS_MIN,
  LISTEN_PORT_MAX,
  isNodeBaseUrl,
} from '../protocol/index.js';
import {
  resolveControlPlaneTimings,
  resolveRedisControlPlaneOptions,
  type ControlPlaneTimings,
  type RedisControlPlaneOptions,
} from '../control-plane/index.js';

/**
 * Flag and environment text turned into checked values. Every refusal is INVALID_OPTION and names
 * the flag the operator typed (`--nodes must be an integer from 1 to 64, got "65"`); the bounds
 * come from protocol/limits.ts, never from here.
 */

export function integerOption(name: string, text: string, min: number, max: number): number {
  if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max)
    throw new ChatringError(
      'INVALID_OPTION',
      `${name} must be an integer from ${min} to ${max}, got "${text}"`,
    );
  return Number(text);
}

/**
 * DNS's own bounds on a host name (RFC 1035 2.3.4), not chatring's: a label of 1 to 63 letters,
 * digits and hyphens, neither first nor last a hyphen; at most 253 characters in all.
 */
const HOST_NAME_CHARS_MAX = 253;
const HOST_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/i;

/**
 * A host to listen on or advertise: an IP literal (IPv6 bare or in brackets; returned bare, in
 * its canonical spelling) or a DNS host name. Refused: a zone id (`fe80::1%eth0`: no URL can
 * carry it, so nobody could be sent there), and a name whose last label is all digits (`127.1`,
 * `10.0.0.256`): resolvers and URL parsers read those as IPv4 numbers, so it would not mean what
 * it says.
 */
export function hostOption(name: string, text: string): string {
  const bare = /^\[.*\]$/.test(text) ? text.slice(1, -1) : text;
  const ip = isIP(bare);
  if (ip === 4 && bare === text) return bare;
  if (ip === 6) {
    // In its one canonical spelling (`0:0::0` is `::`), so every check of it sees the same.
    if (!bare.includes('%')) return new URL(`http://[${bare}]`).hostname.slice(1, -1);
    throw new ChatringError(
      'INVALID_OPTION',
      `${name} must not carry a zone id (no URL can): give a global address, got "${text}"`,
    );
  }
  const labels = text.split('.');
  if (
    text.length > HOST_NAME_CHARS_MAX ||
    !labels.every((label) => HOST_LABEL.test(label)) ||
    /^\d+$/.test(labels.at(-1) ?? '')
  )
    throw new ChatringError(
      'INVALID_OPTION',
      `${name} must be an IP address or a DNS host name (labels of 1-63 letters, digits and hyphens, at most ${HOST_NAME_CHARS_MAX} characters in all), got "${text}"`,
    );
  return text;
}

/** 0.0.0.0 or :: in any spelling (`::0`, `0:0::0`): every interface, an address nobody can reach. */
export function isWildcardHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '');
  if (isIP(bare) === 4) return bare === '0.0.0.0';
  return isIP(bare) === 6 && !bare.includes('%') && new URL(`http://[${bare}]`).hostname === '[::]';
}

/**
 * `HOST:PORT`, the listen address in one flag: an IPv6 host goes in brackets (`[::1]:8080`, as in
 * a URL), since its own colons would make the port ambiguous. The port may be 0 (any free one).
 */
export function listenOption(name: string, text: string): { host: string; port: number } {
  const match = /^(\[[^\]]*\]|[^:]*):(\d*)$/.exec(text);
  const [, host = '', port = ''] = match ?? [];
  if (match === null || host === '' || port === '')
    throw new ChatringError(
      'INVALID_OPTION',
      isIP(text.replace(/:\d*$/, '')) === 6 || isIP(text) === 6
        ? `${name} must put an IPv6 host in brackets, as [::1]:8080, got "${text}"`
        : `${name} must be HOST:PORT (an IPv6 host in brackets, as [::1]:8080), got "${text}"`,
    );
  if (host.startsWith('[') && isIP(host.slice(1, -1)) !== 6)
    throw new ChatringError(
      'INVALID_OPTION',
      `${name}: only an IPv6 address goes in brackets, got "${text}"`,
    );
  return {
    host: hostOption(name, host),
    port: integerOption(`${name} port`, port, 0, LISTEN_PORT_MAX),
  };
}

/**
 * Where others reach a member: `http(s)://host:port` and nothing else (a trailing `/` is
 * allowed), the port written out (a forgotten one would silently mean 80 or 443), the host a real
 * one (not a wildcard). The host's own bound keeps the origin far inside what a ring carries
 * (NODE_URL_CHARS_LIMIT); the member checks it again (protocol/http-url.ts), this check names the
 * flag.
 */
export function advertiseUrlOption(name: string, text: string): string {
  const base = text.replace(/\/$/, '');
  const shape = `${name} must be http(s)://host:port, with no path, query or credentials, got "${text}"`;
  if (!isNodeBaseUrl(base) || !/:\d+$/.test(base)) throw new ChatringError('INVALID_OPTION', shape);
  const url = new URL(base);
  hostOption(name, url.hostname);
  if (isWildcardHost(url.hostname))
    throw new ChatringError(
      'INVALID_OPTION',
      `${name} must name an address others can reach, not every interface (${url.hostname}), got "${text}"`,
    );
  return text;
}

export function booleanOption(name: string, text: string): boolean {
  if (text === 'true' || text === '1') return true;
  if (text === 'false' || text === '0') return false;
  throw new ChatringError('INVALID_OPTION', `${name} must be true or false, got "${text}"`);
}

/**
 * `--redis` (else CHATRING_REDIS_URL): undefined when neither is set. A refused URL is shown with
 * its credentials blanked out.
 */
export function redisUrlOption(
  flag: string | undefined,
  env: NodeJS.ProcessEnv,
): string | undefined {
  const redisUrl = flag ?? env.CHATRING_REDIS_URL;
  if (redisUrl !== undefined && !/^rediss?:\/\//.test(redisUrl))
    throw new ChatringError(
      'INVALID_OPTION',
      `--redis must be a redis:// URL, got "${redisUrl.replace(/^([^/]*\/\/)[^/@]*@/, '$1***@')}"`,
    );
  return redisUrl;
}

/**
 * How the control plane authenticates to Redis and checks it: AUTH and TLS. The password never
 * needs the command line: `--redis-password-file` names a file; the environment may carry the
 * password itself (CHATRING_REDIS_PASSWORD) or a file (CHATRING_REDIS_PASSWORD_FILE); the flag
 * wins, then the value, then the file. Every other flag falls back to its variable. A rediss://
 * URL turns TLS on by itself (the system's CAs); any TLS file or the server name turns it on too.
 */
export interface RedisConnectionFlags {
  redisUsername?: string;
  redisPasswordFile?: string;
  redisTlsCaFile?: string;
  redisTlsCertFile?: string;
  redisTlsKeyFile?: string;
  redisTlsServerName?: string;
}

/** What those flags set on RedisControlPlane (spread into its options). */
export type RedisConnectionOptions = Pick<
  RedisControlPlaneOptions,
  'username' | 'password' | 'passwordFile' | 'tls'
>;

export const REDIS_CONNECTION_ENV = Object.freeze({
  username: 'CHATRING_REDIS_USERNAME',
  password: 'CHATRING_REDIS_PASSWORD',
  passwordFile: 'CHATRING_REDIS_PASSWORD_FILE',
  tlsCaFile: 'CHATRING_REDIS_TLS_CA_FILE',
  tlsCertFile: 'CHATRING_REDIS_TLS_CERT_FILE',
  tlsKeyFile: 'CHATRING_REDIS_TLS_KEY_FILE',
  tlsServerName: 'CHATRING_REDIS_TLS_SERVER_NAME',
});

/** The flags, for refusing them without a Redis URL. */
const REDIS_CONNECTION_FLAGS: readonly (readonly [keyof RedisConnectionFlags, string])[] = [
  ['redisUsername', '--redis-username'],
  ['redisPasswordFile', '--redis-password-file'],
  ['redisTlsCaFile', '--redis-tls-ca-file'],
  ['redisTlsCertFile', '--redis-tls-cert-file'],
  ['redisTlsKeyFile', '--redis-tls-key-file'],
  ['redisTlsServerName', '--redis-tls-server-name'],
];

export function addRedisConnectionFlags(command: Command): Command {
  const env = REDIS_CONNECTION_ENV;
  return command
    .option('--redis-username <name>', `Redis ACL user; needs a password (env ${env.username})`)
    .option(
      '--redis-password-file <file>',
      `Redis AUTH password, on one line (env ${env.password} or ${env.passwordFile})`,
    )
    .option(
      '--redis-tls-ca-file <file>',
      `PEM CA Redis's certificate is checked against, default the system's; turns TLS on (env ${env.tlsCaFile})`,
    )
    .option(
      '--redis-tls-cert-file <file>',
      `PEM client certificate (tls-auth-clients), with --redis-tls-key-file (env ${env.tlsCertFile})`,
    )
    .option(
      '--redis-tls-key-file <file>',
      `its unencrypted PEM private key (env ${env.tlsKeyFile})`,
    )
    .option(
      '--redis-tls-server-name <name>',
      `the name Redis's certificate must carry, default the URL's host (env ${env.tlsServerName})`,
    );
}

/**
 * The AUTH and TLS options for `redisUrl`, checked at once (files read, so a bad one fails at
 * start-up naming the option and the path, not in every member). Without a Redis URL the flags
 * are refused and the variables ignored.
 */
export function redisConnectionOptions(
  redisUrl: string | undefined,
  flags: RedisConnectionFlags,
  env: NodeJS.ProcessEnv,
): RedisConnectionOptions {
  if (redisUrl === undefined) {
    const given = REDIS_CONNECTION_FLAGS.find(([key]) => flags[key] !== undefined);
    if (given !== undefined)
      throw new ChatringError('INVALID_OPTION', `${given[1]} needs --redis (a Redis URL)`);
    return {};
  }
  const names = REDIS_CONNECTION_ENV;
  const username = flags.redisUsername ?? env[names.username];
  const password =
    flags.redisPasswordFile !== undefined
      ? { passwordFile: flags.redisPasswordFile }
      : env[names.password] !== undefined
        ? { password: env[names.password] ?? '' }
        : env[names.passwordFile] !== undefined
          ? { passwordFile: env[names.passwordFile] ?? '' }
          : {};
  const tls = Object.fromEntries(
    Object.entries({
      caFile: flags.redisTlsCaFile ?? env[names.tlsCaFile],
      certFile: flags.redisTlsCertFile ?? env[names.tlsCertFile],
      keyFile: flags.redisTlsKeyFile ?? env[names.tlsKeyFile],
      serverName: flags.redisTlsServerName ?? env[names.tlsServerName],
    }).filter(([, given]) => given !== undefined),
  );
  const options: RedisConnectionOptions = {
    ...(username === undefined ? {} : { username }),
    ...password,
    ...(Object.keys(tls).length === 0 ? {} : { tls }),
  };
  resolveRedisControlPlaneOptions({ redisUrl, ...options });
  return options;
}

/**
 * The same choices as environment variables, for the members a launcher spawns (no secret on their
 * command lines). Every variable is set or cleared (undefined: spawn leaves it out), so a member
 * makes exactly this process's choice whatever else its inherited environment says.
 */
export function redisConnectionEnvironment(options: RedisConnectionOptions): NodeJS.ProcessEnv {
  const names = REDIS_CONNECTION_ENV;
  const { username, password, passwordFile, tls } = options;
  const files = typeof tls === 'object' ? tls : {};
  return {
    [names.username]: username,
    [names.password]: password,
    [names.passwordFile]: passwordFile,
    [names.tlsCaFile]: files.caFile,
    [names.tlsCertFile]: files.certFile,
    [names.tlsKeyFile]: files.keyFile,
    [names.tlsServerName]: files.serverName,
  };
}

/**
 * `--lease-ms` and `--heartbeat-interval-ms` (undefined: the control plane's default), each within
 * its bounds, then together through the control plane's own resolver: the one rule every backend
 * and every command shares (a heartbeat shorter than the lease).
 */
export function timingOptions(
  component: string,
  text: { leaseMs?: string | undefined; heartbeatIntervalMs?: string | undefined },
): Readonly<ControlPlaneTimings> {
  return resolveControlPlaneTimings(component, {
    leaseMs:
      text.leaseMs === undefined
        ? undefined
        : integerOption('--lease-ms', text.leaseMs, LEASE_MS_MIN, LEASE_MS_MAX),
    heartbeatIntervalMs:
      text.heartbeatIntervalMs === undefined
        ? undefined
        : heartbeatIntervalOption(text.heartbeatIntervalMs),
  });
}

/** The heartbeat alone, where the lease belongs to another process (a node in local mode). */
export function heartbeatIntervalOption(text: string): number {
  return integerOption(
    '--heartbeat-interval-ms',
    text,
    HEARTBEAT_INTERVAL_MS_MIN,
    HEARTBEAT_INTERVAL_MS_MAX,
  );
}

/** A flag (or its environment variable) that holds a JSON object; empty or absent: `{}`. */
export function jsonObjectOption(name: string, text: string | undefined): Record<string, unknown> {
  if (text === undefined || text === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ChatringError('INVALID_OPTION', `${name} is not JSON: ${(error as Error).message}`, {
      cause: error,
    });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new ChatringError('INVALID_OPTION', `${name} must be a JSON object`);
  return parsed as Record<string, unknown>;
}
