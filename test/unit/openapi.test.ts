/**
 * The OpenAPI document (issue 14): the committed docs/openapi.json is exactly what
 * `buildOpenApiDocument()` builds, byte for byte as `npm run openapi` writes it (it cannot drift
 * from protocol/api-schemas.ts), every `$ref` in it resolves, ajv (draft 2020-12, strict) compiles
 * every schema in it, every public error code of the catalogue appears with its status, and
 * `registerOpenApiRoute` serves the document at GET /openapi.json without a credential even where
 * app tokens are configured (on a bare server, and on the router).
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { Ajv2020 } from 'ajv/dist/2020.js';
import prettier from 'prettier';
import { request } from 'undici';
import {
  API_ERROR_CODES,
  API_SCHEMAS,
  ERROR_CATALOGUE,
  OPENAPI_PATH,
  buildOpenApiDocument,
  type ErrorCode,
} from '../../protocol/index.js';
import { registerOpenApiRoute } from '../../router/openapi-route.js';
import { buildRouterServer } from '../../router/router-server.js';
import {
  MemberSigner,
  TokenSet,
  accessOf,
  createHttpServer,
  installAccessControl,
  type AccessPolicy,
  type OwnerClient,
} from '../../transport/index.js';
import { assertDocumentedAnswer } from '../../harness/api-client.js';
import { repositoryRoot } from '../../harness/index.js';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

const committedText = readFileSync(join(repositoryRoot(), 'docs', 'openapi.json'), 'utf8');
const committed = JSON.parse(committedText) as JsonObject;
const fresh = buildOpenApiDocument() as JsonObject;

t.test('docs/openapi.json is what buildOpenApiDocument() builds', async (t) => {
  t.same(
    committed,
    fresh,
    'docs/openapi.json differs from protocol/openapi.ts: run `npm run openapi` and commit docs/openapi.json',
  );
  // The text too (key order, layout): what scripts/openapi.mjs writes, prettier's JSON layout.
  const target = join(repositoryRoot(), 'docs', 'openapi.json');
  const written = await prettier.format(JSON.stringify(fresh, null, 2), {
    ...(await prettier.resolveConfig(target)),
    filepath: target,
  });
  t.ok(
    committedText === written,
    'docs/openapi.json is byte for byte what `npm run openapi` writes (key order and layout)',
  );
  t.ok(committedText.endsWith('}\n'), 'one trailing newline');
  t.same(buildOpenApiDocument(), fresh, 'pure: the same document every call');
  t.equal(fresh.openapi, '3.1.0');
  t.equal(fresh.jsonSchemaDialect, 'https://json-schema.org/draft/2020-12/schema');
});

/** Every `{ $ref }` in the document, with the JSON pointer of where it stands. */
function refsOf(value: Json, at = '#'): { at: string; ref: string }[] {
  if (Array.isArray(value)) return value.flatMap((entry, index) => refsOf(entry, `${at}/${index}`));
  if (typeof value !== 'object' || value === null) return [];
  return Object.entries(value).flatMap(([key, entry]) =>
    key === '$ref' && typeof entry === 'string'
      ? [{ at, ref: entry }]
      : refsOf(entry, `${at}/${key.replaceAll('~', '~0').replaceAll('/', '~1')}`),
  );
}

function resolvePointer(document: Json, ref: string): Json | undefined {
  if (!ref.startsWith('#/')) return undefined;
  let node: Json | undefined = document;
  for (const raw of ref.slice(2).split('/')) {
    const key = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    if (typeof node !== 'object' || node === null || Array.isArray(node)) return undefined;
    node = Object.hasOwn(node, key) ? node[key] : undefined;
  }
  return node;
}

t.test('every $ref resolves, and every named schema is used or listed', async (t) => {
  const refs = refsOf(committed);
  t.ok(refs.length > 20, `${refs.length} refs`);
  for (const { at, ref } of refs)
    t.not(resolvePointer(committed, ref), undefined, `${ref} (at ${at}) resolves`);
  const schemas = (committed.components as JsonObject).schemas as JsonObject;
  t.same(Object.keys(schemas), Object.keys(API_SCHEMAS), 'components.schemas: every named schema');
});

/** Every schema position the document has: components, parameters, bodies, answers, headers. */
function schemasOf(document: JsonObject): { at: string; schema: Json }[] {
  const found: { at: string; schema: Json }[] = [];
  const components = document.components as JsonObject;
  for (const [name, schema] of Object.entries(components.schemas as JsonObject))
    found.push({ at: `components.schemas.${name}`, schema });
  const visitResponses = (responses: JsonObject, at: string) => {
    for (const [status, response] of Object.entries(responses)) {
      const { content, headers } = response as { content?: JsonObject; headers?: JsonObject };
      for (const [type, media] of Object.entries(content ?? {}))
        found.push({ at: `${at} ${status} ${type}`, schema: (media as JsonObject).schema ?? null });
      for (const [name, header] of Object.entries(headers ?? {}))
        found.push({
          at: `${at} ${status} header ${name}`,
          schema: (header as JsonObject).schema ?? null,
        });
    }
  };
  visitResponses(components.responses as JsonObject, 'components.responses');
  for (const [path, item] of Object.entries(document.paths as JsonObject))
    for (const [method, operation] of Object.entries(item as JsonObject)) {
      const { parameters, requestBody, responses } = operation as {
        parameters?: JsonObject[];
        requestBody?: { content: JsonObject };
        responses: JsonObject;
      };
      for (const parameter of parameters ?? [])
        found.push({
          at: `${method} ${path} ${String(parameter.name)}`,
          schema: parameter.schema ?? null,
        });
      for (const [type, media] of Object.entries(requestBody?.content ?? {}))
        found.push({
          at: `${method} ${path} body ${type}`,
          schema: (media as JsonObject).schema ?? null,
        });
      visitResponses(responses, `${method} ${path}`);
    }
  return found;
}

t.test('ajv (draft 2020-12, strict) compiles every schema of the document', async (t) => {
  const ajv = new Ajv2020({ strict: true, allErrors: true });
  // The document's own keys are keywords ajv passes over; its schemas' refs resolve inside it.
  for (const keyword of Object.keys(committed)) ajv.addKeyword(keyword);
  const id = 'https://chatring.invalid/openapi.json';
  ajv.addSchema({ ...committed, $id: id });
  const schemas = schemasOf(committed);
  t.ok(schemas.length > 60, `${schemas.length} schemas`);
  for (const { at, schema } of schemas) {
    t.not(schema, null, `${at} has a schema`);
    // Each compiled where it stands, so its #/components/... refs resolve in the document.
    const rewritten = JSON.parse(
      JSON.stringify(schema).replaceAll('"#/components/', `"${id}#/components/`),
    ) as object;
    t.doesNotThrow(() => ajv.compile(rewritten), `${at} compiles`);
  }
});

t.test('every public error code appears with its catalogue status', async (t) => {
  /** code → the statuses it is documented under. */
  const seen = new Map<string, Set<number>>();
  const note = (status: string, response: Json) => {
    const codes = resolvePointer(
      response,
      '#/content/application~1json/schema/properties/error/properties/code/enum',
    );
    if (!Array.isArray(codes)) return;
    for (const code of codes) {
      const statuses = seen.get(String(code)) ?? new Set<number>();
      statuses.add(Number(status));
      seen.set(String(code), statuses);
    }
  };
  const components = committed.components as JsonObject;
  for (const response of Object.values(components.responses as JsonObject)) {
    // A component response stands for no status of its own: the code's status is its catalogue's.
    const codes = resolvePointer(
      response,
      '#/content/application~1json/schema/properties/error/properties/code/enum',
    );
    for (const code of Array.isArray(codes) ? codes : [])
      note(String(ERROR_CATALOGUE[code as ErrorCode].status), response);
  }
  for (const item of Object.values(committed.paths as JsonObject))
    for (const operation of Object.values(item as JsonObject))
      for (const [status, response] of Object.entries(
        (operation as JsonObject).responses as JsonObject,
      ))
        note(status, response);

  const apiCodes = (Object.keys(ERROR_CATALOGUE) as ErrorCode[]).filter(
    (code) => ERROR_CATALOGUE[code].audience === 'api',
  );
  t.same([...API_ERROR_CODES], apiCodes, "API_ERROR_CODES: the catalogue's api codes, in order");
  for (const code of apiCodes)
    t.same(
      [...(seen.get(code) ?? [])],
      [ERROR_CATALOGUE[code].status],
      `${code} documented, under ${ERROR_CATALOGUE[code].status} only`,
    );
  t.same(
    [...seen.keys()].filter((code) => !(apiCodes as string[]).includes(code)),
    [],
    'no code beyond the public ones',
  );
  const errorEnum = resolvePointer(
    committed,
    '#/components/schemas/ErrorBody/properties/error/properties/code/enum',
  );
  t.same(errorEnum, apiCodes, 'the error body: exactly the public codes');
});

t.test('every operation says what it answers', async (t) => {
  for (const [path, item] of Object.entries(committed.paths as JsonObject))
    for (const [method, operation] of Object.entries(item as JsonObject)) {
      const { operationId, responses, security } = operation as JsonObject;
      t.type(operationId, 'string', `${method} ${path}: an operationId`);
      const statuses = Object.keys(responses as JsonObject).map(Number);
      t.ok(
        statuses.some((status) => status >= 200 && status < 300),
        `${operationId}: a 2xx`,
      );
      t.ok(statuses.includes(500), `${operationId}: INTERNAL`);
      const open = path === '/healthz' || path === OPENAPI_PATH;
      t.equal(
        Array.isArray(security) && security.length === 0,
        open,
        `${operationId}: open iff ${open}`,
      );
      t.equal(statuses.includes(401), !open, `${operationId}: UNAUTHENTICATED iff an app route`);
    }
});

t.test('the harness check finds answers the document does not allow', async (t) => {
  const message = {
    messageId: '6f1c0a4e-0000-4000-8000-000000000000',
    conversationId: 'alice~bob',
    senderId: 'alice',
    recipientId: 'bob',
    content: 'hi',
    clientMessageId: 'c-1',
    sentAt: 1,
  };
  t.doesNotThrow(() =>
    assertDocumentedAnswer('POST', '/v1/messages', 201, { message, duplicate: false }),
  );
  t.throws(
    () => assertDocumentedAnswer('POST', '/v1/messages', 201, { message, duplicate: true }),
    /POST \/v1\/messages answered 201 with a body/,
    'a duplicate is a 200',
  );
  t.throws(
    () =>
      assertDocumentedAnswer('POST', '/v1/messages', 201, {
        message: { ...message, extra: 1 },
        duplicate: false,
      }),
    /additional properties/,
  );
  t.throws(
    () =>
      assertDocumentedAnswer('GET', '/v1/users/alice/changes?waitMs=5', 429, {
        error: { code: 'NOT_OWNER', message: 'x' },
      }),
    /GET \/v1\/users\/\{userId\}\/changes answered 429/,
    "a code under another code's status",
  );
  t.throws(
    () => assertDocumentedAnswer('GET', '/v1/users/alice/conversations', 418, {}),
    /a status docs\/openapi.json does not list/,
  );
  t.doesNotThrow(
    () => assertDocumentedAnswer('GET', '/internal/v1/stats', 200, { anything: true }),
    'an undocumented route is not checked',
  );
  t.doesNotThrow(() =>
    assertDocumentedAnswer('GET', '/v1/users/alice/changes', 410, {
      error: { code: 'CURSOR_EXPIRED', message: 'list again' },
    }),
  );
});

/** App and operator tokens configured: only open routes take a request without one. */
function lockedPolicy(): AccessPolicy {
  return {
    members: new MemberSigner('router-1', Buffer.alloc(32, 7)).verifier(),
    appTokens: TokenSet.from(['an-app-token-of-enough-length'], 'app'),
    operatorTokens: TokenSet.from(['an-operator-token-long-enough'], 'operator'),
  };
}

t.test('registerOpenApiRoute: the document, open, on a server with tokens', async (t) => {
  t.equal(accessOf(OPENAPI_PATH), 'open');
  t.equal(accessOf(`${OPENAPI_PATH}?x=1`), 'open');
  t.equal(accessOf(`${OPENAPI_PATH}x`), 'member', 'only the exact path');
  const app = createHttpServer({});
  installAccessControl(app, lockedPolicy());
  registerOpenApiRoute(app);
  app.get('/v1/ring', async () => ({}));
  await app.listen({ host: '127.0.0.1', port: 0 });
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  t.teardown(() => app.close());

  const answer = await request(`${base}${OPENAPI_PATH}`);
  t.equal(answer.statusCode, 200, 'no credential needed');
  t.match(answer.headers['content-type'], /^application\/json/);
  const text = await answer.body.text();
  t.same(JSON.parse(text), fresh, 'the document, as built');
  t.equal(text, JSON.stringify(fresh), 'compact JSON');
  const again = await request(`${base}${OPENAPI_PATH}?anything=1`);
  t.equal(await again.body.text(), text, 'the same bytes every time (a query is ignored)');

  const locked = await request(`${base}/v1/ring`);
  t.equal(locked.statusCode, 401, 'an app route next to it still wants the token');
  await locked.body.dump();
  const wrongMethod = await request(`${base}${OPENAPI_PATH}`, { method: 'POST' });
  t.equal(wrongMethod.statusCode, 405);
  const refusal = (await wrongMethod.body.json()) as JsonObject;
  t.match(refusal, { error: { code: 'METHOD_NOT_ALLOWED' } });
});

t.test("a stopping server's answer is documented for every operation", async (t) => {
  const stopping = {
    error: { code: 'OWNER_UNAVAILABLE', message: 'the server is stopping; retry' },
  };
  for (const [path, item] of Object.entries(committed.paths as JsonObject))
    for (const method of Object.keys(item as JsonObject)) {
      const concrete = path.replace('{userId}', 'alice').replace('{conversationId}', 'alice~bob');
      t.doesNotThrow(
        () => assertDocumentedAnswer(method.toUpperCase(), concrete, 503, stopping),
        `${method.toUpperCase()} ${path}: 503 OWNER_UNAVAILABLE`,
      );
    }
});

t.test('a router serves the document without a credential, app tokens configured', async (t) => {
  // Holds as long as router-server.ts calls registerOpenApiRoute (the wiring, not the route).
  const owners = {
    relay: () => Promise.reject(new Error('no owner in this test')),
  } as unknown as OwnerClient;
  const app = buildRouterServer({
    owners,
    ring: () => undefined,
    access: lockedPolicy(),
    http: {},
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  t.teardown(() => app.close());
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;

  const answer = await request(`${base}${OPENAPI_PATH}`);
  t.equal(answer.statusCode, 200);
  t.match(answer.headers['content-type'], /^application\/json/);
  const body = (await answer.body.json()) as JsonObject;
  t.same(body, fresh, 'the document, as built');
  assertDocumentedAnswer('GET', OPENAPI_PATH, 200, body);

  const closed = await request(`${base}/v1/ring`);
  t.equal(closed.statusCode, 401, 'an app route next to it still wants the token');
  const refusal = (await closed.body.json()) as JsonObject;
  t.match(refusal, { error: { code: 'UNAUTHENTICATED' } });
  assertDocumentedAnswer('GET', '/v1/ring', 401, refusal);
});
