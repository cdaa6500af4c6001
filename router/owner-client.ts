import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, request, type Dispatcher } from 'undici';
import {
  ChatringError,
  RING_EPOCH_HEADER,
  errorFromBody,
  type RingView,
} from '../protocol/index.js';

export interface OwnerClientOptions {
  /**
   * Deadline of one attempt (connect to last byte), in ms.
   * @default 5000
   */
  attemptTimeoutMs: number;
  /**
   * How long a request may keep retrying while its owner moves or fails over, in ms. Covers the
   * failure-detection time (lease + one heartbeat) so a failover is invisible to callers.
   * @default 6000
   */
  retryBudgetMs: number;
  /**
   * Keep-alive connections per node.
   * @default 64
   */
  connectionsPerNode: number;
}

export const DEFAULT_OWNER_CLIENT_OPTIONS: Readonly<OwnerClientOptions> = Object.freeze({
  attemptTimeoutMs: 5_000,
  retryBudgetMs: 6_000,
  connectionsPerNode: 64,
});

export interface OwnerRequest {
  method: 'GET' | 'POST';
  /** Path and query, forwarded as is. */
  path: string;
  body?: unknown;
}

export interface OwnerResponse {
  statusCode: number;
  body: unknown;
}

/**
 * Calls the node that owns a user, over keep-alive undici pools. It looks the owner up again on
 * every attempt; a NOT_OWNER answer (the ring moved) refreshes the ring first. Every chatring call
 * is idempotent (sends by clientMessageId), so connection failures and OWNER_UNAVAILABLE are
 * retried too, with backoff, until the retry budget is spent.
 */
export class OwnerClient {
  readonly #options: Readonly<OwnerClientOptions>;
  readonly #ring: () => RingView | undefined;
  readonly #refreshRing: () => Promise<void>;
  readonly #agent: Dispatcher;

  constructor(
    ring: () => RingView | undefined,
    refreshRing: () => Promise<void>,
    options: Partial<OwnerClientOptions> = {},
  ) {
    this.#options = Object.freeze({ ...DEFAULT_OWNER_CLIENT_OPTIONS, ...options });
    this.#ring = ring;
    this.#refreshRing = refreshRing;
    this.#agent = new Agent({
      keepAliveTimeout: 30_000,
      connections: this.#options.connectionsPerNode,
    });
  }

  /**
   * `stopRetrying`, checked before every retry, ends the loop early with its error: a caller whose
   * own reason to wait is gone (a node no longer serving the user it calls for) must not hold on.
   */
  async call(
    userId: string,
    ownerRequest: OwnerRequest,
    stopRetrying: () => ChatringError | undefined = () => undefined,
  ): Promise<OwnerResponse> {
    const deadline = performance.now() + this.#options.retryBudgetMs;
    let lastError = new ChatringError('OWNER_UNAVAILABLE', `no node serves ${userId}`);
    for (let attempt = 0; ; attempt += 1) {
      if (attempt > 0) {
        if (performance.now() >= deadline) throw lastError;
        const stop = stopRetrying();
        if (stop !== undefined) throw stop;
        await sleep(Math.min(25 * 2 ** attempt, 400));
        await this.#refreshRing().catch(() => undefined);
      }
      const ring = this.#ring();
      const owner = ring?.ownerOf(userId);
      if (ring === undefined || owner === undefined || owner.url === '') continue;
      let response: OwnerResponse;
      try {
        response = await this.#send(owner.url, ring.epoch, ownerRequest);
      } catch (error) {
        lastError = new ChatringError(
          'OWNER_UNAVAILABLE',
          `node ${owner.nodeId} unreachable: ${(error as Error).message}`,
          { cause: error },
        );
        continue;
      }
      const refused = errorFromBody(response.body);
      if (refused?.code === 'NOT_OWNER' || refused?.code === 'OWNER_UNAVAILABLE') {
        lastError = refused;
        continue;
      }
      return response;
    }
  }

  async close(): Promise<void> {
    await this.#agent.close();
  }

  async #send(baseUrl: string, epoch: number, ownerRequest: OwnerRequest): Promise<OwnerResponse> {
    const timeout = this.#options.attemptTimeoutMs;
    const response = await request(`${baseUrl}${ownerRequest.path}`, {
      method: ownerRequest.method,
      dispatcher: this.#agent,
      headersTimeout: timeout,
      bodyTimeout: timeout,
      headers: {
        [RING_EPOCH_HEADER]: String(epoch),
        ...(ownerRequest.body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(ownerRequest.body === undefined ? {} : { body: JSON.stringify(ownerRequest.body) }),
    });
    return { statusCode: response.statusCode, body: await response.body.json() };
  }
}
