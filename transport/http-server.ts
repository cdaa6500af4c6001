import { isUtf8 } from 'node:buffer';
import Fastify, { type FastifyInstance } from 'fastify';
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
