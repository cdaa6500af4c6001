import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { ChatringError, REQUEST_BODY_BYTES_LIMIT, toChatringError } from '../../protocol/index.js';
import { httpServerState, rawResponse, type HttpServerState } from '../http-server.js';
import { REQUEST_ID_HEADER, requestIdSource } from '../logging/logger.js';
import { checkLinkCredential, type AccessPolicy, type LinkCaller } from '../security/index.js';
import {
  FrameReader,
  LINK_PROBE_PATH,
  MEMBER_LINK_PATH,
  MEMBER_LINK_PROTOCOL,
  decodeRequest,
  encodeAnswer,
  type LinkAnswer,
  type LinkRequest,
} from './link-frames.js';
import { FrameWriter } from './frame-writer.js';

/** A request frame's payload may carry a body as large as an HTTP request's, plus its head. */
const REQUEST_PAYLOAD_BYTES_MAX = REQUEST_BODY_BYTES_LIMIT + 0x20000;

/**
 * Answers written to a link and not yet taken by the peer, in bytes, past which the server stops
 * reading the link's requests until the peer catches up: a caller that sends and never reads
 * would otherwise have every answer buffered here.
 */
const LINK_BACKLOG_BYTES_MAX = 8 * 1024 * 1024;

const NO_BODY = Buffer.alloc(0);

/** How long a closing server lets links finish the requests they carry before cutting them. */
const LINK_DRAIN_MS_MAX = 5_000;

/** A route a link request matched: its pattern (the metrics label) and what answers it. */
export interface LinkRoute {
  route: string;
  /**
   * The route may hold its answer a long while (a change-feed wait): it is neither counted
   * against nor refused by the in-flight limit; the route bounds what it holds itself.
   */
  held?: boolean;
  run(request: LinkRequest, requestId: string): LinkAnswer | Promise<LinkAnswer>;
}

/**
 * Finds the route of a request on a link whose upgrade `caller` authenticated; undefined: no such
 * route (answered 404 NOT_FOUND). A route the caller may not use throws its refusal.
 */
export type LinkRoutes = (request: LinkRequest, caller: LinkCaller) => LinkRoute | undefined;

/**
 * Serves member links on a server made by `createHttpServer`: a member (the router, another node)
 * or an app opens one with an HTTP upgrade on `MEMBER_LINK_PATH` and then sends requests as frames
 * (link-frames.ts), many in flight at once, on that one connection. Why: a warm read answers in
 * microseconds from memory, and over HTTP/1.1 the hop around it costs far more (a parse, a
 * framework's routing and hooks, and two syscalls per request on each side); on a link, the
 * requests of one event-loop turn go in one write and their answers come back in one write.
 *
 * A link request is held to what an HTTP one is: it counts against the same in-flight limit
 * (past it `503 OVERLOADED`), gets `503 OWNER_UNAVAILABLE` while the server closes, and is
 * counted, timed and logged by the same telemetry under its route pattern. The link is
 * authenticated once, by its upgrade (`checkLinkCredential`: a member signature, or an app token
 * where app tokens are configured); every frame on it is that caller's, and `routes` is told who
 * that is: a node serves the public API on every link, and node-to-node delivery only on a
 * member's, so a link grants what its caller's credential grants over HTTP.
 */
export function serveMemberLinks(
  app: FastifyInstance,
  policy: AccessPolicy,
  routes: LinkRoutes,
): void {
  const state = httpServerState(app);
  // As over HTTP: the caller's request id when it sent a plausible one, else one made here.
  const requestId = requestIdSource();
  const links = new Set<ServedLink>();
  app.server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    const caller = callerOf(request, policy, state);
    if (caller instanceof ChatringError) {
      socket.end(rawResponse(caller));
      return;
    }
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nconnection: upgrade\r\nupgrade: ${MEMBER_LINK_PROTOCOL}\r\n\r\n`,
    );
    const link = new ServedLink(
      socket as Socket,
      state,
      (frame) => routes(frame, caller),
      requestId,
    );
    links.add(link);
    socket.once('close', () => links.delete(link));
    link.start(head);
  });
  // Requests already on a link finish (their answers are written) before the links close; a
  // link left with work past the drain bound is cut, and its caller retries elsewhere. In
  // preClose (after the server's own, which refuses new requests from then on): Node's server
  // does not close while an upgraded socket is open, so onClose would never come.
  app.addHook('preClose', async () => {
    const deadline = performance.now() + LINK_DRAIN_MS_MAX;
    while ([...links].some((link) => link.busy) && performance.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 10));
    for (const link of links) link.close();
  });
}

/** Who opened the link, or why its upgrade is refused. */
function callerOf(
  request: IncomingMessage,
  policy: AccessPolicy,
  state: HttpServerState,
): LinkCaller | ChatringError {
  if (request.url !== MEMBER_LINK_PATH || request.headers.upgrade !== MEMBER_LINK_PROTOCOL)
    return new ChatringError(
      'NOT_FOUND',
      `no upgrade to ${String(request.headers.upgrade).slice(0, 64)} on ${String(request.url).slice(0, 256)}`,
    );
  if (state.closing) return new ChatringError('OWNER_UNAVAILABLE', 'the server is stopping; retry');
  try {
    return checkLinkCredential(request.headers, MEMBER_LINK_PATH, policy);
  } catch (error) {
    return toChatringError(error);
  }
}

/** One accepted link: reads request frames, answers each as soon as its answer is ready. */
class ServedLink {
  readonly #socket: Socket;
  readonly #state: HttpServerState;
  readonly #routes: (request: LinkRequest) => LinkRoute | undefined;
  readonly #writer: FrameWriter;
  readonly #requestId: (incoming: string | undefined) => string;
  #inFlight = 0;

  constructor(
    socket: Socket,
    state: HttpServerState,
    routes: (request: LinkRequest) => LinkRoute | undefined,
    requestId: (incoming: string | undefined) => string,
  ) {
    this.#socket = socket;
    this.#state = state;
    this.#routes = routes;
    this.#requestId = requestId;
    this.#writer = new FrameWriter(socket, () => {
      // Only the serving side holds back (a caller never stops reading answers), so the two
      // sides cannot each wait for the other.
      if (socket.writableLength <= LINK_BACKLOG_BYTES_MAX || socket.isPaused()) return;
      socket.pause();
      socket.once('drain', () => socket.resume());
    });
  }

  get busy(): boolean {
    return this.#inFlight > 0;
  }

  start(head: Buffer): void {
    const socket = this.#socket;
    // The server's idle and request timeouts were for HTTP; a link is idle between bursts, and a
    // member that goes away closes it (or TCP keep-alive finds it gone).
    socket.setTimeout(0);
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 10_000);
    socket.on('error', () => socket.destroy());
    // Node's HTTP server keeps sockets half-open: a member that ended its side is gone.
    socket.on('end', () => socket.destroy());
    const reader = new FrameReader(REQUEST_PAYLOAD_BYTES_MAX, (id, payload) =>
      this.#onFrame(id, payload),
    );
    const onData = (chunk: Buffer): void => {
      try {
        reader.push(chunk);
      } catch {
        // Not this protocol: nothing more on this link can be trusted to be framed right.
        socket.destroy();
      }
    };
    if (head.length > 0) onData(head);
    socket.on('data', onData);
  }

  close(): void {
    this.#socket.destroy();
  }

  #onFrame(id: number, payload: Buffer): void {
    const request = decodeRequest(payload);
    if (request.path === LINK_PROBE_PATH) {
      this.#writer.write(encodeAnswer(id, 204, NO_BODY));
      return;
    }
    const requestId = this.#requestId(request.headers[REQUEST_ID_HEADER]);
    const { load, options, closing } = this.#state;
    if (closing) {
      this.#refuse(id, new ChatringError('OWNER_UNAVAILABLE', 'the server is stopping; retry'));
      return;
    }
    let route: LinkRoute | undefined;
    try {
      route = this.#routes(request);
    } catch (error) {
      this.#refuse(id, toChatringError(error));
      return;
    }
    if (route === undefined) {
      this.#refuse(
        id,
        new ChatringError('NOT_FOUND', `no route ${request.method} ${request.path}`),
      );
      return;
    }
    const counted = route.held !== true;
    if (counted && load.requestsInFlight >= options.requestsInFlightMax) {
      load.requestsRefused += 1;
      this.#refuse(
        id,
        new ChatringError(
          'OVERLOADED',
          `the server is handling its limit of ${options.requestsInFlightMax} requests; retry after ${options.overloadRetryAfterSeconds} s`,
        ),
      );
      return;
    }
    const startedAt = performance.now();
    if (counted) load.requestsInFlight += 1;
    this.#inFlight += 1;
    const finish = (answer: LinkAnswer, failure: unknown): void => {
      if (counted) load.requestsInFlight -= 1;
      this.#inFlight -= 1;
      this.#writer.write(encodeAnswer(id, answer.status, answer.body));
      this.#state.telemetry?.answered(
        { id: requestId, method: request.method },
        route.route,
        answer.status,
        performance.now() - startedAt,
        request.body.length,
        failure,
      );
    };
    let answer: LinkAnswer | Promise<LinkAnswer>;
    try {
      answer = route.run(request, requestId);
    } catch (error) {
      finish(...failed(error));
      return;
    }
    if (answer instanceof Promise)
      answer.then(
        (ready) => finish(ready, undefined),
        (error: unknown) => finish(...failed(error)),
      );
    else finish(answer, undefined);
  }

  #refuse(id: number, error: ChatringError): void {
    this.#writer.write(encodeAnswer(id, error.status, Buffer.from(JSON.stringify(error.toBody()))));
  }
}

/** An error as the catalogue answer an HTTP route would have given, and the failure to log. */
function failed(error: unknown): [LinkAnswer, unknown] {
  const mapped = toChatringError(error);
  return [
    { status: mapped.status, body: Buffer.from(JSON.stringify(mapped.toBody())) },
    mapped.status >= 500 ? error : undefined,
  ];
}
