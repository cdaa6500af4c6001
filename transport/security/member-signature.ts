import { createHmac, timingSafeEqual, type Hmac } from 'node:crypto';
import {
  CLUSTER_SECRET_BYTES_MIN,
  ChatringError,
  MEMBER_SIGNATURE_WINDOW_MS,
  USER_ID_PATTERN,
} from '../../protocol/index.js';

/**
 * Member authentication: every request between chatring's own processes (heartbeats, deliveries,
 * handoff, ring pushes, the router's forwards) carries an HMAC-SHA256 over its method, path and
 * query, the signer's member id, a wall-clock timestamp and the body bytes, keyed by the cluster
 * secret every member holds. Why HMAC and not mTLS: no PKI to run for `npm start` (the launcher
 * generates one secret), no handshake or record encryption on every hop (a signature costs a few
 * µs per request; see bench/), and it composes with whatever carries the bytes. What it does not
 * give: confidentiality (run members on a private network, or a TLS tunnel between hosts) and
 * replay protection inside the clock window (every member route is idempotent or epoch-ordered,
 * so a replay within MEMBER_SIGNATURE_WINDOW_MS changes nothing; docs/security.md).
 *
 * The header: `x-chatring-member: v1.<memberId>.<timestampMs>.<mac base64url>`.
 */

export const MEMBER_SIGNATURE_HEADER = 'x-chatring-member';
const VERSION = 'v1';
const MAC_BYTES = 32;

/** What a member signs a request with: its id and the cluster secret. */
export class MemberSigner {
  readonly memberId: string;
  readonly #secret: Buffer;
  readonly #wallNow: () => number;

  constructor(memberId: string, secret: Buffer, wallNow: () => number = Date.now) {
    if (!USER_ID_PATTERN.test(memberId))
      throw new ChatringError(
        'INVALID_OPTION',
        `member id ${JSON.stringify(memberId)} is not 1-64 of [A-Za-z0-9_-]`,
      );
    checkClusterSecret(secret);
    this.memberId = memberId;
    this.#secret = secret;
    this.#wallNow = wallNow;
  }

  /** The header value for one request; `body` exactly as it will be sent (undefined: none). */
  sign(method: string, pathAndQuery: string, body: string | Buffer | undefined): string {
    const timestamp = Math.floor(this.#wallNow());
    const mac = startMac(this.#secret, method, pathAndQuery, this.memberId, timestamp);
    if (body !== undefined) mac.update(body);
    return `${VERSION}.${this.memberId}.${timestamp}.${mac.digest('base64url')}`;
  }

  /** A verifier for the same cluster (a process that signs also checks its peers). */
  verifier(): MemberVerifier {
    return new MemberVerifier(this.#secret, this.#wallNow);
  }
}

/** A signature whose header checked out, waiting for the body before its MAC can be compared. */
export interface PendingMemberSignature {
  readonly memberId: string;
  /** Feed the body bytes as they arrive. */
  update(chunk: Buffer): void;
  /** Throws FORBIDDEN unless the MAC matches what was fed. */
  verify(): void;
}

/** Checks members' signatures against the cluster secret and the local wall clock. */
export class MemberVerifier {
  readonly #secret: Buffer;
  readonly #wallNow: () => number;

  constructor(secret: Buffer, wallNow: () => number = Date.now) {
    checkClusterSecret(secret);
    this.#secret = secret;
    this.#wallNow = wallNow;
  }

  /**
   * Reads a signature header: FORBIDDEN if it is malformed or outside the clock window (checked
   * before the body is read, so a forger's body is never parsed); the MAC is compared by `verify()`
   * once the body has been fed.
   */
  begin(header: string, method: string, pathAndQuery: string): PendingMemberSignature {
    const parts = header.split('.');
    const [version, memberId = '', timestampText = '', macText = ''] = parts;
    if (parts.length !== 4 || version !== VERSION || !USER_ID_PATTERN.test(memberId))
      throw new ChatringError('FORBIDDEN', `the ${MEMBER_SIGNATURE_HEADER} header is malformed`);
    if (!/^\d{1,16}$/.test(timestampText))
      throw new ChatringError('FORBIDDEN', `the ${MEMBER_SIGNATURE_HEADER} timestamp is malformed`);
    const timestamp = Number(timestampText);
    const skew = Math.abs(this.#wallNow() - timestamp);
    if (skew > MEMBER_SIGNATURE_WINDOW_MS)
      throw new ChatringError(
        'FORBIDDEN',
        `the member signature is ${Math.round(skew)} ms from this host's clock (at most ${MEMBER_SIGNATURE_WINDOW_MS} ms)`,
      );
    const presented = Buffer.from(macText, 'base64url');
    if (presented.length !== MAC_BYTES)
      throw new ChatringError('FORBIDDEN', `the ${MEMBER_SIGNATURE_HEADER} MAC is malformed`);
    const mac = startMac(this.#secret, method, pathAndQuery, memberId, timestamp);
    // The digest can be taken once; a second verify() answers the first one's verdict.
    let verdict: boolean | undefined;
    return {
      memberId,
      update: (chunk) => {
        if (verdict === undefined) mac.update(chunk);
      },
      verify: () => {
        verdict ??= timingSafeEqual(mac.digest(), presented);
        if (!verdict) throw new ChatringError('FORBIDDEN', 'the member signature does not verify');
      },
    };
  }
}

function startMac(
  secret: Buffer,
  method: string,
  pathAndQuery: string,
  memberId: string,
  timestamp: number,
): Hmac {
  return createHmac('sha256', secret).update(
    `chatring-member-${VERSION}\n${method}\n${pathAndQuery}\n${memberId}\n${timestamp}\n`,
  );
}

function checkClusterSecret(secret: Buffer): void {
  if (!Buffer.isBuffer(secret) || secret.length < CLUSTER_SECRET_BYTES_MIN)
    throw new ChatringError(
      'INVALID_OPTION',
      `the cluster secret must be at least ${CLUSTER_SECRET_BYTES_MIN} bytes`,
    );
}
