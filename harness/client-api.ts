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
import { assertDocumentedAnswer, type ApiResponse } from './api-client.js';

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

/**
 * A ChatringClient answering like ApiClient: `{ status, body }` or `{ status, errorCode }`. Each
 * body is validated against docs/openapi.json as ApiClient validates it (`assertDocumentedAnswer`):
 * the typed client hands back what the owner answered, parsed. `validateResponses: false` skips
 * that (a load generator whose CPU is measured: 3-25 us an answer, a 50-message page the dearest).
 */
export function clientApi(
  client: ChatringClient,
  { validateResponses = true }: { validateResponses?: boolean } = {},
): MessagingApi & {
  conversations(userId: string, query?: PageQuery): Promise<ApiResponse<unknown>>;
} {
  const answerOf = <T>(
    call: Promise<T>,
    okStatus: number,
    method: 'GET' | 'POST',
    path: string,
  ): Promise<ApiResponse<T>> => answerOfCall(call, okStatus, validateResponses, method, path);
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
        'POST',
        '/v1/messages',
      ),
    messages: (userId, conversationId, query = {}) =>
      answerOf(
        client.messages(userId, conversationId, pageQueryOf(query)),
        200,
        'GET',
        `/v1/users/${userId}/conversations/${conversationId}/messages`,
      ),
    conversations: (userId, query = {}) =>
      answerOf(
        client.conversations(userId, query),
        200,
        'GET',
        `/v1/users/${userId}/conversations`,
      ),
  };
}

async function answerOfCall<T>(
  call: Promise<T>,
  okStatus: number,
  validate: boolean,
  method: 'GET' | 'POST',
  path: string,
): Promise<ApiResponse<T>> {
  let body: T;
  try {
    body = await call;
  } catch (error) {
    const { code, status } = error as { code?: unknown; status?: unknown };
    return {
      status: typeof status === 'number' ? status : 0,
      body: undefined as T,
      errorCode: typeof code === 'string' ? code : (error as Error).name,
    };
  }
  const duplicate = (body as { duplicate?: unknown }).duplicate === true;
  const status = duplicate ? 200 : okStatus;
  // Outside the try: a body that breaks the contract fails the caller, it is not a failed call.
  if (validate) assertDocumentedAnswer(method, path, status, body);
  return { status, body };
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
