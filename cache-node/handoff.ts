import { Agent, request } from 'undici';
import {
  HANDOFF_PATHS,
  PENDING_WARM_TTL_MS,
  WARM_HANDOFF_BYTES_DEFAULT,
  WARM_USER_BYTES_MAX,
  type ReleaseResult,
  type RingConfig,
} from '../protocol/index.js';
import type { MailboxCache } from './mailbox-cache.js';
import { MailboxState, type MailboxSnapshot } from './mailbox-state.js';
import type { Ownership } from './ownership.js';
import type { UserLockTable } from './user-lock-table.js';
import { type RingView } from '../ring/index.js';

export interface HandoffOptions {
  /**
   * Most bytes of cached state one node sends in one handoff; past it, users move cold.
   * @default 67108864 (64 MiB)
   */
  warmBytesMax: number;
  /**
   * Bytes per warm batch sent to a new owner.
   * @default 1048576 (1 MiB)
   */
  batchBytesMax: number;
}

export const DEFAULT_HANDOFF_OPTIONS: Readonly<HandoffOptions> = Object.freeze({
  warmBytesMax: WARM_HANDOFF_BYTES_DEFAULT,
  batchBytesMax: 1024 * 1024,
});

export interface WarmBatch {
  changeId: string;
  snapshots: MailboxSnapshot[];
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
  readonly #nodeId: string;
  readonly #ownership: Ownership;
  readonly #cache: MailboxCache;
  readonly #locks: UserLockTable;
  readonly #pending = new Map<
    string,
    { changeId: string; snapshot: MailboxSnapshot; receivedAt: number }
  >();
  readonly #agent = new Agent({ connections: 4, keepAliveTimeout: 10_000 });
  readonly stats = {
    releasedUsers: 0,
    warmUsersSent: 0,
    warmUsersReceived: 0,
    warmUsersAdopted: 0,
  };

  constructor(
    nodeId: string,
    ownership: Ownership,
    cache: MailboxCache,
    locks: UserLockTable,
    options: Partial<HandoffOptions> = {},
  ) {
    this.#options = Object.freeze({ ...DEFAULT_HANDOFF_OPTIONS, ...options });
    this.#nodeId = nodeId;
    this.#ownership = ownership;
    this.#cache = cache;
    this.#locks = locks;
    ownership.onRingAdopted((ring) => this.#adopt(ring));
  }

  async release(changeId: string, target: RingConfig): Promise<ReleaseResult> {
    const view = this.#ownership.beginRelease(changeId, target);
    const moving = this.#cache
      .usersByRecency()
      .filter((userId) => view.ownerIdOf(userId) !== this.#nodeId);
    const batches = new Map<string, { snapshots: MailboxSnapshot[]; bytes: number }>();
    const result: ReleaseResult = { changeId, releasedUsers: 0, warmUsers: 0, warmBytes: 0 };
    for (const userId of moving) {
      // The lock waits for writes already in flight; once we hold it, no new one can start. A
      // user too busy to lock just moves cold.
      const snapshot = await this.#locks
        .run(userId, async () => {
          const state = this.#cache.peek(userId);
          this.#cache.delete(userId);
          return state === undefined
            ? undefined
            : { snapshot: state.toSnapshot(), bytes: state.bytes };
        })
        .catch(() => {
          this.#cache.delete(userId);
          return undefined;
        });
      result.releasedUsers += 1;
      const newOwner = view.ownerOf(userId);
      const fits =
        snapshot !== undefined &&
        snapshot.bytes <= WARM_USER_BYTES_MAX &&
        result.warmBytes + snapshot.bytes <= this.#options.warmBytesMax;
      if (!fits || newOwner === undefined) continue;
      const batch = batches.get(newOwner.url) ?? { snapshots: [], bytes: 0 };
      batches.set(newOwner.url, batch);
      batch.snapshots.push(snapshot.snapshot);
      batch.bytes += snapshot.bytes;
      result.warmUsers += 1;
      result.warmBytes += snapshot.bytes;
      if (batch.bytes >= this.#options.batchBytesMax) {
        await this.#sendWarm(newOwner.url, {
          changeId,
          snapshots: batch.snapshots,
        });
        batches.delete(newOwner.url);
      }
    }
    for (const [url, batch] of batches)
      await this.#sendWarm(url, { changeId, snapshots: batch.snapshots });
    this.stats.releasedUsers += result.releasedUsers;
    this.stats.warmUsersSent += result.warmUsers;
    return result;
  }

  acceptWarm(batch: WarmBatch): number {
    for (const snapshot of batch.snapshots) {
      this.#pending.set(snapshot.ownerId, {
        changeId: batch.changeId,
        snapshot,
        receivedAt: performance.now(),
      });
    }
    this.stats.warmUsersReceived += batch.snapshots.length;
    return batch.snapshots.length;
  }

  cancel(changeId: string): void {
    this.#ownership.cancelRelease(changeId);
    for (const [userId, entry] of this.#pending)
      if (entry.changeId === changeId) this.#pending.delete(userId);
  }

  async close(): Promise<void> {
    await this.#agent.close();
  }

  /**
   * Warm states wait for the ring their change publishes (it carries the changeId): that ring makes
   * this node their owner, and the old owner released them before it was published. A node that
   * never sees that very ring (it skipped past it) adopts nothing; the states expire and those
   * users load cold from the store, which is always correct.
   */
  #adopt(ring: RingView): void {
    const changeId = ring.config.changeId;
    const expired = performance.now() - PENDING_WARM_TTL_MS;
    for (const [userId, entry] of this.#pending) {
      if (entry.changeId !== changeId) {
        if (entry.receivedAt < expired) this.#pending.delete(userId);
        continue;
      }
      this.#pending.delete(userId);
      const owned = ring.ownerIdOf(userId) === this.#nodeId;
      if (owned && !this.#cache.has(userId)) {
        this.#cache.put(MailboxState.fromSnapshot(entry.snapshot));
        this.stats.warmUsersAdopted += 1;
      }
    }
  }

  async #sendWarm(baseUrl: string, batch: WarmBatch): Promise<void> {
    // Best effort: a user whose state does not arrive simply moves cold (loaded from the store).
    try {
      const response = await request(`${baseUrl}${HANDOFF_PATHS.warm}`, {
        method: 'POST',
        dispatcher: this.#agent,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(batch),
        headersTimeout: 10_000,
        bodyTimeout: 10_000,
      });
      await response.body.dump();
    } catch {
      // cold instead of warm
    }
  }
}
