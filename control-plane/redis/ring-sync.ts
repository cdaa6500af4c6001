import type { Redis } from 'ioredis';
import { ChatringError, type RingConfig } from '../../protocol/index.js';
import { checkedRing } from '../ring-config-check.js';
import { EpochConflictError, type EpochConflictReason } from './epoch-conflict-error.js';
import { withRedis } from './redis-connection.js';
import type { RedisControlPlaneKeys } from './redis-keys.js';
import type { RedisControlPlaneEvent } from './redis-options.js';
import { COMPARE_AND_SET_SCRIPT, OFFER_RING_SCRIPT, runScript } from './redis-scripts.js';

export type RingSource = Extract<RedisControlPlaneEvent, { type: 'ring' }>['source'];

/** What ring sync needs from the control plane that owns it. */
export interface RingSyncContext {
  commands: Redis;
  keys: RedisControlPlaneKeys;
  /** Redis's host, for messages. */
  where: string;
  leaseMs: number;
  initialRing: RingConfig | undefined;
  emit(event: RedisControlPlaneEvent): void;
  /** This instance seeded the ring (the seed window opened): the failure detector grants grace. */
  onSeeded(): void;
  isClosed(): boolean;
}

/**
 * Keeps this instance's ring in step with Redis (points 4 and 5 at the top of
 * redis-control-plane.ts): reads it (on start, push, reconnect and poll, concurrent reads
 * coalescing), seeds it when Redis has none, writes it by compare-and-set, and hands every newer
 * ring to the listeners in epoch order. The newest ring seen survives outages in memory.
 */
export class RingSync {
  readonly #context: RingSyncContext;
  readonly #listeners = new Set<(ring: RingConfig) => void>();
  /** The newest ring this instance has seen; survives outages (routing goes on, re-seeding). */
  #ring: RingConfig | undefined;
  #refreshing: Promise<void> | undefined;
  #refreshAgain = false;

  constructor(context: RingSyncContext) {
    this.#context = context;
  }

  /** The newest ring seen, without asking Redis. */
  get ring(): RingConfig | undefined {
    return this.#ring;
  }

  subscribe(listener: (ring: RingConfig) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  close(): void {
    this.#listeners.clear();
  }

  /** A push on the ring-changed channel: fetch the ring unless we know that epoch already. */
  onPush(message: string): void {
    if (this.#context.isClosed()) return;
    const epoch = Number(message);
    if (this.#ring !== undefined && Number.isFinite(epoch) && epoch <= this.#ring.epoch) return;
    void this.refresh('push').catch(() => undefined);
  }

  /** Reads the ring (seeding it when Redis has none) and adopts it; concurrent calls coalesce. */
  refresh(source: RingSource): Promise<void> {
    if (this.#refreshing !== undefined) {
      this.#refreshAgain = true;
      return this.#refreshing;
    }
    this.#refreshing = (async () => {
      try {
        do {
          this.#refreshAgain = false;
          await this.#refreshOnce(source);
        } while (this.#refreshAgain && !this.#context.isClosed());
      } finally {
        this.#refreshing = undefined;
      }
    })();
    return this.#refreshing;
  }

  async readRing(): Promise<RingConfig | undefined> {
    const { commands, keys } = this.#context;
    return this.parseStoredRing(await commands.hmget(keys.ring, 'epoch', 'config'));
  }

  /** The ring in an HMGET (epoch, config) reply; undefined when Redis holds none. */
  parseStoredRing(reply: unknown): RingConfig | undefined {
    const ringKey = this.#context.keys.ring;
    if (!Array.isArray(reply))
      throw new ChatringError('INTERNAL', `unexpected reply from Redis for ${ringKey}`);
    const [epochText, configText] = reply as unknown[];
    if (epochText === null || epochText === undefined) return undefined;
    if (typeof configText !== 'string')
      throw new ChatringError(
        'INTERNAL',
        `${ringKey} has epoch ${String(epochText)} but no config`,
      );
    let parsed: unknown;
    try {
      parsed = JSON.parse(configText);
    } catch (error) {
      throw new ChatringError('INTERNAL', `${ringKey} holds a config that is not JSON`, {
        cause: error,
      });
    }
    const ring = checkedRing(ringKey, parsed);
    if (String(ring.epoch) !== String(epochText))
      throw new ChatringError(
        'INTERNAL',
        `${ringKey}: epoch ${String(epochText)} but config epoch ${ring.epoch}`,
      );
    return ring;
  }

  /** Redis has no ring: offer the newest this instance remembers, else its initialRing. */
  async seedAndRead(): Promise<RingConfig | undefined> {
    const candidate = this.#ring ?? this.#context.initialRing;
    if (candidate !== undefined)
      await this.#offer(candidate, this.#ring === undefined ? 'initial' : 'remembered');
    return this.readRing();
  }

  /** Takes a ring if it is newer than the one we know, and tells the listeners (epoch order). */
  adopt(ring: RingConfig, source: RingSource): boolean {
    if (this.#ring !== undefined && ring.epoch <= this.#ring.epoch) return false;
    this.#ring = ring;
    this.#context.emit({ type: 'ring', epoch: ring.epoch, source });
    for (const listener of this.#listeners) {
      try {
        listener(ring);
      } catch {
        // A listener's bug must not stop the others from learning the ring.
      }
    }
    return true;
  }

  /**
   * Writes `next` if Redis still holds `expectedEpoch`, no seed window is open, and none of
   * `deadNodeIds` renewed its lease meanwhile; else throws EpochConflictError saying which.
   * `next.epoch` must be expectedEpoch + 1 (every caller plans it so).
   */
  async compareAndSet(
    expectedEpoch: number,
    next: RingConfig,
    deadNodeIds: readonly string[],
  ): Promise<RingConfig> {
    // Checked like a stored ring, and a fresh copy: what we write is what we adopt and return.
    const written = checkedRing('the ring to write', next);
    // A caller's bug, not a race: every planner makes epoch + 1 (RangeError, as before the split).
    if (next.epoch !== expectedEpoch + 1)
      throw new RangeError(
        `next.epoch must be expectedEpoch + 1 (${expectedEpoch + 1}), got ${next.epoch}`,
      );
    const { commands, keys, where } = this.#context;
    const reply = await withRedis('compareAndSetRing', where, () =>
      runScript(
        commands,
        COMPARE_AND_SET_SCRIPT,
        [keys.ring, keys.seedWindow, ...deadNodeIds.map((id) => keys.lease(id))],
        [expectedEpoch, written.epoch, JSON.stringify(written), keys.ringChanged],
      ),
    );
    const [applied, reason, stored] = Array.isArray(reply) ? (reply as unknown[]) : [];
    if (applied !== 1) {
      const storedEpoch = stored === '' || stored === undefined ? undefined : Number(stored);
      throw new EpochConflictError(expectedEpoch, storedEpoch, reason as EpochConflictReason);
    }
    this.adopt(written, 'write');
    return written;
  }

  async #refreshOnce(source: RingSource): Promise<void> {
    const stored = await this.readRing();
    if (stored === undefined) {
      const seeded = await this.seedAndRead();
      if (seeded !== undefined) this.adopt(seeded, source);
      return;
    }
    if (this.#ring !== undefined && stored.epoch < this.#ring.epoch) {
      // Redis went back in time (it lost data): inside the seed window our newer ring wins.
      await this.#offer(this.#ring, 'remembered');
      const after = await this.readRing();
      if (after !== undefined) this.adopt(after, source);
      return;
    }
    this.adopt(stored, source);
  }

  async #offer(ring: RingConfig, origin: 'initial' | 'remembered'): Promise<boolean> {
    const { commands, keys, leaseMs } = this.#context;
    const reply = await runScript(
      commands,
      OFFER_RING_SCRIPT,
      [keys.ring, keys.seedWindow],
      [ring.epoch, JSON.stringify(ring), leaseMs, keys.ringChanged],
    );
    const applied = Array.isArray(reply) && reply[0] === 1;
    if (applied) {
      this.#context.emit({ type: 'seeded', epoch: ring.epoch, origin });
      this.#context.onSeeded();
    }
    return applied;
  }
}
