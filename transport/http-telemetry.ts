import type { FastifyReply, FastifyRequest } from 'fastify';
import { logAnswered, type AnsweredRequest } from './logging/request-log.js';
import type { Logger } from './logging/logger.js';
import { UNMATCHED_ROUTE, type HttpAnswerRecorder } from './metrics/index.js';

/**
 * What a server tells its metrics and logs about each answer, from one listener per request.
 *
 * Why not fastify's own logger and an onResponse hook: with either, fastify makes a child logger
 * for every request and puts two listeners on every response, and with the hook it runs its hook
 * chain once more; on a warm read that answers in tens of microseconds this measured as several
 * percent of a cluster's CPU. Here the server's first onRequest hook (which already counts the
 * request in flight) calls `begin`, and the one 'close' listener it adds anyway does all of it:
 * releases the in-flight count, counts and times the answer, and writes its log line if its
 * level is on. Nothing else runs per request, and nothing at all without metrics and logs.
 *
 * The time is from that hook (routing is done) to the response's close (its last byte handed to
 * the socket). A request abandoned before it was answered (the client went away before the
 * handler ended its response) is neither counted nor logged: no status was sent.
 */
export class HttpTelemetry {
  readonly #logger: Logger | undefined;
  readonly #recordAnswer: HttpAnswerRecorder | undefined;
  /** The error behind a 5xx answer, for its log line (set by the server's error handler). */
  readonly #failures = new WeakMap<FastifyRequest, unknown>();

  constructor(logger: Logger | undefined, recordAnswer: HttpAnswerRecorder | undefined) {
    this.#logger = logger;
    this.#recordAnswer = recordAnswer;
  }

  /**
   * Follows one request from its onRequest hook. `route` is the route pattern the hook read
   * (fastify's `routeOptions.url`); `release` is what else its close must do (the in-flight count).
   */
  begin(
    request: FastifyRequest,
    reply: FastifyReply,
    route: string | undefined,
    release: (() => void) | undefined,
  ): void {
    const startedAt = performance.now();
    const label = request.is404 || route === undefined ? UNMATCHED_ROUTE : route;
    const response = reply.raw;
    response.once('close', () => {
      release?.();
      if (!response.writableEnded) return;
      const elapsedMs = performance.now() - startedAt;
      const status = response.statusCode;
      this.#recordAnswer?.(
        label,
        request.method,
        status,
        elapsedMs / 1_000,
        request.headers['content-length'],
      );
      if (this.#logger !== undefined)
        logAnswered(this.#logger, request, label, status, elapsedMs, this.#failures.get(request));
    });
  }

  /**
   * An answer that did not go through fastify (a member link's): counted, timed and logged like
   * the server's own, under the route pattern the link matched.
   */
  answered(
    request: AnsweredRequest,
    route: string,
    status: number,
    elapsedMs: number,
    bodyBytes: number,
    failure: unknown,
  ): void {
    this.#recordAnswer?.(
      route,
      request.method,
      status,
      elapsedMs / 1_000,
      bodyBytes === 0 ? undefined : String(bodyBytes),
    );
    if (this.#logger !== undefined)
      logAnswered(this.#logger, request, route, status, elapsedMs, failure);
  }

  /** An unexpected error is answered 5xx: its log line will carry it. */
  failed(request: FastifyRequest, error: unknown): void {
    if (this.#logger !== undefined) this.#failures.set(request, error);
  }
}
