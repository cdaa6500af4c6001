import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Time, injected wherever it matters (TigerBeetle style), so a test can drive leases, retries,
 * backoff and expiry without waiting and a simulation can replay them.
 */
export interface Clock {
  /** Monotonic milliseconds (never steps back): for deadlines, leases, ages. */
  monotonicNow(): number;
  /** Wall clock in epoch milliseconds: for timestamps that leave the process. */
  wallNow(): number;
  /** Resolves after `ms` of this clock's time. */
  sleep(ms: number): Promise<void>;
}

export const SYSTEM_CLOCK: Clock = Object.freeze({
  monotonicNow: () => performance.now(),
  wallNow: () => Date.now(),
  sleep: (ms: number) => sleep(ms),
});
