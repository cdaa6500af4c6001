import { randomUUID } from 'node:crypto';
import {
  HANDOFF_PATHS,
  TIMEOUT_MS_MAX,
  ANY_RULE,
  integerRule,
  resolveOptions,
  type OptionRules,
  type ReleaseResult,
  type RingConfig,
} from '../protocol/index.js';
import {
  RingChangeRefused,
  planChange,
  previewChange,
  type ChangePreview,
  type RingChange,
} from '../ring/index.js';
import { PeerClient, type MemberSigner } from '../transport/index.js';
import type { ClusterStatus } from './control-plane.js';

/** What the orchestrator needs from a control plane backend. */
export interface RingChangeTarget {
  currentRing(): Promise<RingConfig>;
  /** Publishes `next` only if the ring is still at `expectedEpoch`; else throws EPOCH_CONFLICT. */
  compareAndSetRing(expectedEpoch: number, next: RingConfig): Promise<RingConfig>;
  status(): Promise<ClusterStatus>;
}

export type ChangeProgress =
  | { phase: 'planned'; preview: ChangePreview }
  | { phase: 'released'; nodeId: string; done: number; total: number; result: ReleaseResult | null }
  | { phase: 'published'; epoch: number };

export interface ChangeResult {
  epoch: number;
  preview: ChangePreview;
  releasedUsers: number;
  warmUsers: number;
  warmBytes: number;
  /** Of warmUsers, those whose warm batch the new owner did not take: they move cold. */
  warmUsersFailed: number;
  /** Why the first failed warm batch failed ('' when none did). */
  warmFailure: string;
}

/**
 * Runs an operator's ring change safely:
 *  1. plan the next ring (epoch + 1) from the current one; refuse if the caller saw another epoch;
 *  2. ask every node that loses users to *release* them: it stops serving them, waits for their
 *     in-flight writes, and hands their cached state to the new owners (warm handoff);
 *  3. publish the ring with a compare-and-set on the epoch; only now may new owners serve;
 *  4. push the ring to every node so none waits for its next heartbeat.
 * So the old owner stops before the new one starts: there is no instant with two writers. If a
 * node cannot be reached and is not dead, or the compare-and-set loses, the releases are cancelled
 * and the change is refused; nothing moved.
 */
export interface RingChangeOrchestratorOptions {
  /**
   * How long a node may take to release the users a change takes from it (it waits for their
   * in-flight writes and sends their warm state), and the deadline of every other call to a node.
   * @default 30000
   */
  releaseTimeoutMs: number;
  /**
   * Signs the calls to nodes (releases, cancels, ring pushes): member routes refuse anything else.
   * @default undefined
   */
  signer: MemberSigner | undefined;
}

export const DEFAULT_RING_CHANGE_ORCHESTRATOR_OPTIONS: Readonly<RingChangeOrchestratorOptions> =
  Object.freeze({ releaseTimeoutMs: 30_000, signer: undefined });

const RING_CHANGE_ORCHESTRATOR_RULES: OptionRules<RingChangeOrchestratorOptions> = {
  releaseTimeoutMs: integerRule(1, TIMEOUT_MS_MAX),
  signer: ANY_RULE,
};

/**
 * Runs an operator's ring change safely:
 *  1. plan the next ring (epoch + 1) from the current one; refuse if the caller saw another epoch;
 *  2. ask every node that loses users to *release* them: it stops serving them, waits for their
 *     in-flight writes, and hands their cached state to the new owners (warm handoff);
 *  3. publish the ring with a compare-and-set on the epoch; only now may new owners serve;
 *  4. push the ring to every node so none waits for its next heartbeat.
 * So the old owner stops before the new one starts: there is no instant with two writers. If a
 * node cannot be reached and is not dead, or the compare-and-set loses, the releases are cancelled
 * and the change is refused; nothing moved.
 */
export class RingChangeOrchestrator {
  readonly options: Readonly<RingChangeOrchestratorOptions>;
  readonly #target: RingChangeTarget;
  readonly #peers: PeerClient;
  #running: Promise<unknown> = Promise.resolve();

  constructor(target: RingChangeTarget, options: Partial<RingChangeOrchestratorOptions> = {}) {
    this.options = resolveOptions(
      'RingChangeOrchestrator',
      DEFAULT_RING_CHANGE_ORCHESTRATOR_OPTIONS,
      options,
      RING_CHANGE_ORCHESTRATOR_RULES,
    );
    this.#target = target;
    this.#peers = new PeerClient('ring change', {
      timeoutMs: this.options.releaseTimeoutMs,
      connectionsPerPeer: 4,
      keepAliveTimeoutMs: 10_000,
      signer: this.options.signer,
    });
  }

  async preview(change: RingChange): Promise<ChangePreview> {
    const ring = await this.#target.currentRing();
    return previewChange(ring, planChange(ring, change));
  }

  /** One change at a time per orchestrator; across routers the epoch compare-and-set decides. */
  apply(
    change: RingChange,
    expectedEpoch: number | undefined,
    progress: (event: ChangeProgress) => void = () => undefined,
  ): Promise<ChangeResult> {
    const run = this.#running.then(() => this.#apply(change, expectedEpoch, progress));
    this.#running = run.catch(() => undefined);
    return run;
  }

  async close(): Promise<void> {
    await this.#peers.close();
  }

  async #apply(
    change: RingChange,
    expectedEpoch: number | undefined,
    progress: (event: ChangeProgress) => void,
  ): Promise<ChangeResult> {
    const ring = await this.#target.currentRing();
    if (expectedEpoch !== undefined && ring.epoch !== expectedEpoch) {
      throw new RingChangeRefused(
        'EPOCH_CONFLICT',
        `the ring is at epoch ${ring.epoch}, not ${expectedEpoch}: another change came first`,
      );
    }
    const changeId = randomUUID();
    const next = { ...planChange(ring, change), changeId };
    const preview = previewChange(ring, next);
    progress({ phase: 'planned', preview });
    const result: ChangeResult = {
      epoch: ring.epoch,
      preview,
      releasedUsers: 0,
      warmUsers: 0,
      warmBytes: 0,
      warmUsersFailed: 0,
      warmFailure: '',
    };
    const contacted: string[] = [];
    try {
      await this.#releaseLosers(ring, next, result, contacted, progress);
      result.epoch = (await this.#publish(ring, next, change)).epoch;
    } catch (error) {
      await Promise.all(
        contacted.map((url) =>
          this.#post(url, HANDOFF_PATHS.cancel, { changeId }).catch(() => undefined),
        ),
      );
      throw error;
    }
    progress({ phase: 'published', epoch: result.epoch });
    await Promise.all(
      Object.values(next.nodes).map((node) =>
        node.url === ''
          ? undefined
          : this.#post(node.url, HANDOFF_PATHS.ring, { ring: next }).catch(() => undefined),
      ),
    );
    return result;
  }

  /**
   * Step 2: every live node that loses users releases them, one after the other; a dead one is
   * skipped (its users are lost to it already). Adds up the release results into `result` and
   * records each node contacted, so a failure can cancel what was released.
   */
  async #releaseLosers(
    ring: RingConfig,
    next: RingConfig,
    result: ChangeResult,
    contacted: string[],
    progress: (event: ChangeProgress) => void,
  ): Promise<void> {
    const losers = nodesLosingUsers(ring, next);
    const dead = new Set(
      (await this.#target.status()).nodes
        .filter((node) => node.state === 'dead')
        .map((node) => node.nodeId),
    );
    for (const [index, nodeId] of losers.entries()) {
      const url = ring.nodes[nodeId]?.url;
      let released: ReleaseResult | null = null;
      if (!dead.has(nodeId)) {
        if (url === undefined || url === '')
          throw new RingChangeRefused('UNKNOWN_NODE', `node ${nodeId} has no address yet`);
        contacted.push(url);
        released = await this.#post<ReleaseResult>(url, HANDOFF_PATHS.release, {
          changeId: next.changeId,
          targetRing: next,
        }).catch((error: unknown) => {
          const { code, message } = error as { code?: string; message: string };
          throw new RingChangeRefused(
            'NODE_BUSY',
            `node ${nodeId} did not release its users: ${code === undefined ? '' : `${code}: `}${message}`,
          );
        });
        result.releasedUsers += released.releasedUsers;
        result.warmUsers += released.warmUsers;
        result.warmBytes += released.warmBytes;
        // A node of the previous release reports neither field (a rolling upgrade): none failed.
        result.warmUsersFailed += released.warmUsersFailed ?? 0;
        if (result.warmFailure === '') result.warmFailure = released.warmFailure ?? '';
      }
      progress({
        phase: 'released',
        nodeId,
        done: index + 1,
        total: losers.length,
        result: released,
      });
    }
  }

  /**
   * Compare-and-set of the planned ring. Nodes joining or re-registering also move the epoch; if
   * that is all that happened meanwhile (the same plan gives the same slots), plan again on the
   * newer ring and retry, a bounded number of times. Any other intervening change wins.
   */
  async #publish(planned: RingConfig, next: RingConfig, change: RingChange): Promise<RingConfig> {
    let base = planned;
    let candidate = next;
    for (let attempt = 0; ; attempt += 1) {
      try {
        return await this.#target.compareAndSetRing(base.epoch, candidate);
      } catch (error) {
        if (
          !(error instanceof RingChangeRefused) ||
          error.code !== 'EPOCH_CONFLICT' ||
          attempt >= PUBLISH_ATTEMPTS_MAX
        )
          throw error;
        base = await this.#target.currentRing();
        const replanned: RingConfig = {
          ...planChange(base, change),
          changeId: next.changeId ?? '',
        };
        if (!sameAssignments(replanned, next)) throw error;
        candidate = replanned;
      }
    }
  }

  /** A call to a node's handoff routes; a refusal or an unreachable node throws a catalogue error. */
  #post<T>(baseUrl: string, path: string, body: unknown): Promise<T> {
    return this.#peers.call<T>(baseUrl, { method: 'POST', path, body });
  }
}

const PUBLISH_ATTEMPTS_MAX = 5;

function sameAssignments(a: RingConfig, b: RingConfig): boolean {
  const key = (ring: RingConfig) => JSON.stringify([ring.virtualNodesPerWeight, ring.slots]);
  return key(a) === key(b);
}

/** Nodes that serve a slot now and would lose some users under `next` (any user's owner changes away from them). */
export function nodesLosingUsers(ring: RingConfig, next: RingConfig): string[] {
  const losers = new Set<string>();
  for (const assignment of ring.slots) {
    const nextOwner = next.slots.find((a) => a.slot === assignment.slot)?.nodeId;
    if (nextOwner !== assignment.nodeId) losers.add(assignment.nodeId);
  }
  // A new slot takes users from every slot's owner (its virtual nodes land all over the ring).
  const added = next.slots.some((a) => !ring.slots.some((b) => b.slot === a.slot));
  const weightsChanged = next.virtualNodesPerWeight !== ring.virtualNodesPerWeight;
  if (added || weightsChanged) for (const assignment of ring.slots) losers.add(assignment.nodeId);
  return [...losers];
}
