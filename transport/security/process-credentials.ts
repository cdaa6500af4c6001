import { isIP } from 'node:net';
import { ChatringError, invalidOption } from '../../protocol/index.js';
import type { AccessPolicy } from './access-control.js';
import { MemberSigner } from './member-signature.js';
import { TokenSet } from './token-set.js';

/** What a router or node is given to authenticate with and to check its callers by. */
export interface Credentials {
  /** The cluster secret (at least 32 bytes): members sign with it and check each other by it. */
  clusterSecret: Buffer;
  /**
   * App tokens, plain or `sha256:<hex>`; undefined: the public API takes anyone (loopback only).
   * @default undefined
   */
  appTokens?: readonly string[] | undefined;
  /**
   * Operator tokens, plain or `sha256:<hex>`; undefined: ring changes, status and admin routes take
   * anyone (loopback only).
   * @default undefined
   */
  operatorTokens?: readonly string[] | undefined;
}

/** Where operators give each credential: named in every refusal so the fix is obvious. */
export const CREDENTIAL_SOURCES = Object.freeze({
  clusterSecret: '--cluster-secret-file or CHATRING_CLUSTER_SECRET(_FILE)',
  appTokens: '--app-tokens-file or CHATRING_APP_TOKENS(_FILE)',
  operatorTokens: '--operator-token-file or CHATRING_OPERATOR_TOKEN(_FILE)',
});

/** A process's own signer and the policy its server enforces, built once at start-up. */
export interface ProcessSecurity {
  signer: MemberSigner;
  policy: AccessPolicy;
}

/**
 * Checks a process's credentials and builds its signer and access policy. Like Redis's protected
 * mode, a process listening beyond loopback must have app and operator tokens: without them
 * anyone who reaches the port could send as any user or move the ring. On loopback they are
 * optional (`npm start` needs no setup; the launcher says so once).
 */
export function processSecurity(
  component: string,
  memberId: string,
  host: string,
  credentials: Credentials | undefined,
): ProcessSecurity {
  if (credentials?.clusterSecret === undefined)
    throw invalidOption(
      component,
      'credentials.clusterSecret',
      `is required: members always authenticate (${CREDENTIAL_SOURCES.clusterSecret})`,
    );
  const { clusterSecret, appTokens, operatorTokens } = credentials;
  if (!isLoopback(host)) {
    for (const [name, tokens] of [
      ['appTokens', appTokens],
      ['operatorTokens', operatorTokens],
    ] as const)
      if (tokens === undefined || tokens.length === 0)
        throw new ChatringError(
          'INVALID_OPTION',
          `${component}: listening on ${host}, beyond loopback, needs ${name} (${CREDENTIAL_SOURCES[name]})`,
        );
  }
  const signer = new MemberSigner(memberId, clusterSecret);
  return {
    signer,
    policy: {
      members: signer.verifier(),
      appTokens: tokenSetOf(appTokens, `${component}: appTokens`),
      operatorTokens: tokenSetOf(operatorTokens, `${component}: operatorTokens`),
    },
  };
}

/** 127.0.0.0/8, ::1 and localhost: reachable from this host only. */
export function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '');
  if (bare === 'localhost' || bare === '::1') return true;
  return isIP(bare) === 4 && bare.startsWith('127.');
}

function tokenSetOf(entries: readonly string[] | undefined, what: string): TokenSet | undefined {
  return entries === undefined || entries.length === 0 ? undefined : TokenSet.from(entries, what);
}
