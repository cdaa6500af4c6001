import { readFileSync, renameSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { NodeInfo, RingConfig } from '../protocol/index.js';
import {
  DEFAULT_CONTROL_PLANE_TIMINGS,
  type ClusterStatus,
  type ControlPlane,
  type ControlPlaneTimings,
  type HeartbeatReply,
} from './control-plane.js';
import { planFailover, planRegistration, withoutChangeId } from '../ring/index.js';
import { clusterStatusOf, knownNodeIds } from '../ring/index.js';
import { RingChangeRefused } from '../ring/index.js';

export interface InProcessControlPlaneOptions extends Partial<ControlPlaneTimings> {
  /** Where the ring is kept between restarts (JSON, replaced atomically on every change). */
  ringFile: string;
  /** The ring to start from when `ringFile` does not exist yet. */
  initialRing: RingConfig;
  /** Monotonic clock in ms (injected for tests). */
  monotonicNow?: () => number;
}

/**
 * The single-host control plane, living in the router process of `npm start`. Nodes reach it over
 * HTTP (control-plane-routes.ts); the router subscribes in-process, so it learns a new ring the
 * moment it is made. The ring survives restarts in `ringFile`.
 */
export class InProcessControlPlane implements ControlPlane {
  readonly backend = 'in-process';
  readonly timings: Readonly<ControlPlaneTimings>;
  readonly #ringFile: string;
  readonly #now: () => number;
  readonly #lastHeartbeatAt = new Map<string, number>();
  readonly #listeners = new Set<(ring: RingConfig) => void>();
  readonly #detector: NodeJS.Timeout;
  /** Until then, a node of the ring that has not heartbeated yet counts as alive (start-up grace). */
  readonly #graceUntil: number;
  #ring: RingConfig;

  constructor(options: InProcessControlPlaneOptions) {
    this.timings = Object.freeze({ ...DEFAULT_CONTROL_PLANE_TIMINGS, ...pickTimings(options) });
    this.#ringFile = options.ringFile;
    this.#now = options.monotonicNow ?? (() => performance.now());
    this.#ring = readRing(options.ringFile) ?? options.initialRing;
    writeRing(this.#ringFile, this.#ring);
    // Every known node gets a start-up grace before it can be declared dead: processes that start
    // together (a whole local cluster on 2 busy cores) may take seconds to send a first heartbeat.
    this.#graceUntil =
      this.#now() + Math.max(0, this.timings.startupGraceMs - this.timings.leaseMs);
    this.#detector = setInterval(() => this.detectFailures(), this.timings.heartbeatIntervalMs);
    this.#detector.unref();
  }

  async currentRing(): Promise<RingConfig> {
    return this.#ring;
  }

  async heartbeat(node: NodeInfo): Promise<HeartbeatReply> {
    this.#lastHeartbeatAt.set(node.nodeId, this.#now());
    const registered = planRegistration(this.#ring, node.nodeId) ?? this.#ring;
    const known = registered.nodes[node.nodeId];
    if (registered !== this.#ring || known?.url !== node.url || known?.pid !== node.pid) {
      this.#publish({
        ...withoutChangeId(registered),
        epoch: this.#ring.epoch + 1,
        nodes: { ...registered.nodes, [node.nodeId]: { ...node } },
      });
    }
    return { ring: this.#ring, leaseMs: this.timings.leaseMs };
  }

  async compareAndSetRing(expectedEpoch: number, next: RingConfig): Promise<RingConfig> {
    if (this.#ring.epoch !== expectedEpoch || next.epoch !== expectedEpoch + 1) {
      throw new RingChangeRefused(
        'EPOCH_CONFLICT',
        `the ring is at epoch ${this.#ring.epoch}, the change expected ${expectedEpoch}`,
      );
    }
    this.#publish(next);
    return this.#ring;
  }

  subscribe(listener: (ring: RingConfig) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** One failure-detector tick (runs on a timer; public so tests can drive it). */
  detectFailures(): void {
    const liveness = new Map(this.#lastHeartbeatAt);
    for (const nodeId of knownNodeIds(this.#ring))
      if (!liveness.has(nodeId)) liveness.set(nodeId, this.#graceUntil);
    const next = planFailover(this.#ring, liveness, this.#now(), this.timings.leaseMs);
    if (next !== undefined) this.#publish(next);
  }

  async status(): Promise<ClusterStatus> {
    const now = this.#now();
    return clusterStatusOf(this.#ring, this.backend, this.timings, (nodeId) => {
      const lastSeen = this.#lastHeartbeatAt.get(nodeId);
      const leaseAgeMs = lastSeen === undefined ? undefined : now - lastSeen;
      return { alive: leaseAgeMs !== undefined && leaseAgeMs <= this.timings.leaseMs, leaseAgeMs };
    });
  }

  async close(): Promise<void> {
    clearInterval(this.#detector);
    this.#listeners.clear();
  }

  #publish(next: RingConfig): void {
    this.#ring = next;
    writeRing(this.#ringFile, next);
    for (const listener of this.#listeners) listener(next);
  }
}

function pickTimings(options: Partial<ControlPlaneTimings>): Partial<ControlPlaneTimings> {
  const timings: Partial<ControlPlaneTimings> = {};
  if (options.heartbeatIntervalMs !== undefined)
    timings.heartbeatIntervalMs = options.heartbeatIntervalMs;
  if (options.leaseMs !== undefined) timings.leaseMs = options.leaseMs;
  if (options.startupGraceMs !== undefined) timings.startupGraceMs = options.startupGraceMs;
  return timings;
}

function readRing(path: string): RingConfig | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as RingConfig;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`cannot read the ring from ${path}: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

function writeRing(path: string, ring: RingConfig): void {
  mkdirSync(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, JSON.stringify(ring, null, 2));
  renameSync(temporary, path);
}
