import { randomUUID } from 'node:crypto';
import {
  CONVERSATIONS_PAGE_SIZE_DEFAULT,
  ChatringError,
  MESSAGES_PAGE_SIZE_DEFAULT,
  SYSTEM_CLOCK,
  TIMEOUT_MS_MAX,
  assertUserId,
  errorFromBody,
  integerRule,
  isNodeBaseUrl,
  orderedPair,
  parseChangesQuery,
  parseListQuery,
  parseSendRequest,
  participantsOf,
  resolveOptions,
  type ChangesResponse,
  type Clock,
  type ConversationsResponse,
  type GivenOptions,
  type MarkReadResponse,
  type MessagesResponse,
  type OptionRules,
  type PublicRing,
  type SendMessageRequest,
  type SendMessageResponse,
  TIMED_OUT,
  settleWithin,
} from '../protocol/index.js';
import { publicRingOf } from '../ring/index.js';
import {
  OwnerClient,
  PeerClient,
  type OwnerRequest,
  type PeerResponse,
} from '../transport/index.js';
import { listQueryFields, listQueryString, type PageQuery } from './list-query.js';
import { followList, type FollowOptions } from './list-follower.js';
import {
  changesQueryString,
  watchChanges,
  type ChangesQuery,
  type WatchOptions,
} from './change-watcher.js';
import { RingSource } from './ring-source.js';

export interface ChatringClientOptions {
  /** Routers to learn the ring from (direct mode) or to send every request to (router mode). */
  routerUrls: string[];
  /**
   * `direct`: each request goes straight to the node that owns its user, found by the ring the
   * routers publish (`GET /v1/ring`), stamped with that ring's epoch; a wrong-owner or unreachable
   * node makes the client refresh the ring and try again. `router`: every request goes through a
   * router, which does the same for the client.
   * @default 'direct'
   */
  mode: 'direct' | 'router';
  /**
   * The app token, sent as `authorization: Bearer <token>` to routers and nodes alike.
   * @default undefined
   */
  appToken: string | undefined;
  /**
   * Keep-alive connections per node (or per router in router mode).
   * @default 64
   */
  connectionsPerNode: number;
  /**
   * Deadline of one attempt (connect to the answer's last byte), in ms; cut to what is left of
   * the call's `deadlineMs`. Above the longest a live owner takes to answer on its own (see
   * OwnerClientOptions.attemptTimeoutMs).
   * @default 8000
   */
  attemptTimeoutMs: number;
  /**
   * How long one call may take in all, retries included (wrong owner, node down during a failover,
   * overloaded, store unavailable), in ms: every attempt, backoff and wait for the ring ends by
   * then. A send retried in that time keeps its clientMessageId, so it is stored once whatever
   * happened to the earlier attempts. 0 leaves no time for any attempt: a call that passes the
   * local checks fails at once with OWNER_UNAVAILABLE.
   * @default 15000
   */
  deadlineMs: number;
  /**
   * Ring refreshes closer together than this share one answer, in ms.
   * @default 100
   */
  ringRefreshIntervalMs: number;
}

export const DEFAULT_CHATRING_CLIENT_OPTIONS: Readonly<Omit<ChatringClientOptions, 'routerUrls'>> =
  Object.freeze({
    mode: 'direct',
    appToken: undefined,
    connectionsPerNode: 64,
    attemptTimeoutMs: 8_000,
    deadlineMs: 15_000,
    ringRefreshIntervalMs: 100,
  });

/** At most this many routers: a client names a few front doors, not a fleet. */
const ROUTER_URLS_MAX = 64;

const CHATRING_CLIENT_RULES: OptionRules<ChatringClientOptions> = {
  routerUrls: { kind: 'any' },
  mode: { kind: 'string', pattern: /^(direct|router)$/, describe: "'direct' or 'router'" },
  appToken: { kind: 'string', pattern: /^\S+$/, describe: 'a bearer token' },
  connectionsPerNode: integerRule(1, 10_000),
  attemptTimeoutMs: integerRule(1, TIMEOUT_MS_MAX),
  deadlineMs: integerRule(0, TIMEOUT_MS_MAX),
  ringRefreshIntervalMs: integerRule(0, 60_000),
};

/** Backoff between the outer retries (overloaded, store unavailable): 25 ms doubling to 1 s, jittered. */
const BACKOFF_MS_MIN = 25;
const BACKOFF_MS_MAX = 1_000;

/** A send as an app writes it: the client makes the clientMessageId when none is given. */
export type SendInput = Omit<SendMessageRequest, 'clientMessageId'> & { clientMessageId?: string };

/**
 * The typed client app servers use (`chatring/client`). It does what every app server otherwise
 * writes by hand, once:
 *
 * - **routes by the ring** (direct mode, the default): a request goes straight to its user's
 *   owner, one hop, as Redis Cluster clients follow slots and Cassandra drivers route by token;
 *   NOT_OWNER / OWNER_UNAVAILABLE / a dead node refresh the ring and retry (transport's
 *   `OwnerClient`, the same loop the router runs);
 * - **sends exactly once**: a generated `clientMessageId`, kept across every retry of the call
 *   until `deadlineMs`, so a retry after a timeout or a failover returns the stored message;
 * - **retries what the catalogue calls retryable** (OVERLOADED, STORE_UNAVAILABLE, USER_BUSY, …)
 *   with jittered backoff, and throws anything else at once as a `ChatringError` with its code;
 * - **follows a mailbox** by its gapless cursor (`followConversations`, `followMessages`).
 *
 * Bad input is refused here with the code the server would answer (the same validation code),
 * before any request is sent.
 */
export class ChatringClient {
  readonly options: Readonly<ChatringClientOptions>;
  readonly #clock: Clock;
  readonly #ring: RingSource;
  /** Requests to routers: the ring (both modes) and, in router mode, everything. */
  readonly #routers: PeerClient;
  readonly #owners: OwnerClient | undefined;
  #nextRouter = 0;
  #closed = false;

  constructor(options: GivenOptions<ChatringClientOptions>, clock: Clock = SYSTEM_CLOCK) {
    this.options = resolveOptions(
      'ChatringClient',
      { ...DEFAULT_CHATRING_CLIENT_OPTIONS, routerUrls: [] },
      options,
      CHATRING_CLIENT_RULES,
    );
    const routerUrls = checkRouterUrls(this.options.routerUrls);
    this.#clock = clock;
    const { appToken, attemptTimeoutMs, connectionsPerNode } = this.options;
    this.#routers = new PeerClient('chatring client', {
      timeoutMs: attemptTimeoutMs,
      connectionsPerPeer: connectionsPerNode,
      bearerToken: appToken,
    });
    this.#ring = new RingSource(
      routerUrls,
      this.#routers,
      this.options.ringRefreshIntervalMs,
      clock,
    );
    this.#owners =
      this.options.mode === 'direct'
        ? new OwnerClient(
            () => this.#ring.current(),
            () => this.#ring.refresh(),
            // No retry budget of its own: every call passes this client's deadline (#attempt), so
            // the ring-following retries inside and the retries here share one clock.
            { attemptTimeoutMs, connectionsPerNode, bearerToken: appToken },
            clock,
          )
        : undefined;
    const owners = this.#owners;
    if (owners !== undefined) this.#ring.onMoved = (ring) => void owners.ringMoved(ring);
  }

  /** Sends a message; 201-or-200 alike: `duplicate` says whether it was stored by an earlier try. */
  send(input: SendInput): Promise<SendMessageResponse> {
    const request = parseSendRequest({
      ...input,
      clientMessageId: input.clientMessageId ?? randomUUID(),
    });
    const coordinator = orderedPair(request.senderId, request.recipientId)[0];
    return this.#call(coordinator, { method: 'POST', path: '/v1/messages', body: request });
  }

  /** A page of the user's conversations, most recent first; or the changes since a cursor. */
  conversations(userId: string, query: PageQuery = {}): Promise<ConversationsResponse> {
    const user = assertUserId(userId);
    parseListQuery(listQueryFields(query), CONVERSATIONS_PAGE_SIZE_DEFAULT, { userId: user });
    return this.#call(user, {
      method: 'GET',
      path: `/v1/users/${user}/conversations${listQueryString(query)}`,
    });
  }

  /** A page of one conversation's messages, newest first; or the changes since a cursor. */
  messages(
    userId: string,
    conversationId: string,
    query: PageQuery = {},
  ): Promise<MessagesResponse> {
    const user = assertUserId(userId);
    participantsOf(conversationId, user);
    parseListQuery(listQueryFields(query), MESSAGES_PAGE_SIZE_DEFAULT, {
      userId: user,
      conversationId,
    });
    return this.#call(user, {
      method: 'GET',
      path: `/v1/users/${user}/conversations/${conversationId}/messages${listQueryString(query)}`,
    });
  }

  /** Marks the conversation read for the user (its unread count becomes 0). */
  markRead(userId: string, conversationId: string): Promise<MarkReadResponse> {
    const user = assertUserId(userId);
    participantsOf(conversationId, user);
    return this.#call(user, {
      method: 'POST',
      path: `/v1/users/${user}/conversations/${conversationId}/read`,
      body: {},
    });
  }

  /**
   * Every change to the user's conversation list from `cursor` on (from now, when none is given),
   * page by page as they commit: an async iterator that polls while nothing changed.
   */
  followConversations(
    userId: string,
    options: FollowOptions = {},
  ): AsyncGenerator<ConversationsResponse, void, undefined> {
    const user = assertUserId(userId);
    return followList((query) => this.conversations(user, query), options, this.#clock);
  }

  /** Every change to one conversation's messages from `cursor` on, as `followConversations`. */
  followMessages(
    userId: string,
    conversationId: string,
    options: FollowOptions = {},
  ): AsyncGenerator<MessagesResponse, void, undefined> {
    const user = assertUserId(userId);
    participantsOf(conversationId, user);
    return followList((query) => this.messages(user, conversationId, query), options, this.#clock);
  }

  /**
   * One change-feed request: the changes to the user's mailbox after the cursor, oldest first; when
   * there are none, held at the owner up to `waitMs` for one. The call's deadline is `deadlineMs`
   * plus `waitMs`.
   */
  changes(userId: string, query: ChangesQuery = {}): Promise<ChangesResponse> {
    const user = assertUserId(userId);
    const path = `/v1/users/${user}/changes${changesQueryString(query)}`;
    const { waitMs } = parseChangesQuery(queryFieldsOf(path), user);
    return this.#call(user, { method: 'GET', path, holdMs: waitMs });
  }

  /**
   * Every change to the user's mailbox from `options.cursor` on (from now, when none is given), as
   * it commits: an async iterator over the change feed's long-polls that reconnects by itself
   * (`watchChanges`).
   */
  watch(
    userId: string,
    options: WatchOptions = {},
  ): AsyncGenerator<ChangesResponse, void, undefined> {
    const user = assertUserId(userId);
    return watchChanges((query) => this.changes(user, query), options, this.#clock);
  }

  /** The ring this client routes by (fetched from a router if none is held yet). */
  async ring(): Promise<PublicRing> {
    return publicRingOf(await this.#ring.ready());
  }

  /** Closes the connections; calls under way (a held watch included) end with OWNER_UNAVAILABLE. */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all([this.#routers.close(), this.#owners?.close()]);
  }

  /**
   * One call with the outer retry loop: anything the catalogue calls retryable is tried again
   * (the same request, so a send keeps its clientMessageId) after a jittered backoff, until the
   * deadline; anything else is thrown at once. The deadline bounds everything under it too: the
   * owner client's own retries, each attempt's timeout, the wait for a ring.
   */
  async #call<T>(userId: string, request: OwnerRequest): Promise<T> {
    const deadlineAtMs =
      this.#clock.monotonicNow() + this.options.deadlineMs + (request.holdMs ?? 0);
    let failure: ChatringError | undefined;
    for (let attempt = 0; ; attempt += 1) {
      if (this.#clock.monotonicNow() >= deadlineAtMs) throw failure ?? this.#noTime(request);
      // A closed client retries nothing: its calls end instead of waiting out their deadline.
      if (this.#closed)
        throw new ChatringError(
          'OWNER_UNAVAILABLE',
          `${request.method} ${request.path}: the client was closed`,
        );
      try {
        const response = await this.#attempt(userId, request, deadlineAtMs);
        if (response.statusCode >= 200 && response.statusCode < 300) return response.body as T;
        failure =
          errorFromBody(response.body) ??
          new ChatringError('INTERNAL', `HTTP ${response.statusCode} without a catalogue error`);
      } catch (error) {
        // An attempt the deadline cut short says only that time ran out; an owner's earlier
        // refusal (STORE_UNAVAILABLE, USER_BUSY, ...) says why the call failed: keep that one.
        if (failure !== undefined && this.#clock.monotonicNow() >= deadlineAtMs) throw failure;
        failure =
          error instanceof ChatringError
            ? error
            : new ChatringError('INTERNAL', (error as Error).message, { cause: error });
      }
      const delay = backoffMs(attempt);
      if (!failure.retryable || this.#closed || this.#clock.monotonicNow() + delay >= deadlineAtMs)
        throw failure;
      await this.#clock.sleep(delay);
    }
  }

  async #attempt(
    userId: string,
    request: OwnerRequest,
    deadlineAtMs: number,
  ): Promise<PeerResponse> {
    if (this.#owners !== undefined) {
      await this.#ring.ready(deadlineAtMs);
      return this.#owners.call(userId, request, undefined, { deadlineAtMs });
    }
    // Router mode: the routers take calls in turn, so a retry after one failed goes to the next.
    const urls = this.#ring.routerUrls;
    const url = urls[this.#nextRouter++ % urls.length] ?? urls[0] ?? '';
    const answer = await settleWithin(
      this.#routers.send(url, {
        ...request,
        timeoutMs: this.#attemptTimeoutMs(deadlineAtMs, request.holdMs ?? 0),
      }),
      deadlineAtMs - this.#clock.monotonicNow(),
    );
    if (answer === TIMED_OUT)
      throw new ChatringError(
        'OWNER_UNAVAILABLE',
        `router ${url}: no answer to ${request.method} ${request.path} before the call's deadline`,
      );
    return answer;
  }

  /**
   * One attempt's timeout (plus what the owner may hold the answer by design): never past the
   * call's deadline, never 0 (that would be none at all).
   * It ends a request abandoned at the deadline; `settleWithin` keeps the deadline itself.
   */
  #attemptTimeoutMs(deadlineAtMs: number, holdMs: number): number {
    const remainingMs = Math.ceil(deadlineAtMs - this.#clock.monotonicNow());
    return Math.max(1, Math.min(this.options.attemptTimeoutMs + holdMs, remainingMs));
  }

  #noTime(request: OwnerRequest): ChatringError {
    return new ChatringError(
      'OWNER_UNAVAILABLE',
      `${request.method} ${request.path}: no time left for an attempt (deadlineMs ${this.options.deadlineMs})`,
    );
  }
}

/** The query of a path the client built, as the server's checks read it. */
function queryFieldsOf(path: string): Record<string, string> {
  const at = path.indexOf('?');
  return at < 0 ? {} : Object.fromEntries(new URLSearchParams(path.slice(at + 1)));
}

function backoffMs(attempt: number): number {
  const ceiling = Math.min(BACKOFF_MS_MIN * 2 ** attempt, BACKOFF_MS_MAX);
  return ceiling / 2 + Math.random() * (ceiling / 2);
}

function checkRouterUrls(value: unknown): string[] {
  if (
    !Array.isArray(value) ||
    value.length === 0 ||
    value.length > ROUTER_URLS_MAX ||
    !value.every((url) => typeof url === 'string' && isNodeBaseUrl(url))
  )
    throw new ChatringError(
      'INVALID_OPTION',
      `ChatringClient: option "routerUrls" must be 1 to ${ROUTER_URLS_MAX} http(s) URLs`,
    );
  return value.map((url: string) => new URL(url).origin);
}
