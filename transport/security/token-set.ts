import { createHash, timingSafeEqual } from 'node:crypto';
import { BEARER_TOKEN_CHARS_MIN, BEARER_TOKENS_MAX, ChatringError } from '../../protocol/index.js';

/**
 * A set of bearer tokens (app tokens, operator tokens), kept only as SHA-256 hashes: several at once
 * so a token can be rotated without downtime (add the new one, move clients, drop the old). A
 * presented token is hashed and compared with every stored hash in constant time, so neither the
 * comparison nor which entry matched shows in the timing. Entries are given either as the token
 * itself or as `sha256:<64 hex>` (what `chatring hash-token` prints), so a server's configuration
 * need not hold the plain token at all.
 */
export class TokenSet {
  readonly #hashes: readonly Buffer[];

  private constructor(hashes: readonly Buffer[]) {
    this.#hashes = hashes;
  }

  /** `what` names the source in errors (a flag or an environment variable). */
  static from(entries: readonly string[], what: string): TokenSet {
    if (entries.length > BEARER_TOKENS_MAX)
      throw new ChatringError(
        'INVALID_OPTION',
        `${what}: at most ${BEARER_TOKENS_MAX} tokens, got ${entries.length}`,
      );
    return new TokenSet(
      entries.map((entry, index) => hashOfEntry(entry, `${what} entry ${index + 1}`)),
    );
  }

  get size(): number {
    return this.#hashes.length;
  }

  matches(presented: string): boolean {
    const hash = sha256(presented);
    let matched = false;
    // No early exit: every stored hash is compared whatever matched first.
    for (const stored of this.#hashes) matched = timingSafeEqual(hash, stored) || matched;
    return matched;
  }
}

/** The stored form of a token: what operators may put in a tokens file instead of the token. */
export function hashToken(token: string): string {
  return `sha256:${sha256(token).toString('hex')}`;
}

const HASHED_ENTRY = /^sha256:([0-9a-f]{64})$/;
/** What a bearer token may contain (RFC 6750's b64token), and no more than this. */
export const BEARER_TOKEN_PATTERN = /^[A-Za-z0-9._~+/=-]{1,512}$/;

function hashOfEntry(entry: string, what: string): Buffer {
  const hashed = HASHED_ENTRY.exec(entry);
  if (hashed?.[1] !== undefined) return Buffer.from(hashed[1], 'hex');
  if (!BEARER_TOKEN_PATTERN.test(entry))
    throw new ChatringError(
      'INVALID_OPTION',
      `${what}: a token is 1-512 characters of [A-Za-z0-9._~+/=-], or sha256:<64 hex digits>`,
    );
  if (entry.length < BEARER_TOKEN_CHARS_MIN)
    throw new ChatringError(
      'INVALID_OPTION',
      `${what}: a token must be at least ${BEARER_TOKEN_CHARS_MIN} characters (guessable otherwise)`,
    );
  return sha256(entry);
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}
