import { readFileSync, renameSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import {
  ANY_RULE,
  ChatringError,
  MEMBER_RETENTION_MS,
  SYSTEM_CLOCK,
  requireOption,
  resolveOptions,
  type Clock,
  type NodeInfo,
  type OptionRules,
  type RingConfig,
} from '../protocol/index.js';
import {
  separateTimings,
  type ClusterStatus,
  type ControlPlane,
  type ControlPlaneTimings,
  type HeartbeatReply,
} from './control-plane.js';
import { RingChangeRefused, clusterStatusOf, knownNodeIds, planFailover } from '../ring/index.js';
import { planNodeUpdate } from './node-registration.js';
import { checkedRing, checkedRingOption } from './ring-config-check.js';

export interface InProcessControlPlaneOptions extends Partial<ControlPlaneTimings> {
  /** Where the ring is kept between restarts (JSON, replaced atomically on every change). */
  ringFile: string;
  /** The ring to start from when `ringFile` does not exist yet. */
  initialRing: RingConfig;
  /** Time for leases and the start-up grace (injected for tests). @default SYSTEM_CLOCK */
  clock?: Clock;
}

const COMPONENT = 'InProcessControlPlane';

/** Every option but the timings, which resolveControlPlaneTimings checks. */
type InProcessOnlyOptions = Omit<InProcessControlPlaneOptions, keyof ControlPlaneTimings>;

const DEFAULT_IN_PROCESS_CONTROL_PLANE_OPTIONS: Readonly<
  Required<Pick<InProcessOnlyOptions, 'clock'>>
> = Object.freeze({ clock: SYSTEM_CLOCK });

const IN_PROCESS_OPTION_RULES: OptionRules<InProcessOnlyOptions> = {
  ringFile: { kind: 'string', pattern: /./, describe: 'a file path' },
  initialRing: ANY_RULE,
  clock: ANY_RULE,
};

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
    const { ringFile, initialRing, now, timings } = resolveInProcessOptions(options);
    this.timings = timings;
    this.#ringFile = ringFile;
    this.#now = now;
    this.#ring = readRing(ringFile) ?? initialRing;
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
    const next = planNodeUpdate(this.#ring, node);
    if (next !== undefined) this.#publish(next);
    return { ring: this.#ring, leaseMs: this.timings.leaseMs };
  }

  async compareAndSetRing(expectedEpoch: number, next: RingConfig): Promise<RingConfig> {
    if (this.#ring.epoch !== expectedEpoch || next.epoch !== expectedEpoch + 1) {
      throw new RingChangeRefused(
        'EPOCH_CONFLICT',
        `the ring is at epoch ${this.#ring.epoch}, the change expected ${expectedEpoch}`,
      );
    }
    // Checked like a ring read back from storage: no backend publishes a ring nodes would refuse.
    this.#publish(checkedRing('the ring to publish', next));
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
    const next = planFailover(
      this.#ring,
      liveness,
      this.#now(),
      this.timings.leaseMs,
      MEMBER_RETENTION_MS,
    );
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

/** Checks every option (INVALID_OPTION naming a bad one) and the timings by the shared rule. */
function resolveInProcessOptions(given: InProcessControlPlaneOptions): {
  ringFile: string;
  initialRing: RingConfig;
  now: () => number;
  timings: Readonly<ControlPlaneTimings>;
} {
  const { timings, own: rest } = separateTimings(COMPONENT, given);
  requireOption(rest.ringFile !== undefined, COMPONENT, 'ringFile', 'is required');
  // resolveOptions fills the defaults' keys and checked ringFile: the cast says what it guarantees.
  const checked = resolveOptions<Partial<InProcessOnlyOptions>>(
    COMPONENT,
    DEFAULT_IN_PROCESS_CONTROL_PLANE_OPTIONS,
    rest,
    IN_PROCESS_OPTION_RULES,
  ) as Readonly<Required<Pick<InProcessOnlyOptions, 'ringFile' | 'clock'>>> &
    Readonly<InProcessOnlyOptions>;
  const { ringFile, initialRing, clock } = checked;
  requireOption(initialRing !== undefined, COMPONENT, 'initialRing', 'is required');
  requireOption(
    typeof clock?.monotonicNow === 'function',
    COMPONENT,
    'clock',
    'must be a Clock (monotonicNow, wallNow, sleep)',
  );
  return {
    ringFile,
    initialRing: checkedRingOption(COMPONENT, 'initialRing', initialRing),
    now: () => clock.monotonicNow(),
    timings,
  };
}

/** The ring kept in `path`; undefined when there is none yet. A damaged file stops the start. */
function readRing(path: string): RingConfig | undefined {
  let ring: unknown;
  try {
    ring = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ChatringError(
      'INTERNAL',
      `cannot read the ring from ${path}: ${(error as Error).message}`,
      { cause: error },
    );
  }
  return checkedRing(`the ring file ${path}`, ring);
}

function writeRing(path: string, ring: RingConfig): void {
  mkdirSync(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, JSON.stringify(ring, null, 2));
  renameSync(temporary, path);
}
