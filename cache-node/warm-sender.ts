import { HANDOFF_PATHS, type MailboxSnapshot, type WarmBatch } from '../protocol/index.js';
import type { PeerClient } from '../transport/index.js';

export interface WarmSenderOptions {
  changeId: string;
  /** A batch is sent once it holds this many (estimated) bytes. */
  batchBytesMax: number;
  /** Deadline of one batch's request, in ms. */
  batchTimeoutMs: number;
}

/** What became of the batches a release sent. */
export interface WarmSendOutcome {
  batchesFailed: number;
  /** Users in failed batches: they move cold (their new owner loads them from the store). */
  usersFailed: number;
  /** Why the first failed batch failed; empty when none did. */
  firstFailure: string;
}

/**
 * The old owner's half of a warm handoff: groups released users' cached states per new owner into
 * bounded batches and posts each through the one peer client. Best effort by design (a user whose
 * state does not arrive moves cold, which is always correct), but never silent: a failed batch is
 * counted with its users and the reason, for the release's result and the node's stats.
 */
export class WarmSender {
  readonly #peers: Pick<PeerClient, 'call'>;
  readonly #options: Readonly<WarmSenderOptions>;
  readonly #batches = new Map<string, { snapshots: MailboxSnapshot[]; bytes: number }>();
  readonly outcome: WarmSendOutcome = { batchesFailed: 0, usersFailed: 0, firstFailure: '' };

  constructor(peers: Pick<PeerClient, 'call'>, options: Readonly<WarmSenderOptions>) {
    this.#peers = peers;
    this.#options = options;
  }

  /** Adds one user's state to its new owner's batch, and sends the batch once it is full. */
  async add(ownerUrl: string, snapshot: MailboxSnapshot, bytes: number): Promise<void> {
    const batch = this.#batches.get(ownerUrl) ?? { snapshots: [], bytes: 0 };
    this.#batches.set(ownerUrl, batch);
    batch.snapshots.push(snapshot);
    batch.bytes += bytes;
    if (batch.bytes >= this.#options.batchBytesMax) await this.#send(ownerUrl);
  }

  /** Sends every batch not sent yet. */
  async flush(): Promise<void> {
    for (const ownerUrl of [...this.#batches.keys()]) await this.#send(ownerUrl);
  }

  async #send(ownerUrl: string): Promise<void> {
    const batch = this.#batches.get(ownerUrl);
    if (batch === undefined) return;
    this.#batches.delete(ownerUrl);
    const body: WarmBatch = { changeId: this.#options.changeId, snapshots: batch.snapshots };
    try {
      await this.#peers.call(ownerUrl, {
        method: 'POST',
        path: HANDOFF_PATHS.warm,
        body,
        timeoutMs: this.#options.batchTimeoutMs,
      });
    } catch (error) {
      this.outcome.batchesFailed += 1;
      this.outcome.usersFailed += batch.snapshots.length;
      if (this.outcome.firstFailure === '')
        this.outcome.firstFailure = `warm batch to ${ownerUrl}: ${(error as Error).message}`;
    }
  }
}
