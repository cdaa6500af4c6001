import { isIP } from 'node:net';

/** The URL a process advertises for `host:port`; an IPv6 literal goes in brackets (RFC 3986). */
export function httpUrlOf(host: string, port: number): string {
  return isIP(host) === 6 ? `http://[${host}]:${port}` : `http://${host}:${port}`;
}
