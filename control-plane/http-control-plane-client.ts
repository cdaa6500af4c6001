import { Agent, request } from 'undici';
import { ChatringError, errorFromBody, type NodeInfo, type RingConfig } from '../protocol/index.js';
import type { ClusterStatus, HeartbeatReply } from './control-plane.js';
import type { ChangePreview } from '../ring/index.js';
import type { ChangeProgress, ChangeResult } from './ring-change-orchestrator.js';
import { RING_CHANGE_PATHS } from './ring-change-routes.js';
import { CONTROL_PLANE_PATHS } from './control-plane-routes.js';

/** A node's (and ringctl's) handle on a control plane served over HTTP by a router. */
export class HttpControlPlaneClient {
  readonly #baseUrl: string;
  readonly #timeoutMs: number;
  readonly #agent = new Agent({ keepAliveTimeout: 10_000, connections: 2 });

  constructor(baseUrl: string, timeoutMs = 1_000) {
    this.#baseUrl = baseUrl.replace(/\/$/, '');
    this.#timeoutMs = timeoutMs;
  }

  heartbeat(node: NodeInfo): Promise<HeartbeatReply> {
    return this.#call<HeartbeatReply>('POST', CONTROL_PLANE_PATHS.heartbeat, node);
  }

  currentRing(): Promise<RingConfig> {
    return this.#call<RingConfig>('GET', CONTROL_PLANE_PATHS.ring);
  }

  status(): Promise<ClusterStatus> {
    return this.#call<ClusterStatus>('GET', CONTROL_PLANE_PATHS.status);
  }

  previewChange(change: unknown): Promise<ChangePreview> {
    return this.#call<ChangePreview>('POST', RING_CHANGE_PATHS.preview, { change });
  }

  /** Applies a change, reporting progress as the router streams it; throws the refusal if any. */
  async applyChange(
    change: unknown,
    expectedEpoch: number | undefined,
    onProgress: (event: ChangeProgress) => void,
  ): Promise<ChangeResult> {
    let response;
    try {
      response = await request(`${this.#baseUrl}${RING_CHANGE_PATHS.apply}`, {
        method: 'POST',
        dispatcher: this.#agent,
        headersTimeout: this.#timeoutMs,
        bodyTimeout: this.#timeoutMs,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(expectedEpoch === undefined ? { change } : { change, expectedEpoch }),
      });
    } catch (error) {
      throw new ChatringError(
        'OWNER_UNAVAILABLE',
        `control plane ${this.#baseUrl} unreachable: ${(error as Error).message}`,
        { cause: error },
      );
    }
    let buffer = '';
    let outcome: { result?: ChangeResult; error?: { code: string; message: string } } = {};
    for await (const chunk of response.body) {
      buffer += String(chunk);
      let newline;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        const line = JSON.parse(buffer.slice(0, newline)) as {
          progress?: ChangeProgress;
          result?: ChangeResult;
          error?: { code: string; message: string };
        };
        buffer = buffer.slice(newline + 1);
        if (line.progress !== undefined) onProgress(line.progress);
        else outcome = line;
      }
    }
    if (buffer.trim() !== '') outcome = JSON.parse(buffer) as typeof outcome;
    if (outcome.result !== undefined) return outcome.result;
    throw new Error(
      `${outcome.error?.code ?? 'CHANGE_FAILED'}: ${outcome.error?.message ?? 'no answer'}`,
    );
  }

  async close(): Promise<void> {
    await this.#agent.close();
  }

  async #call<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    let response;
    try {
      response = await request(`${this.#baseUrl}${path}`, {
        method,
        dispatcher: this.#agent,
        headersTimeout: this.#timeoutMs,
        bodyTimeout: this.#timeoutMs,
        ...(body === undefined
          ? {}
          : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
      });
    } catch (error) {
      throw new ChatringError(
        'OWNER_UNAVAILABLE',
        `control plane ${this.#baseUrl} unreachable: ${(error as Error).message}`,
        { cause: error },
      );
    }
    const parsed = (await response.body.json()) as unknown;
    if (response.statusCode !== 200) {
      throw (
        errorFromBody(parsed) ??
        new ChatringError('INTERNAL', `control plane answered ${response.statusCode}`)
      );
    }
    return parsed as T;
  }
}
