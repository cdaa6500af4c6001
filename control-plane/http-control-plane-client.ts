import {
  ChatringError,
  errorFromBody,
  parseHeartbeatReply,
  parseRingConfig,
  type NodeInfo,
  type RingConfig,
} from '../protocol/index.js';
import type { ChangePreview } from '../ring/index.js';
import { PeerClient, type MemberSigner } from '../transport/index.js';
import type { ClusterStatus, HeartbeatReply } from './control-plane.js';
import { CONTROL_PLANE_PATHS } from './control-plane-routes.js';
import type { ChangeProgress, ChangeResult } from './ring-change-orchestrator.js';
import { RING_CHANGE_PATHS } from './ring-change-routes.js';

export interface HttpControlPlaneClientOptions {
  /** Bounds each request, and each wait between lines of a change's progress. @default 1000 */
  timeoutMs?: number;
  /** A member (a node, the launcher) signs: heartbeats and the ring are member routes. */
  signer?: MemberSigner | undefined;
  /** ringctl without the cluster secret: the operator token (status and changes only). */
  bearerToken?: string | undefined;
}

const DEFAULT_TIMEOUT_MS = 1_000;

/**
 * A node's (and ringctl's) handle on a control plane served over HTTP by a router. Every failure is
 * a catalogue error: the refusal the router answered, or OWNER_UNAVAILABLE when it cannot be
 * reached in time (PeerClient's policy).
 */
export class HttpControlPlaneClient {
  readonly #baseUrl: string;
  readonly #peers: PeerClient;

  constructor(baseUrl: string, options: HttpControlPlaneClientOptions = {}) {
    this.#baseUrl = baseUrl.replace(/\/$/, '');
    this.#peers = new PeerClient('control plane', {
      timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      connectionsPerPeer: 2,
      keepAliveTimeoutMs: 10_000,
      signer: options.signer,
      bearerToken: options.bearerToken,
    });
  }

  /** The reply is parsed, not cast: a node fences itself by the lease and the ring it carries. */
  async heartbeat(node: NodeInfo): Promise<HeartbeatReply> {
    const reply = await this.#peers.call<unknown>(this.#baseUrl, {
      method: 'POST',
      path: CONTROL_PLANE_PATHS.heartbeat,
      body: node,
    });
    return parseHeartbeatReply(reply);
  }

  async currentRing(): Promise<RingConfig> {
    const ring = await this.#peers.call<unknown>(this.#baseUrl, {
      method: 'GET',
      path: CONTROL_PLANE_PATHS.ring,
    });
    return parseRingConfig(ring);
  }

  status(): Promise<ClusterStatus> {
    return this.#peers.call<ClusterStatus>(this.#baseUrl, {
      method: 'GET',
      path: CONTROL_PLANE_PATHS.status,
    });
  }

  previewChange(change: unknown): Promise<ChangePreview> {
    return this.#peers.call<ChangePreview>(this.#baseUrl, {
      method: 'POST',
      path: RING_CHANGE_PATHS.preview,
      body: { change },
    });
  }

  /**
   * Applies a change, reporting progress as the router streams it (one NDJSON line per event, then
   * `{result}` or `{error}`). Throws the refusal the last line carries, as its catalogue error.
   */
  async applyChange(
    change: unknown,
    expectedEpoch: number | undefined,
    onProgress: (event: ChangeProgress) => void,
  ): Promise<ChangeResult> {
    let outcome: unknown;
    await this.#peers.callLines(
      this.#baseUrl,
      {
        method: 'POST',
        path: RING_CHANGE_PATHS.apply,
        body: expectedEpoch === undefined ? { change } : { change, expectedEpoch },
      },
      (line) => {
        const progress = (line as { progress?: ChangeProgress } | null)?.progress;
        if (progress !== undefined) onProgress(progress);
        else outcome = line;
      },
    );
    const result = (outcome as { result?: ChangeResult } | null | undefined)?.result;
    if (result !== undefined) return result;
    throw (
      errorFromBody(outcome) ??
      new ChatringError(
        'CHANGE_FAILED',
        `control plane ${this.#baseUrl} ended the change without a result: ${JSON.stringify(outcome) ?? 'no answer'}`,
      )
    );
  }

  async close(): Promise<void> {
    await this.#peers.close();
  }
}
