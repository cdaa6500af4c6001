import type { Logger } from 'pino';

/**
 * Logs an event that can repeat at request rate (a store that fails every commit) at most once per
 * `intervalMs` per key, saying how many were not logged since: an outage shows in the log, at a
 * few lines a second, without the log becoming the outage.
 */
export class LogThrottle {
  readonly #logger: Logger;
  readonly #intervalMs: number;
  readonly #now: () => number;
  readonly #last = new Map<string, { at: number; suppressed: number }>();

  constructor(logger: Logger, intervalMs = 1_000, now: () => number = () => performance.now()) {
    this.#logger = logger;
    this.#intervalMs = intervalMs;
    this.#now = now;
  }

  /** Logs `fields` and `message` at `level`, unless this key was logged less than an interval ago. */
  log(
    level: 'error' | 'warn' | 'info',
    key: string,
    fields: Record<string, unknown>,
    message: string,
  ): void {
    const now = this.#now();
    const last = this.#last.get(key);
    if (last !== undefined && now - last.at < this.#intervalMs) {
      last.suppressed += 1;
      return;
    }
    const suppressed = last?.suppressed ?? 0;
    // Keys are a handful of event kinds, never ids: the map stays tiny.
    this.#last.set(key, { at: now, suppressed: 0 });
    this.#logger[level](suppressed === 0 ? fields : { ...fields, suppressed }, message);
  }
}
