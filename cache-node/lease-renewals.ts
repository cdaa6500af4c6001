import type { ControlPlaneLink } from '../control-plane/index.js';
import { ChatringError, type Clock, type NodeInfo } from '../protocol/index.js';
import type { Logger } from '../transport/index.js';
import type { Ownership } from './ownership.js';

export interface LeaseRenewalStats {
  renewalsFailed: number;
  /** Why the latest renewal failed; empty until one does. */
  lastRenewalFailure: string;
}

/**
 * The lease-renewal loop: every `heartbeatIntervalMs`, renew the node's lease and learn the ring
 * from the answer. Each renewal is timed from when it was *sent* (Ownership counts the lease from
 * there). A failed renewal just lets the lease run down, so Ownership stops serving when it lapses;
 * it is not retried sooner, but it is counted with its reason for the node's stats. A lease no
 * longer than the renewal interval is refused the same way (INVALID_OPTION in the stats).
 */
export class LeaseRenewals {
  readonly stats: LeaseRenewalStats = { renewalsFailed: 0, lastRenewalFailure: '' };
  readonly #controlPlane: Pick<ControlPlaneLink, 'heartbeat'>;
  readonly #ownership: Ownership;
  readonly #clock: Clock;
  readonly #heartbeatIntervalMs: number;
  readonly #logger: Logger | undefined;
  #loop: Promise<void> | undefined;
  #stopping = false;
  /** What the log last said: each change of state is logged once, not every renewal. */
  #logged: 'none' | 'renewing' | 'failing' | 'lapsed' = 'none';

  constructor(
    controlPlane: Pick<ControlPlaneLink, 'heartbeat'>,
    ownership: Ownership,
    timing: { clock: Clock; heartbeatIntervalMs: number; logger?: Logger },
  ) {
    this.#controlPlane = controlPlane;
    this.#ownership = ownership;
    this.#clock = timing.clock;
    this.#heartbeatIntervalMs = timing.heartbeatIntervalMs;
    this.#logger = timing.logger;
  }

  /** Starts renewing for `node` (its URL is known once it listens); resolves after a first try. */
  async start(node: NodeInfo): Promise<void> {
    await this.#renewOnce(node);
    this.#loop = (async () => {
      while (!this.#stopping) {
        await this.#clock.sleep(this.#heartbeatIntervalMs);
        if (!this.#stopping) await this.#renewOnce(node);
      }
    })();
  }

  /** Ends the loop; resolves when its last renewal and sleep are over. */
  async stop(): Promise<void> {
    this.#stopping = true;
    await this.#loop;
  }

  async #renewOnce(node: NodeInfo): Promise<void> {
    const sentAt = this.#clock.monotonicNow();
    try {
      const reply = await this.#controlPlane.heartbeat(node);
      // In local mode the lease is the router's and the interval this node's own flag: checked
      // here, where both are known. A lease that lapses between renewals is no lease at all, so
      // the node does not take it (it never serves) and says why, rather than flapping.
      if (reply.leaseMs <= this.#heartbeatIntervalMs)
        throw new ChatringError(
          'INVALID_OPTION',
          `heartbeatIntervalMs ${this.#heartbeatIntervalMs} is not below the control plane's lease of ${reply.leaseMs} ms; restart the node with a shorter --heartbeat-interval-ms`,
        );
      this.#ownership.renewed(sentAt, reply.ring, reply.leaseMs);
      this.#logRenewed(reply.leaseMs, reply.ring.epoch);
    } catch (error) {
      this.stats.renewalsFailed += 1;
      this.stats.lastRenewalFailure = error instanceof Error ? error.message : String(error);
      this.#logFailure();
    }
  }

  /** The first renewal, and the first after failures or a lapse, once each. */
  #logRenewed(leaseMs: number, epoch: number): void {
    const before = this.#logged;
    this.#logged = 'renewing';
    if (before === 'renewing') return;
    const fields = { leaseMs, epoch };
    if (before === 'none') this.#logger?.info(fields, 'lease acquired');
    else if (before === 'failing') this.#logger?.info(fields, 'lease renewed again');
    // Ownership told its listeners: the cache was dropped (the ring may have moved meanwhile).
    else
      this.#logger?.warn(
        fields,
        'lease regained after a lapse: every cached mailbox dropped (they reload)',
      );
  }

  /** The first failure after a success, and the lapse that may follow, once each. */
  #logFailure(): void {
    const lapsed = !(this.#ownership.leaseRemainingMs() > 0);
    if (lapsed && this.#logged !== 'lapsed') {
      this.#logged = 'lapsed';
      this.#logger?.error(
        { reason: this.stats.lastRenewalFailure },
        'lease lapsed: this node serves nobody until a renewal succeeds',
      );
    } else if (!lapsed && this.#logged !== 'failing' && this.#logged !== 'lapsed') {
      this.#logged = 'failing';
      this.#logger?.warn(
        { reason: this.stats.lastRenewalFailure },
        'lease renewal failed; serving on the lease left',
      );
    }
  }
}
