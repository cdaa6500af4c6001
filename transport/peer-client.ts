import { Agent, type Dispatcher } from 'undici';
import {
  ANY_RULE,
  ChatringError,
  TIMEOUT_MS_MAX,
  errorFromBody,
  integerRule,
  resolveOptions,
  type OptionRules,
} from '../protocol/index.js';
import { MEMBER_SIGNATURE_HEADER, type MemberSigner } from './security/index.js';

/**
 * The one HTTP client between chatring's own processes: node → node (warm handoff; a delivery to
 * a node without links), router → node (ring-change releases; public calls to a node without
 * links) and node/ringctl → control plane. Public calls and deliveries otherwise ride member links
 * (link/). One policy for all of them:
 *
 * - keep-alive undici pools, one per peer origin, bounded by `connectionsPerPeer`, and at most
 *   `queuedPerPeerMax` more requests waiting for a connection: beyond that a call fails at once
 *   with OVERLOADED (retryable by the app, never by us) instead of queueing without bound;
 * - every request has one deadline (`timeoutMs`: to the answer's headers, and again between body
 *   chunks);
 * - a peer that cannot be reached, resets, or misses the deadline is `OWNER_UNAVAILABLE`
 *   (retryable; the cause is kept), never a plain Error;
 * - `call` turns a non-2xx answer into the catalogue error its body carries, or `INTERNAL` when the
 *   body carries none; `send` hands back any status for callers that decide themselves;
 * - every request is signed as this member when the client has a signer (member routes refuse
 *   anything else), or carries the bearer token it was given (ringctl's operator token);
 * - no retries here. Retrying is a decision of the caller that knows the call is idempotent and
 *   where to send it next (`OwnerClient` re-resolves the owner on every attempt).
 */

export interface PeerClientOptions {
  /**
   * Deadline of one request, in ms.
   * @default 5000
   */
  timeoutMs: number;
  /**
   * Keep-alive connections per peer origin.
   * @default 64
   */
  connectionsPerPeer: number;
  /**
   * Requests per peer origin that may wait for a connection beyond `connectionsPerPeer`.
   * @default 1024
   */
  queuedPerPeerMax: number;
  /**
   * Idle keep-alive sockets are closed after this, in ms.
   * @default 30000
   */
  keepAliveTimeoutMs: number;
  /**
   * Signs every request as this member (transport/security). Undefined: unsigned.
   * @default undefined
   */
  signer: MemberSigner | undefined;
  /**
   * Sent as `authorization: Bearer <token>` when there is no signer (ringctl's operator token).
   * @default undefined
   */
  bearerToken: string | undefined;
}

export const DEFAULT_PEER_CLIENT_OPTIONS: Readonly<PeerClientOptions> = Object.freeze({
  timeoutMs: 5_000,
  connectionsPerPeer: 64,
  queuedPerPeerMax: 1_024,
  keepAliveTimeoutMs: 30_000,
  signer: undefined,
  bearerToken: undefined,
});

const PEER_CLIENT_RULES: OptionRules<PeerClientOptions> = {
  timeoutMs: integerRule(1, TIMEOUT_MS_MAX),
  connectionsPerPeer: integerRule(1, 10_000),
  queuedPerPeerMax: integerRule(0, 1_000_000),
  keepAliveTimeoutMs: integerRule(1, TIMEOUT_MS_MAX),
  signer: ANY_RULE,
  bearerToken: ANY_RULE,
};

export interface PeerRequest {
  method: 'GET' | 'POST';
  /** Path and query. */
  path: string;
  /** Sent as JSON when present. */
  body?: unknown;
  headers?: Record<string, string>;
  /** This request's deadline, when it differs from the client's. */
  timeoutMs?: number;
  /**
   * The peer may hold its answer a long while by design (a change-feed wait; `timeoutMs` covers
   * it): on a member link such a request does not count against the link's in-flight bound, so
   * idle watches never crowd out the calls that answer at once.
   */
  held?: boolean;
  /**
   * The user the request is for, when it goes to that user's owner: a member link abandons it at
   * once when the ring moves the user to another node (`MemberLinks.abandonMoved`).
   */
  userId?: string;
}

export interface PeerResponse {
  statusCode: number;
  body: unknown;
}

/** An answer as it came: the router relays these bytes without parsing them. */
export interface RawPeerResponse {
  statusCode: number;
  bytes: Buffer;
}

export class PeerClient {
  readonly options: Readonly<PeerClientOptions>;
  /** Who is calling, for error messages ("control plane", "deliver", ...). */
  readonly #name: string;
  readonly #agent: Dispatcher;
  /** Requests under way per peer origin (waiting for a connection included). */
  readonly #inFlight = new Map<string, number>();

  constructor(name: string, options: Partial<PeerClientOptions> = {}) {
    this.options = resolveOptions(
      'PeerClient',
      DEFAULT_PEER_CLIENT_OPTIONS,
      options,
      PEER_CLIENT_RULES,
    );
    this.#name = name;
    this.#agent = new Agent({
      keepAliveTimeout: this.options.keepAliveTimeoutMs,
      connections: this.options.connectionsPerPeer,
    });
  }

  /** Sends one request and reads its JSON answer, whatever its status. */
  async send(baseUrl: string, peerRequest: PeerRequest): Promise<PeerResponse> {
    const release = this.#admit(baseUrl, peerRequest);
    try {
      const response = await this.#request(baseUrl, peerRequest);
      let text: string;
      try {
        text = await response.body.text();
      } catch (error) {
        throw this.#failure(baseUrl, peerRequest, error);
      }
      return { statusCode: response.statusCode, body: this.#parse(peerRequest, text) };
    } finally {
      release();
    }
  }

  /** Sends one request and hands back its answer's bytes, whatever its status, unparsed. */
  async relay(baseUrl: string, peerRequest: PeerRequest): Promise<RawPeerResponse> {
    const release = this.#admit(baseUrl, peerRequest);
    try {
      const response = await this.#request(baseUrl, peerRequest);
      let bytes: Buffer;
      try {
        bytes = Buffer.from(await response.body.arrayBuffer());
      } catch (error) {
        throw this.#failure(baseUrl, peerRequest, error);
      }
      return { statusCode: response.statusCode, bytes };
    } finally {
      release();
    }
  }

  /** Sends one request; a 2xx answer's body is the result, anything else throws its catalogue error. */
  async call<T>(baseUrl: string, peerRequest: PeerRequest): Promise<T> {
    const response = await this.send(baseUrl, peerRequest);
    if (response.statusCode >= 200 && response.statusCode < 300) return response.body as T;
    throw this.#refusal(peerRequest, response);
  }

  /**
   * Sends one request whose answer is newline-delimited JSON (a stream of progress lines) and
   * hands each line to `onLine` as it arrives. A non-2xx answer throws its catalogue error.
   */
  async callLines(
    baseUrl: string,
    peerRequest: PeerRequest,
    onLine: (line: unknown) => void,
  ): Promise<void> {
    const release = this.#admit(baseUrl, peerRequest);
    try {
      await this.#readLines(baseUrl, peerRequest, onLine);
    } finally {
      release();
    }
  }

  async #readLines(
    baseUrl: string,
    peerRequest: PeerRequest,
    onLine: (line: unknown) => void,
  ): Promise<void> {
    const response = await this.#request(baseUrl, peerRequest);
    if (response.statusCode < 200 || response.statusCode >= 300) {
      const text = await response.body.text().catch(() => '');
      throw this.#refusal(peerRequest, {
        statusCode: response.statusCode,
        body: parseOrText(text),
      });
    }
    let buffer = '';
    try {
      for await (const chunk of response.body) {
        buffer += String(chunk);
        let newline;
        while ((newline = buffer.indexOf('\n')) >= 0) {
          const line = buffer.slice(0, newline);
          buffer = buffer.slice(newline + 1);
          if (line.trim() !== '') onLine(this.#parse(peerRequest, line));
        }
      }
    } catch (error) {
      throw this.#failure(baseUrl, peerRequest, error);
    }
    if (buffer.trim() !== '') onLine(this.#parse(peerRequest, buffer));
  }

  /** The catalogue error a refused answer carries, or INTERNAL naming the status. */
  #refusal(peerRequest: PeerRequest, response: PeerResponse): ChatringError {
    return (
      errorFromBody(response.body) ??
      new ChatringError(
        'INTERNAL',
        `${this.#name}: ${peerRequest.method} ${peerRequest.path} answered ${response.statusCode}`,
      )
    );
  }

  /** Counts a request against its peer's bound; the returned function ends it. */
  #admit(baseUrl: string, peerRequest: PeerRequest): () => void {
    const underWay = this.#inFlight.get(baseUrl) ?? 0;
    if (underWay >= this.options.connectionsPerPeer + this.options.queuedPerPeerMax)
      throw new ChatringError(
        'OVERLOADED',
        `${this.#name}: ${underWay} requests already under way to ${baseUrl}; ${peerRequest.method} ${peerRequest.path} not sent`,
      );
    this.#inFlight.set(baseUrl, underWay + 1);
    return () => {
      const left = (this.#inFlight.get(baseUrl) ?? 1) - 1;
      if (left === 0) this.#inFlight.delete(baseUrl);
      else this.#inFlight.set(baseUrl, left);
    };
  }

  async close(): Promise<void> {
    await this.#agent.close();
  }

  async #request(baseUrl: string, peerRequest: PeerRequest): Promise<Dispatcher.ResponseData> {
    const timeoutMs = peerRequest.timeoutMs ?? this.options.timeoutMs;
    const body = peerRequest.body === undefined ? undefined : JSON.stringify(peerRequest.body);
    try {
      // The dispatcher's own request: the origin keys the pool, no URL is built or parsed per call.
      return await this.#agent.request({
        origin: baseUrl,
        path: peerRequest.path,
        method: peerRequest.method,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        headers: {
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...this.#credentialHeaders(peerRequest, body),
          ...peerRequest.headers,
        },
        ...(body === undefined ? {} : { body }),
      });
    } catch (error) {
      throw this.#failure(baseUrl, peerRequest, error);
    }
  }

  #credentialHeaders(peerRequest: PeerRequest, body: string | undefined): Record<string, string> {
    const { signer, bearerToken } = this.options;
    if (signer !== undefined)
      return {
        [MEMBER_SIGNATURE_HEADER]: signer.sign(peerRequest.method, peerRequest.path, body),
      };
    return bearerToken === undefined ? {} : { authorization: `Bearer ${bearerToken}` };
  }

  #parse(peerRequest: PeerRequest, text: string): unknown {
    return parsePeerAnswer(this.#name, peerRequest, text);
  }

  #failure(baseUrl: string, peerRequest: PeerRequest, error: unknown): ChatringError {
    if (error instanceof ChatringError) return error;
    return new ChatringError(
      'OWNER_UNAVAILABLE',
      `${this.#name}: ${peerRequest.method} ${baseUrl}${peerRequest.path} failed: ${(error as Error).message}`,
      { cause: error },
    );
  }
}

/**
 * A peer's answer as JSON; undefined when empty. A peer that answers something other than JSON is
 * a bug on one side, not an outage: INTERNAL, naming the caller and the request.
 */
export function parsePeerAnswer(name: string, peerRequest: PeerRequest, text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new ChatringError(
      'INTERNAL',
      `${name}: ${peerRequest.method} ${peerRequest.path} answered something other than JSON`,
    );
  }
}

function parseOrText(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
