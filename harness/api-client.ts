/**
 * The one client of the public API v1 for tests and benchmarks: send, conversations, messages,
 * markRead, health, over a keep-alive undici Pool to one origin (a router, a cache node, or the
 * benchmarks' baseline server).
 *
 * It never throws for an HTTP or socket failure: every call answers with the status (0 when no
 * answer came), the parsed body and, for anything but a 2xx, an error code — a test asserts on the
 * status, a benchmark counts failures by code rather than stopping.
 *
 * It does throw when an answer breaks the API's contract: every parsed body of an answer to a
 * documented operation (method, path template and status of docs/openapi.json) is validated
 * against the document's schema for it (`validateResponses`), so every API test checks the
 * document against the real servers as it goes.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import { Pool } from 'undici';
import { listQueryString, type PageQuery } from '../client/index.js';
import {
  BOOLEAN_RULE,
  integerRule,
  resolveOptions,
  type ConversationsResponse,
  type GivenOptions,
  type MarkReadResponse,
  type MessagesResponse,
  type OptionRules,
  type SendMessageResponse,
} from '../protocol/index.js';
import { repositoryRoot } from './repository-root.js';

export type { PageQuery };

export interface ApiResponse<T> {
  /** The HTTP status; 0 when no answer came (refused, reset, timed out). */
  status: number;
  /**
   * The parsed JSON body (the raw text if it is not JSON). Undefined when the answer had none, when
   * no answer came, or for a 2xx when the client does not parse success bodies.
   */
  body: T;
  /**
   * Undefined for a 2xx. Otherwise the error body's catalogue code, `HTTP_<status>` if it has
   * none, or the client-side failure (undici's code, e.g. `UND_ERR_HEADERS_TIMEOUT`).
   */
  errorCode?: string;
}

export interface ApiClientOptions {
  /**
   * Keep-alive connections to the origin (requests beyond it queue).
   * @default 128
   */
  connections: number;
  /**
   * Deadline for the answer's headers, and again for its body.
   * @default 300000 (undici's own)
   */
  timeoutMs: number;
  /**
   * How long an idle connection stays open.
   * @default 10000
   */
  keepAliveTimeoutMs: number;
  /**
   * Parse the body of a 2xx. The load generator turns it off: it only counts answers, and parsing
   * every page would spend the generator's CPU on work no figure needs. Error bodies are always read.
   * @default true
   */
  parseSuccessBodies: boolean;
  /**
   * The app token sent as `authorization: Bearer <token>` (a cluster with app tokens configured).
   * @default undefined
   */
  bearerToken: string | undefined;
  /**
   * Validate each parsed body of an answer to a documented operation against docs/openapi.json
   * (`assertDocumentedAnswer`), throwing on a mismatch.
   * @default true
   */
  validateResponses: boolean;
}

export const DEFAULT_API_CLIENT_OPTIONS: Readonly<ApiClientOptions> = Object.freeze({
  connections: 128,
  timeoutMs: 300_000,
  keepAliveTimeoutMs: 10_000,
  parseSuccessBodies: true,
  bearerToken: undefined,
  validateResponses: true,
});

const API_CLIENT_RULES: OptionRules<ApiClientOptions> = {
  connections: integerRule(1, 4_096),
  timeoutMs: integerRule(1, 3_600_000),
  keepAliveTimeoutMs: integerRule(1, 3_600_000),
  parseSuccessBodies: BOOLEAN_RULE,
  bearerToken: { kind: 'string', pattern: /^\S+$/, describe: 'a bearer token' },
  validateResponses: BOOLEAN_RULE,
};

export class ApiClient {
  readonly origin: string;
  readonly #pathPrefix: string;
  readonly #options: Readonly<ApiClientOptions>;
  readonly #pool: Pool;
  readonly #authorization: Record<string, string>;

  /** `baseUrl`: the origin, with a path prefix if the API is mounted below one. */
  constructor(baseUrl: string, options?: GivenOptions<ApiClientOptions>) {
    this.#options = resolveOptions(
      'ApiClient',
      DEFAULT_API_CLIENT_OPTIONS,
      options,
      API_CLIENT_RULES,
    );
    const url = new URL(baseUrl);
    this.origin = url.origin;
    const token = this.#options.bearerToken;
    this.#authorization = token === undefined ? {} : { authorization: `Bearer ${token}` };
    this.#pathPrefix = url.pathname.replace(/\/$/, '');
    this.#pool = new Pool(this.origin, {
      connections: this.#options.connections,
      pipelining: 1,
      keepAliveTimeout: this.#options.keepAliveTimeoutMs,
    });
  }

  send(
    senderId: string,
    recipientId: string,
    content: string,
    clientMessageId: string = randomUUID(),
  ): Promise<ApiResponse<SendMessageResponse>> {
    return this.call('POST', '/v1/messages', { senderId, recipientId, content, clientMessageId });
  }

  /** `query`: a PageQuery, or a raw query string such as `?pageSize=5` (tests send bad ones). */
  conversations(
    userId: string,
    query: PageQuery | string = '',
  ): Promise<ApiResponse<ConversationsResponse>> {
    return this.call('GET', `/v1/users/${userId}/conversations${queryString(query)}`);
  }

  messages(
    userId: string,
    conversationId: string,
    query: PageQuery | string = '',
  ): Promise<ApiResponse<MessagesResponse>> {
    return this.call(
      'GET',
      `/v1/users/${userId}/conversations/${conversationId}/messages${queryString(query)}`,
    );
  }

  markRead(userId: string, conversationId: string): Promise<ApiResponse<MarkReadResponse>> {
    return this.call('POST', `/v1/users/${userId}/conversations/${conversationId}/read`, {});
  }

  health(): Promise<ApiResponse<{ status: string; epoch: number }>> {
    return this.call('GET', '/healthz');
  }

  /**
   * Any request: `body` is sent as JSON, or `rawBody` as it is (with a JSON content type), for a
   * test of what the server does with a malformed or oversized one.
   */
  async call<T = unknown>(
    method: 'GET' | 'POST',
    path: string,
    body?: unknown,
    rawBody?: string,
  ): Promise<ApiResponse<T>> {
    const payload = rawBody ?? (body === undefined ? undefined : JSON.stringify(body));
    const answer = await this.#request<T>(method, path, payload);
    // Outside the request's try: a body that breaks the contract fails the caller, it is not
    // an answer that did not come.
    if (this.#options.validateResponses && answer.status !== 0 && answer.body !== undefined)
      assertDocumentedAnswer(method, path, answer.status, answer.body);
    return answer;
  }

  async #request<T>(
    method: 'GET' | 'POST',
    path: string,
    payload: string | undefined,
  ): Promise<ApiResponse<T>> {
    try {
      const response = await this.#pool.request({
        method,
        path: `${this.#pathPrefix}${path}`,
        headersTimeout: this.#options.timeoutMs,
        bodyTimeout: this.#options.timeoutMs,
        ...(payload === undefined
          ? { headers: this.#authorization }
          : {
              body: payload,
              headers: { 'content-type': 'application/json', ...this.#authorization },
            }),
      });
      const status = response.statusCode;
      const ok = status >= 200 && status < 300;
      const text = await response.body.text();
      if (ok && !this.#options.parseSuccessBodies) return { status, body: undefined as T };
      const parsed = parseJson(text);
      if (ok) return { status, body: parsed as T };
      return { status, body: parsed as T, errorCode: errorCodeOf(parsed) ?? `HTTP_${status}` };
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      return {
        status: 0,
        body: undefined as T,
        errorCode: typeof code === 'string' ? code : (error as Error).name,
      };
    }
  }

  async close(): Promise<void> {
    await this.#pool.close();
  }
}

/** A user id no other test or run uses. */
export function uniqueUser(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

function queryString(query: PageQuery | string): string {
  return typeof query === 'string' ? query : listQueryString(query);
}

// ---- The answers against docs/openapi.json ----

interface DocumentedOperation {
  method: string;
  template: string;
  pattern: RegExp;
  /** By status: the answer's schema, compiled on first use. */
  responses: Map<number, () => ValidateFunction>;
}

/** What docs/openapi.json may hold, as far as the checks read it. */
interface OpenApiDocument {
  paths: Record<
    string,
    Record<string, { responses?: Record<string, { content?: Record<string, unknown> }> }>
  >;
}

const DOCUMENT_ID = 'https://chatring.invalid/openapi.json';
let documentedOperations: DocumentedOperation[] | undefined;

/**
 * The operations of docs/openapi.json, each answer's schema compiled by ajv (draft 2020-12, strict)
 * on first use. The document is added whole (its `paths` and `components` as keywords ajv passes
 * over), so every `#/components/schemas/...` inside resolves as in the document.
 */
function operationsOfDocument(): DocumentedOperation[] {
  if (documentedOperations !== undefined) return documentedOperations;
  const document = JSON.parse(
    readFileSync(join(repositoryRoot(), 'docs', 'openapi.json'), 'utf8'),
  ) as OpenApiDocument & Record<string, unknown>;
  const ajv = new Ajv2020({ allErrors: true, strict: true });
  for (const keyword of Object.keys(document)) ajv.addKeyword(keyword);
  ajv.addSchema({ ...document, $id: DOCUMENT_ID });
  const operations: DocumentedOperation[] = [];
  for (const [template, item] of Object.entries(document.paths)) {
    const pattern = new RegExp(
      `^${template
        .split(/\{[^}]+\}/)
        .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
        .join('[^/]+')}$`,
    );
    for (const [method, operation] of Object.entries(item)) {
      const responses = new Map<number, () => ValidateFunction>();
      for (const [status, response] of Object.entries(operation.responses ?? {})) {
        if (response.content?.['application/json'] === undefined) continue;
        const pointer = ['paths', template, method, 'responses', status, 'content']
          .map((part) => part.replaceAll('~', '~0').replaceAll('/', '~1'))
          .join('/');
        let validate: ValidateFunction | undefined;
        responses.set(Number(status), () => {
          validate ??= ajv.compile({
            $ref: `${DOCUMENT_ID}#/${pointer}/application~1json/schema`,
          });
          return validate;
        });
      }
      operations.push({ method: method.toUpperCase(), template, pattern, responses });
    }
  }
  documentedOperations = operations;
  return operations;
}

/**
 * Throws unless `body` matches docs/openapi.json's schema for the answer: the operation of
 * `method` and `path` (path template; query and path prefix aside) with this `status`. An answer
 * with no documented operation (an internal route, a path the API does not have) is not checked;
 * one whose operation does not document its status is an error: the document must list every
 * answer an operation gives.
 */
export function assertDocumentedAnswer(
  method: string,
  path: string,
  status: number,
  body: unknown,
): void {
  const queryAt = path.indexOf('?');
  const bare = queryAt < 0 ? path : path.slice(0, queryAt);
  const operation = operationsOfDocument().find(
    (candidate) => candidate.method === method && candidate.pattern.test(bare),
  );
  if (operation === undefined) return;
  const name = `${method} ${operation.template}`;
  const validate = operation.responses.get(status);
  if (validate === undefined)
    throw new Error(
      `${name} answered ${status}, a status docs/openapi.json does not list for it: ${JSON.stringify(body).slice(0, 500)}`,
    );
  const check = validate();
  if (!check(body))
    throw new Error(
      `${name} answered ${status} with a body docs/openapi.json does not allow: ${describeErrors(check.errors)}; body: ${JSON.stringify(body).slice(0, 500)}`,
    );
}

function describeErrors(errors: ErrorObject[] | null | undefined): string {
  return (errors ?? [])
    .map(
      (error) =>
        `${error.instancePath || '(body)'} ${error.message ?? ''} ${JSON.stringify(error.params)}`,
    )
    .join('; ');
}

function parseJson(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function errorCodeOf(body: unknown): string | undefined {
  const code = (body as { error?: { code?: unknown } } | null | undefined)?.error?.code;
  return typeof code === 'string' ? code : undefined;
}
