import { isUtf8 } from 'node:buffer';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import { ChatringError, REQUEST_BODY_BYTES_LIMIT, toChatringError } from '../protocol/index.js';

/**
 * The one HTTP server factory every chatring process uses (router, cache node; the control plane's
 * routes are mounted on the router's): fastify with the body limit (REQUEST_BODY_BYTES_LIMIT; a route
 * may set a larger one, as the warm-handoff route does) checked before parsing, the JSON parser
 * that reads an empty body as no body, every error answered from the catalogue, and 503
 * while closing so a stopping process sheds requests instead of hanging them.
 */
export function createHttpServer(): FastifyInstance {
  const app = Fastify({
    bodyLimit: REQUEST_BODY_BYTES_LIMIT,
    logger: false,
    return503OnClosing: true,
    // Errors fastify and Node's parser answer themselves, before any route: catalogue bodies too.
    frameworkErrors: (error, _request, reply) => {
      const mapped =
        error.code === 'FST_ERR_BAD_URL'
          ? new ChatringError('INVALID_URL', error.message)
          : toChatringError(error);
      // The reply's generic types know no routes here; the body is the catalogue's shape.
      void (reply as unknown as FastifyReply).code(mapped.status).send(mapped.toBody());
    },
    clientErrorHandler: answerClientError,
  });
  installErrorHandlers(app);
  return app;
}

/** Every error leaves as `{error: {code, message}}` with the catalogue's status. */
function installErrorHandlers(app: FastifyInstance): void {
  // An empty body on a POST that takes `{}` (mark read) is accepted as `{}`.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request, body, done) => {
    // Bytes that are not UTF-8 would be decoded to U+FFFD and stored as something the client
    // never sent: refuse them instead.
    if (!isUtf8(body as Buffer))
      return done(new ChatringError('INVALID_BODY', 'the body is not valid UTF-8'), undefined);
    const text = (body as Buffer).toString('utf8');
    if (text.trim() === '') return done(null, undefined);
    try {
      done(null, JSON.parse(text) as unknown);
    } catch (error) {
      done(
        new ChatringError(
          'INVALID_BODY',
          `the body is not valid JSON: ${(error as Error).message}`,
        ),
        undefined,
      );
    }
  });
  app.setErrorHandler((error, _request, reply) => {
    const mapped = toChatringError(error);
    void reply.code(mapped.status).send(mapped.toBody());
  });
  app.setNotFoundHandler((request, reply) => {
    const mapped = new ChatringError(
      'NOT_FOUND',
      `no route ${request.method} ${request.url.split('?')[0]}`,
    );
    void reply.code(mapped.status).send(mapped.toBody());
  });
}

/**
 * A request Node's HTTP parser refused (headers too large, malformed, too slow): answered on the
 * raw socket with the catalogue's shape, then closed, as fastify's default handler does with its own.
 */
function answerClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const mapped =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? new ChatringError('HEADERS_TOO_LARGE', 'the request line and headers are too large')
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? new ChatringError('REQUEST_TIMEOUT', 'the request did not arrive in time')
        : new ChatringError(
            'MALFORMED_REQUEST',
            `the request is not valid HTTP (${error.code ?? 'unknown'})`,
          );
  const body = JSON.stringify(mapped.toBody());
  socket.end(
    `HTTP/1.1 ${mapped.status} ${STATUS_CODES[mapped.status] ?? ''}\r\n` +
      `content-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\n` +
      `connection: close\r\n\r\n${body}`,
  );
}
