/** A small client of the public API v1 for tests: every call returns the status and parsed body. */
import { randomUUID } from 'node:crypto';
import { Agent, request } from 'undici';
import type {
  ConversationsResponse,
  MessagesResponse,
  SendMessageResponse,
} from '../../protocol/index.js';

export interface ApiResponse<T> {
  status: number;
  body: T;
}

export class ApiClient {
  readonly #baseUrl: string;
  readonly #agent = new Agent({ connections: 128, keepAliveTimeout: 10_000 });

  constructor(baseUrl: string) {
    this.#baseUrl = baseUrl;
  }

  async call<T = unknown>(
    method: 'GET' | 'POST',
    path: string,
    body?: unknown,
    rawBody?: string,
  ): Promise<ApiResponse<T>> {
    const payload = rawBody ?? (body === undefined ? undefined : JSON.stringify(body));
    const response = await request(`${this.#baseUrl}${path}`, {
      method,
      dispatcher: this.#agent,
      ...(payload === undefined
        ? {}
        : { body: payload, headers: { 'content-type': 'application/json' } }),
    });
    const text = await response.body.text();
    return { status: response.statusCode, body: (text === '' ? undefined : JSON.parse(text)) as T };
  }

  send(
    senderId: string,
    recipientId: string,
    content: string,
    clientMessageId: string = randomUUID(),
  ) {
    return this.call<SendMessageResponse>('POST', '/v1/messages', {
      senderId,
      recipientId,
      content,
      clientMessageId,
    });
  }

  conversations(userId: string, query = '') {
    return this.call<ConversationsResponse>('GET', `/v1/users/${userId}/conversations${query}`);
  }

  messages(userId: string, conversationId: string, query = '') {
    return this.call<MessagesResponse>(
      'GET',
      `/v1/users/${userId}/conversations/${conversationId}/messages${query}`,
    );
  }

  markRead(userId: string, conversationId: string) {
    return this.call<{ unreadCount: number }>(
      'POST',
      `/v1/users/${userId}/conversations/${conversationId}/read`,
      {},
    );
  }

  async close(): Promise<void> {
    await this.#agent.close();
  }
}

/** A user id no other test uses. */
export function uniqueUser(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}
