/**
 * The control plane on Redis, for many routers. Every router (and every node, and ringctl) holds a
 * RedisControlPlane; Redis is the one source of truth, and every instance keeps the newest ring it
 * has seen in memory so routing goes on while Redis is away.
 *
 * Keys (see redis-keys.ts; `{prefix}` defaults to `chatring:`):
 * - `{prefix}ring`           hash {epoch, config}: the ring as JSON, and its epoch beside it so the
 *                            scripts compare epochs without parsing JSON.
 * - `{prefix}ring-changed`   pub/sub channel: every write publishes the new epoch.
 * - `{prefix}lease:{nodeId}` string with PX leaseMs, set by each heartbeat: present = alive.
 * - `{prefix}last-seen`      hash nodeId → Redis time (ms) of its last heartbeat (status only).
 * - `{prefix}seed-window`    string with PX leaseMs, set when the ring had to be seeded.
 *
 * Choices, and why:
 * 1. Every ring change is a compare-and-set on the epoch inside one Lua script, which also
 *    PUBLISHes the new epoch, so a write and its push cannot be separated by a crash. Losers get
 *    EpochConflictError (code EPOCH_CONFLICT): two routers' failure detectors, or a detector and
 *    ringctl, never both apply a change.
 * 2. Leases live on the Redis clock: a heartbeat is one script that sets the lease key with PX
 *    leaseMs *and* reads the ring, atomically. The node times its lease from when it *sent* the
 *    heartbeat (cache-node/ownership.ts), which is before Redis set the key, so it stops serving
 *    before the key can lapse. A failover's compare-and-set re-checks, inside the script, that the
 *    lease keys of the nodes it declares dead are still absent: a node that renews in between
 *    either renewed first (the change is refused) or renewed after (and its heartbeat returns the
 *    new ring, so it learns it lost the slot). Redis's clock must not be stepped (slewing is fine).
 * 3. Grace. An absent lease key proves a lapsed lease only if Redis kept its keys and nodes could
 *    reach it. So the detector declares nobody dead until one full lease after (a) every
 *    (re)connection of this instance, including its first, (b) the first successful read after a
 *    failed or timed-out one (a stalled Redis lets keys expire that nobody could renew), and
 *    (c) the ring being seeded (see 4). Any lease granted before the gap has run out on its node by
 *    then. Commands in flight when the connection drops are failed, never re-sent
 *    (autoResendUnfulfilledCommands false, maxRetriesPerRequest 0), so a change planned from
 *    pre-outage reads cannot land on a restarted Redis; a tick also gives up if the connection
 *    changed under it. Grace only delays detection, so erring long is safe. Separately, a node of
 *    the ring that never heartbeated to this Redis (no last-seen entry: a cluster starting up)
 *    counts as alive until startupGraceMs after this instance first connected.
 * 4. Seeding. A Redis restarted without persistence has lost the ring *and* the leases. Whoever
 *    finds the ring missing offers the newest ring it remembers (else its initialRing) with that
 *    ring's own epoch, and the first offer opens a seed window of one lease (a key with PX, so it
 *    is a grace every instance sees, even one that did not notice the outage). Inside the window a
 *    remembered ring with a higher epoch replaces the seed (every instance offers on reconnect), and
 *    every compare-and-set is refused, so the epoch only grows and no two rings share an epoch. A
 *    ring none of the instances connected within the window remembers is lost: run Redis with
 *    AOF in production; seeding is the fallback for a Redis that lost everything.
 * 5. Push first: a subscriber connection hears `ring-changed`, fetches the ring and hands it to the
 *    listeners, newest epoch only (older or equal epochs are dropped, so listeners see rings in
 *    epoch order). It re-subscribes and re-reads the ring on every reconnect, so a change made
 *    during an outage is not missed; a slow poll is the backstop.
 * 6. Fail fast: the command connection has no offline queue, a command timeout and a connect
 *    timeout, and reconnects with capped exponential backoff (capped well under leaseMs, because a
 *    node's reconnect delay eats into its grace). While Redis is down, heartbeat(), status() and
 *    compareAndSetRing() reject at once with OWNER_UNAVAILABLE; currentRing() answers from memory.
 * Not supported: Redis Cluster without a hash-tagged prefix (the scripts touch several keys).
 *
 * Where each part lives in this folder: redis-keys.ts and redis-scripts.ts (the layout and the
 * atomic steps, 1 and 2), ring-sync.ts (reads, seeding, writes and pushes, 4 and 5),
 * failure-detector.ts (grace and failover, 2 and 3), redis-connection.ts (fail fast, 6) and
 * redis-options.ts; this file composes them and answers the ControlPlane interface.
 */
import { Redis } from 'ioredis';
import {
  ChatringError,
  parseNodeInfo,
  type NodeInfo,
  type RingConfig,
} from '../../protocol/index.js';
import { clusterStatusOf, knownNodeIds } from '../../ring/index.js';
import type {
  ClusterStatus,
  ControlPlane,
  ControlPlaneTimings,
  HeartbeatReply,
} from '../control-plane.js';
import { planNodeUpdate } from '../node-registration.js';
import { EpochConflictError } from './epoch-conflict-error.js';
import { FailureDetector, type DetectorOutcome } from './failure-detector.js';
import { leaseLiveness, readLeases } from './lease-reads.js';
import { ioredisOptions, quit, redisHost, waitForReady, withRedis } from './redis-connection.js';
import { redisControlPlaneKeys, type RedisControlPlaneKeys } from './redis-keys.js';
import {
  resolveRedisControlPlaneOptions,
  type RedisControlPlaneEvent,
  type RedisControlPlaneOptions,
  type ResolvedRedisControlPlaneOptions,
} from './redis-options.js';
import { HEARTBEAT_SCRIPT, runScript } from './redis-scripts.js';
import { RingSync } from './ring-sync.js';

export class RedisControlPlane implements ControlPlane {
  readonly backend = 'redis';
  readonly timings: Readonly<ControlPlaneTimings>;
  readonly options: Readonly<ResolvedRedisControlPlaneOptions>;
  readonly keys: RedisControlPlaneKeys;
  readonly #commands: Redis;
  readonly #subscriber: Redis | undefined;
  readonly #ringSync: RingSync;
  readonly #detector: FailureDetector;
  /** Redis's host and port, for messages (never the password). */
  readonly #where: string;
  readonly #timers: NodeJS.Timeout[] = [];
  #everConnected = false;
  #connected = false;
  #started: Promise<void> | undefined;
  #closed = false;
  #lastError = '';

  /** Creates and starts one (connected, ring loaded, subscribed, detector running). */
  static async open(options: RedisControlPlaneOptions): Promise<RedisControlPlane> {
    const controlPlane = new RedisControlPlane(options);
    try {
      await controlPlane.start();
    } catch (error) {
      await controlPlane.close();
      throw error;
    }
    return controlPlane;
  }

  constructor(options: RedisControlPlaneOptions) {
    this.options = resolveRedisControlPlaneOptions(options);
    const { heartbeatIntervalMs, leaseMs, startupGraceMs, redisUrl, clock } = this.options;
    this.timings = Object.freeze({ heartbeatIntervalMs, leaseMs, startupGraceMs });
    this.keys = redisControlPlaneKeys(this.options.keyPrefix);
    this.#where = redisHost(redisUrl);
    this.#commands = new Redis(redisUrl, ioredisOptions('commands', this.options));
    const emit = (event: RedisControlPlaneEvent) => this.#emit(event);
    this.#ringSync = new RingSync({
      commands: this.#commands,
      keys: this.keys,
      where: this.#where,
      leaseMs,
      initialRing: this.options.initialRing,
      emit,
      onSeeded: () => this.#detector.armGrace('seeded'),
      isClosed: () => this.#closed,
    });
    this.#detector = new FailureDetector({
      commands: this.#commands,
      keys: this.keys,
      ringSync: this.#ringSync,
      timings: this.timings,
      clock,
      emit,
    });
    this.#commands.on('ready', () => this.#onCommandsReady());
    this.#commands.on('close', () => {
      if (!this.#connected) return; // reconnect attempts that failed again: reported once
      this.#connected = false;
      this.#emit({ type: 'disconnected', error: this.#lastError });
    });
    this.#commands.on('error', (error: Error) => (this.#lastError = error.message));
    if (this.options.listenForRingChanges) {
      const subscriber = new Redis(redisUrl, ioredisOptions('subscriber', this.options));
      subscriber.on('ready', () => void this.#onSubscriberReady(subscriber));
      subscriber.on('message', (_channel: string, message: string) =>
        this.#ringSync.onPush(message),
      );
      subscriber.on('error', () => undefined); // the command connection reports; this one retries
      this.#subscriber = subscriber;
    }
  }

  /** Connects (failing after startTimeoutMs), loads or seeds the ring, starts the timers. */
  start(): Promise<void> {
    this.#started ??= this.#start();
    return this.#started;
  }

  async currentRing(): Promise<RingConfig> {
    this.#assertOpen();
    if (this.#commands.status === 'ready') {
      // Fresh when Redis answers; the remembered ring when it does not (routing goes on).
      await this.#ringSync.refresh('read').catch(() => undefined);
    }
    const ring = this.#ringSync.ring;
    if (ring === undefined) {
      throw new ChatringError(
        'OWNER_UNAVAILABLE',
        `no ring yet: Redis at ${this.#where} ${this.#commands.status === 'ready' ? 'holds none' : 'is unreachable'}`,
      );
    }
    return ring;
  }

  async heartbeat(given: NodeInfo): Promise<HeartbeatReply> {
    this.#assertOpen();
    // Checked where it is written, like the HTTP heartbeat route does: what enters the ring is valid.
    const node = parseNodeInfo(given);
    const ringSync = this.#ringSync;
    let ring = await withRedis('heartbeat', this.#where, async () => {
      const reply = await runScript(
        this.#commands,
        HEARTBEAT_SCRIPT,
        [this.keys.ring, this.keys.lease(node.nodeId), this.keys.lastSeen],
        [this.timings.leaseMs, node.nodeId],
      );
      return ringSync.parseStoredRing(reply) ?? (await ringSync.seedAndRead());
    });
    if (ring === undefined) {
      throw new ChatringError('OWNER_UNAVAILABLE', `Redis at ${this.#where} holds no ring yet`);
    }
    ringSync.adopt(ring, 'read');
    ring = await this.#registerNode(ring, node);
    return { ring, leaseMs: this.timings.leaseMs };
  }

  subscribe(listener: (ring: RingConfig) => void): () => void {
    return this.#ringSync.subscribe(listener);
  }

  /**
   * Replaces the ring if Redis still holds `expectedEpoch`; `next.epoch` must be expectedEpoch + 1.
   * Throws EpochConflictError (code EPOCH_CONFLICT) when it loses; OWNER_UNAVAILABLE when Redis
   * is unreachable (then the change may or may not have landed: re-read before retrying).
   */
  async compareAndSetRing(expectedEpoch: number, next: RingConfig): Promise<RingConfig> {
    this.#assertOpen();
    return this.#ringSync.compareAndSet(expectedEpoch, next, []);
  }

  /** One failure-detector tick (runs on a timer in routers; public so tests can drive it). */
  async detectFailures(): Promise<DetectorOutcome> {
    if (this.#closed) return 'closed';
    return this.#detector.tick();
  }

  async status(): Promise<ClusterStatus> {
    this.#assertOpen();
    const ring = await withRedis('status', this.#where, () => this.#ringSync.readRing());
    if (ring === undefined)
      throw new ChatringError('OWNER_UNAVAILABLE', `Redis at ${this.#where} holds no ring yet`);
    this.#ringSync.adopt(ring, 'read');
    const nodeIds = knownNodeIds(ring);
    const readings = await withRedis('status', this.#where, () =>
      readLeases(this.#commands, this.keys, nodeIds),
    );
    const liveness = leaseLiveness(nodeIds, readings, this.timings.leaseMs);
    return clusterStatusOf(
      ring,
      this.backend,
      this.timings,
      (nodeId) => liveness.get(nodeId) ?? { alive: false },
    );
  }

  /** Milliseconds until this instance's detector may declare a node dead (0: it may now). */
  graceRemainingMs(): number {
    return this.#detector.graceRemainingMs();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const timer of this.#timers) clearInterval(timer);
    this.#ringSync.close();
    await Promise.all([quit(this.#commands), this.#subscriber && quit(this.#subscriber)]);
  }

  // ---- start-up and connections ----

  async #start(): Promise<void> {
    this.#assertOpen();
    const { startTimeoutMs, failureDetector, ringPollIntervalMs } = this.options;
    await waitForReady(this.#commands, startTimeoutMs, this.#where);
    await withRedis('start', this.#where, () => this.#ringSync.refresh('read'));
    if (this.#subscriber !== undefined)
      await waitForReady(this.#subscriber, startTimeoutMs, this.#where);
    if (failureDetector) this.#every(this.timings.heartbeatIntervalMs, () => this.detectFailures());
    this.#every(ringPollIntervalMs, () => this.#ringSync.refresh('poll'));
  }

  #onCommandsReady(): void {
    const reconnect = this.#everConnected;
    this.#everConnected = true;
    this.#connected = true;
    this.#emit({ type: 'connected', reconnect });
    this.#detector.onConnected(!reconnect);
    // A ring made while we were away, or a Redis that lost it (then we offer ours).
    if (reconnect) void this.#ringSync.refresh('reconnect').catch(() => undefined);
  }

  async #onSubscriberReady(subscriber: Redis): Promise<void> {
    try {
      await subscriber.subscribe(this.keys.ringChanged);
      if (this.#commands.status === 'ready') await this.#ringSync.refresh('reconnect');
    } catch {
      // The poll catches up; the next reconnect tries again.
    }
  }

  #every(intervalMs: number, task: () => Promise<unknown>): void {
    const timer = setInterval(() => void task().catch(() => undefined), intervalMs);
    timer.unref();
    this.#timers.push(timer);
  }

  /** Registers an unknown node as a standby and records changed node info; a few CAS attempts. */
  async #registerNode(ring: RingConfig, node: NodeInfo): Promise<RingConfig> {
    let current = ring;
    for (let attempt = 1; attempt <= this.options.registrationAttemptsMax; attempt += 1) {
      const next = planNodeUpdate(current, node);
      if (next === undefined) return current;
      try {
        return await this.#ringSync.compareAndSet(current.epoch, next, []);
      } catch (error) {
        // Seeding or a lost race: the lease is renewed already; registration waits for a later
        // heartbeat rather than failing this one.
        if (!(error instanceof EpochConflictError) || error.reason !== 'epoch') return current;
        const latest = await withRedis('heartbeat', this.#where, () => this.#ringSync.readRing());
        if (latest === undefined) return current;
        this.#ringSync.adopt(latest, 'read');
        current = latest;
      }
    }
    return current;
  }

  /** A control plane used after close(): a router shutting down with requests in flight. */
  #assertOpen(): void {
    if (this.#closed)
      throw new ChatringError('OWNER_UNAVAILABLE', 'the Redis control plane is closed');
  }

  #emit(event: RedisControlPlaneEvent): void {
    try {
      this.options.onEvent(event);
    } catch {
      // Observers must not break the control plane.
    }
  }
}
