/**
 * The control plane on Redis, for many routers. Every router (and every node, and ringctl) holds a
 * RedisControlPlane; Redis is the one source of truth, and every instance keeps the newest ring it
 * has seen in memory so routing goes on while Redis is away.
 *
 * Keys (see redisControlPlaneKeys; `{prefix}` defaults to `chatring:`):
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
 */
import { createHash } from 'node:crypto';
import { Redis, type RedisOptions } from 'ioredis';
import { ChatringError, type NodeInfo, type RingConfig } from '../protocol/index.js';
import { clusterStatusOf, knownNodeIds } from '../ring/index.js';
import type {
  ClusterStatus,
  ControlPlane,
  ControlPlaneTimings,
  HeartbeatReply,
} from './control-plane.js';
import { planFailover, planRegistration, withoutChangeId } from '../ring/index.js';
import {
  assertRing,
  resolveRedisControlPlaneOptions,
  type RedisControlPlaneEvent,
  type RedisControlPlaneOptions,
  type ResolvedRedisControlPlaneOptions,
} from './redis-options.js';
import { RingChangeRefused } from '../ring/index.js';

export interface RedisControlPlaneKeys {
  ring: string;
  ringChanged: string;
  lastSeen: string;
  seedWindow: string;
  lease(nodeId: string): string;
}

/** The key layout (ringctl and tests read it; see the top of this file). */
export function redisControlPlaneKeys(prefix: string): RedisControlPlaneKeys {
  return {
    ring: `${prefix}ring`,
    ringChanged: `${prefix}ring-changed`,
    lastSeen: `${prefix}last-seen`,
    seedWindow: `${prefix}seed-window`,
    lease: (nodeId) => `${prefix}lease:${nodeId}`,
  };
}

/** Why a compare-and-set lost. */
export type EpochConflictReason =
  /** Someone else changed the ring first. */
  | 'epoch'
  /** The ring was just seeded; changes wait one lease (see the top of this file). */
  | 'seeding'
  /** Redis holds no ring. */
  | 'absent'
  /** A node the change declared dead renewed its lease meanwhile. */
  | 'lease-renewed';

/**
 * A compare-and-set on the ring epoch lost. Re-read the ring and decide again. It is a
 * RingChangeRefused with code EPOCH_CONFLICT, so the ring-change orchestrator re-plans on it.
 */
export class EpochConflictError extends RingChangeRefused {
  constructor(
    readonly expectedEpoch: number,
    readonly storedEpoch: number | undefined,
    readonly reason: EpochConflictReason,
  ) {
    super(
      'EPOCH_CONFLICT',
      `ring compare-and-set lost (${reason}): expected epoch ${expectedEpoch}, Redis holds ${
        storedEpoch === undefined ? 'no ring' : `epoch ${storedEpoch}`
      }`,
    );
    this.name = 'EpochConflictError';
  }
}

/** What one failure-detector tick did. */
export type DetectorOutcome =
  'changed' | 'unchanged' | 'grace' | 'unreachable' | 'conflict' | 'busy' | 'closed';

interface LuaScript {
  lua: string;
  sha: string;
}

function luaScript(lua: string): LuaScript {
  return { lua, sha: createHash('sha1').update(lua).digest('hex') };
}

/** KEYS: ring, seed window, lease keys of the nodes declared dead. ARGV: expected epoch, next
 * epoch, next config, channel. */
const COMPARE_AND_SET_SCRIPT = luaScript(`
local stored = redis.call('HGET', KEYS[1], 'epoch')
if not stored then return {0, 'absent', ''} end
if redis.call('EXISTS', KEYS[2]) == 1 then return {0, 'seeding', stored} end
if stored ~= ARGV[1] then return {0, 'epoch', stored} end
for i = 3, #KEYS do
  if redis.call('EXISTS', KEYS[i]) == 1 then return {0, 'lease-renewed', stored} end
end
redis.call('HSET', KEYS[1], 'epoch', ARGV[2], 'config', ARGV[3])
redis.call('PUBLISH', ARGV[4], ARGV[2])
return {1, 'applied', ARGV[2]}
`);

/** KEYS: ring, seed window. ARGV: epoch, config, window ms, channel. Applies when Redis has no
 * ring (and opens the seed window), or inside the window when the offer is newer. */
const OFFER_RING_SCRIPT = luaScript(`
local stored = redis.call('HGET', KEYS[1], 'epoch')
if stored then
  if redis.call('EXISTS', KEYS[2]) == 0 or tonumber(stored) >= tonumber(ARGV[1]) then
    return {0, stored}
  end
end
redis.call('HSET', KEYS[1], 'epoch', ARGV[1], 'config', ARGV[2])
if not stored then redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[3]) end
redis.call('PUBLISH', ARGV[4], ARGV[1])
return {1, ARGV[1]}
`);

/** KEYS: ring, lease key, last-seen hash. ARGV: lease ms, node id. Renews and reads the ring in
 * one step, so the ring a node learns is never older than its lease. */
const HEARTBEAT_SCRIPT = luaScript(`
local now = redis.call('TIME')
local nowMs = string.format('%.0f', tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000))
redis.call('SET', KEYS[2], nowMs, 'PX', ARGV[1])
redis.call('HSET', KEYS[3], ARGV[2], nowMs)
return redis.call('HMGET', KEYS[1], 'epoch', 'config')
`);

type RingSource = Extract<RedisControlPlaneEvent, { type: 'ring' }>['source'];

export class RedisControlPlane implements ControlPlane {
  readonly backend = 'redis';
  readonly timings: Readonly<ControlPlaneTimings>;
  readonly options: Readonly<ResolvedRedisControlPlaneOptions>;
  readonly keys: RedisControlPlaneKeys;
  readonly #commands: Redis;
  readonly #subscriber: Redis | undefined;
  readonly #listeners = new Set<(ring: RingConfig) => void>();
  readonly #timers: NodeJS.Timeout[] = [];
  /** The newest ring this instance has seen; survives outages (routing goes on, re-seeding). */
  #ring: RingConfig | undefined;
  /** Bumped on every (re)connection: a detector tick that spans one gives up. */
  #connectionGeneration = 0;
  #everConnected = false;
  #connected = false;
  /** Until then a placed node that never heartbeated to this Redis counts as alive (joining). */
  #startupGraceUntilMs = Number.NEGATIVE_INFINITY;
  #graceUntilMs = Number.NEGATIVE_INFINITY;
  #degraded = false;
  #detecting = false;
  #refreshing: Promise<void> | undefined;
  #refreshAgain = false;
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
    this.timings = Object.freeze({
      heartbeatIntervalMs: this.options.heartbeatIntervalMs,
      leaseMs: this.options.leaseMs,
      startupGraceMs: this.options.startupGraceMs,
    });
    this.keys = redisControlPlaneKeys(this.options.keyPrefix);
    this.#commands = new Redis(this.options.redisUrl, this.#redisOptions('commands'));
    this.#commands.on('ready', () => this.#onCommandsReady());
    this.#commands.on('close', () => {
      if (!this.#connected) return; // reconnect attempts that failed again: reported once
      this.#connected = false;
      this.#emit({ type: 'disconnected', error: this.#lastError });
    });
    this.#commands.on('error', (error: Error) => (this.#lastError = error.message));
    if (this.options.listenForRingChanges) {
      const subscriber = new Redis(this.options.redisUrl, this.#redisOptions('subscriber'));
      subscriber.on('ready', () => void this.#onSubscriberReady(subscriber));
      subscriber.on('message', (_channel: string, message: string) => this.#onPush(message));
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
      await this.#refresh('read').catch(() => undefined);
    }
    if (this.#ring === undefined) {
      throw new ChatringError(
        'OWNER_UNAVAILABLE',
        `no ring yet: Redis at ${this.#where()} ${this.#commands.status === 'ready' ? 'holds none' : 'is unreachable'}`,
      );
    }
    return this.#ring;
  }

  async heartbeat(node: NodeInfo): Promise<HeartbeatReply> {
    this.#assertOpen();
    let ring = await this.#redis('heartbeat', async () => {
      const reply = await this.#runScript(
        HEARTBEAT_SCRIPT,
        [this.keys.ring, this.keys.lease(node.nodeId), this.keys.lastSeen],
        [this.timings.leaseMs, node.nodeId],
      );
      return this.#parseStoredRing(reply) ?? (await this.#seedAndRead());
    });
    if (ring === undefined) {
      throw new ChatringError('OWNER_UNAVAILABLE', `Redis at ${this.#where()} holds no ring yet`);
    }
    this.#adopt(ring, 'read');
    ring = await this.#registerNode(ring, node);
    return { ring, leaseMs: this.timings.leaseMs };
  }

  subscribe(listener: (ring: RingConfig) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Replaces the ring if Redis still holds `expectedEpoch`; `next.epoch` must be expectedEpoch + 1.
   * Throws EpochConflictError (code EPOCH_CONFLICT) when it loses; OWNER_UNAVAILABLE when Redis
   * is unreachable (then the change may or may not have landed: re-read before retrying).
   */
  async compareAndSetRing(expectedEpoch: number, next: RingConfig): Promise<RingConfig> {
    this.#assertOpen();
    return this.#compareAndSet(expectedEpoch, next, []);
  }

  /** One failure-detector tick (runs on a timer in routers; public so tests can drive it). */
  async detectFailures(): Promise<DetectorOutcome> {
    if (this.#closed) return 'closed';
    if (this.#detecting) return 'busy';
    this.#detecting = true;
    try {
      return await this.#detectFailures();
    } finally {
      this.#detecting = false;
    }
  }

  async status(): Promise<ClusterStatus> {
    this.#assertOpen();
    const ring = await this.#redis('status', () => this.#readRing());
    if (ring === undefined)
      throw new ChatringError('OWNER_UNAVAILABLE', `Redis at ${this.#where()} holds no ring yet`);
    this.#adopt(ring, 'read');
    const nodeIds = knownNodeIds(ring);
    const { redisNowMs, ttlsMs, lastSeenMs } = await this.#redis('status', () =>
      this.#readLeases(nodeIds),
    );
    const liveness = new Map(
      nodeIds.map((nodeId, index) => {
        const ttlMs = ttlsMs[index] ?? -2;
        const lastSeen = lastSeenMs[index];
        const alive = ttlMs !== -2;
        const leaseAgeMs = alive
          ? Math.max(0, this.timings.leaseMs - Math.max(ttlMs, 0))
          : lastSeen === undefined
            ? undefined
            : Math.max(0, redisNowMs - lastSeen);
        return [nodeId, { alive, leaseAgeMs }] as const;
      }),
    );
    return clusterStatusOf(
      ring,
      this.backend,
      this.timings,
      (nodeId) => liveness.get(nodeId) ?? { alive: false },
    );
  }

  /** Milliseconds until this instance's detector may declare a node dead (0: it may now). */
  graceRemainingMs(): number {
    return Math.max(0, this.#graceUntilMs - this.options.monotonicNow());
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const timer of this.#timers) clearInterval(timer);
    this.#listeners.clear();
    await Promise.all([quit(this.#commands), this.#subscriber && quit(this.#subscriber)]);
  }

  // ---- start-up and connections ----

  async #start(): Promise<void> {
    this.#assertOpen();
    await waitForReady(this.#commands, this.options.startTimeoutMs, this.#where());
    await this.#redis('start', () => this.#refresh('read'));
    if (this.#subscriber !== undefined)
      await waitForReady(this.#subscriber, this.options.startTimeoutMs, this.#where());
    if (this.options.failureDetector) {
      this.#every(this.timings.heartbeatIntervalMs, () => this.detectFailures());
    }
    this.#every(this.options.ringPollIntervalMs, () => this.#refresh('poll'));
  }

  #redisOptions(role: 'commands' | 'subscriber'): RedisOptions {
    const { connectTimeoutMs, commandTimeoutMs, reconnectBackoffBaseMs, reconnectBackoffMaxMs } =
      this.options;
    return {
      connectionName: `chatring-control-plane-${role}`,
      lazyConnect: true,
      connectTimeout: connectTimeoutMs,
      commandTimeout: commandTimeoutMs,
      // Fail fast while Redis is away, and never re-send a command after a reconnect: a ring
      // change planned before an outage must not land on a Redis that restarted meanwhile.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      // The subscriber re-subscribes itself on 'ready', then re-reads the ring (in that order).
      autoResubscribe: false,
      enableReadyCheck: true,
      retryStrategy: (attempt: number) =>
        Math.min(reconnectBackoffBaseMs * 2 ** Math.min(attempt - 1, 20), reconnectBackoffMaxMs),
    };
  }

  #onCommandsReady(): void {
    this.#connectionGeneration += 1;
    const reconnect = this.#everConnected;
    this.#everConnected = true;
    this.#connected = true;
    if (!reconnect)
      this.#startupGraceUntilMs = this.options.monotonicNow() + this.timings.startupGraceMs;
    this.#emit({ type: 'connected', reconnect });
    this.#armGrace('connected');
    // A ring made while we were away, or a Redis that lost it (then we offer ours).
    if (reconnect) void this.#refresh('reconnect').catch(() => undefined);
  }

  async #onSubscriberReady(subscriber: Redis): Promise<void> {
    try {
      await subscriber.subscribe(this.keys.ringChanged);
      if (this.#commands.status === 'ready') await this.#refresh('reconnect');
    } catch {
      // The poll catches up; the next reconnect tries again.
    }
  }

  #onPush(message: string): void {
    if (this.#closed) return;
    const epoch = Number(message);
    if (this.#ring !== undefined && Number.isFinite(epoch) && epoch <= this.#ring.epoch) return;
    void this.#refresh('push').catch(() => undefined);
  }

  #every(intervalMs: number, task: () => Promise<unknown>): void {
    const timer = setInterval(() => void task().catch(() => undefined), intervalMs);
    timer.unref();
    this.#timers.push(timer);
  }

  // ---- the ring ----

  /** Reads the ring (seeding it when Redis has none) and adopts it; concurrent calls coalesce. */
  #refresh(source: RingSource): Promise<void> {
    if (this.#refreshing !== undefined) {
      this.#refreshAgain = true;
      return this.#refreshing;
    }
    this.#refreshing = (async () => {
      try {
        do {
          this.#refreshAgain = false;
          await this.#refreshOnce(source);
        } while (this.#refreshAgain && !this.#closed);
      } finally {
        this.#refreshing = undefined;
      }
    })();
    return this.#refreshing;
  }

  async #refreshOnce(source: RingSource): Promise<void> {
    const stored = await this.#readRing();
    if (stored === undefined) {
      const seeded = await this.#seedAndRead();
      if (seeded !== undefined) this.#adopt(seeded, source);
      return;
    }
    if (this.#ring !== undefined && stored.epoch < this.#ring.epoch) {
      // Redis went back in time (it lost data): inside the seed window our newer ring wins.
      await this.#offer(this.#ring, 'remembered');
      const after = await this.#readRing();
      if (after !== undefined) this.#adopt(after, source);
      return;
    }
    this.#adopt(stored, source);
  }

  async #readRing(): Promise<RingConfig | undefined> {
    return this.#parseStoredRing(await this.#commands.hmget(this.keys.ring, 'epoch', 'config'));
  }

  #parseStoredRing(reply: unknown): RingConfig | undefined {
    if (!Array.isArray(reply)) throw new Error(`unexpected ring reply from Redis`);
    const [epochText, configText] = reply as unknown[];
    if (epochText === null || epochText === undefined) return undefined;
    if (typeof configText !== 'string')
      throw new Error(`${this.keys.ring} has epoch ${String(epochText)} but no config`);
    const ring: unknown = JSON.parse(configText);
    assertRing(this.keys.ring, ring);
    if (String(ring.epoch) !== String(epochText))
      throw new Error(
        `${this.keys.ring}: epoch ${String(epochText)} but config epoch ${ring.epoch}`,
      );
    return ring;
  }

  /** Redis has no ring: offer the newest this instance remembers, else its initialRing. */
  async #seedAndRead(): Promise<RingConfig | undefined> {
    const candidate = this.#ring ?? this.options.initialRing;
    if (candidate !== undefined)
      await this.#offer(candidate, this.#ring === undefined ? 'initial' : 'remembered');
    return this.#readRing();
  }

  async #offer(ring: RingConfig, origin: 'initial' | 'remembered'): Promise<boolean> {
    const reply = await this.#runScript(
      OFFER_RING_SCRIPT,
      [this.keys.ring, this.keys.seedWindow],
      [ring.epoch, JSON.stringify(ring), this.timings.leaseMs, this.keys.ringChanged],
    );
    const applied = Array.isArray(reply) && reply[0] === 1;
    if (applied) {
      this.#emit({ type: 'seeded', epoch: ring.epoch, origin });
      this.#armGrace('seeded');
    }
    return applied;
  }

  /** Takes a ring if it is newer than the one we know, and tells the listeners (epoch order). */
  #adopt(ring: RingConfig, source: RingSource): boolean {
    if (this.#ring !== undefined && ring.epoch <= this.#ring.epoch) return false;
    this.#ring = ring;
    this.#emit({ type: 'ring', epoch: ring.epoch, source });
    for (const listener of this.#listeners) {
      try {
        listener(ring);
      } catch {
        // A listener's bug must not stop the others from learning the ring.
      }
    }
    return true;
  }

  async #compareAndSet(
    expectedEpoch: number,
    next: RingConfig,
    deadNodeIds: readonly string[],
  ): Promise<RingConfig> {
    assertRing('next', next);
    if (next.epoch !== expectedEpoch + 1) {
      throw new RangeError(
        `next.epoch must be expectedEpoch + 1 (${expectedEpoch + 1}), got ${next.epoch}`,
      );
    }
    const written = structuredClone(next);
    const reply = await this.#redis('compareAndSetRing', () =>
      this.#runScript(
        COMPARE_AND_SET_SCRIPT,
        [this.keys.ring, this.keys.seedWindow, ...deadNodeIds.map((id) => this.keys.lease(id))],
        [expectedEpoch, written.epoch, JSON.stringify(written), this.keys.ringChanged],
      ),
    );
    const [applied, reason, stored] = Array.isArray(reply) ? (reply as unknown[]) : [];
    if (applied !== 1) {
      const storedEpoch = stored === '' || stored === undefined ? undefined : Number(stored);
      throw new EpochConflictError(expectedEpoch, storedEpoch, reason as EpochConflictReason);
    }
    this.#adopt(written, 'write');
    return written;
  }

  /** Registers an unknown node as a standby and records changed node info; a few CAS attempts. */
  async #registerNode(ring: RingConfig, node: NodeInfo): Promise<RingConfig> {
    let current = ring;
    for (let attempt = 1; attempt <= this.options.registrationAttemptsMax; attempt += 1) {
      const next = planNodeUpdate(current, node);
      if (next === undefined) return current;
      try {
        return await this.#compareAndSet(current.epoch, next, []);
      } catch (error) {
        // Seeding or a lost race: the lease is renewed already; registration waits for a later
        // heartbeat rather than failing this one.
        if (!(error instanceof EpochConflictError) || error.reason !== 'epoch') return current;
        const latest = await this.#redis('heartbeat', () => this.#readRing());
        if (latest === undefined) return current;
        this.#adopt(latest, 'read');
        current = latest;
      }
    }
    return current;
  }

  // ---- failure detection ----

  async #detectFailures(): Promise<DetectorOutcome> {
    const generation = this.#connectionGeneration;
    if (this.#commands.status !== 'ready') {
      this.#markDegraded(`not connected (${this.#commands.status})`);
      return 'unreachable';
    }
    let ring: RingConfig | undefined;
    let alive: Set<string>;
    try {
      ring = await this.#readRing();
      if (ring === undefined) {
        // Redis lost the ring (and so the leases): seeding opens the seed window, a grace.
        const seeded = await this.#seedAndRead();
        if (seeded !== undefined) this.#adopt(seeded, 'read');
        return 'grace';
      }
      const nodeIds = placedNodeIds(ring);
      const { ttlsMs, lastSeenMs } = await this.#readLeases(nodeIds);
      const joining = this.options.monotonicNow() < this.#startupGraceUntilMs;
      alive = new Set(
        nodeIds.filter(
          (_, index) =>
            (ttlsMs[index] ?? -2) !== -2 || (joining && lastSeenMs[index] === undefined),
        ),
      );
    } catch (error) {
      this.#markDegraded((error as Error).message);
      return 'unreachable';
    }
    if (this.#degraded) {
      this.#degraded = false;
      this.#armGrace('degraded');
      return 'grace';
    }
    this.#adopt(ring, 'read');
    const now = this.options.monotonicNow();
    if (generation !== this.#connectionGeneration || now < this.#graceUntilMs) return 'grace';

    const lastHeartbeatAt = new Map([...alive].map((nodeId) => [nodeId, now]));
    const next = planFailover(ring, lastHeartbeatAt, now, this.timings.leaseMs);
    if (next === undefined) return 'unchanged';
    const deadNodeIds = placedNodeIds(ring).filter((nodeId) => !alive.has(nodeId));
    if (generation !== this.#connectionGeneration) return 'grace';
    try {
      await this.#compareAndSet(ring.epoch, next, deadNodeIds);
    } catch (error) {
      if (error instanceof EpochConflictError) return 'conflict';
      this.#markDegraded((error as Error).message);
      return 'unreachable';
    }
    this.#emit({ type: 'failover', epoch: next.epoch, deadNodeIds });
    return 'changed';
  }

  /** PTTL of each node's lease key (-2: absent), the last-seen times, and Redis's clock. */
  async #readLeases(nodeIds: readonly string[]): Promise<{
    redisNowMs: number;
    ttlsMs: number[];
    lastSeenMs: (number | undefined)[];
  }> {
    const pipeline = this.#commands.pipeline().time();
    for (const nodeId of nodeIds) pipeline.pttl(this.keys.lease(nodeId));
    if (nodeIds.length > 0) pipeline.hmget(this.keys.lastSeen, ...nodeIds);
    const results = (await pipeline.exec()) ?? [];
    for (const [error] of results) if (error) throw error;
    const values = results.map(([, value]) => value);
    const [seconds, microseconds] = (values[0] as [string, string] | undefined) ?? ['0', '0'];
    const ttlsMs = nodeIds.map((_, index) => Number(values[index + 1]));
    const lastSeen = (values[nodeIds.length + 1] as (string | null)[] | undefined) ?? [];
    return {
      redisNowMs: Number(seconds) * 1000 + Math.floor(Number(microseconds) / 1000),
      ttlsMs,
      lastSeenMs: nodeIds.map((_, index) => {
        const text = lastSeen[index];
        return text === null || text === undefined ? undefined : Number(text);
      }),
    };
  }

  #markDegraded(error: string): void {
    if (!this.#degraded) this.#emit({ type: 'degraded', error });
    this.#degraded = true;
  }

  #armGrace(reason: 'connected' | 'degraded' | 'seeded'): void {
    const untilMs = this.options.monotonicNow() + this.timings.leaseMs;
    if (untilMs <= this.#graceUntilMs) return;
    this.#graceUntilMs = untilMs;
    this.#emit({ type: 'grace', untilMs, reason });
  }

  // ---- plumbing ----

  async #runScript(
    script: LuaScript,
    keys: readonly string[],
    args: readonly (string | number)[],
  ): Promise<unknown> {
    try {
      return await this.#commands.evalsha(script.sha, keys.length, ...keys, ...args);
    } catch (error) {
      // A restarted Redis has an empty script cache; NOSCRIPT means the script did not run.
      if (!(error as Error).message.startsWith('NOSCRIPT')) throw error;
      return this.#commands.eval(script.lua, keys.length, ...keys, ...args);
    }
  }

  /** Runs Redis work; a failure to reach Redis becomes OWNER_UNAVAILABLE (retryable). */
  async #redis<T>(operation: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (error instanceof EpochConflictError || error instanceof ChatringError) throw error;
      throw new ChatringError(
        'OWNER_UNAVAILABLE',
        `control plane ${operation}: Redis at ${this.#where()} failed: ${(error as Error).message}`,
        { cause: error },
      );
    }
  }

  #assertOpen(): void {
    if (this.#closed) throw new Error('the Redis control plane is closed');
  }

  #where(): string {
    try {
      return new URL(this.options.redisUrl).host; // never the password
    } catch {
      return 'redis';
    }
  }

  #emit(event: RedisControlPlaneEvent): void {
    try {
      this.options.onEvent(event);
    } catch {
      // Observers must not break the control plane.
    }
  }
}

/** The ring with the node registered as a standby and its info recorded; undefined if unchanged. */
function planNodeUpdate(ring: RingConfig, node: NodeInfo): RingConfig | undefined {
  const registered = planRegistration(ring, node.nodeId) ?? ring;
  const known = registered.nodes[node.nodeId];
  if (registered === ring && known?.url === node.url && known.pid === node.pid) return undefined;
  const info: NodeInfo =
    node.pid === undefined
      ? { nodeId: node.nodeId, url: node.url }
      : { nodeId: node.nodeId, url: node.url, pid: node.pid };
  return {
    ...withoutChangeId(registered),
    epoch: ring.epoch + 1,
    nodes: { ...registered.nodes, [node.nodeId]: info },
  };
}

/** Nodes the ring places (serving a slot, or standing by): the ones whose death changes it
 * (parked nodes are never promoted automatically, so their leases do not matter to the detector). */
function placedNodeIds(ring: RingConfig): string[] {
  return [...new Set([...ring.slots.map((a) => a.nodeId), ...ring.standbys])];
}

/** Connects and waits for 'ready' (ioredis keeps retrying meanwhile); fails after timeoutMs. */
function waitForReady(redis: Redis, timeoutMs: number, where: string): Promise<void> {
  if (redis.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    let lastError = '';
    const onError = (error: Error) => (lastError = error.message);
    const cleanup = () => {
      clearTimeout(timer);
      redis.off('ready', onReady);
      redis.off('error', onError);
    };
    const onReady = () => {
      cleanup();
      resolve();
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(
        new ChatringError(
          'OWNER_UNAVAILABLE',
          `Redis at ${where} not reachable within ${timeoutMs} ms${lastError ? `: ${lastError}` : ''}`,
        ),
      );
    }, timeoutMs);
    redis.on('ready', onReady);
    redis.on('error', onError);
    if (redis.status === 'wait') redis.connect().catch(() => undefined);
  });
}

async function quit(redis: Redis): Promise<void> {
  if (redis.status === 'end') return;
  if (redis.status === 'ready') {
    try {
      await redis.quit();
      return;
    } catch {
      // fall through: drop the connection
    }
  }
  redis.disconnect();
}
