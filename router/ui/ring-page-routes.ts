import type { FastifyInstance, FastifyRequest } from 'fastify';
import { CONTROL_PLANE_PATHS } from '../../control-plane/index.js';
import { SYSTEM_CLOCK, type ClusterStatus, type Clock } from '../../protocol/index.js';
import type { RingView } from '../../ring/index.js';
import { PeerClient, type MemberSigner } from '../../transport/index.js';
import { readNodeReport } from './node-report.js';
import { RING_PAGE_CONTENT_SECURITY_POLICY, RING_PAGE_HTML } from './ring-page-html.js';
import { RingChangeWatch } from './ring-change-watch.js';
import { RING_PAGE_TIMINGS, RingPageSource, type ForwardedHeaders } from './ring-page-source.js';

/** The ring page (open: it holds no data) and the state it polls (an operator route). */
export const RING_PAGE_PATHS = Object.freeze({ page: '/ui', state: '/ui/state' });

export interface RingPageDependencies {
  /** The ring this router routes by (shown when the control plane does not answer). */
  ring: () => RingView | undefined;
  /**
   * The router's member signer: nodes' stats and metrics are read as a member, whatever the caller
   * of `/ui/state` presented (its operator token then need not be one the nodes take). Without
   * it (tests), the caller's operator token is passed on.
   */
  signer?: MemberSigner;
  /** @default SYSTEM_CLOCK */
  clock?: Clock;
}

/**
 * The live ring page on a router: `GET /ui` serves the page, `GET /ui/state` the document it polls
 * (ring-page-state.ts). Call before the control plane's routes are registered: the page watches
 * the ring-change route through a hook added as that route is registered (ring-change-watch.ts).
 *
 * The state is gathered with what the caller of `/ui/state` presented: the control plane's status
 * by the router's own status route (in-process or Redis, whichever this router uses, under the
 * same access check), and each node's stats and metrics signed as the router (a member), or with
 * the caller's operator token when no signer is given.
 */
export function registerRingPage(app: FastifyInstance, deps: RingPageDependencies): void {
  const clock = deps.clock ?? SYSTEM_CLOCK;
  const changes = new RingChangeWatch(clock);
  changes.install(app);
  const peers = new PeerClient('ring page', {
    timeoutMs: RING_PAGE_TIMINGS.nodeTimeoutMs,
    connectionsPerPeer: 2,
    queuedPerPeerMax: 8,
    keepAliveTimeoutMs: 10_000,
    signer: deps.signer,
  });
  app.addHook('onClose', async () => peers.close());
  const source = new RingPageSource({
    readStatus: (headers) => readOwnStatus(app, headers),
    readNode: (url, headers) =>
      readNodeReport(peers, url, deps.signer === undefined ? headers : {}),
    ring: () => deps.ring()?.config,
    changes,
    clock,
  });

  app.get(RING_PAGE_PATHS.page, async (_request, reply) =>
    reply
      .header('content-type', 'text/html; charset=utf-8')
      .header('content-security-policy', RING_PAGE_CONTENT_SECURITY_POLICY)
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .header('cache-control', 'no-store')
      .send(RING_PAGE_HTML),
  );
  app.get(RING_PAGE_PATHS.state, async (request, reply) => {
    void reply.header('cache-control', 'no-store');
    return source.state(forwardedHeaders(request));
  });
}

/** The operator's credential, passed on to the status route and the nodes. */
function forwardedHeaders(request: FastifyRequest): ForwardedHeaders {
  const { authorization } = request.headers;
  return authorization === undefined ? {} : { authorization };
}

async function readOwnStatus(
  app: FastifyInstance,
  headers: ForwardedHeaders,
): Promise<ClusterStatus> {
  const answer = await app.inject({ method: 'GET', url: CONTROL_PLANE_PATHS.status, headers });
  if (answer.statusCode !== 200)
    throw new Error(
      `the control plane's status answered HTTP ${answer.statusCode}: ${answer.body.slice(0, 200)}`,
    );
  return answer.json<ClusterStatus>();
}
