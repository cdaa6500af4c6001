import {
  REPAIRS_PENDING_LIMIT,
  REPAIR_ATTEMPTS_LIMIT,
  REPAIR_BACKOFF_MS_MAX,
  TIMEOUT_MS_MAX,
  integerRule,
  resolveOptions,
  type Message,
  type OptionRules,
} from '../protocol/index.js';

export interface RepairQueueOptions {
  /**
   * First retry of a coordinator copy whose commit failed after the other copy was written;
   * later retries back off exponentially (to REPAIR_BACKOFF_MS_MAX, 30 s).
   * @default 1000
   */
  repairDelayMs: number;
  /**
   * Retries before a half-sent message is left to the client's own retry.
   * @default 20
   */
  repairAttemptsMax: number;
  /**
   * Half-sent messages awaiting repair at once; past it, new ones are left to the client's retry.
   * @default 10000
   */
  repairsMax: number;
}

export const DEFAULT_REPAIR_QUEUE_OPTIONS: Readonly<RepairQueueOptions> = Object.freeze({
  repairDelayMs: 1_000,
  repairAttemptsMax: 20,
  repairsMax: 10_000,
});

export const REPAIR_QUEUE_RULES: OptionRules<RepairQueueOptions> = {
  repairDelayMs: integerRule(1, TIMEOUT_MS_MAX),
  repairAttemptsMax: integerRule(0, REPAIR_ATTEMPTS_LIMIT),
  repairsMax: integerRule(0, REPAIRS_PENDING_LIMIT),
};

/**
 * Half-sent messages: the higher-id copy was written, the coordinator's own commit failed (store
 * down, lease lost). The client's idempotent retry completes such a message, but a client may never
 * retry, so the coordinator keeps trying too, with exponential backoff, a bounded number of times
 * and for a bounded number of messages. A retry that finds the copy already there is a no-op.
 * In memory only: if the node dies, the client's retry is what remains.
 */
export class RepairQueue {
  readonly #options: Readonly<RepairQueueOptions>;
  readonly #repair: (owner: string, message: Message) => Promise<void>;
  readonly #timers = new Map<string, NodeJS.Timeout>();
  /** Repairs under way: still pending until their commit is done (or failed and rescheduled). */
  readonly #running = new Set<string>();
  #closed = false;

  constructor(
    options: Partial<RepairQueueOptions>,
    repair: (owner: string, message: Message) => Promise<void>,
  ) {
    this.#options = resolveOptions(
      'RepairQueue',
      DEFAULT_REPAIR_QUEUE_OPTIONS,
      options,
      REPAIR_QUEUE_RULES,
    );
    this.#repair = repair;
  }

  /** Half-sent messages not yet repaired: waiting for their timer or being written now. */
  get size(): number {
    return this.#timers.size + this.#running.size;
  }

  schedule(owner: string, message: Message, attempt = 0): void {
    const key = `${owner}\u0000${message.senderId}\u0000${message.clientMessageId}`;
    if (this.#closed || attempt >= this.#options.repairAttemptsMax) return;
    if (!this.#timers.has(key) && this.size >= this.#options.repairsMax) return;
    clearTimeout(this.#timers.get(key));
    const delayMs = Math.min(REPAIR_BACKOFF_MS_MAX, this.#options.repairDelayMs * 2 ** attempt);
    const timer = setTimeout(() => {
      this.#timers.delete(key);
      this.#running.add(key);
      this.#repair(owner, message).then(
        () => this.#running.delete(key),
        () => {
          this.#running.delete(key);
          this.schedule(owner, message, attempt + 1);
        },
      );
    }, delayMs);
    timer.unref();
    this.#timers.set(key, timer);
  }

  close(): void {
    this.#closed = true;
    for (const timer of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
  }
}
