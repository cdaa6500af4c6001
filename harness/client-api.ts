/**
 * The typed client (client/) seen through the harness's ApiResponse shape: a call never throws,
 * a failure becomes its status and catalogue code. What lets one load loop, one history check and
 * one benchmark drive the router (ApiClient) and client-direct (ChatringClient) alike.
 */
import type {
  ChatringClient,
  MessagesResponse,
  PageQuery,
  SendMessageResponse,
} from '../client/index.js';
import type { ApiResponse } from './api-client.js';

/** What a load loop needs of a client: send and read messages. ApiClient has it too. */
export interface MessagingApi {
  send(
    senderId: string,
    recipientId: string,
    content: string,
    clientMessageId?: string,
  ): Promise<ApiResponse<SendMessageResponse>>;
  messages(
    userId: string,
    conversationId: string,
    query?: PageQuery | string,
  ): Promise<ApiResponse<MessagesResponse>>;
}

/** A ChatringClient answering like ApiClient: `{ status, body }` or `{ status, errorCode }`. */
export function clientApi(client: ChatringClient): MessagingApi & {
  conversations(userId: string, query?: PageQuery): Promise<ApiResponse<unknown>>;
} {
  return {
    send: (senderId, recipientId, content, clientMessageId) =>
      answerOf(
        client.send({
          senderId,
          recipientId,
          content,
          ...(clientMessageId === undefined ? {} : { clientMessageId }),
        }),
        201,
      ),
    messages: (userId, conversationId, query = {}) =>
      answerOf(client.messages(userId, conversationId, pageQueryOf(query)), 200),
    conversations: (userId, query = {}) => answerOf(client.conversations(userId, query), 200),
  };
}

async function answerOf<T>(call: Promise<T>, okStatus: number): Promise<ApiResponse<T>> {
  try {
    const body = await call;
    const duplicate = (body as { duplicate?: unknown }).duplicate === true;
    return { status: duplicate ? 200 : okStatus, body };
  } catch (error) {
    const { code, status } = error as { code?: unknown; status?: unknown };
    return {
      status: typeof status === 'number' ? status : 0,
      body: undefined as T,
      errorCode: typeof code === 'string' ? code : (error as Error).name,
    };
  }
}

/** The tests' raw query strings (`?pageSize=5`) as a PageQuery. */
function pageQueryOf(query: PageQuery | string): PageQuery {
  if (typeof query !== 'string') return query;
  const parameters = new URLSearchParams(query);
  const page = parameters.get('page');
  const pageSize = parameters.get('pageSize');
  const cursor = parameters.get('cursor');
  return {
    ...(page === null ? {} : { page: Number(page) }),
    ...(pageSize === null ? {} : { pageSize: Number(pageSize) }),
    ...(cursor === null ? {} : { cursor }),
  };
}
