import { Agent, request } from 'undici';
import { ChatringError, errorFromBody, type NodeInfo, type RingConfig } from '../protocol/index.js';
import type { ClusterStatus, HeartbeatReply } from './control-plane.js';
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
