import type { FastifyInstance } from 'fastify';
import {
  CONVERSATIONS_PAGE_SIZE_DEFAULT,
  DELIVER_PATH,
  MESSAGES_PAGE_SIZE_DEFAULT,
  RING_EPOCH_HEADER,
  ChatringError,
  assertUserId,
  conversationIdOf,
  parseListQuery,
  parseMarkReadBody,
  parseSendRequest,
  HANDOFF_PATHS,
  type DeliverRequest,
  type RingConfig,
  type Message,
  WARM_BATCH_BODY_BYTES_LIMIT,
} from '../protocol/index.js';
import { createHttpServer } from '../transport/index.js';
import type { MailboxService } from './mailbox-service.js';
import type { Handoff, WarmBatch } from './handoff.js';

export interface NodeServerDependencies {
  service: MailboxService;
  /** The node's current ring epoch, and a way to catch up when a caller routed by a newer one. */
  epoch: () => number;
  refreshRing: () => Promise<void>;
  stats: () => unknown;
  handoff: Handoff;
  adoptRing: (ring: RingConfig) => void;
}

interface UserParams {
  userId: string;
}
interface ConversationParams extends UserParams {
  conversationId: string;
}

/** The cache node's HTTP face: the same /v1 routes as the router (it forwards unchanged), plus deliver. */
export function buildNodeServer(deps: NodeServerDependencies): FastifyInstance {
  const app = createHttpServer();
  const { service } = deps;

  // A caller that routed by a newer ring than ours: learn it before judging ownership.
  app.addHook('onRequest', async (request) => {
    const header = request.headers[RING_EPOCH_HEADER];
    if (typeof header === 'string' && Number(header) > deps.epoch())
      await deps.refreshRing().catch(() => undefined);
  });

  app.get('/healthz', async () => ({ status: 'ok', epoch: deps.epoch() }));
  app.get('/internal/v1/stats', async () => deps.stats());

  // Handoff: called by whoever runs a ring change (the control plane's orchestrator).
  app.post(HANDOFF_PATHS.release, async (request) => {
    const { changeId, targetRing } = request.body as { changeId: string; targetRing: RingConfig };
    return deps.handoff.release(changeId, targetRing);
  });
  app.post(HANDOFF_PATHS.warm, { bodyLimit: WARM_BATCH_BODY_BYTES_LIMIT }, async (request) => ({
    accepted: deps.handoff.acceptWarm(request.body as WarmBatch),
  }));
  app.post(HANDOFF_PATHS.cancel, async (request) => {
    deps.handoff.cancel((request.body as { changeId: string }).changeId);
    return { cancelled: true };
  });
  app.post(HANDOFF_PATHS.ring, async (request) => {
    deps.adoptRing((request.body as { ring: RingConfig }).ring);
    return { epoch: deps.epoch() };
  });

  app.post('/v1/messages', async (request, reply) => {
    const result = await service.send(parseSendRequest(request.body));
    return reply.code(result.duplicate ? 200 : 201).send(result);
  });

  app.post(DELIVER_PATH, async (request) => {
    return service.deliver(parseDeliverRequest(request.body));
  });

  app.get<{ Params: UserParams }>('/v1/users/:userId/conversations', async (request) => {
    const userId = assertUserId(request.params.userId);
    return service.listConversations(
      userId,
      parseListQuery(request.query, CONVERSATIONS_PAGE_SIZE_DEFAULT, { userId }),
    );
  });

  app.get<{ Params: ConversationParams }>(
    '/v1/users/:userId/conversations/:conversationId/messages',
    async (request) => {
      const userId = assertUserId(request.params.userId);
      const { conversationId } = request.params;
      return service.listMessages(
        userId,
        conversationId,
        parseListQuery(request.query, MESSAGES_PAGE_SIZE_DEFAULT, { userId, conversationId }),
      );
    },
  );

  app.post<{ Params: ConversationParams }>(
    '/v1/users/:userId/conversations/:conversationId/read',
    async (request) => {
      const userId = assertUserId(request.params.userId);
      parseMarkReadBody(request.body);
      return service.markRead(userId, request.params.conversationId);
    },
  );

  return app;
}

/** The coordinator's proposal, checked as strictly as a public send. */
function parseDeliverRequest(body: unknown): Message {
  const { message } = (body ?? {}) as Partial<DeliverRequest>;
  if (typeof message !== 'object' || message === null)
    throw new ChatringError('INVALID_BODY', 'deliver takes {message}');
  const { senderId, recipientId, content, clientMessageId, messageId, conversationId, sentAt } =
    message;
  const send = parseSendRequest({ senderId, recipientId, content, clientMessageId });
  if (typeof messageId !== 'string' || messageId.length === 0 || messageId.length > 64)
    throw new ChatringError('INVALID_FIELD', 'messageId must be a string');
  if (conversationId !== conversationIdOf(send.senderId, send.recipientId))
    throw new ChatringError(
      'INVALID_CONVERSATION_ID',
      'conversationId does not match the participants',
    );
  if (!Number.isSafeInteger(sentAt) || sentAt < 0)
    throw new ChatringError('INVALID_FIELD', 'sentAt must be epoch ms');
  return { ...send, messageId, conversationId, sentAt };
}
