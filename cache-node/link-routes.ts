import {
  ChatringError,
  DELIVER_PATH,
  RING_EPOCH_HEADER,
  parseDeliverRequest,
} from '../protocol/index.js';
import { parseJsonBody, type LinkRoute, type LinkRoutes } from '../transport/index.js';
import type { MailboxService } from './mailbox-service.js';
import { publicLinkRoutes, type PublicApi } from './public-api.js';

/**
 * What a node serves on links (transport/link): the public API to every caller, and node-to-node
 * delivery (a coordinator writing the other participant's copy, `DELIVER_PATH`) to members only,
 * as over HTTP. Delivery rides the link its coordinator already holds to this node instead of an
 * HTTP request per send: no parse, no framework routing and hooks, no per-request signature
 * (the link's upgrade was signed), and the deliveries of one event-loop turn share one write.
 */
export function nodeLinkRoutes(
  api: PublicApi,
  service: MailboxService,
  catchUpEpoch: (header: string | undefined) => Promise<void> | undefined,
): LinkRoutes {
  const publicRoutes = publicLinkRoutes(api, catchUpEpoch);
  const deliver: LinkRoute = {
    route: DELIVER_PATH,
    run: async (request) => {
      // A coordinator that routed by a newer ring than ours: learn it before judging ownership.
      await catchUpEpoch(request.headers[RING_EPOCH_HEADER]);
      const answer = await service.deliver(parseDeliverRequest(parseJsonBody(request.body)));
      return { status: 200, body: Buffer.from(JSON.stringify(answer)) };
    },
  };
  return (request, caller) => {
    if (request.path !== DELIVER_PATH) return publicRoutes(request, caller);
    if (request.method !== 'POST') return undefined;
    // As over HTTP, where this route asks for a member's signature whatever else a caller holds.
    if (caller !== 'member')
      throw new ChatringError('UNAUTHENTICATED', 'this route is for cluster members: sign it');
    return deliver;
  };
}
