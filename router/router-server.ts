import type { FastifyInstance, FastifyReply } from 'fastify';
import {
  ChatringError,
  CONVERSATIONS_PAGE_SIZE_DEFAULT,
  MESSAGES_PAGE_SIZE_DEFAULT,
  assertUserId,
  orderedPair,
  parseChangesQuery,
  parseListQuery,
  parseMarkReadBody,
  parseSendRequest,
  participantsOf,
  PUBLIC_RING_PATH,
  type GivenOptions,
} from '../protocol/index.js';
import { CONTROL_PLANE_PATHS } from '../control-plane/index.js';
import {
  createHttpServer,
  installAccessControl,
  type AccessPolicy,
  type HttpServerInstruments,
  type MemberSigner,
  type HttpServerOptions,
  type OwnerClient,
  type RawOwnerResponse,
} from '../transport/index.js';
import { publicRingOf, type RingView } from '../ring/index.js';
import { ROUTER_ADMIN_PATHS, ownerAnswerOf } from './owner-lookup.js';
import { registerRingPage } from './ui/index.js';
import { registerOpenApiRoute } from './openapi-route.js';

export interface RouterServerDependencies {
  owners: OwnerClient;
  ring: () => RingView | undefined;
  /** Who may call what (transport/security): checked before any route runs. */
  access: AccessPolicy;
  /** The server's bounds (timeouts, connection cap, in-flight limit). */
  http: GivenOptions<HttpServerOptions>;
  /** Signs what the router itself asks of members (the ring page's reads of nodes). */
  signer?: MemberSigner;
  /** Extra routes (the local control plane, admin). */
  extraRoutes?: (app: FastifyInstance) => void;
  /** Logs and the like (none: silent); request ids are made and forwarded either way. */
  instruments?: HttpServerInstruments;
}

interface UserParams {
  userId: string;
}
interface ConversationParams extends UserParams {
  conversationId: string;
}

/**
 * The public API v1 (DESIGN.md). The router validates every input itself, so bad requests are
 * refused at the door and nothing reaches a node; then it forwards the request unchanged to the
 * owning node and relays the answer's bytes (a thin relay: success bodies are not parsed or
 * serialised again). Body size is limited before parsing (fastify's bodyLimit).
 */
export function buildRouterServer(deps: RouterServerDependencies): FastifyInstance {
  // A flood of API requests must not cost nodes their leases: heartbeats skip the in-flight limit.
  const app = createHttpServer(
    {
      ...deps.http,
      // Held change-feed requests: each holds one app connection (bounded by connectionsMax)
      // and nothing else here, so they do not count against the in-flight limit.
      unlimitedPaths: [
        ...(deps.http.unlimitedPaths ?? ['/healthz']),
        CONTROL_PLANE_PATHS.heartbeat,
        CHANGES_ROUTE,
      ],
    },
    deps.instruments,
  );
  installAccessControl(app, deps.access);

  app.get('/healthz', async () => ({ status: 'ok', epoch: deps.ring()?.epoch ?? 0 }));
  registerOpenApiRoute(app);

  // The ring as apps see it (an app route: app tokens apply): what a ring-aware client needs to
  // send a request straight to its owner, stamped with the epoch it routed by.
  app.get(PUBLIC_RING_PATH, async () => publicRingOf(deps.ring()));

  app.post('/v1/messages', async (request, reply) => {
    const send = parseSendRequest(request.body);
    const coordinator = orderedPair(send.senderId, send.recipientId)[0];
    return relay(
      reply,
      await deps.owners.relay(coordinator, {
        method: 'POST',
        path: '/v1/messages',
        body: send,
        requestId: request.id,
      }),
    );
  });

  app.get<{ Params: UserParams }>('/v1/users/:userId/conversations', async (request, reply) => {
    const userId = assertUserId(request.params.userId);
    parseListQuery(request.query, CONVERSATIONS_PAGE_SIZE_DEFAULT, { userId });
    return relay(
      reply,
      await deps.owners.relay(userId, { method: 'GET', path: request.url, requestId: request.id }),
    );
  });

  // The change feed: the owner may hold the request up to waitMs; the relay's attempt allows for
  // it, and a watch the owner gives up (the ring moved, it stops) is asked again of the new owner.
  // A stopping router answers its held watches at once (the app asks another router) instead of
  // keeping its close waiting for them.
  const heldWatches = new Set<() => void>();
  app.addHook('preClose', (done) => {
    for (const stop of heldWatches) stop();
    done();
  });
  app.get<{ Params: UserParams }>(CHANGES_ROUTE, async (request, reply) => {
    const userId = assertUserId(request.params.userId);
    const { waitMs } = parseChangesQuery(request.query, userId);
    const relayed = deps.owners.relay(userId, {
      method: 'GET',
      path: request.url,
      requestId: request.id,
      holdMs: waitMs,
    });
    if (waitMs === 0) return relay(reply, await relayed);
    let stop = (): void => undefined;
    const stopped = new Promise<never>((_resolve, reject) => {
      stop = () =>
        reject(new ChatringError('OWNER_UNAVAILABLE', 'the router is stopping; ask another'));
    });
    heldWatches.add(stop);
    relayed.catch(() => undefined); // abandoned when the router stops first
    try {
      return relay(reply, await Promise.race([relayed, stopped]));
    } finally {
      heldWatches.delete(stop);
    }
  });

  app.get<{ Params: ConversationParams }>(
    '/v1/users/:userId/conversations/:conversationId/messages',
    async (request, reply) => {
      const userId = assertUserId(request.params.userId);
      const conversationId = request.params.conversationId;
      participantsOf(conversationId, userId);
      parseListQuery(request.query, MESSAGES_PAGE_SIZE_DEFAULT, { userId, conversationId });
      return relay(
        reply,
        await deps.owners.relay(userId, {
          method: 'GET',
          path: request.url,
          requestId: request.id,
        }),
      );
    },
  );

  app.post<{ Params: ConversationParams }>(
    '/v1/users/:userId/conversations/:conversationId/read',
    async (request, reply) => {
      const userId = assertUserId(request.params.userId);
      participantsOf(request.params.conversationId, userId);
      parseMarkReadBody(request.body);
      return relay(
        reply,
        await deps.owners.relay(userId, {
          method: 'POST',
          path: request.url,
          body: {},
          requestId: request.id,
        }),
      );
    },
  );

  app.get<{ Params: UserParams }>(ROUTER_ADMIN_PATHS.owner, async (request) =>
    ownerAnswerOf(deps.ring(), request.params.userId),
  );

  // The live ring page; before the extra routes: it watches the ring-change route they add.
  registerRingPage(app, {
    ring: deps.ring,
    ...(deps.signer === undefined ? {} : { signer: deps.signer }),
  });
  deps.extraRoutes?.(app);
  return app;
}

/** The owner's answer, relayed as the bytes it sent: a success body is never parsed here. */
function relay(reply: FastifyReply, response: RawOwnerResponse): FastifyReply {
  return reply
    .code(response.statusCode)
    .header('content-type', JSON_CONTENT_TYPE)
    .send(response.bytes);
}

const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';

const CHANGES_ROUTE = '/v1/users/:userId/changes';
