import { TokenSet, type AccessPolicy } from '../security/index.js';

/**
 * A process's access policy with its metrics tokens (`--metrics-token-file`,
 * `CHATRING_METRICS_TOKEN`): with none, `GET /metrics` stays open; with some, it takes one of them,
 * the operator token or a member signature (transport/security/access-control.ts). Tokens are
 * checked as every bearer token is (TokenSet: length, characters, at most 64).
 */
export function withMetricsTokens(
  policy: AccessPolicy,
  tokens: readonly string[] | undefined,
  component: string,
): AccessPolicy {
  if (tokens === undefined || tokens.length === 0) return policy;
  return { ...policy, metricsTokens: TokenSet.from(tokens, `${component}: metricsTokens`) };
}
