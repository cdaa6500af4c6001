import { request } from 'undici';
import { MEMBER_SIGNATURE_HEADER, type MemberSigner } from '../transport/index.js';

/** How long a harness look-up (status, ring, owner, stats) may take before it fails. */
export const LOOKUP_TIMEOUT_MS_DEFAULT = 10_000;

/**
 * GET a JSON document; throws when no answer comes within `timeoutMs` or the answer is not a 200
 * (with the body in the message, so a failed look-up says why). For the harness's own look-ups
 * (status, ring, owner, node stats), signed as a member when given a signer (the ring is a member
 * route; the others are operator routes, which take a member too); the public API goes through
 * ApiClient.
 */
export async function getJson<T>(
  url: string,
  timeoutMs = LOOKUP_TIMEOUT_MS_DEFAULT,
  signer?: MemberSigner,
): Promise<T> {
  const { pathname, search } = new URL(url);
  const response = await request(url, {
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    headers:
      signer === undefined
        ? {}
        : { [MEMBER_SIGNATURE_HEADER]: signer.sign('GET', `${pathname}${search}`, undefined) },
  });
  const text = await response.body.text();
  if (response.statusCode !== 200)
    throw new Error(`GET ${url} answered ${response.statusCode}: ${text.slice(0, 500)}`);
  return JSON.parse(text) as T;
}
