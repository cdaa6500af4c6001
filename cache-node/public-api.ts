import { parse as parseQueryString } from 'fast-querystring';
import {
  ChatringError,
  CONVERSATIONS_PAGE_SIZE_DEFAULT,
  MESSAGES_PAGE_SIZE_DEFAULT,
  RING_EPOCH_HEADER,
  assertUserId,
  parseListQuery,
  parseChangesQuery,
  parseMarkReadBody,
  parseSendRequest,
} from '../protocol/index.js';
import { parseJsonBody, type LinkAnswer, type LinkRoutes } from '../transport/index.js';
import type { JsonAnswer } from './mailbox-reads.js';
import type { MailboxService } from './mailbox-service.js';

/** The public API's route patterns on a node (the router's are the same). */
export const PUBLIC_ROUTES = Object.freeze({
  send: '/v1/messages',
  conversations: '/v1/users/:userId/conversations',
  messages: '/v1/users/:userId/conversations/:conversationId/messages',
  read: '/v1/users/:userId/conversations/:conversationId/read',
  changes: '/v1/users/:userId/changes',
});

/**
 * The public API's handlers, checked as the router checks them, whichever way a request came:
 * over HTTP (node-server.ts's routes) or on a member link (`publicLinkRoutes`). Parameters are
 * as the transport decoded them (path parameters percent-decoded, the query string parsed).
 */
export interface PublicApi {
  send(body: unknown, requestId: string): Promise<{ status: 200 | 201; result: unknown }>;
  conversations(userIdParam: string, query: unknown): JsonAnswer;
  messages(userIdParam: string, conversationId: string, query: unknown): JsonAnswer;
  markRead(userIdParam: string, conversationId: string, body: unknown): Promise<unknown>;
  /** The change feed: may be held up to the query's `waitMs` (a held route on links). */
  changes(userIdParam: string, query: unknown): JsonAnswer;
}

export function publicApi(service: MailboxService): PublicApi {
  return {
    async send(body, requestId) {
      const result = await service.send(parseSendRequest(body), requestId);
      return { status: result.duplicate ? 200 : 201, result };
    },
    conversations(userIdParam, query) {
      const userId = assertUserId(userIdParam);
      return service.listConversationsJson(
        userId,
        parseListQuery(query, CONVERSATIONS_PAGE_SIZE_DEFAULT, { userId }),
      );
    },
    messages(userIdParam, conversationId, query) {
      const userId = assertUserId(userIdParam);
      return service.listMessagesJson(
        userId,
        conversationId,
        parseListQuery(query, MESSAGES_PAGE_SIZE_DEFAULT, { userId, conversationId }),
      );
    },
    async markRead(userIdParam, conversationId, body) {
      const userId = assertUserId(userIdParam);
      parseMarkReadBody(body);
      return service.markRead(userId, conversationId);
    },
    changes(userIdParam, query) {
      const userId = assertUserId(userIdParam);
      return service.changesJson(userId, parseChangesQuery(query, userId));
    },
  };
}

/**
 * The public API as member-link routes (transport/link): the router forwards every public
 * request on a link, and it gets the answer, status and bytes, the HTTP route would give. A
 * request routed by a newer ring than the node's waits for `catchUpEpoch` first, as over HTTP.
 */
export function publicLinkRoutes(
  api: PublicApi,
  catchUpEpoch: (header: string | undefined) => Promise<void> | undefined,
): LinkRoutes {
  return (request) => {
    const queryAt = request.path.indexOf('?');
    const path = queryAt < 0 ? request.path : request.path.slice(0, queryAt);
    const segments = path.split('/');
    // ['', 'v1', 'messages'], ['', 'v1', 'users', U, 'changes'] or
    // ['', 'v1', 'users', U, 'conversations', (C, 'messages' | 'read')]
    if (segments[1] !== 'v1') return undefined;
    const query = (): unknown =>
      queryAt < 0 ? {} : parseQueryString(request.path.slice(queryAt + 1));
    const afterEpoch = <T>(run: () => T | Promise<T>): T | Promise<T> => {
      const caughtUp = catchUpEpoch(request.headers[RING_EPOCH_HEADER]);
      return caughtUp === undefined ? run() : caughtUp.then(run);
    };
    if (segments.length === 3 && segments[2] === 'messages' && request.method === 'POST')
      return {
        route: PUBLIC_ROUTES.send,
        run: (_request, requestId) =>
          afterEpoch(async () => {
            const { status, result } = await api.send(parseJsonBody(request.body), requestId);
            return jsonAnswer(status, JSON.stringify(result));
          }),
      };
    if (segments[2] !== 'users') return undefined;
    const userId = pathParam(segments[3]);
    if (segments.length === 5 && segments[4] === 'changes' && request.method === 'GET')
      return {
        route: PUBLIC_ROUTES.changes,
        // Held until a change or its waitMs: counted by the feed's own bounds, not the in-flight limit.
        held: true,
        run: () => afterEpoch(() => textAnswer(api.changes(userId(), query()))),
      };
    if (segments[4] !== 'conversations') return undefined;
    if (segments.length === 5 && request.method === 'GET')
      return {
        route: PUBLIC_ROUTES.conversations,
        run: () => afterEpoch(() => textAnswer(api.conversations(userId(), query()))),
      };
    if (segments.length !== 7) return undefined;
    const conversationId = pathParam(segments[5]);
    if (segments[6] === 'messages' && request.method === 'GET')
      return {
        route: PUBLIC_ROUTES.messages,
        run: () => afterEpoch(() => textAnswer(api.messages(userId(), conversationId(), query()))),
      };
    if (segments[6] === 'read' && request.method === 'POST')
      return {
        route: PUBLIC_ROUTES.read,
        run: () =>
          afterEpoch(async () =>
            jsonAnswer(
              200,
              JSON.stringify(
                await api.markRead(userId(), conversationId(), parseJsonBody(request.body)),
              ),
            ),
          ),
      };
    return undefined;
  };
}

/** A path segment, percent-decoded when the route runs (a bad escape is the route's 400). */
function pathParam(segment: string | undefined): () => string {
  return () => {
    if (segment === undefined || segment === '')
      throw new ChatringError('INVALID_URL', 'an empty path parameter');
    try {
      return segment.includes('%') ? decodeURIComponent(segment) : segment;
    } catch {
      throw new ChatringError('INVALID_URL', `a malformed escape in ${segment.slice(0, 64)}`);
    }
  };
}

function textAnswer(answer: JsonAnswer): LinkAnswer | Promise<LinkAnswer> {
  return typeof answer === 'string'
    ? jsonAnswer(200, answer)
    : answer.then((text) => jsonAnswer(200, text));
}

function jsonAnswer(status: number, text: string): LinkAnswer {
  return { status, body: Buffer.from(text) };
}
