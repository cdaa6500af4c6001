import type { FastifyInstance, FastifyReply } from 'fastify';
import {
  DELIVER_PATH,
  HANDOFF_PATHS,
  RING_EPOCH_HEADER,
  RING_EPOCH_MAX,
  WARM_BATCH_BODY_BYTES_LIMIT,
  parseCancelRequest,
  parseDeliverRequest,
  parseReleaseRequest,
  parseRingPush,
  parseWarmBatch,
  type GivenOptions,
  type RingConfig,
} from '../protocol/index.js';
import {
  createHttpServer,
  installAccessControl,
  serveMemberLinks,
  type AccessPolicy,
  type HttpServerInstruments,
  type HttpServerOptions,
} from '../transport/index.js';
import type { JsonAnswer } from './mailbox-reads.js';
import type { MailboxService } from './mailbox-service.js';
import type { Handoff } from './handoff.js';
import { nodeLinkRoutes } from './link-routes.js';
import { PUBLIC_ROUTES, publicApi, type PublicApi } from './public-api.js';

export interface NodeServerDependencies {
  service: MailboxService;
  /** The node's current ring epoch, and a way to catch up when a caller routed by a newer one. */
  epoch: () => number;
  refreshRing: () => Promise<void>;
  stats: () => unknown;
  handoff: Handoff;
  adoptRing: (ring: RingConfig) => void;
  /** Who may call what (transport/security): checked before any route runs. */
  access: AccessPolicy;
  /** The server's bounds (timeouts, connection cap, in-flight limit). */
  http: GivenOptions<HttpServerOptions>;
  /** Logs and the like (none: silent). */
  instruments?: HttpServerInstruments;
}

interface UserParams {
  userId: string;
}
interface ConversationParams extends UserParams {
  conversationId: string;
}

/**
 * The cache node's HTTP face: the same /v1 routes as the router (it forwards unchanged), plus the
 * internal routes: deliver (from a coordinator), the handoff routes and the ring push (from whoever
 * runs a ring change), and stats.
 */
export function buildNodeServer(deps: NodeServerDependencies): FastifyInstance {
  // Held change-feed requests are bounded by the feed (per user and per node), not by the
  // in-flight limit: a node holds thousands of them while serving its usual load.
  const app = createHttpServer(
    {
      ...deps.http,
      unlimitedPaths: [...(deps.http.unlimitedPaths ?? ['/healthz']), PUBLIC_ROUTES.changes],
    },
    deps.instruments,
  );
  installAccessControl(app, deps.access);
  // Held requests are answered (retryably) as the node begins to close, so it need not wait them out.
  app.addHook('preClose', (done) => {
    deps.service.releaseAllWatchers();
    done();
  });

  // A caller that routed by a newer ring than ours: learn it before judging ownership. If the
  // control plane cannot answer, we judge by the ring we have (at worst NOT_OWNER: the caller retries).
  // Only a plausible epoch triggers it, and one refresh serves every request waiting meanwhile.
  let refreshing: Promise<void> | undefined;
  const catchUpEpoch = (header: string | string[] | undefined): Promise<void> | undefined => {
    const epoch = typeof header === 'string' && /^\d{1,16}$/.test(header) ? Number(header) : 0;
    if (epoch <= deps.epoch() || epoch > RING_EPOCH_MAX) return undefined;
    refreshing ??= deps
      .refreshRing()
      .catch(() => undefined)
      .finally(() => (refreshing = undefined));
    return refreshing;
  };
  // A callback hook: the usual request (epoch not newer) passes without a promise.
  app.addHook('onRequest', (request, _reply, done) => {
    const caughtUp = catchUpEpoch(request.headers[RING_EPOCH_HEADER]);
    if (caughtUp === undefined) done();
    else void caughtUp.then(() => done());
  });

  app.get('/healthz', async () => ({ status: 'ok', epoch: deps.epoch() }));
  app.get('/internal/v1/stats', async () => deps.stats());
  registerInternalRoutes(app, deps);
  const api = publicApi(deps.service);
  registerPublicRoutes(app, api);
  // The router's forwards, ring-aware apps' calls and other nodes' deliveries arrive on links: the
  // same handlers, without HTTP per request.
  serveMemberLinks(app, deps.access, nodeLinkRoutes(api, deps.service, catchUpEpoch));
  return app;
}

/** Every internal body is checked (protocol/internal-validation.ts): a malformed one is a 400 with
 * a catalogue code, never a TypeError deep in a handler. */
function registerInternalRoutes(app: FastifyInstance, deps: NodeServerDependencies): void {
  app.post(DELIVER_PATH, async (request) => {
    return deps.service.deliver(parseDeliverRequest(request.body));
  });
  app.post(HANDOFF_PATHS.release, async (request) => {
    const { changeId, targetRing } = parseReleaseRequest(request.body);
    return deps.handoff.release(changeId, targetRing);
  });
  app.post(HANDOFF_PATHS.warm, { bodyLimit: WARM_BATCH_BODY_BYTES_LIMIT }, async (request) => ({
    accepted: deps.handoff.acceptWarm(parseWarmBatch(request.body)),
  }));
  app.post(HANDOFF_PATHS.cancel, async (request) => {
    deps.handoff.cancel(parseCancelRequest(request.body).changeId);
    return { cancelled: true };
  });
  app.post(HANDOFF_PATHS.ring, async (request) => {
    deps.adoptRing(parseRingPush(request.body).ring);
    return { epoch: deps.epoch() };
  });
}

/** The public API, checked as the router checks it. */
function registerPublicRoutes(app: FastifyInstance, api: PublicApi): void {
  app.post(PUBLIC_ROUTES.send, async (request, reply) => {
    const { status, result } = await api.send(request.body, request.id);
    return reply.code(status).send(result);
  });

  // The reads answer with the body's JSON text, sent as it is (fastify serialises nothing), and
  // with no promise at all when the warm cache covers the page: the handlers are not async.
  app.get<{ Params: UserParams }>(PUBLIC_ROUTES.conversations, (request, reply) =>
    sendJson(reply, api.conversations(request.params.userId, request.query)),
  );

  app.get<{ Params: ConversationParams }>(PUBLIC_ROUTES.messages, (request, reply) =>
    sendJson(
      reply,
      api.messages(request.params.userId, request.params.conversationId, request.query),
    ),
  );

  app.post<{ Params: ConversationParams }>(PUBLIC_ROUTES.read, async (request) =>
    api.markRead(request.params.userId, request.params.conversationId, request.body),
  );

  app.get<{ Params: UserParams }>(PUBLIC_ROUTES.changes, (request, reply) =>
    sendJson(reply, api.changes(request.params.userId, request.query)),
  );
}

/** What fastify's own serialisation would have labelled the body (the router relays it as is). */
const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';

/**
 * Sends a body that is JSON text already: at once when it is there, else when it resolves (fastify
 * sends what the returned promise resolves to; a rejection goes to the error handler).
 */
function sendJson(reply: FastifyReply, answer: JsonAnswer): Promise<string> | undefined {
  void reply.header('content-type', JSON_CONTENT_TYPE);
  if (typeof answer !== 'string') return answer;
  void reply.send(answer);
  return undefined;
}
