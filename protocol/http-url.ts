import { isIP } from 'node:net';
import { ChatringError } from './errors.js';
import { isNodeBaseUrl } from './internal-validation.js';
import { NODE_URL_CHARS_LIMIT } from './limits.js';

/** The URL a process advertises for `host:port`; an IPv6 literal goes in brackets (RFC 3986). */
export function httpUrlOf(host: string, port: number): string {
  return isIP(host) === 6 ? `http://[${host}]:${port}` : `http://${host}:${port}`;
}

/** Addresses that listen on every interface: nobody can reach a process at them. */
const WILDCARD_HOSTS = new Set(['0.0.0.0', '::', '[::]', '::0']);

/**
 * The URL a member tells others (the control plane, routers, ring-aware clients) to reach it at:
 * `advertiseUrl` when given (http(s)://host:port, nothing else, at most NODE_URL_CHARS_LIMIT
 * characters as an origin), else `http://host:port` of where it
 * listens. Listening on a wildcard address (0.0.0.0, ::) without `advertiseUrl` is refused: the
 * ring would tell every caller to connect to an address that is not one.
 */
export function advertisedUrl(
  component: string,
  host: string,
  port: number,
  advertiseUrl: string | undefined,
): string {
  if (advertiseUrl !== undefined) {
    if (!isNodeBaseUrl(advertiseUrl.replace(/\/$/, '')))
      throw new ChatringError(
        'INVALID_OPTION',
        `${component}: option "advertiseUrl" must be http(s)://host:port (no path), got "${advertiseUrl}"`,
      );
    // The ring holds the origin; one too long for a ring to carry would be refused by every peer.
    const origin = new URL(advertiseUrl).origin;
    if (origin.length > NODE_URL_CHARS_LIMIT)
      throw new ChatringError(
        'INVALID_OPTION',
        `${component}: option "advertiseUrl" must be at most ${NODE_URL_CHARS_LIMIT} characters, got ${origin.length}`,
      );
    return origin;
  }
  if (WILDCARD_HOSTS.has(host))
    throw new ChatringError(
      'INVALID_OPTION',
      `${component}: listening on ${host} (every interface) needs an advertised URL others can reach (--advertise-url)`,
    );
  return httpUrlOf(host, port);
}
