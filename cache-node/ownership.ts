import {
  ChatringError,
  FUNCTION_RULE,
  LEASE_MS_MAX,
  RING_RELEASE_EPOCH_AHEAD_MAX,
  SYSTEM_CLOCK,
  USER_ID_PATTERN,
  integerRule,
  resolveOptions,
  type GivenOptions,
  type OptionRules,
  type RingConfig,
} from '../protocol/index.js';
import type { OwnershipGuard } from './mailbox-dependencies.js';
import { RingView } from '../ring/index.js';

export interface OwnershipOptions {
  /** This node's id, as the ring names it. No default. */
  nodeId: string;
  /**
   * Lease length the control plane grants, in ms (replaced by every renewal's grant).
   * @default 0 (no lease before the first renewal)
   */
  leaseMs: number;
  /**
   * Monotonic clock in ms (injected for tests).
   * @default SYSTEM_CLOCK.monotonicNow
   */
  monotonicNow: () => number;
}

export const DEFAULT_OWNERSHIP_OPTIONS: Readonly<Omit<OwnershipOptions, 'nodeId'>> = Object.freeze({
  leaseMs: 0,
  monotonicNow: SYSTEM_CLOCK.monotonicNow,
});

const OWNERSHIP_RULES: OptionRules<OwnershipOptions> = {
  nodeId: {
    kind: 'string',
    pattern: USER_ID_PATTERN,
    describe: '1-64 characters of [A-Za-z0-9_-]',
  },
  leaseMs: integerRule(0, LEASE_MS_MAX),
  monotonicNow: FUNCTION_RULE,
};

/**
 * The node's view of what it may serve: the ring (which slots are its own) and its lease. A node
 * serves a user only if the ring maps the user to one of its slots *and* its last lease renewal —
 * timed from when the renewal was *sent*, so before the control plane granted it — is younger
 * than leaseMs - leaseMs / 5. A node paused past that (SIGSTOP) wakes up refusing everything
 * until a renewal succeeds and shows it what it still owns.
 */
export class Ownership implements OwnershipGuard {
  readonly #nodeId: string;
  readonly #monotonicNow: () => number;
  #leaseMs: number;
  #ring: RingView | undefined;
  #renewalSentAt = Number.NEGATIVE_INFINITY;
  readonly #lapseListeners: (() => void)[] = [];
  readonly #ringListeners: ((ring: RingView) => void)[] = [];
  readonly #releaseListeners: (() => void)[] = [];
  #release: { changeId: string; target: RingView } | undefined;

  constructor(options: GivenOptions<Omit<OwnershipOptions, 'nodeId'>> & { nodeId: string }) {
    const resolved = resolveOptions(
      'Ownership',
      { nodeId: '', ...DEFAULT_OWNERSHIP_OPTIONS },
      options,
      OWNERSHIP_RULES,
    );
    this.#nodeId = resolved.nodeId;
    this.#leaseMs = resolved.leaseMs;
    this.#monotonicNow = resolved.monotonicNow;
  }

  get ring(): RingView | undefined {
    return this.#ring;
  }

  get epoch(): number {
    return this.#ring?.epoch ?? 0;
  }

  /** Milliseconds of lease left for serving (negative when lapsed). */
  leaseRemainingMs(): number {
    // The node stops serving a fifth of the lease before it could lapse on the control plane, to
    // absorb clock-rate drift and a request's own duration.
    const marginMs = this.#leaseMs / 5;
    return this.#renewalSentAt + this.#leaseMs - marginMs - this.#monotonicNow();
  }

  ownedSlots(): string[] {
    return this.#ring?.slotsOf(this.#nodeId) ?? [];
  }

  /**
   * Records a successful renewal whose request left at `sentAt`, and the ring it returned. After a
   * lapse, the ring may have moved this node's slots away and back unseen, so everything cached
   * is suspect: listeners are told to drop it all.
   */
  renewed(sentAt: number, ring: RingConfig, leaseMs: number): void {
    const lapsed = !(this.leaseRemainingMs() > 0); // NaN (a garbled lease) counts as lapsed
    this.#leaseMs = leaseMs;
    this.#renewalSentAt = Math.max(this.#renewalSentAt, sentAt);
    if (lapsed) for (const listener of this.#lapseListeners) listener();
    this.updateRing(ring);
  }

  onLeaseRegained(listener: () => void): void {
    this.#lapseListeners.push(listener);
  }

  /** Adopts a ring if it is newer and tells the listeners (they drop users it no longer gives this node). */
  updateRing(config: RingConfig): void {
    if (this.#ring !== undefined && config.epoch <= this.#ring.epoch) return;
    this.#ring = new RingView(config);
    // A ring at or past a release's target settles it: the published ring decides from now on.
    if (this.#release !== undefined && config.epoch >= this.#release.target.epoch)
      this.#release = undefined;
    for (const listener of this.#ringListeners) listener(this.#ring);
  }

  /** Runs with every ring this node adopts, in epoch order. */
  onRingAdopted(listener: (ring: RingView) => void): void {
    this.#ringListeners.push(listener);
  }

  /**
   * First step of a handoff: stop serving every user that `target` gives to another node, before
   * that node may start (it starts when `target` is published). Idempotent per changeId.
   *
   * The release lasts until a ring at `target`'s epoch or later is adopted (or the change is
   * cancelled), so a target far ahead of this node's ring would keep those users refused for good.
   * A live node's ring lags the control plane's by the few epochs published since its last
   * renewal, and the target is the control plane's epoch + 1; a target more than
   * RING_RELEASE_EPOCH_AHEAD_MAX ahead is refused (INVALID_FIELD, nothing changes; the change is
   * refused and may be retried). With no ring yet this node serves nobody, so there is nothing to
   * compare and nothing to wedge.
   */
  beginRelease(changeId: string, target: RingConfig): RingView {
    const current = this.#ring?.epoch;
    if (current !== undefined && target.epoch > current + RING_RELEASE_EPOCH_AHEAD_MAX)
      throw new ChatringError(
        'INVALID_FIELD',
        `targetRing.epoch ${target.epoch} is more than ${RING_RELEASE_EPOCH_AHEAD_MAX} ahead of this node's ring (epoch ${current})`,
      );
    const view = new RingView(target);
    this.#release = { changeId, target: view };
    for (const listener of this.#releaseListeners) listener();
    return view;
  }

  /** Runs when a handoff begins: some users are no longer served from then on. */
  onReleaseBegun(listener: () => void): void {
    this.#releaseListeners.push(listener);
  }

  /** The change was abandoned (its ring was never published): serve those users again. */
  cancelRelease(changeId: string): void {
    if (this.#release?.changeId === changeId) this.#release = undefined;
  }

  /** True while a handoff takes this user away from this node. */
  #isReleasing(userId: string): boolean {
    return this.#release !== undefined && this.#release.target.ownerIdOf(userId) !== this.#nodeId;
  }

  assertServing(userId: string): void {
    const ring = this.#ring;
    if (ring === undefined)
      throw new ChatringError('OWNER_UNAVAILABLE', 'this node has not joined the ring yet');
    const owner = ring.ownerIdOf(userId);
    if (owner !== this.#nodeId) {
      throw new ChatringError(
        'NOT_OWNER',
        `user ${userId} belongs to ${owner ?? 'no node'} at epoch ${ring.epoch}`,
      );
    }
    if (this.#isReleasing(userId)) {
      throw new ChatringError(
        'OWNER_UNAVAILABLE',
        `user ${userId} is being handed over to another node`,
      );
    }
    if (!(this.leaseRemainingMs() > 0)) {
      throw new ChatringError(
        'OWNER_UNAVAILABLE',
        `node ${this.#nodeId} cannot prove its lease is current`,
      );
    }
  }
}
