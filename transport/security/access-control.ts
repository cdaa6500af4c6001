import type { IncomingHttpHeaders } from 'node:http';
import { Transform } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ChatringError, OPENAPI_PATH } from '../../protocol/index.js';
import {
  MEMBER_SIGNATURE_HEADER,
  type MemberVerifier,
  type PendingMemberSignature,
} from './member-signature.js';
import { BEARER_TOKEN_PATTERN, type TokenSet } from './token-set.js';

/**
 * Who may call what (docs/security.md, the trust model), enforced once per process for every
 * route: a route's class follows from its path, and anything not listed is a member route, so a
 * route added later is closed until someone decides otherwise.
 *
 * - `open`: liveness (`/healthz`), the ring page's HTML (`/ui`: it holds no data) and the public
 *   API's OpenAPI document (`/openapi.json`).
 * - `app`: the public API. App servers are trusted to act for any user (per-user authorization is
 *   the app's job). An app token when app tokens are configured; a member signature too (the
 *   router's forwards to nodes).
 * - `operator`: ring changes, status, admin, stats and the ring page's state. The operator token
 *   when one is configured; a member signature too (a member can already do more than an
 *   operator).
 * - `member`: heartbeats, deliveries, handoff, ring pushes, the ring itself. A member signature,
 *   always.
 * - `metrics`: `GET /metrics`, for Prometheus, which scrapes without an app credential. Open unless
 *   metrics tokens are configured (the figures are counts, levels and timings by route pattern,
 *   never a user id or message); then a metrics token, the operator token, or a member signature.
 *   Open even beyond loopback: docs/security.md says how to restrict it (a token, or the network).
 *
 * Without app or operator tokens those classes are open: allowed on loopback only, which the
 * process's start-up enforces (listen-policy.ts).
 */
export type RouteAccess = 'open' | 'app' | 'operator' | 'member' | 'metrics';

export interface AccessPolicy {
  /** Checks member signatures. Every process has one: member routes are never open. */
  members: MemberVerifier;
  /** App tokens; undefined: app routes take anyone. */
  appTokens: TokenSet | undefined;
  /** Operator tokens; undefined: operator routes take anyone. */
  operatorTokens: TokenSet | undefined;
  /**
   * Metrics tokens; undefined (or left out): `GET /metrics` takes anyone. With them it takes a
   * metrics token, the operator token or a member signature.
   * @default undefined
   */
  metricsTokens?: TokenSet | undefined;
}

/** Who a request was authenticated as. */
export type Principal =
  | { kind: 'member'; memberId: string }
  | { kind: 'app' }
  | { kind: 'operator' }
  | { kind: 'metrics' }
  | { kind: 'anonymous' };

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the onRequest check on every request; null only before it ran. */
    principal: Principal | null;
  }
}

/** Prometheus' conventional path (transport/metrics' METRICS_PATH; not imported: a peer folder). */
const METRICS_PATH = '/metrics';

const OPERATOR_PREFIXES = [
  '/admin/',
  '/control/v1/changes',
  '/control/v1/status',
  '/internal/v1/stats',
  '/ui/state',
] as const;

export function accessOf(url: string): RouteAccess {
  const queryAt = url.indexOf('?');
  const path = queryAt < 0 ? url : url.slice(0, queryAt);
  if (path === '/healthz' || path === '/ui' || path === OPENAPI_PATH) return 'open';
  if (path === METRICS_PATH) return 'metrics';
  if (path.startsWith('/v1/')) return 'app';
  if (OPERATOR_PREFIXES.some((prefix) => path.startsWith(prefix))) return 'operator';
  return 'member';
}

const ANONYMOUS: Principal = Object.freeze({ kind: 'anonymous' });
const APP: Principal = Object.freeze({ kind: 'app' });
const OPERATOR: Principal = Object.freeze({ kind: 'operator' });
const METRICS: Principal = Object.freeze({ kind: 'metrics' });
const pendingSignatures = new WeakMap<FastifyRequest, PendingMemberSignature>();

/**
 * Installs the checks on a server: credentials are judged in onRequest, before the body is read
 * (a caller without one never gets its body parsed); a member signature's MAC, which covers the
 * body, is fed the bytes as they stream in and compared when the last one has arrived, before the
 * body is parsed (a forger's body is hashed, never parsed), or in preValidation for a request
 * without a body.
 */
export function installAccessControl(app: FastifyInstance, policy: AccessPolicy): void {
  app.decorateRequest('principal', null);
  // Callback hooks, not async ones: on the hot path a promise per hook per request is measurable.
  app.addHook('onRequest', (request, reply, done) => {
    try {
      request.principal = authenticate(request, accessOf(request.url), policy);
    } catch (error) {
      if ((error as ChatringError).code === 'UNAUTHENTICATED')
        void reply.header('www-authenticate', 'Bearer realm="chatring"');
      done(error as Error);
      return;
    }
    done();
  });
  app.addHook('preParsing', (request, _reply, payload, done) => {
    const pending = pendingSignatures.get(request);
    // Only a request with a body is hashed as it streams; one without is verified in preValidation.
    if (pending === undefined || !hasBody(request)) {
      done(null, payload);
      return;
    }
    const hashing = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        pending.update(chunk);
        callback(null, chunk);
      },
      flush(callback) {
        pendingSignatures.delete(request);
        try {
          pending.verify();
          callback();
        } catch (error) {
          callback(error as Error);
        }
      },
    });
    payload.on('error', (error) => hashing.destroy(error));
    // fastify's body reader handles the stream's errors; this keeps one nobody reads from crashing.
    hashing.on('error', () => undefined);
    done(null, payload.pipe(hashing));
  });
  app.addHook('preValidation', (request, _reply, done) => {
    const pending = pendingSignatures.get(request);
    if (pending === undefined) {
      done();
      return;
    }
    pendingSignatures.delete(request);
    try {
      pending.verify();
    } catch (error) {
      done(error as Error);
      return;
    }
    done();
  });
}

/** Whether a body follows the headers (HTTP/1.1: a content-length above 0, or chunked). */
function hasBody(request: FastifyRequest): boolean {
  const length = request.headers['content-length'];
  return (
    (length !== undefined && length !== '0') || request.headers['transfer-encoding'] !== undefined
  );
}

/**
 * Who is at the other end of a link, fixed by its upgrade: a cluster `member` (it signed the
 * upgrade: the router, another node) or an `app` (an app token, or nothing where app tokens are
 * not configured). A link grants exactly what its caller's credential grants over HTTP.
 */
export type LinkCaller = 'member' | 'app';

/**
 * Who may open a link (transport/link): whoever may call `/v1` — a member signing the upgrade,
 * or an app with an app token when app tokens are configured (anyone when they are not, as on
 * `/v1` itself). Returns who the caller is; throws the refusal.
 */
export function checkLinkCredential(
  headers: IncomingHttpHeaders,
  pathAndQuery: string,
  policy: AccessPolicy,
): LinkCaller {
  const signature = headers[MEMBER_SIGNATURE_HEADER];
  if (signature !== undefined) {
    if (typeof signature !== 'string')
      throw new ChatringError('FORBIDDEN', `one ${MEMBER_SIGNATURE_HEADER} header, not several`);
    policy.members.begin(signature, 'GET', pathAndQuery).verify();
    return 'member';
  }
  if (policy.appTokens === undefined) return 'app';
  if (!policy.appTokens.matches(bearerTokenOf(headers.authorization, 'app')))
    throw new ChatringError('FORBIDDEN', 'the bearer token is not a valid app token');
  return 'app';
}

/** The member a request was signed by, or undefined. */
export function authenticatedMember(request: FastifyRequest): string | undefined {
  return request.principal?.kind === 'member' ? request.principal.memberId : undefined;
}

function authenticate(
  request: FastifyRequest,
  access: RouteAccess,
  policy: AccessPolicy,
): Principal {
  if (access === 'open') return ANONYMOUS;
  if (access === 'metrics' && policy.metricsTokens === undefined) return ANONYMOUS;
  const signature = request.headers[MEMBER_SIGNATURE_HEADER];
  if (signature !== undefined) {
    if (typeof signature !== 'string')
      throw new ChatringError('FORBIDDEN', `one ${MEMBER_SIGNATURE_HEADER} header, not several`);
    const pending = policy.members.begin(signature, request.method, request.url);
    pendingSignatures.set(request, pending);
    return { kind: 'member', memberId: pending.memberId };
  }
  if (access === 'member')
    throw new ChatringError('UNAUTHENTICATED', 'this route is for cluster members: sign it');
  if (access === 'metrics') return metricsPrincipal(request, policy);
  const tokens = access === 'app' ? policy.appTokens : policy.operatorTokens;
  if (tokens === undefined) return ANONYMOUS;
  const token = bearerTokenOf(request.headers.authorization, access);
  if (!tokens.matches(token))
    throw new ChatringError('FORBIDDEN', `the bearer token is not a valid ${access} token`);
  return access === 'app' ? APP : OPERATOR;
}

/** `GET /metrics` once metrics tokens are configured: a metrics token, or the operator's. */
function metricsPrincipal(request: FastifyRequest, policy: AccessPolicy): Principal {
  const token = bearerTokenOf(request.headers.authorization, 'metrics');
  if (policy.metricsTokens?.matches(token) === true) return METRICS;
  if (policy.operatorTokens?.matches(token) === true) return OPERATOR;
  throw new ChatringError('FORBIDDEN', 'the bearer token is not a valid metrics or operator token');
}

function bearerTokenOf(header: string | undefined, access: RouteAccess): string {
  if (header === undefined)
    throw new ChatringError(
      'UNAUTHENTICATED',
      `this route needs ${access === 'metrics' ? 'a' : 'an'} ${access} bearer token`,
    );
  const match = /^Bearer +(\S+)$/i.exec(header);
  if (match?.[1] === undefined || !BEARER_TOKEN_PATTERN.test(match[1]))
    throw new ChatringError('FORBIDDEN', 'the authorization header is not `Bearer <token>`');
  return match[1];
}
