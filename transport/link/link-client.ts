import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Socket } from 'node:net';
import { ChatringError } from '../../protocol/index.js';
import type { PeerRequest, RawPeerResponse } from '../peer-client.js';
import { MEMBER_SIGNATURE_HEADER, type MemberSigner } from '../security/index.js';
import { FrameWriter } from './frame-writer.js';
import {
  FrameReader,
  LINK_PROBE_PATH,
  MEMBER_LINK_PATH,
  MEMBER_LINK_PROTOCOL,
  decodeAnswer,
  encodeRequest,
} from './link-frames.js';

/** An answer frame may be as large as any page a node answers; past this the link is cut. */
const ANSWER_PAYLOAD_BYTES_MAX = 64 * 1024 * 1024;

/** How often a link with requests under way looks for ones past their deadline. */
const TIMEOUT_SWEEP_MS = 50;

/**
 * A link whose peer has said nothing for this long while a request waited (no answer, no answer to
 * a probe sent halfway, or no answer to the upgrade) is taken for cut off: it is closed, failing
 * what it carried with OWNER_UNAVAILABLE, and the peer's next requests fail at once for
 * `SILENT_PEER_SHUNNED_MS`. Far shorter than a request's timeout, because a partitioned peer
 * otherwise holds every request sent to it (and, on a node, the user lock of a send delivering to
 * it) for the whole timeout, and the caller's retries for as long again. A live peer answers the
 * probe however slow its requests: only a peer whose event loop is stalled this long goes silent,
 * and such a peer has lost its lease (1.5 s by default) and serves nothing anyway.
 */
export const LINK_SILENCE_LIMIT_MS_DEFAULT = 2_000;
/** After a silent link closed: requests to that peer fail at once, then a new link is tried. */
const SILENT_PEER_SHUNNED_MS = 1_000;

/**
 * After a peer answered the upgrade with something other than 101, HTTP for this long: 30 s after
 * a 404 (no links there: an older version), 1 s after anything else (a refusal of this caller, or
 * a 503 from a node that is stopping), whose HTTP answers tell the caller what is wrong.
 */
const NO_LINKS_RETRY_MS = 30_000;
const REFUSED_LINK_RETRY_MS = 1_000;

/**
 * The upgrade's credentials for a caller that signs as a member (the router), or carries an app
 * token (a ring-aware app client), or neither (an app on loopback without app tokens).
 */
export function linkCredentials(
  signer: MemberSigner | undefined,
  bearerToken: string | undefined,
): () => Record<string, string> {
  if (signer !== undefined)
    return () => ({
      [MEMBER_SIGNATURE_HEADER]: signer.sign('GET', MEMBER_LINK_PATH, undefined),
    });
  const headers = bearerToken === undefined ? {} : { authorization: `Bearer ${bearerToken}` };
  return () => headers;
}

/** The `code` of the cause of a link request that got no answer in time (owner-client reads it). */
export const LINK_TIMEOUT_CODE = 'CHATRING_LINK_TIMEOUT';

export interface MemberLinksOptions {
  /**
   * The headers that authenticate the upgrade opening each link, made per link (a member
   * signature, or an app's bearer token; `linkCredentials` makes them).
   */
  credentials: () => Record<string, string>;
  /** A request's deadline when it names none, in ms (connect included). */
  timeoutMs: number;
  /**
   * Requests under way per link, held ones (`PeerRequest.held`: change-feed waits) apart; one
   * more fails at once with OVERLOADED. Held requests are bounded where they are made (an app
   * connection each on a router; the node's watcher bounds).
   */
  inFlightMax: number;
  /** Where a request goes when its peer has no member links (HTTP). */
  fallback: (baseUrl: string, peerRequest: PeerRequest) => Promise<RawPeerResponse>;
  /** @default LINK_SILENCE_LIMIT_MS_DEFAULT */
  silenceLimitMs?: number;
}

/** The options with their defaults resolved (MemberLinks does it once for all its links). */
type ResolvedLinkOptions = MemberLinksOptions & { silenceLimitMs: number };

/**
 * The calling side of member links (link-server.ts): one link per peer origin, opened on first
 * use, carrying every request to that peer with many in flight. A link that closes fails the
 * requests it carried with OWNER_UNAVAILABLE (the caller retries them: every chatring call is
 * idempotent), and the next request opens a new one. A peer that answers the upgrade with
 * anything but 101 (an older node, or one that refuses) is called over HTTP instead, and asked
 * again after a while: a rolling upgrade mixes both.
 */
export class MemberLinks {
  readonly #name: string;
  readonly #options: ResolvedLinkOptions;
  readonly #links = new Map<string, MemberLink>();
  /** Peers that refused a link, until when (monotonic ms). */
  readonly #refusedUntil = new Map<string, number>();
  /** Peers whose link went silent, until when (monotonic ms): their requests fail at once. */
  readonly #shunnedUntil = new Map<string, number>();
  #closed = false;

  constructor(name: string, options: MemberLinksOptions) {
    this.#name = name;
    // The default resolved once, here: every link reads the same option.
    this.#options = {
      ...options,
      silenceLimitMs: options.silenceLimitMs ?? LINK_SILENCE_LIMIT_MS_DEFAULT,
    };
  }

  /** Sends one request and hands back its answer's bytes, whatever its status, unparsed. */
  relay(baseUrl: string, peerRequest: PeerRequest): Promise<RawPeerResponse> {
    const refusedUntil = this.#refusedUntil.get(baseUrl);
    if (refusedUntil !== undefined) {
      if (performance.now() < refusedUntil) return this.#options.fallback(baseUrl, peerRequest);
      this.#refusedUntil.delete(baseUrl);
    }
    if (this.#closed)
      return Promise.reject(new ChatringError('OWNER_UNAVAILABLE', `${this.#name}: closed`));
    const shunnedUntil = this.#shunnedUntil.get(baseUrl);
    if (shunnedUntil !== undefined) {
      if (performance.now() < shunnedUntil)
        return Promise.reject(
          new ChatringError(
            'OWNER_UNAVAILABLE',
            `${this.#name}: ${baseUrl} answered nothing for ${this.#options.silenceLimitMs} ms; ${peerRequest.method} ${peerRequest.path} not sent`,
          ),
        );
      this.#shunnedUntil.delete(baseUrl);
    }
    let link = this.#links.get(baseUrl);
    if (link === undefined) {
      link = new MemberLink(this.#name, baseUrl, this.#options, (end) => {
        if (this.#links.get(baseUrl) === link) this.#links.delete(baseUrl);
        if (end.httpForMs > 0) this.#refusedUntil.set(baseUrl, performance.now() + end.httpForMs);
        if (end.silent) this.#shunnedUntil.set(baseUrl, performance.now() + SILENT_PEER_SHUNNED_MS);
      });
      this.#links.set(baseUrl, link);
    }
    return link.send(peerRequest);
  }

  /**
   * Fails at once, with OWNER_UNAVAILABLE, every request under way for a user that `moved` says is
   * no longer the peer's (the ring gave the user to another node): a caller retrying at the new
   * owner need not wait out a paused or partitioned node's timeout. Safe because every chatring
   * call is idempotent; an answer that still comes is dropped. Returns how many were abandoned.
   */
  abandonMoved(moved: (baseUrl: string, userId: string) => boolean): number {
    let abandoned = 0;
    for (const [baseUrl, link] of this.#links)
      abandoned += link.abandonWhere((userId) => moved(baseUrl, userId));
    return abandoned;
  }

  /** Links open now (for tests and stats). */
  get openLinks(): number {
    return this.#links.size;
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const link of this.#links.values()) link.close();
    this.#links.clear();
  }
}

interface PendingRequest {
  resolve: (answer: RawPeerResponse) => void;
  reject: (error: Error) => void;
  deadline: number;
  /** performance.now() when it was sent (or queued for a link still opening). */
  sentAt: number;
  peerRequest: PeerRequest;
  /** The encoded frame, kept until the link opens (then written). */
  frame: Buffer | undefined;
}

type LinkEnd = 'closed' | 'refused';

/** How a link ended, for MemberLinks: HTTP for a while (refused), or shun a silent peer. */
interface LinkEnding {
  httpForMs: number;
  silent: boolean;
}

/** One link to one peer: connecting, then open, then gone (never reopened: a new one is made). */
class MemberLink {
  readonly #name: string;
  readonly #baseUrl: string;
  readonly #options: ResolvedLinkOptions;
  /** Told when the link is gone, and how. */
  readonly #onEnd: (ending: LinkEnding) => void;
  readonly #pending = new Map<number, PendingRequest>();
  /** Of `#pending`, those held by design (not counted against `inFlightMax`). */
  #held = 0;
  readonly #upgrade: ClientRequest;
  #writer: FrameWriter | undefined;
  #socket: Socket | undefined;
  #nextId = 1;
  #sweep: NodeJS.Timeout | undefined;
  #ended = false;
  /** When the peer last said anything (the upgrade's answer, any frame); from the link's start. */
  #lastHeardAt = performance.now();
  /** A probe is out and nothing was heard since it left. */
  #probing = false;

  constructor(
    name: string,
    baseUrl: string,
    options: ResolvedLinkOptions,
    onEnd: (ending: LinkEnding) => void,
  ) {
    this.#name = name;
    this.#baseUrl = baseUrl;
    this.#options = options;
    this.#onEnd = onEnd;
    const url = new URL(MEMBER_LINK_PATH, baseUrl);
    const open = url.protocol === 'https:' ? httpsRequest : httpRequest;
    this.#upgrade = open(url, {
      method: 'GET',
      agent: false,
      headers: {
        connection: 'upgrade',
        upgrade: MEMBER_LINK_PROTOCOL,
        ...options.credentials(),
      },
    });
    this.#upgrade.on('upgrade', (_response: IncomingMessage, socket: Socket, head: Buffer) =>
      this.#opened(socket, head),
    );
    this.#upgrade.on('response', (response: IncomingMessage) => {
      response.resume();
      const status = response.statusCode ?? 0;
      // No link there now: the requests waiting for it go over HTTP, whose answers say why.
      this.#end(
        'refused',
        new Error(`the peer answered the link upgrade ${status}`),
        status === 404 ? NO_LINKS_RETRY_MS : REFUSED_LINK_RETRY_MS,
      );
    });
    this.#upgrade.on('error', (error) => this.#end('closed', error));
    // A peer that takes the connection and never answers the upgrade (stopped, or something in
    // between that swallows upgrades) must not hold the link half-open: the next request tries anew.
    this.#upgrade.setTimeout(options.timeoutMs, () =>
      this.#end(
        'closed',
        new Error(`no answer to the link upgrade within ${options.timeoutMs} ms`),
      ),
    );
    this.#upgrade.end();
  }

  send(peerRequest: PeerRequest): Promise<RawPeerResponse> {
    if (peerRequest.held !== true && this.#pending.size - this.#held >= this.#options.inFlightMax)
      return Promise.reject(
        new ChatringError(
          'OVERLOADED',
          `${this.#name}: ${this.#pending.size} requests already under way to ${this.#baseUrl}; ${peerRequest.method} ${peerRequest.path} not sent`,
        ),
      );
    const id = this.#takeId();
    const body =
      peerRequest.body === undefined ? EMPTY : Buffer.from(JSON.stringify(peerRequest.body));
    const frame = encodeRequest(id, {
      method: peerRequest.method,
      path: peerRequest.path,
      headers: peerRequest.headers ?? {},
      body,
    });
    return new Promise<RawPeerResponse>((resolve, reject) => {
      const timeoutMs = peerRequest.timeoutMs ?? this.#options.timeoutMs;
      const sentAt = performance.now();
      const pending: PendingRequest = {
        resolve,
        reject,
        deadline: sentAt + timeoutMs,
        sentAt,
        peerRequest,
        frame: undefined,
      };
      this.#pending.set(id, pending);
      if (peerRequest.held === true) this.#held += 1;
      if (this.#writer === undefined) pending.frame = frame;
      else this.#writer.write(frame);
      this.#sweep ??= setInterval(() => this.#expire(), TIMEOUT_SWEEP_MS).unref();
    });
  }

  close(): void {
    this.#end('closed', new Error('the link was closed'));
  }

  /** Fails the requests for users `moved` picks (MemberLinks.abandonMoved); the link stays. */
  abandonWhere(moved: (userId: string) => boolean): number {
    let abandoned = 0;
    for (const [id, pending] of this.#pending) {
      const userId = pending.peerRequest.userId;
      if (userId === undefined || !moved(userId)) continue;
      this.#forget(id, pending);
      abandoned += 1;
      pending.reject(
        this.#failure(
          pending.peerRequest,
          new Error(`the ring moved ${userId} to another node; asked again at its new owner`),
        ),
      );
    }
    if (this.#pending.size === 0) this.#stopSweep();
    return abandoned;
  }

  #opened(socket: Socket, head: Buffer): void {
    if (this.#ended) {
      socket.destroy();
      return;
    }
    this.#socket = socket;
    this.#heard();
    // The upgrade's timeout was for the upgrade: an open link may idle; requests have deadlines.
    socket.setTimeout(0);
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 10_000);
    const reader = new FrameReader(ANSWER_PAYLOAD_BYTES_MAX, (id, payload) =>
      this.#answered(id, payload),
    );
    const onData = (chunk: Buffer): void => {
      this.#heard();
      try {
        reader.push(chunk);
      } catch (error) {
        this.#end('closed', error as Error);
      }
    };
    socket.on('data', onData);
    socket.on('error', (error) => this.#end('closed', error));
    socket.on('end', () => this.#end('closed', new Error('the peer ended the link')));
    socket.on('close', () => this.#end('closed', new Error('the peer closed the link')));
    const writer = new FrameWriter(socket);
    this.#writer = writer;
    for (const pending of this.#pending.values())
      if (pending.frame !== undefined) {
        writer.write(pending.frame);
        pending.frame = undefined;
      }
    if (head.length > 0) onData(head);
  }

  #answered(id: number, payload: Buffer): void {
    const pending = this.#pending.get(id);
    // An answer after its request timed out: nobody waits for it any more.
    if (pending === undefined) return;
    this.#forget(id, pending);
    const answer = decodeAnswer(payload);
    pending.resolve({ statusCode: answer.status, bytes: answer.body });
    if (this.#pending.size === 0) this.#stopSweep();
  }

  #heard(): void {
    this.#lastHeardAt = performance.now();
    this.#probing = false;
  }

  /**
   * Fails every request past its deadline; the link stays (the peer may only be slow). But a peer
   * silent for the silence limit while a request waited is taken for gone: the link ends (see
   * LINK_SILENCE_LIMIT_MS_DEFAULT), after a probe sent halfway gave it the chance to speak.
   */
  #expire(): void {
    const now = performance.now();
    const waiting = this.#oldestWaiting();
    if (waiting !== undefined) {
      const limitMs = this.#options.silenceLimitMs;
      const silentMs = now - Math.max(this.#lastHeardAt, waiting.sentAt);
      if (silentMs >= limitMs) {
        this.#end(
          'closed',
          new Error(`the peer answered nothing for ${Math.round(silentMs)} ms (silence limit)`),
          0,
          true,
        );
        return;
      }
      if (silentMs >= limitMs / 2 && !this.#probing && this.#writer !== undefined) {
        this.#probing = true;
        this.#writer.write(encodeRequest(this.#takeId(), PROBE));
      }
    }
    for (const [id, pending] of this.#pending)
      if (now >= pending.deadline) {
        this.#forget(id, pending);
        const cause = Object.assign(new Error('no answer within the request timeout'), {
          code: LINK_TIMEOUT_CODE,
        });
        pending.reject(this.#failure(pending.peerRequest, cause));
      }
    if (this.#pending.size === 0) this.#stopSweep();
  }

  /** The first request still waiting that is not held by design (a change-feed wait is silent). */
  #oldestWaiting(): PendingRequest | undefined {
    for (const pending of this.#pending.values())
      if (pending.peerRequest.held !== true) return pending;
    return undefined;
  }

  #takeId(): number {
    const id = this.#nextId;
    this.#nextId = id === 0xffffffff ? 1 : id + 1;
    return id;
  }

  #forget(id: number, pending: PendingRequest): void {
    this.#pending.delete(id);
    if (pending.peerRequest.held === true) this.#held -= 1;
  }

  #stopSweep(): void {
    if (this.#sweep !== undefined) clearInterval(this.#sweep);
    this.#sweep = undefined;
  }

  /**
   * `httpForMs`: how long the peer is called over HTTP instead (refused links only); `silent`: the
   * peer went silent (MemberLinks shuns it for a while).
   */
  #end(outcome: LinkEnd, cause: Error, httpForMs = 0, silent = false): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#stopSweep();
    this.#onEnd({ httpForMs, silent });
    this.#upgrade.destroy();
    this.#socket?.destroy();
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    this.#held = 0;
    for (const request of pending)
      if (outcome === 'refused' && request.frame !== undefined)
        // Never sent: it goes over HTTP, as every request to this peer will for a while.
        this.#options
          .fallback(this.#baseUrl, request.peerRequest)
          .then(request.resolve, request.reject);
      else request.reject(this.#failure(request.peerRequest, cause));
  }

  #failure(peerRequest: PeerRequest, cause: Error): ChatringError {
    return new ChatringError(
      'OWNER_UNAVAILABLE',
      `${this.#name}: ${peerRequest.method} ${this.#baseUrl}${peerRequest.path} over a member link failed: ${cause.message}`,
      { cause },
    );
  }
}

const EMPTY = Buffer.alloc(0);
const PROBE = Object.freeze({
  method: 'GET' as const,
  path: LINK_PROBE_PATH,
  headers: {},
  body: EMPTY,
});
