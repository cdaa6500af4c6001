import assert from 'node:assert/strict';
import { isUtf8 } from 'node:buffer';
import { STATUS_CODES, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import Fastify, {
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type RouteOptions,
} from 'fastify';
import {
  ANY_RULE,
  ChatringError,
  HTTP_CONNECTIONS_LIMIT,
  HTTP_HEADERS_BYTES_MAX,
  HTTP_HEADERS_BYTES_MIN,
  HTTP_TIMEOUT_MS_MIN,
  PATH_PARAM_CHARS_MIN,
  REFUSED_CONNECTION_LINGER_MS,
  REQUEST_BODY_BYTES_LIMIT,
  REQUESTS_IN_FLIGHT_LIMIT,
  RETRY_AFTER_SECONDS_MAX,
  TIMEOUT_MS_MAX,
  integerRule,
  requireOption,
  resolveOptions,
  toChatringError,
  type GivenOptions,
  type OptionRules,
} from '../protocol/index.js';
import { REQUEST_ID_HEADER, requestIdSource, type Logger } from './logging/logger.js';
import { HttpTelemetry } from './http-telemetry.js';
import {
  METRICS_PATH,
  registerHttpMetrics,
  registerMetricsRoute,
  type Registry,
} from './metrics/index.js';

/**
 * How much one HTTP server lets its clients hold (every router and node; the defaults suit both).
 * A client that is slow, silent, or too many is cut off with a catalogue answer where HTTP allows
 * one: the bounds below are what "bounded under abuse" means for a process's front door.
 */
export interface HttpServerOptions {
  /**
   * The request line and headers must arrive within this, counted from the connection (or, on a
   * kept-alive connection, from the request's first byte); else `408 REQUEST_TIMEOUT` and the
   * connection closes. A silent connection gets the same. Real clients send their headers in one
   * packet; 10 s leaves a slow mobile link many round trips while a slowloris holds a connection
   * for 10 s, not Node's 60 s.
   * @default 10000
   */
  headersTimeoutMs: number;
  /**
   * The whole request, body included, must arrive within this; else `408 REQUEST_TIMEOUT` and the
   * connection closes. Covers a body trickled a byte at a time (which no idle timeout catches). It
   * bounds receiving only, never the handler. 30 s lets a 512 KiB body arrive at 17 KB/s, and a
   * 16 MiB warm-handoff batch between nodes at 0.6 MB/s. At least `headersTimeoutMs`.
   * @default 30000
   */
  requestTimeoutMs: number;
  /**
   * A kept-alive connection with no request in progress is closed after this. It is longer than
   * the idle timeout of chatring's own clients (PeerClient: 30 s), so between members the client
   * always closes an idle connection first and never sends on one the server is closing: with 5 s
   * here, 100 concurrent sends through the router on Cassandra saw resets, retried sends and
   * USER_BUSY (test/api/send-suite.ts). Behind a load balancer that pools connections, keep it
   * above the balancer's idle timeout (e.g. 65 s behind a 60 s one). Idle connections are bounded
   * by `connectionsMax`; slow clients by the headers and request timeouts.
   * @default 72000 (fastify's)
   */
  keepAliveTimeoutMs: number;
  /**
   * A connection on which nothing moves for this long is closed, unless a handler is still working
   * on its request (the handlers' own deadlines bound those: lock wait, store, retry budget). What
   * it catches is a client that stops reading an answer: the headers and request timeouts cover
   * everything before the handler, the keep-alive timeout everything after the answer.
   * @default 30000
   */
  connectionIdleTimeoutMs: number;
  /**
   * The request line and headers, in bytes (Node's maxHeaderSize); past it `431
   * HEADERS_TOO_LARGE`, a URL too long included.
   * @default 16384 (Node's default)
   */
  headersBytesMax: number;
  /**
   * The longest path parameter (fastify's maxParamLength); past it `414 URL_TOO_LONG`. The longest
   * the API uses is a conversation id of 129 characters (fastify's default of 100 would refuse
   * those).
   * @default 256
   */
  pathParamCharsMax: number;
  /**
   * Open connections at once. One more gets `503 OVERLOADED` with `Retry-After` and `connection:
   * close` on the raw socket, before any parsing (Node's own maxConnections would drop it
   * without a word). Sized for a node in a large cluster: 63 peers x 64 pooled connections plus 8
   * routers x 64 is about 4,600; keep it below the process's file-descriptor limit (`ulimit -n`).
   * @default 10000
   */
  connectionsMax: number;
  /**
   * Requests handled at once, from their headers until their answer is sent or the client goes
   * away. One more gets `503 OVERLOADED` with `Retry-After` and `connection: close`, and nothing
   * else happens: no body is read, no handler runs. Paths in `unlimitedPaths` are neither counted
   * nor refused. A node answers in well under a millisecond from memory and in a few from the
   * store (50,000 requests/s x 5 ms is 250 in flight); 1,000 leaves room for a failover's retries,
   * and bounds the bodies buffered at once to 1,000 x 512 KiB.
   * @default 1000
   */
  requestsInFlightMax: number;
  /**
   * The `Retry-After` of a `503 OVERLOADED` (seconds): overload is usually a burst.
   * @default 1
   */
  overloadRetryAfterSeconds: number;
  /**
   * Route paths (as registered, e.g. `/healthz`) the in-flight limit neither counts nor refuses:
   * cheap answers that must stay reachable under load (health checks; a router should add the
   * control plane's heartbeat route, so an overloaded router does not cost nodes their leases).
   * @default ['/healthz']
   */
  unlimitedPaths: readonly string[];
}

export const DEFAULT_HTTP_SERVER_OPTIONS: Readonly<HttpServerOptions> = Object.freeze({
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 72_000,
  connectionIdleTimeoutMs: 30_000,
  headersBytesMax: 16_384,
  pathParamCharsMax: 256,
  connectionsMax: 10_000,
  requestsInFlightMax: 1_000,
  overloadRetryAfterSeconds: 1,
  unlimitedPaths: Object.freeze(['/healthz']),
});

const HTTP_SERVER_RULES: OptionRules<HttpServerOptions> = {
  headersTimeoutMs: integerRule(HTTP_TIMEOUT_MS_MIN, TIMEOUT_MS_MAX),
  requestTimeoutMs: integerRule(HTTP_TIMEOUT_MS_MIN, TIMEOUT_MS_MAX),
  keepAliveTimeoutMs: integerRule(HTTP_TIMEOUT_MS_MIN, TIMEOUT_MS_MAX),
  connectionIdleTimeoutMs: integerRule(HTTP_TIMEOUT_MS_MIN, TIMEOUT_MS_MAX),
  headersBytesMax: integerRule(HTTP_HEADERS_BYTES_MIN, HTTP_HEADERS_BYTES_MAX),
  pathParamCharsMax: integerRule(PATH_PARAM_CHARS_MIN, HTTP_HEADERS_BYTES_MAX),
  connectionsMax: integerRule(1, HTTP_CONNECTIONS_LIMIT),
  requestsInFlightMax: integerRule(1, REQUESTS_IN_FLIGHT_LIMIT),
  overloadRetryAfterSeconds: integerRule(1, RETRY_AFTER_SECONDS_MAX),
  unlimitedPaths: ANY_RULE,
};

const COMPONENT = 'HttpServer';

export function resolveHttpServerOptions(
  given?: GivenOptions<HttpServerOptions>,
): Readonly<HttpServerOptions> {
  const options = resolveOptions(COMPONENT, DEFAULT_HTTP_SERVER_OPTIONS, given, HTTP_SERVER_RULES);
  const paths: unknown = options.unlimitedPaths;
  requireOption(
    Array.isArray(paths) &&
      paths.length <= 64 &&
      paths.every((path) => typeof path === 'string' && path.startsWith('/')),
    COMPONENT,
    'unlimitedPaths',
    'must be an array of at most 64 route paths, each starting with "/"',
  );
  // Node refuses a headers timeout longer than the request timeout; say so in our own words.
  requireOption(
    options.headersTimeoutMs <= options.requestTimeoutMs,
    COMPONENT,
    'headersTimeoutMs',
    `must not exceed requestTimeoutMs (${options.requestTimeoutMs}), got ${options.headersTimeoutMs}`,
  );
  return Object.freeze({ ...options, unlimitedPaths: Object.freeze([...options.unlimitedPaths]) });
}

/** What a server holds now (for stats and tests). */
export interface HttpServerLoad {
  /** Open connections counted against `connectionsMax`. */
  connections: number;
  /** Requests counted against `requestsInFlightMax`. */
  requestsInFlight: number;
  /** Connections refused past `connectionsMax` since start. */
  connectionsRefused: number;
  /** Requests refused past `requestsInFlightMax` since start. */
  requestsRefused: number;
}

/** What a server reports to, beside its answers (none: it stays silent). */
export interface HttpServerInstruments {
  /**
   * Structured logs (transport/logging): one line per answered request at the level
   * `logAnswered` gives it, each with its request id (HttpTelemetry; fastify's own logger stays
   * off).
   */
  logger?: Logger;
  /**
   * Prometheus metrics (transport/metrics): the process's registry. The server counts and times
   * every answer in it by route pattern (`registerHttpMetrics`) and serves it at `GET /metrics`,
   * which the in-flight limit never refuses (a scrape is most useful when the process is
   * overloaded). Without it the server neither records answers nor has the route.
   */
  metrics?: Registry;
}

/**
 * What a server made by `createHttpServer` shares with the other ways requests reach it (the
 * member links of transport/link): one in-flight count and limit, one closing flag, one telemetry.
 */
export interface HttpServerState {
  readonly options: Readonly<HttpServerOptions>;
  readonly load: HttpServerLoad;
  /** Set when the server starts closing (fastify's preClose). */
  closing: boolean;
  readonly telemetry: HttpTelemetry | undefined;
}

const STATES = new WeakMap<FastifyInstance, HttpServerState>();

/** The live counters of a server made by `createHttpServer` (a read-only view). */
export function httpServerLoad(app: FastifyInstance): Readonly<HttpServerLoad> {
  return httpServerState(app).load;
}

/** The shared state of a server made by `createHttpServer`. */
export function httpServerState(app: FastifyInstance): HttpServerState {
  const state = STATES.get(app);
  assert(state !== undefined, 'the server was made by createHttpServer');
  return state;
}

/**
 * The one HTTP server factory every chatring process uses (router, cache node; the control plane's
 * routes are mounted on the router's): fastify with the body limit (REQUEST_BODY_BYTES_LIMIT; a route
 * may set a larger one, as the warm-handoff route does) checked before parsing, the JSON parser
 * that reads an empty body as no body, every error answered from the catalogue (the framework's
 * and Node's parser's too: 404, 405, 408, 413, 414, 415, 431, 400), the bounds of
 * `HttpServerOptions` (timeouts, connections, requests in flight), and `503` while closing so a
 * stopping process sheds requests instead of hanging them.
 */
export function createHttpServer(
  given?: GivenOptions<HttpServerOptions>,
  instruments: HttpServerInstruments = {},
): FastifyInstance {
  const options = resolveHttpServerOptions(given);
  /** The response each socket is working on (the latest request's), for the idle and 408 checks. */
  const responses = new WeakMap<Duplex, ServerResponse>();
  const { logger, metrics } = instruments;
  const requestId = requestIdSource();
  const app = Fastify({
    bodyLimit: REQUEST_BODY_BYTES_LIMIT,
    // Never fastify's logger (it costs every request a child logger and response listeners even
    // when nothing is logged): HttpTelemetry writes each answer's line on the process's logger.
    // Request ids are made and carried (a router forwards them) whether or not anything logs.
    logger: false,
    genReqId: (request) => requestId(request.headers[REQUEST_ID_HEADER]),
    // Answered below in the catalogue's shape (fastify's own 503 body is not).
    return503OnClosing: false,
    routerOptions: { maxParamLength: options.pathParamCharsMax },
    http: {
      headersTimeout: options.headersTimeoutMs,
      requestTimeout: options.requestTimeoutMs,
      maxHeaderSize: options.headersBytesMax,
      // Node checks the two timeouts above on this interval (30 s by default, which would let a 10 s
      // headers timeout fire at 40 s): a timeout fires at most a fifth of itself late.
      connectionsCheckingInterval: Math.max(
        HTTP_TIMEOUT_MS_MIN,
        Math.min(1_000, Math.floor(options.headersTimeoutMs / 5)),
      ),
    },
    // fastify sets these on the server after creating it (0 would mean "none" to it).
    requestTimeout: options.requestTimeoutMs,
    keepAliveTimeout: options.keepAliveTimeoutMs,
    connectionTimeout: options.connectionIdleTimeoutMs,
    // Errors fastify and Node's parser answer themselves, before any route: catalogue bodies too.
    frameworkErrors: (error, request, reply) => {
      const mapped = catalogueErrorOf(error, request as unknown as FastifyRequest, options);
      // The reply's generic types know no routes here; the body is the catalogue's shape.
      void (reply as unknown as FastifyReply).code(mapped.status).send(mapped.toBody());
    },
    clientErrorHandler: (error, socket) => answerClientError(error, socket, responses.get(socket)),
  });
  const load: HttpServerLoad = {
    connections: 0,
    requestsInFlight: 0,
    connectionsRefused: 0,
    requestsRefused: 0,
  };
  app.server.on('request', (request, response: ServerResponse) =>
    responses.set(request.socket, response),
  );
  app.server.on('timeout', (socket: Socket) => {
    // Node calls this when nothing moved on the socket for connectionIdleTimeoutMs (and when a
    // kept-alive connection's keep-alive timeout ran out). With a listener here Node no longer
    // destroys the socket itself: close it unless a handler is still preparing its answer.
    const response = responses.get(socket);
    if (response === undefined || response.writableEnded) socket.destroy();
  });
  const recordAnswer = metrics === undefined ? undefined : registerHttpMetrics(metrics, load);
  const telemetry =
    logger === undefined && recordAnswer === undefined
      ? undefined
      : new HttpTelemetry(logger, recordAnswer);
  const state: HttpServerState = { options, load, closing: false, telemetry };
  STATES.set(app, state);
  const refusing = capConnections(app, options, load);
  installErrorHandlers(app, options, telemetry);
  installRequestLimits(app, state, refusing, metrics === undefined ? [] : [METRICS_PATH]);
  // After installErrorHandlers, whose route list tells 405 from 404.
  if (metrics !== undefined) registerMetricsRoute(app, metrics);
  return app;
}

/**
 * `connectionsMax`: Node's HTTP server sets up its parser in its one 'connection' listener; it is
 * wrapped so that a connection past the cap never gets a parser and is answered `503 OVERLOADED`
 * on the raw socket instead (Node's own server.maxConnections closes it without a word). Returns the
 * refused sockets still lingering, which a closing server destroys.
 */
function capConnections(
  app: FastifyInstance,
  options: Readonly<HttpServerOptions>,
  load: HttpServerLoad,
): Set<Socket> {
  const server = app.server;
  const listeners = server.listeners('connection');
  assert.equal(listeners.length, 1, "Node's HTTP server has exactly one connection listener");
  const accept = listeners[0] as (this: typeof server, socket: Socket) => void;
  server.removeListener('connection', accept);
  const refusing = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    if (load.connections < options.connectionsMax) {
      load.connections += 1;
      socket.once('close', () => (load.connections -= 1));
      accept.call(server, socket);
      return;
    }
    load.connectionsRefused += 1;
    // Refused sockets are bounded too: past connectionsMax of them lingering, drop without a word.
    if (refusing.size >= options.connectionsMax) {
      socket.destroy();
      return;
    }
    refusing.add(socket);
    const linger = setTimeout(() => socket.destroy(), REFUSED_CONNECTION_LINGER_MS).unref();
    socket.once('close', () => {
      clearTimeout(linger);
      refusing.delete(socket);
    });
    socket.on('error', () => socket.destroy());
    // Read and drop whatever the client sends: closing with unread bytes would reset the connection,
    // and a client that is still writing its request would lose the answer.
    socket.resume();
    socket.end(
      rawResponse(
        new ChatringError(
          'OVERLOADED',
          `the server is at its limit of ${options.connectionsMax} connections; retry later`,
        ),
        { 'retry-after': String(options.overloadRetryAfterSeconds) },
      ),
    );
  });
  return refusing;
}

/**
 * `requestsInFlightMax` and closing. A request counts from onRequest until its response closes
 * (sent, or the client went away: Node emits 'close' exactly once either way); past the limit it
 * is answered at once, nothing else done. While the server closes, every request gets `503
 * OWNER_UNAVAILABLE` (retryable: the router retries it on the new owner, an app on another router).
 * `alsoUnlimited`: paths the server itself exempts beside the option's (`/metrics`).
 */
function installRequestLimits(
  app: FastifyInstance,
  state: HttpServerState,
  refusing: Set<Socket>,
  alsoUnlimited: readonly string[],
): void {
  const { options, load, telemetry } = state;
  const unlimited = new Set([...options.unlimitedPaths, ...alsoUnlimited]);
  app.addHook('preClose', async () => {
    state.closing = true;
    for (const socket of refusing) socket.destroy();
  });
  const release = (): void => {
    load.requestsInFlight -= 1;
  };
  // A callback hook, not an async one: a promise per request costs more than this whole check. A
  // request refused here is answered, and `done` is never called, so nothing else runs for it.
  // The first onRequest hook, so telemetry follows every request from here, refused ones too.
  app.addHook('onRequest', (request, reply, done) => {
    const path = request.routeOptions.url;
    if (state.closing) {
      telemetry?.begin(request, reply, path, undefined);
      const stopping = new ChatringError('OWNER_UNAVAILABLE', 'the server is stopping; retry');
      void reply.code(stopping.status).header('connection', 'close').send(stopping.toBody());
      return;
    }
    if (path !== undefined && unlimited.has(path)) {
      telemetry?.begin(request, reply, path, undefined);
      done();
      return;
    }
    if (load.requestsInFlight >= options.requestsInFlightMax) {
      load.requestsRefused += 1;
      telemetry?.begin(request, reply, path, undefined);
      const overloaded = new ChatringError(
        'OVERLOADED',
        `the server is handling its limit of ${options.requestsInFlightMax} requests; retry after ${options.overloadRetryAfterSeconds} s`,
      );
      void reply
        .code(overloaded.status)
        .header('retry-after', String(options.overloadRetryAfterSeconds))
        .header('connection', 'close')
        .send(overloaded.toBody());
      return;
    }
    load.requestsInFlight += 1;
    // Node emits 'close' exactly once per response, sent or abandoned.
    if (telemetry === undefined) reply.raw.on('close', release);
    else telemetry.begin(request, reply, path, release);
    done();
  });
}

/**
 * A request body as JSON: undefined when empty (or only whitespace); `INVALID_BODY` when it is
 * not UTF-8 (decoding would store U+FFFD, something the client never sent) or not JSON.
 */
export function parseJsonBody(body: Buffer): unknown {
  if (!isUtf8(body)) throw new ChatringError('INVALID_BODY', 'the body is not valid UTF-8');
  const text = body.toString('utf8');
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new ChatringError(
      'INVALID_BODY',
      `the body is not valid JSON: ${(error as Error).message}`,
    );
  }
}

/** Every error leaves as `{error: {code, message}}` with the catalogue's status. */
function installErrorHandlers(
  app: FastifyInstance,
  options: Readonly<HttpServerOptions>,
  telemetry: HttpTelemetry | undefined,
): void {
  // JSON only: fastify's text/plain parser would hand a route a string (415 instead). An empty
  // body on a POST that takes `{}` (mark read) is accepted as `{}`.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request, body, done) => {
    let parsed: unknown;
    try {
      parsed = parseJsonBody(body as Buffer);
    } catch (error) {
      return done(error as Error, undefined);
    }
    done(null, parsed);
  });
  app.setErrorHandler((error, request, reply) => {
    const mapped = catalogueErrorOf(error, request, options);
    if (mapped.status >= 500) telemetry?.failed(request, error);
    // A body refused before it was read (too large, or its sender not a member) is still arriving:
    // close only once it is drained, else the unread bytes reset the connection and the client
    // never reads the answer.
    if (mapped.code === 'BODY_TOO_LARGE' || mapped.status === 401 || mapped.status === 403)
      drainBeforeClose(request.raw.socket, reply);
    void reply.code(mapped.status).send(mapped.toBody());
  });
  const routes = trackRoutes(app);
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] ?? '';
    const allowed = routes.methodsOf(path);
    if (allowed.length > 0) {
      const mapped = new ChatringError(
        'METHOD_NOT_ALLOWED',
        `${request.method} is not allowed on ${path}; allowed: ${allowed.join(', ')}`,
      );
      void reply.code(mapped.status).header('allow', allowed.join(', ')).send(mapped.toBody());
      return;
    }
    const mapped = new ChatringError('NOT_FOUND', `no route ${request.method} ${path}`);
    void reply.code(mapped.status).send(mapped.toBody());
  });
}

/**
 * fastify answers a path that exists under another method with 404; to tell 405 from 404 every
 * route registered is kept as a pattern (`:param` matches one path segment, `*` the rest), and the
 * not-found handler asks which methods the path has.
 */
function trackRoutes(app: FastifyInstance): { methodsOf(path: string): string[] } {
  const routes: { methods: string[]; pattern: RegExp }[] = [];
  app.addHook('onRoute', (route: RouteOptions) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    routes.push({ methods: methods.map(String), pattern: routePattern(route.url) });
  });
  return {
    methodsOf(path) {
      const methods = new Set<string>();
      for (const route of routes)
        if (route.pattern.test(path)) for (const method of route.methods) methods.add(method);
      return [...methods].sort();
    },
  };
}

function routePattern(url: string): RegExp {
  const segments = url.split('/').map((segment) => {
    if (segment.startsWith(':')) return '[^/]+';
    if (segment === '*') return '.*';
    return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  });
  return new RegExp(`^${segments.join('/')}$`);
}

/** Any error a request met, in the catalogue; the framework's own by their fastify codes. */
function catalogueErrorOf(
  error: unknown,
  request: FastifyRequest | undefined,
  options: Readonly<HttpServerOptions>,
): ChatringError {
  const code = (error as { code?: unknown } | null)?.code;
  const statusCode = (error as { statusCode?: unknown } | null)?.statusCode;
  if (error instanceof ChatringError) return toChatringError(error);
  if (code === 'FST_ERR_BAD_URL') return new ChatringError('INVALID_URL', (error as Error).message);
  if (code === 'FST_ERR_MAX_PARAM_LENGTH')
    return new ChatringError(
      'URL_TOO_LONG',
      `a path parameter is longer than ${options.pathParamCharsMax} characters`,
    );
  if (statusCode === 413) {
    // The route's own limit (the warm-handoff route's is larger than the default).
    const limit = request?.routeOptions?.bodyLimit ?? REQUEST_BODY_BYTES_LIMIT;
    return new ChatringError('BODY_TOO_LARGE', `the body exceeds ${limit} bytes`);
  }
  if (code === 'FST_ERR_CTP_INVALID_CONTENT_LENGTH')
    return new ChatringError('INVALID_BODY', 'the body does not match its content-length');
  return toChatringError(error);
}

/**
 * A request Node's HTTP parser refused (headers too large, malformed, too slow: the headers or
 * the whole request past its timeout, a silent connection included): answered on the raw socket
 * with the catalogue's shape, then closed, as fastify's default handler does with its own. A
 * socket in the middle of writing an answer cannot take another: it is only closed.
 */
function answerClientError(
  error: NodeJS.ErrnoException,
  socket: Duplex,
  response: ServerResponse | undefined,
): void {
  if (error.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const mapped =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? new ChatringError('HEADERS_TOO_LARGE', 'the request line and headers are too large')
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? new ChatringError('REQUEST_TIMEOUT', 'the request did not arrive in time')
        : new ChatringError(
            'MALFORMED_REQUEST',
            `the request is not valid HTTP (${error.code ?? 'unknown'})`,
          );
  const answer = () => {
    if (!socket.writable) return void socket.destroy();
    // Half-close, then drop what the client still sends until it closes (or the linger ends):
    // closing with unread bytes would reset the connection before the client reads the answer.
    socket.end(rawResponse(mapped));
    socket.resume();
    const linger = setTimeout(() => socket.destroy(), REFUSED_CONNECTION_LINGER_MS).unref();
    socket.once('close', () => clearTimeout(linger));
  };
  // An answer already being written cannot be interrupted by another: the socket is only closed.
  // KNOWN LIMIT: garbage pipelined after a whole request still being handled is answered 400 now,
  // and that request's own answer is lost (it did run): waiting for it does not work, Node aborts
  // it once its parser failed (test/security/fuzz.test.ts, KNOWN_BUGS).
  if (response !== undefined && response.headersSent && !response.writableEnded)
    return void socket.destroy();
  answer();
}

/**
 * Answers with `connection: close`, then half-closes the socket and reads and drops whatever the
 * client still sends until it closes too (or REFUSED_CONNECTION_LINGER_MS pass). Node ends a
 * `connection: close` answer with socket.destroySoon(), which would destroy the socket with the
 * rest of the body unread: the kernel then resets the connection, and the answer may be lost.
 */
function drainBeforeClose(socket: Socket, reply: FastifyReply): void {
  void reply.header('connection', 'close');
  socket.destroySoon = () => {
    socket.end();
    socket.resume();
    const linger = setTimeout(() => socket.destroy(), REFUSED_CONNECTION_LINGER_MS).unref();
    socket.once('close', () => clearTimeout(linger));
  };
}

/** A whole HTTP/1.1 answer with a catalogue body, for a socket no ServerResponse owns. */
export function rawResponse(error: ChatringError, headers: Record<string, string> = {}): string {
  const body = JSON.stringify(error.toBody());
  const extra = Object.entries(headers)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
  return (
    `HTTP/1.1 ${error.status} ${STATUS_CODES[error.status] ?? ''}\r\n` +
    `content-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\n` +
    `${extra}connection: close\r\n\r\n${body}`
  );
}
