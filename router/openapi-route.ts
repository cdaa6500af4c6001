import type { FastifyInstance } from 'fastify';
import { buildOpenApiDocument, OPENAPI_PATH } from '../protocol/index.js';

/**
 * `GET /openapi.json`: the public API's OpenAPI 3.1 document (docs/openapi.json is the same
 * document, committed). An open route, like `/healthz` (transport/security/access-control.ts):
 * the document holds no data. Built once, sent as the same bytes every time.
 */
export function registerOpenApiRoute(app: FastifyInstance): void {
  const text = JSON.stringify(buildOpenApiDocument());
  app.get(OPENAPI_PATH, (_request, reply) => {
    void reply.header('content-type', 'application/json; charset=utf-8').send(text);
  });
}
