import { Pool } from 'undici';
import type { SendMessageRequest } from '../../protocol/index.js';

/** One answer of the public API, as the benchmarks judge it. */
export interface ChatAnswer {
  status: number;
  /** The parsed JSON body (only when asked for, or on an error). */
  body?: unknown;
  /** The error code of a non-2xx answer, or the client-side failure (e.g. a socket error). */
  errorCode?: string;
}

export interface ChatClientOptions {
  /** Keep-alive connections to the origin. */
  connections: number;
  /** Deadline of one request, ms. */
  timeoutMs: number;
}

/**
 * The public /v1 API of one origin (a router, a cache node, or the baseline server) over a
 * keep-alive undici Pool. Never throws for an HTTP or socket failure: it returns the status (0 when
 * no answer came) and an error code, since a benchmark counts failures rather than stopping.
 */
export class ChatClient {
  readonly origin: string;
  readonly #pool: Pool;
  readonly #timeoutMs: number;

  constructor(origin: string, options: ChatClientOptions) {
    this.origin = origin;
    this.#timeoutMs = options.timeoutMs;
    this.#pool = new Pool(origin, {
      connections: options.connections,
      pipelining: 1,
      keepAliveTimeout: 30_000,
    });
  }

  send(request: SendMessageRequest, parseBody = false): Promise<ChatAnswer> {
    return this.#call('POST', '/v1/messages', JSON.stringify(request), parseBody);
  }

  conversations(userId: string, pageSize: number, parseBody = false): Promise<ChatAnswer> {
    return this.#call(
      'GET',
      `/v1/users/${userId}/conversations?pageSize=${pageSize}`,
      undefined,
      parseBody,
    );
  }

  messages(
    userId: string,
    conversationId: string,
    pageSize: number,
    page = 0,
    parseBody = false,
  ): Promise<ChatAnswer> {
    return this.#call(
      'GET',
      `/v1/users/${userId}/conversations/${conversationId}/messages?page=${page}&pageSize=${pageSize}`,
      undefined,
      parseBody,
    );
  }

  async close(): Promise<void> {
    await this.#pool.close();
  }

  async #call(
    method: 'GET' | 'POST',
    path: string,
    body: string | undefined,
    parseBody: boolean,
  ): Promise<ChatAnswer> {
    try {
      const response = await this.#pool.request({
        method,
        path,
        headersTimeout: this.#timeoutMs,
        bodyTimeout: this.#timeoutMs,
        ...(body === undefined ? {} : { body, headers: { 'content-type': 'application/json' } }),
      });
      const ok = response.statusCode >= 200 && response.statusCode < 300;
      if (ok && !parseBody) {
        await response.body.text();
        return { status: response.statusCode };
      }
      const text = await response.body.text();
      const parsed = parseJson(text);
      if (ok) return { status: response.statusCode, body: parsed };
      return {
        status: response.statusCode,
        body: parsed,
        errorCode: errorCodeOf(parsed) ?? `HTTP_${response.statusCode}`,
      };
    } catch (error) {
      return { status: 0, errorCode: (error as { code?: string }).code ?? (error as Error).name };
    }
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function errorCodeOf(body: unknown): string | undefined {
  const code = (body as { error?: { code?: unknown } } | null)?.error?.code;
  return typeof code === 'string' ? code : undefined;
}
