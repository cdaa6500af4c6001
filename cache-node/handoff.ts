import {
  PENDING_WARM_TTL_MS,
  TIMEOUT_MS_MAX,
  WARM_BATCH_BYTES_LIMIT,
  WARM_HANDOFF_BYTES_DEFAULT,
  WARM_USER_BYTES_MAX,
  assertClockWindow,
  integerRule,
  resolveOptions,
  type Clock,
  type MailboxSnapshot,
  type OptionRules,
  type ReleaseResult,
  type RingConfig,
  type WarmBatch,
} from '../protocol/index.js';
import type { RingView } from '../ring/index.js';
import type { Logger, PeerClient } from '../transport/index.js';
import type { MailboxCache } from './mailbox-cache.js';
import { MailboxState } from './mailbox-state.js';
import type { Ownership } from './ownership.js';
import type { UserLockTable } from './user-lock-table.js';
import { WarmSender } from './warm-sender.js';

export interface HandoffOptions {
  /**
   * Most bytes of cached state one node sends in one handoff; past it, users move cold.
   * @default WARM_HANDOFF_BYTES_DEFAULT (64 MiB)
   */
  warmBytesMax: number;
  /**
   * Bytes per warm batch sent to a new owner.
   * @default 1048576 (1 MiB)
   */
  batchBytesMax: number;
  /**
   * Deadline of one warm batch's request, in ms; a batch that misses it moves its users cold.
   * @default 10000
   */
  batchTimeoutMs: number;
}

export const DEFAULT_HANDOFF_OPTIONS: Readonly<HandoffOptions> = Object.freeze({
  warmBytesMax: WARM_HANDOFF_BYTES_DEFAULT,
  batchBytesMax: 1024 * 1024,
  batchTimeoutMs: 10_000,
});

const HANDOFF_RULES: OptionRules<HandoffOptions> = {
  warmBytesMax: integerRule(0),
  batchBytesMax: integerRule(1, WARM_BATCH_BYTES_LIMIT),
  batchTimeoutMs: integerRule(1, TIMEOUT_MS_MAX),
};

export interface HandoffDependencies {
  nodeId: string;
  ownership: Ownership;
  cache: MailboxCache;
  locks: UserLockTable;
  /** Sends warm batches to new owners (the node's one peer client for handoffs). */
  peers: Pick<PeerClient, 'call'>;
  /** Times warm states waiting for their ring (monotonic). */
  clock: Clock;
  /** Says when a release starts and how it ended (none: silent). */
  logger?: Logger;
}

export interface HandoffStats {
  releasedUsers: number;
  warmUsersSent: number;
  warmUsersReceived: number;
  warmUsersAdopted: number;
  /** Warm batches that did not arrive (their users moved cold). */
  warmBatchesFailed: number;
  warmUsersFailed: number;
  /** Why the latest failed batch failed; empty until one does. */
  lastWarmFailure: string;
}

/**
 * A node's part in moving users safely and warm. As the old owner (`release`): stop serving the
 * users the target ring gives away, wait for each one's in-flight writes (take its lock), hand
 * its cached state to the new owner in bounded batches, hottest first, and drop it. As the new
 * owner (`acceptWarm`): keep those states aside, tagged with the change, and put them in the cache
 * only when the ring that change publishes is adopted.
 */
export class Handoff {
  readonly #options: Readonly<HandoffOptions>;
  readonly #deps: HandoffDependencies;
  readonly #pending = new Map<
    string,
    { changeId: string; snapshot: MailboxSnapshot; receivedAt: number }
  >();
  readonly stats: HandoffStats = {
    releasedUsers: 0,
    warmUsersSent: 0,
    warmUsersReceived: 0,
    warmUsersAdopted: 0,
    warmBatchesFailed: 0,
    warmUsersFailed: 0,
    lastWarmFailure: '',
  };

  constructor(deps: HandoffDependencies, options: Partial<HandoffOptions> = {}) {
    this.#options = resolveOptions('Handoff', DEFAULT_HANDOFF_OPTIONS, options, HANDOFF_RULES);
    this.#deps = deps;
    deps.ownership.onRingAdopted((ring) => this.#adopt(ring));
  }

  async release(changeId: string, target: RingConfig): Promise<ReleaseResult> {
    const { nodeId, ownership, cache } = this.#deps;
    const view = ownership.beginRelease(changeId, target);
    const moving = cache.usersByRecency().filter((userId) => view.ownerIdOf(userId) !== nodeId);
    const startedAt = this.#deps.clock.monotonicNow();
    this.#deps.logger?.info(
      { changeId, targetEpoch: target.epoch, cachedUsersMoving: moving.length },
      'handoff started: releasing the users the target ring gives away',
    );
    const sender = new WarmSender(this.#deps.peers, {
      changeId,
      batchBytesMax: this.#options.batchBytesMax,
      batchTimeoutMs: this.#options.batchTimeoutMs,
    });
    const result = { changeId, releasedUsers: 0, warmUsers: 0, warmBytes: 0 };
    for (const userId of moving) {
      const taken = await this.#take(userId);
      result.releasedUsers += 1;
      const newOwner = view.ownerOf(userId);
      const fits =
        taken !== undefined &&
        taken.bytes <= WARM_USER_BYTES_MAX &&
        result.warmBytes + taken.bytes <= this.#options.warmBytesMax;
      // A new owner without a usable address ('' : not registered yet, or an entry the ring's
      // parser would not keep) gets nothing: its users move cold.
      if (!fits || newOwner === undefined || newOwner.url === '') continue;
      result.warmUsers += 1;
      result.warmBytes += taken.bytes;
      await sender.add(newOwner.url, taken.snapshot, taken.bytes);
    }
    await sender.flush();
    const { outcome } = sender;
    this.stats.releasedUsers += result.releasedUsers;
    this.stats.warmUsersSent += result.warmUsers;
    this.stats.warmBatchesFailed += outcome.batchesFailed;
    this.stats.warmUsersFailed += outcome.usersFailed;
    if (outcome.firstFailure !== '') this.stats.lastWarmFailure = outcome.firstFailure;
    this.#deps.logger?.[outcome.batchesFailed > 0 ? 'warn' : 'info'](
      {
        changeId,
        releasedUsers: result.releasedUsers,
        warmUsers: result.warmUsers,
        warmBytes: result.warmBytes,
        warmBatchesFailed: outcome.batchesFailed,
        ...(outcome.firstFailure === '' ? {} : { warmFailure: outcome.firstFailure }),
        ms: Math.round(this.#deps.clock.monotonicNow() - startedAt),
      },
      'handoff ended',
    );
    return { ...result, warmUsersFailed: outcome.usersFailed, warmFailure: outcome.firstFailure };
  }

  /**
   * Keeps a batch's states aside until the ring of their change is adopted. `parseWarmBatch`
   * checked their shape; here their times are checked against this node's clock: a conversation
   * stamped more than DELIVER_CLOCK_SKEW_MS_MAX ahead of it would, once cached, stamp every later
   * message after it (as a deliver would). A batch with one such time is refused whole (400
   * INVALID_FIELD naming it) and nothing is kept: its users move cold, which is always correct.
   * States that waited past PENDING_WARM_TTL_MS are dropped first, so batches that never see their
   * ring do not pile up between ring adoptions.
   */
  acceptWarm(batch: WarmBatch): number {
    const now = this.#deps.clock.wallNow();
    batch.snapshots.forEach((snapshot, index) => {
      const path = `snapshots[${index}]`;
      assertClockWindow(snapshot.conversationsFrom, `${path}.conversationsFrom`, now);
      snapshot.conversations.forEach(({ row }, rowIndex) => {
        const rowPath = `${path}.conversations[${rowIndex}].row.lastUpdatedTimestamp`;
        assertClockWindow(row.lastUpdatedTimestamp, rowPath, now);
      });
    });
    const receivedAt = this.#deps.clock.monotonicNow();
    this.#dropExpired(receivedAt);
    for (const snapshot of batch.snapshots) {
      this.#pending.set(snapshot.ownerId, { changeId: batch.changeId, snapshot, receivedAt });
    }
    this.stats.warmUsersReceived += batch.snapshots.length;
    return batch.snapshots.length;
  }

  cancel(changeId: string): void {
    this.#deps.logger?.info({ changeId }, 'handoff cancelled: serving the released users again');
    this.#deps.ownership.cancelRelease(changeId);
    for (const [userId, entry] of this.#pending)
      if (entry.changeId === changeId) this.#pending.delete(userId);
  }

  /**
   * Stops serving one moving user and takes its cached state. The lock waits for writes already
   * in flight; once we hold it, no new one can start. A user too busy to lock (USER_BUSY) just
   * moves cold: its state is dropped without waiting further.
   */
  async #take(userId: string): Promise<{ snapshot: MailboxSnapshot; bytes: number } | undefined> {
    const { cache, locks } = this.#deps;
    return locks
      .run(userId, async () => {
        const state = cache.peek(userId);
        cache.delete(userId);
        return state === undefined
          ? undefined
          : { snapshot: state.toSnapshot(), bytes: state.bytes };
      })
      .catch(() => {
        cache.delete(userId);
        return undefined;
      });
  }

  /**
   * Warm states wait for the ring their change publishes (it carries the changeId): that ring makes
   * this node their owner, and the old owner released them before it was published. A node that
   * never sees that very ring (it skipped past it) adopts nothing; the states expire and those
   * users load cold from the store, which is always correct.
   */
  #adopt(ring: RingView): void {
    const changeId = ring.config.changeId;
    const expired = this.#deps.clock.monotonicNow() - PENDING_WARM_TTL_MS;
    for (const [userId, entry] of this.#pending) {
      if (entry.changeId !== changeId) {
        if (entry.receivedAt < expired) this.#pending.delete(userId);
        continue;
      }
      this.#pending.delete(userId);
      const owned = ring.ownerIdOf(userId) === this.#deps.nodeId;
      if (owned && !this.#deps.cache.has(userId)) {
        this.#deps.cache.putLoaded(MailboxState.fromSnapshot(entry.snapshot));
        this.stats.warmUsersAdopted += 1;
      }
    }
  }

  /** Forgets warm states received more than PENDING_WARM_TTL_MS before `now` (monotonic), as an
   * adoption does for the states of other changes. */
  #dropExpired(now: number): void {
    const expired = now - PENDING_WARM_TTL_MS;
    for (const [userId, entry] of this.#pending)
      if (entry.receivedAt < expired) this.#pending.delete(userId);
  }
}
