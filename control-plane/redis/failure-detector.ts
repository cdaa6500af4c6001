import type { Redis } from 'ioredis';
import type { Clock, RingConfig } from '../../protocol/index.js';
import { planFailover } from '../../ring/index.js';
import type { ControlPlaneTimings } from '../control-plane.js';
import { EpochConflictError } from './epoch-conflict-error.js';
import { readLeases } from './lease-reads.js';
import type { RedisControlPlaneKeys } from './redis-keys.js';
import type { RedisControlPlaneEvent } from './redis-options.js';
import type { RingSync } from './ring-sync.js';

/** What one failure-detector tick did. */
export type DetectorOutcome =
  'changed' | 'unchanged' | 'grace' | 'unreachable' | 'conflict' | 'busy' | 'closed';

export type GraceReason = Extract<RedisControlPlaneEvent, { type: 'grace' }>['reason'];

/** What the failure detector needs from the control plane that owns it. */
export interface FailureDetectorContext {
  commands: Redis;
  keys: RedisControlPlaneKeys;
  ringSync: RingSync;
  timings: Readonly<ControlPlaneTimings>;
  clock: Clock;
  emit(event: RedisControlPlaneEvent): void;
}

/**
 * Declares nodes dead from their lease keys and applies the failover by compare-and-set (points 2
 * and 3 at the top of redis-control-plane.ts). It declares nobody dead during a grace of one lease
 * after each (re)connection, after Redis answers again following a failure, and after a seed;
 * a node that never heartbeated to this Redis counts as alive during the start-up grace.
 */
export class FailureDetector {
  readonly #context: FailureDetectorContext;
  /** Bumped on every (re)connection: a tick that spans one gives up. */
  #connectionGeneration = 0;
  /** Until then a placed node that never heartbeated to this Redis counts as alive (joining). */
  #startupGraceUntilMs = Number.NEGATIVE_INFINITY;
  #graceUntilMs = Number.NEGATIVE_INFINITY;
  #degraded = false;
  #detecting = false;

  constructor(context: FailureDetectorContext) {
    this.#context = context;
  }

  /** The command connection is (again) ready: a new generation, and one lease of grace. */
  onConnected(firstConnection: boolean): void {
    this.#connectionGeneration += 1;
    if (firstConnection)
      this.#startupGraceUntilMs =
        this.#context.clock.monotonicNow() + this.#context.timings.startupGraceMs;
    this.armGrace('connected');
  }

  /** No node may be declared dead for one lease from now. */
  armGrace(reason: GraceReason): void {
    const untilMs = this.#context.clock.monotonicNow() + this.#context.timings.leaseMs;
    if (untilMs <= this.#graceUntilMs) return;
    this.#graceUntilMs = untilMs;
    this.#context.emit({ type: 'grace', untilMs, reason });
  }

  /** Milliseconds until this detector may declare a node dead (0: it may now). */
  graceRemainingMs(): number {
    return Math.max(0, this.#graceUntilMs - this.#context.clock.monotonicNow());
  }

  /** One tick; a tick that finds another still running returns 'busy' at once. */
  async tick(): Promise<DetectorOutcome> {
    if (this.#detecting) return 'busy';
    this.#detecting = true;
    try {
      return await this.#detect();
    } finally {
      this.#detecting = false;
    }
  }

  async #detect(): Promise<DetectorOutcome> {
    const { commands, ringSync, clock, timings } = this.#context;
    const generation = this.#connectionGeneration;
    if (commands.status !== 'ready') {
      this.#markDegraded(`not connected (${commands.status})`);
      return 'unreachable';
    }
    let ring: RingConfig | undefined;
    let alive: Set<string>;
    try {
      ring = await ringSync.readRing();
      if (ring === undefined) {
        // Redis lost the ring (and so the leases): seeding opens the seed window, a grace.
        const seeded = await ringSync.seedAndRead();
        if (seeded !== undefined) ringSync.adopt(seeded, 'read');
        return 'grace';
      }
      alive = await this.#aliveNodeIds(ring);
    } catch (error) {
      this.#markDegraded((error as Error).message);
      return 'unreachable';
    }
    if (this.#degraded) {
      this.#degraded = false;
      this.armGrace('degraded');
      return 'grace';
    }
    ringSync.adopt(ring, 'read');
    const now = clock.monotonicNow();
    if (generation !== this.#connectionGeneration || now < this.#graceUntilMs) return 'grace';

    const lastHeartbeatAt = new Map([...alive].map((nodeId) => [nodeId, now]));
    const next = planFailover(ring, lastHeartbeatAt, now, timings.leaseMs);
    if (next === undefined) return 'unchanged';
    const deadNodeIds = placedNodeIds(ring).filter((nodeId) => !alive.has(nodeId));
    if (generation !== this.#connectionGeneration) return 'grace';
    try {
      await ringSync.compareAndSet(ring.epoch, next, deadNodeIds);
    } catch (error) {
      if (error instanceof EpochConflictError) return 'conflict';
      this.#markDegraded((error as Error).message);
      return 'unreachable';
    }
    this.#context.emit({ type: 'failover', epoch: next.epoch, deadNodeIds });
    return 'changed';
  }

  /** Placed nodes whose lease key exists, plus, in the start-up grace, those never seen. */
  async #aliveNodeIds(ring: RingConfig): Promise<Set<string>> {
    const { commands, keys, clock } = this.#context;
    const nodeIds = placedNodeIds(ring);
    const { ttlsMs, lastSeenMs } = await readLeases(commands, keys, nodeIds);
    const joining = clock.monotonicNow() < this.#startupGraceUntilMs;
    return new Set(
      nodeIds.filter(
        (_, index) => (ttlsMs[index] ?? -2) !== -2 || (joining && lastSeenMs[index] === undefined),
      ),
    );
  }

  #markDegraded(error: string): void {
    if (!this.#degraded) this.#context.emit({ type: 'degraded', error });
    this.#degraded = true;
  }
}

/** Nodes the ring places (serving a slot, or standing by): the ones whose death changes it
 * (parked nodes are never promoted automatically, so their leases do not matter to the detector). */
function placedNodeIds(ring: RingConfig): string[] {
  return [...new Set([...ring.slots.map((a) => a.nodeId), ...ring.standbys])];
}
