import {
  DELIVER_PATH,
  ANY_RULE,
  BOOLEAN_RULE,
  ChatringError,
  RING_EPOCH_HEADER,
  SYSTEM_CLOCK,
  TIMEOUT_MS_MAX,
  errorFromBody,
  integerRule,
  resolveOptions,
  type Clock,
  type OptionRules,
  TIMED_OUT,
  settleWithin,
} from '../protocol/index.js';
import { REQUEST_ID_HEADER } from './logging/logger.js';
import type { RingView } from '../ring/index.js';
import {
  PeerClient,
  parsePeerAnswer,
  type PeerRequest,
  type PeerResponse,
  type RawPeerResponse,
} from './peer-client.js';
import type { MemberSigner } from './security/index.js';
import { LINK_TIMEOUT_CODE, MemberLinks, linkCredentials } from './link/link-client.js';

export interface OwnerClientOptions {
  /**
   * Deadline of one attempt (connect to last byte), in ms. Above the longest a live owner takes
   * to answer on its own (a send: its delivery, bounded at 4 s, then its own store commit, 3 s on
   * Cassandra by default), so the owner's verdict (STORE_UNAVAILABLE, OWNER_UNAVAILABLE) reaches
   * the caller instead of a timeout whose retry queues on the user lock the first attempt still
   * holds. A dead or cut-off owner is found sooner: its link goes silent (2 s, link-client.ts).
   * @default 8000
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
  /**
   * Signs every forwarded request as this member (nodes take the router's forwards as a member's).
   * @default undefined
   */
  signer: MemberSigner | undefined;
  /**
   * Calls of the public API (`/v1/…`) go over links (transport/link): one connection per node
   * carrying many requests at once, opened by an upgrade with the client's credential (its
   * member signature, or its app token). When false, or to a node that refuses a link, they go
   * over HTTP; every other call (node to node, control plane) always does.
   * @default true
   */
  memberLinks: boolean;
  /**
   * Sent as `authorization: Bearer <token>` when there is no signer: a ring-aware app client
   * (client/) calls owners with its app token.
   * @default undefined
   */
  bearerToken: string | undefined;
  /**
   * Told the reason of the failed attempt each time a call is tried again (the process's metrics:
   * `chatring_owner_retries_total{reason}`). Called before the backoff, never for a call's first
   * attempt or once the call gives up.
   * @default undefined
   */
  onRetry: ((reason: OwnerRetryReason) => void) | undefined;
}

/**
 * Why an attempt failed and was tried again: `wrong_owner` (NOT_OWNER: the ring moved),
 * `unavailable` (OWNER_UNAVAILABLE, unreachable, reset, an empty or garbled answer), `timeout` (no
 * answer within the attempt's timeout or the call's deadline), `no_owner` (the ring held no node
 * for the user then). A fixed set: a label value, never a node or user id.
 */
export const OWNER_RETRY_REASONS = ['wrong_owner', 'unavailable', 'timeout', 'no_owner'] as const;
export type OwnerRetryReason = (typeof OWNER_RETRY_REASONS)[number];

export const DEFAULT_OWNER_CLIENT_OPTIONS: Readonly<OwnerClientOptions> = Object.freeze({
  attemptTimeoutMs: 8_000,
  retryBudgetMs: 6_000,
  connectionsPerNode: 64,
  signer: undefined,
  memberLinks: true,
  bearerToken: undefined,
  onRetry: undefined,
});

const OWNER_CLIENT_RULES: OptionRules<OwnerClientOptions> = {
  attemptTimeoutMs: integerRule(1, TIMEOUT_MS_MAX),
  retryBudgetMs: integerRule(0, TIMEOUT_MS_MAX),
  connectionsPerNode: integerRule(1, 10_000),
  signer: ANY_RULE,
  memberLinks: BOOLEAN_RULE,
  bearerToken: { kind: 'string', pattern: /^\S+$/, describe: 'a bearer token' },
  onRetry: ANY_RULE,
};

/** undici's errors for an attempt that got no answer in time (connect, headers, body). */
const TIMEOUT_ERROR_CODES = new Set([
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  LINK_TIMEOUT_CODE,
]);

/** An attempt abandoned at the caller's deadline. */
class DeadlinePassedError extends Error {}

/** Backoff between attempts: 50, 100, 200, then 400 ms. */
const RETRY_DELAY_MS_MIN = 25;
const RETRY_DELAY_MS_MAX = 400;

export interface OwnerRequest {
  method: 'GET' | 'POST';
  /** Path and query, forwarded as is. */
  path: string;
  body?: unknown;
  /** The request id this call serves (`x-request-id`), so the owner's log lines carry it too. */
  requestId?: string;
  /**
   * How long the owner may hold its answer by design, in ms (a change-feed `waitMs`): each
   * attempt's timeout is this much longer, and on a link the request is not counted against
   * the link's in-flight bound (`PeerRequest.held`).
   */
  holdMs?: number;
}

/** What bounds one call beyond the client's options. */
export interface OwnerCallLimits {
  /**
   * When the call must be over, in monotonic ms on this client's clock. It replaces the retry
   * budget: no attempt starts at or after it, each attempt's timeout, each backoff and each wait
   * for a ring refresh is cut to the time left. A caller with a deadline of its own (the app
   * client) passes it, so that its loop and this one do not add up.
   * @default undefined (the retry budget, from the first retry on)
   */
  deadlineAtMs?: number;
  /** The same, counted from the call's start: `deadlineAtMs` is now + this. */
  withinMs?: number;
}

export type OwnerResponse = PeerResponse;
export type RawOwnerResponse = RawPeerResponse;

/** A 2xx the caller keeps as bytes: nothing to inspect. */
const SUCCESS = Symbol('success');
const NEVER_STOP = (): undefined => undefined;
const NO_LIMITS: OwnerCallLimits = Object.freeze({});

/** What links carry: the public API, and node-to-node delivery for members (cache-node/link-routes.ts). */
const PUBLIC_API_PREFIX = '/v1/';

/** A refusal's body, parsed to read its code; bytes that are not JSON count as no answer. */
function parseRefusal(bytes: Buffer): unknown {
  try {
    return JSON.parse(bytes.toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * Calls the node that owns a user: public calls and deliveries on member links, anything else over
 * keep-alive undici pools (`memberLinks: false`: everything). It looks the owner up again on
 * every attempt; a NOT_OWNER answer (the ring moved) refreshes the ring first. Every chatring call
 * is idempotent (sends by clientMessageId), so connection failures and OWNER_UNAVAILABLE are
 * retried too, with backoff, until the retry budget is spent, or the caller's own deadline.
 */
export class OwnerClient {
  readonly #options: Readonly<OwnerClientOptions>;
  readonly #ring: () => RingView | undefined;
  readonly #refreshRing: () => Promise<void>;
  readonly #peers: PeerClient;
  /** Where calls of the public API go (undefined: over `#peers`, as every other call). */
  readonly #links: MemberLinks | undefined;
  readonly #clock: Clock;
  /** Retries sleeping in their backoff, woken early by a ring that moved (`ringMoved`). */
  readonly #backingOff = new Set<() => void>();

  constructor(
    ring: () => RingView | undefined,
    refreshRing: () => Promise<void>,
    options: Partial<OwnerClientOptions> = {},
    clock: Clock = SYSTEM_CLOCK,
  ) {
    this.#options = resolveOptions(
      'OwnerClient',
      DEFAULT_OWNER_CLIENT_OPTIONS,
      options,
      OWNER_CLIENT_RULES,
    );
    this.#ring = ring;
    this.#refreshRing = refreshRing;
    this.#clock = clock;
    this.#peers = new PeerClient('owner client', {
      timeoutMs: this.#options.attemptTimeoutMs,
      connectionsPerPeer: this.#options.connectionsPerNode,
      signer: this.#options.signer,
      bearerToken: this.#options.bearerToken,
    });
    const { signer, bearerToken } = this.#options;
    const peers = this.#peers;
    this.#links = !this.#options.memberLinks
      ? undefined
      : new MemberLinks('owner client', {
          credentials: linkCredentials(signer, bearerToken),
          timeoutMs: this.#options.attemptTimeoutMs,
          inFlightMax: peers.options.connectionsPerPeer + peers.options.queuedPerPeerMax,
          fallback: (url, peerRequest) => peers.relay(url, peerRequest),
        });
  }

  /**
   * Calls the owner and parses its answer (node-to-node delivery reads it). `stopRetrying`,
   * checked before every retry, ends the loop early with its error: a caller whose own reason to
   * wait is gone (a node no longer serving the user it calls for) must not hold on.
   */
  async call(
    userId: string,
    ownerRequest: OwnerRequest,
    stopRetrying: () => ChatringError | undefined = NEVER_STOP,
    limits: OwnerCallLimits = NO_LIMITS,
  ): Promise<OwnerResponse> {
    const links = this.#linksFor(ownerRequest);
    return this.#attempts(userId, ownerRequest, stopRetrying, limits, async (url, peerRequest) => {
      if (links === undefined) {
        const response = await this.#peers.send(url, peerRequest);
        return { response, body: response.body };
      }
      const raw = await links.relay(url, peerRequest);
      // A node of the release before delivery rode links serves links but not that route: in a
      // rolling upgrade its 404 sends the call over HTTP, as before.
      if (raw.statusCode === 404 && !ownerRequest.path.startsWith(PUBLIC_API_PREFIX)) {
        const response = await this.#peers.send(url, peerRequest);
        return { response, body: response.body };
      }
      const body = parsePeerAnswer('owner client', peerRequest, raw.bytes.toString('utf8'));
      return { response: { statusCode: raw.statusCode, body }, body };
    });
  }

  /**
   * Calls the owner and hands back its answer as bytes, unparsed: the router relays them as they
   * are. Only a refusal is parsed, to tell the retryable ones (NOT_OWNER, OWNER_UNAVAILABLE).
   */
  async relay(
    userId: string,
    ownerRequest: OwnerRequest,
    limits: OwnerCallLimits = NO_LIMITS,
  ): Promise<RawOwnerResponse> {
    const transport = this.#linksFor(ownerRequest) ?? this.#peers;
    return this.#attempts(userId, ownerRequest, NEVER_STOP, limits, async (url, peerRequest) => {
      const response = await transport.relay(url, peerRequest);
      if (response.bytes.length === 0) return { response, body: undefined };
      const ok = response.statusCode >= 200 && response.statusCode < 300;
      return { response, body: ok ? SUCCESS : parseRefusal(response.bytes) };
    });
  }

  /**
   * Tells the client the ring moved: calls under way on links to a node that no longer owns their
   * user are abandoned at once and retried at the new owner (their retry loop resolves it), so a
   * paused or cut-off node stalls its own users for about the failure-detection time, not for the
   * attempt timeout. Calls over HTTP (links off or refused) wait out their attempt. Returns how
   * many were abandoned.
   */
  ringMoved(ring: RingView): number {
    // Retries waiting out a backoff (their owner was down) try the new ring now.
    for (const wake of this.#backingOff) wake();
    this.#backingOff.clear();
    return (
      this.#links?.abandonMoved((baseUrl, userId) => ring.ownerOf(userId)?.url !== baseUrl) ?? 0
    );
  }

  /** Links for a call of the public API or a delivery, when links are on; undefined: HTTP. */
  #linksFor(ownerRequest: OwnerRequest): MemberLinks | undefined {
    const { path } = ownerRequest;
    return path.startsWith(PUBLIC_API_PREFIX) || path === DELIVER_PATH ? this.#links : undefined;
  }

  /**
   * The retry loop both calls share. `attempt` sends once and says what the answer's body is
   * (`SUCCESS` for a 2xx the caller keeps unparsed, undefined for none). No error is built unless
   * an attempt fails: building one (its stack trace) on every call cost 3% of the router's CPU.
   */
  async #attempts<R>(
    userId: string,
    ownerRequest: OwnerRequest,
    stopRetrying: () => ChatringError | undefined,
    limits: OwnerCallLimits,
    attempt: (url: string, peerRequest: PeerRequest) => Promise<{ response: R; body: unknown }>,
  ): Promise<R> {
    const deadlineAtMs =
      limits.withinMs === undefined
        ? limits.deadlineAtMs
        : this.#clock.monotonicNow() + limits.withinMs;
    let deadline = deadlineAtMs;
    let lastError: ChatringError | undefined;
    let lastReason: OwnerRetryReason = 'no_owner';
    for (let attemptIndex = 0; ; attemptIndex += 1) {
      if (attemptIndex > 0) {
        deadline ??= this.#clock.monotonicNow() + this.#options.retryBudgetMs;
        if (this.#clock.monotonicNow() >= deadline) throw spent(userId, lastError);
        const stop = stopRetrying();
        if (stop !== undefined) throw stop;
        this.#options.onRetry?.(lastReason);
        await this.#beforeRetry(attemptIndex, deadlineAtMs);
      }
      // A caller's deadline holds for the first attempt too, and again after the backoff.
      if (deadlineAtMs !== undefined && this.#clock.monotonicNow() >= deadlineAtMs)
        throw spent(userId, lastError);
      const ring = this.#ring();
      const owner = ring?.ownerOf(userId);
      if (ring === undefined || owner === undefined || owner.url === '') {
        lastReason = 'no_owner';
        continue;
      }
      let answer: { response: R; body: unknown };
      try {
        const sent = attempt(owner.url, {
          userId,
          method: ownerRequest.method,
          path: ownerRequest.path,
          headers:
            ownerRequest.requestId === undefined
              ? { [RING_EPOCH_HEADER]: ring.epochText }
              : {
                  [RING_EPOCH_HEADER]: ring.epochText,
                  [REQUEST_ID_HEADER]: ownerRequest.requestId,
                },
          ...(ownerRequest.body === undefined ? {} : { body: ownerRequest.body }),
          ...(ownerRequest.holdMs === undefined ? {} : { held: true }),
          ...(deadlineAtMs === undefined && ownerRequest.holdMs === undefined
            ? {}
            : { timeoutMs: this.#attemptTimeoutMs(deadlineAtMs, ownerRequest.holdMs ?? 0) }),
        });
        const outcome =
          deadlineAtMs === undefined
            ? await sent
            : await settleWithin(sent, this.#remainingMs(deadlineAtMs));
        if (outcome === TIMED_OUT)
          throw new DeadlinePassedError("no answer before the call's deadline");
        answer = outcome;
      } catch (error) {
        // Our own pool to the owner is full: retrying would only add to the queue. The app backs off.
        if (error instanceof ChatringError && error.code === 'OVERLOADED') throw error;
        // Unreachable, timed out or garbled: every attempt that got no usable answer is retried
        // (the call is idempotent), and reported as the owner being unavailable once the budget ends.
        lastError = unavailable(owner.nodeId, error);
        lastReason = isTimeout(error) ? 'timeout' : 'unavailable';
        continue;
      }
      if (answer.body === undefined) {
        lastError = unavailable(owner.nodeId, new Error('empty answer'));
        lastReason = 'unavailable';
        continue;
      }
      if (answer.body !== SUCCESS) {
        const refused = errorFromBody(answer.body);
        if (refused?.code === 'NOT_OWNER' || refused?.code === 'OWNER_UNAVAILABLE') {
          lastError = refused;
          lastReason = refused.code === 'NOT_OWNER' ? 'wrong_owner' : 'unavailable';
          continue;
        }
      }
      return answer.response;
    }
  }

  /**
   * The backoff before a retry, then a ring refresh (a failed one leaves the ring held). Under a
   * caller's deadline both end by it: the wait for a refresh others share is cut short, and the
   * refresh goes on without this call.
   */
  async #beforeRetry(attemptIndex: number, deadlineAtMs: number | undefined): Promise<void> {
    const delayMs = Math.min(RETRY_DELAY_MS_MIN * 2 ** attemptIndex, RETRY_DELAY_MS_MAX);
    if (deadlineAtMs === undefined) {
      await this.#backoff(delayMs);
      await this.#refreshRing().catch(() => undefined);
      return;
    }
    await this.#backoff(Math.min(delayMs, this.#remainingMs(deadlineAtMs)));
    await settleWithin(
      this.#refreshRing().catch(() => undefined),
      this.#remainingMs(deadlineAtMs),
    );
  }

  /** Sleeps `delayMs`, or less if a new ring arrives meanwhile (a standby took the slot). */
  async #backoff(delayMs: number): Promise<void> {
    let wake = (): void => undefined;
    const moved = new Promise<void>((resolve) => {
      wake = resolve;
    });
    this.#backingOff.add(wake);
    try {
      await Promise.race([this.#clock.sleep(delayMs), moved]);
    } finally {
      this.#backingOff.delete(wake);
    }
  }

  /**
   * One attempt's timeout: the client's, plus what the owner may hold the answer by design; under
   * a caller's deadline never past it, never 0 (no timeout at all).
   * It ends the request an attempt abandons at the deadline: undici checks it in ticks of up to a
   * second, so the deadline itself is kept by `settleWithin`.
   */
  #attemptTimeoutMs(deadlineAtMs: number | undefined, holdMs: number): number {
    const attemptMs = this.#options.attemptTimeoutMs + holdMs;
    if (deadlineAtMs === undefined) return attemptMs;
    const remainingMs = Math.ceil(this.#remainingMs(deadlineAtMs));
    return Math.max(1, Math.min(attemptMs, remainingMs));
  }

  #remainingMs(deadlineAtMs: number): number {
    return Math.max(0, deadlineAtMs - this.#clock.monotonicNow());
  }

  async close(): Promise<void> {
    await this.#links?.close();
    await this.#peers.close();
  }
}

/** The call's time is up: its last failure, or why nothing was tried. */
function spent(userId: string, lastError: ChatringError | undefined): ChatringError {
  return lastError ?? new ChatringError('OWNER_UNAVAILABLE', `no node serves ${userId}`);
}

/** An attempt that got no answer in time: undici's timeouts (kept as a cause), or the deadline. */
function isTimeout(error: unknown): boolean {
  let cause = error;
  for (let depth = 0; depth < 4 && cause instanceof Error; depth += 1) {
    if (cause instanceof DeadlinePassedError) return true;
    const code = (cause as { code?: unknown }).code;
    if (typeof code === 'string' && TIMEOUT_ERROR_CODES.has(code)) return true;
    cause = cause.cause;
  }
  return false;
}

function unavailable(nodeId: string, error: unknown): ChatringError {
  const cause = error as Error;
  return new ChatringError('OWNER_UNAVAILABLE', `node ${nodeId}: ${cause.message}`, { cause });
}
