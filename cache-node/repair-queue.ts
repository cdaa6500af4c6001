import type { Message } from '../protocol/index.js';

export interface RepairQueueOptions {
  repairDelayMs: number;
  repairAttemptsMax: number;
  repairsMax: number;
}

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
  #closed = false;

  constructor(
    options: Readonly<RepairQueueOptions>,
    repair: (owner: string, message: Message) => Promise<void>,
  ) {
    this.#options = options;
    this.#repair = repair;
  }

  get size(): number {
    return this.#timers.size;
  }

  schedule(owner: string, message: Message, attempt = 0): void {
    const key = `${owner}\u0000${message.senderId}\u0000${message.clientMessageId}`;
    if (this.#closed || attempt >= this.#options.repairAttemptsMax) return;
    if (!this.#timers.has(key) && this.#timers.size >= this.#options.repairsMax) return;
    clearTimeout(this.#timers.get(key));
    const delayMs = Math.min(30_000, this.#options.repairDelayMs * 2 ** attempt);
    const timer = setTimeout(() => {
      this.#timers.delete(key);
      this.#repair(owner, message).catch(() => this.schedule(owner, message, attempt + 1));
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
