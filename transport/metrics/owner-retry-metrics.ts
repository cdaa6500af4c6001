import { Counter, type Registry } from 'prom-client';
import { OWNER_RETRY_REASONS, type OwnerRetryReason } from '../owner-client.js';
import { METRIC_PREFIX } from './metrics-registry.js';

/**
 * `chatring_owner_retries_total{reason}`: OwnerClient's `onRetry` for a process's registry (every
 * reason's child made up front, so each shows 0 until it happens and a retry is one call).
 */
export function ownerRetryMetrics(registry: Registry): (reason: OwnerRetryReason) => void {
  const retries = new Counter({
    name: `${METRIC_PREFIX}owner_retries_total`,
    help: "Calls to a user's owner tried again, by the failed attempt's reason: wrong_owner (NOT_OWNER), unavailable (OWNER_UNAVAILABLE or unreachable), timeout, no_owner (no node for the user in the ring).",
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  const byReason = new Map<OwnerRetryReason, () => void>();
  for (const reason of OWNER_RETRY_REASONS) {
    const child = retries.labels({ reason });
    child.inc(0);
    byReason.set(reason, () => child.inc());
  }
  return (reason) => byReason.get(reason)?.();
}
