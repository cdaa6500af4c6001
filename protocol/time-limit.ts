/** What `settleWithin` gives back when the time ran out first. */
export const TIMED_OUT = Symbol('timed out');

/**
 * `work`'s outcome, or TIMED_OUT when `limitMs` pass first: `work` goes on (its own timeout ends
 * it, or others share it) and a late failure of it is ignored. `limitMs` Infinity waits as long as
 * it takes. The timer is a real one, cleared as soon as `work` ends: undici checks its own
 * timeouts in ticks of up to a second, and the injected clock's sleep cannot be cancelled (a
 * pending one would hold the process open). Used by OwnerClient's retry loop and the app client.
 */
export async function settleWithin<T>(
  work: Promise<T>,
  limitMs: number,
): Promise<T | typeof TIMED_OUT> {
  if (limitMs === Number.POSITIVE_INFINITY) return work;
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      work,
      new Promise<typeof TIMED_OUT>((resolve) => {
        timer = setTimeout(resolve, Math.max(0, limitMs), TIMED_OUT);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
