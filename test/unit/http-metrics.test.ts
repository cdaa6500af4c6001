/**
 * The metrics every chatring server gets from createHttpServer, and who may read them, through
 * fastify's inject (no socket): requests are counted by route pattern, method and status (never
 * by path: two users' reads are one label set), timed in the duration histogram, and body bytes
 * added up; a request no route matched is `unmatched`; `GET /metrics` serves Prometheus text with
 * the default process metrics under `chatring_`; without the metrics instrument there is no
 * /metrics route. Access: open without metrics tokens (even with app and operator tokens
 * configured, and to a caller with no credential at all); with metrics tokens, no token 401, a
 * wrong one 403, a metrics token, the operator token or a member signature 200.
 */
import t, { type Test } from 'tap';
import type { FastifyInstance } from 'fastify';
import { createHttpServer } from '../../transport/http-server.js';
import {
  MEMBER_SIGNATURE_HEADER,
  MemberSigner,
  TokenSet,
  accessOf,
  installAccessControl,
  type AccessPolicy,
} from '../../transport/security/index.js';
import {
  METRICS_PATH,
  createMetricsRegistry,
  parsePrometheusText,
  sampleSum,
  type MetricFamily,
} from '../../transport/metrics/index.js';

const SECRET = Buffer.from('a-cluster-secret-of-at-least-32-bytes!!');
const APP_TOKEN = 'app-token-for-the-metrics-test';
const OPERATOR_TOKEN = 'operator-token-for-the-metrics';
const METRICS_TOKEN = 'metrics-token-for-the-metrics-t';

function server(t: Test, policy?: Partial<AccessPolicy>): FastifyInstance {
  const registry = createMetricsRegistry({ component: 'test', member: 'test-1' });
  const app = createHttpServer({}, { metrics: registry });
  if (policy !== undefined)
    installAccessControl(app, {
      members: new MemberSigner('test-1', SECRET).verifier(),
      appTokens: undefined,
      operatorTokens: undefined,
      ...policy,
    });
  app.get<{ Params: { userId: string } }>('/v1/users/:userId', async (request) => ({
    userId: request.params.userId,
  }));
  app.post('/v1/echo', async (request) => ({ echoed: request.body ?? null }));
  t.teardown(() => app.close());
  return app;
}

async function scrape(app: FastifyInstance, headers = {}): Promise<Map<string, MetricFamily>> {
  const response = await app.inject({ method: 'GET', url: METRICS_PATH, headers });
  if (response.statusCode !== 200) throw new Error(`scrape answered ${response.statusCode}`);
  return parsePrometheusText(response.body);
}

t.test('requests by route pattern, method and status; unmatched; durations; bytes', async (t) => {
  const app = server(t);
  for (const userId of ['alice', 'bob', 'carol'])
    t.equal((await app.inject({ method: 'GET', url: `/v1/users/${userId}` })).statusCode, 200);
  const body = JSON.stringify({ hello: 'world' });
  for (let index = 0; index < 2; index += 1)
    await app.inject({
      method: 'POST',
      url: '/v1/echo',
      headers: { 'content-type': 'application/json' },
      payload: body,
    });
  t.equal((await app.inject({ method: 'GET', url: '/no/such/alice' })).statusCode, 404);
  t.equal((await app.inject({ method: 'DELETE', url: '/v1/echo' })).statusCode, 405);

  const families = await scrape(app);
  const requests = (labels: Record<string, string>) =>
    sampleSum(families, 'chatring_http_requests_total', labels);
  t.equal(
    requests({ route: '/v1/users/:userId', method: 'GET', status: '200' }),
    3,
    'three users, one label set',
  );
  t.equal(requests({ route: '/v1/echo', method: 'POST', status: '200' }), 2);
  t.equal(requests({ route: 'unmatched', method: 'GET', status: '404' }), 1);
  t.equal(requests({ route: 'unmatched', method: 'DELETE', status: '405' }), 1);
  t.equal(
    sampleSum(families, 'chatring_http_request_duration_seconds_count', {
      route: '/v1/users/:userId',
    }),
    3,
  );
  t.equal(
    sampleSum(families, 'chatring_http_request_body_bytes_total', { route: '/v1/echo' }),
    2 * Buffer.byteLength(body),
  );
  const pathsInLabels = [...families.values()]
    .flatMap((family) => family.samples)
    .flatMap((sample) => Object.values(sample.labels))
    .filter((value) => /alice|bob|carol|no\/such/.test(value));
  t.same(pathsInLabels, [], 'no path or user id in any label');
  t.equal(families.get('chatring_process_info')?.samples[0]?.labels.member, 'test-1');
  t.ok(families.has('chatring_nodejs_eventloop_lag_seconds'), 'event-loop lag');
  t.ok(families.has('chatring_nodejs_heap_size_used_bytes'), 'heap');
  t.ok(families.has('chatring_nodejs_gc_duration_seconds'), 'GC');
  t.ok(families.has('chatring_http_connections'), 'the load gauges');
  t.equal(
    sampleSum(families, 'chatring_http_refused_total', { refused: 'request' }),
    0,
    'nothing refused',
  );
  const again = await scrape(app);
  t.equal(
    sampleSum(again, 'chatring_http_requests_total', { route: '/metrics', status: '200' }),
    1,
    'a scrape counts itself once it is answered',
  );
});

t.test(
  'a request refused at the in-flight limit is counted and timed like any answer',
  async (t) => {
    const registry = createMetricsRegistry({ component: 'test', member: 'test-1' });
    const app = createHttpServer({ requestsInFlightMax: 1 }, { metrics: registry });
    t.teardown(() => app.close());
    let unblock: () => void = () => {};
    const blocked = new Promise<void>((resolve) => (unblock = resolve));
    app.get('/v1/slow', async () => {
      await blocked;
      return { ok: true };
    });
    const slow = app.inject({ method: 'GET', url: '/v1/slow' });
    // The first request holds the only slot until it is unblocked.
    await new Promise((resolve) => setImmediate(resolve));
    const refused = await app.inject({ method: 'GET', url: '/v1/slow' });
    t.equal(refused.statusCode, 503);
    t.equal(refused.json<{ error: { code: string } }>().error.code, 'OVERLOADED');
    unblock();
    t.equal((await slow).statusCode, 200);
    t.equal(
      (await app.inject({ method: 'GET', url: '/v1/slow' })).statusCode,
      200,
      'slot released',
    );
    const families = await scrape(app);
    const requests = (status: string) =>
      sampleSum(families, 'chatring_http_requests_total', { route: '/v1/slow', status });
    t.equal(requests('503'), 1, 'the refusal');
    t.equal(requests('200'), 2);
    t.equal(
      sampleSum(families, 'chatring_http_request_duration_seconds_count', { route: '/v1/slow' }),
      3,
      'all three timed',
    );
    t.equal(sampleSum(families, 'chatring_http_refused_total', { refused: 'request' }), 1);
  },
);

t.test('without the metrics instrument there is no /metrics route', async (t) => {
  const app = createHttpServer();
  t.teardown(() => app.close());
  t.equal((await app.inject({ method: 'GET', url: METRICS_PATH })).statusCode, 404);
});

t.test('/metrics has its own access class', async (t) => {
  t.equal(accessOf('/metrics'), 'metrics');
  t.equal(accessOf('/metrics?x=1'), 'metrics');
  t.equal(accessOf('/metricsx'), 'member', 'only the exact path');
  t.equal(accessOf('/v1/metrics'), 'app');
});

t.test('without metrics tokens it is open, app and operator tokens notwithstanding', async (t) => {
  const app = server(t, {
    appTokens: TokenSet.from([APP_TOKEN], 'app'),
    operatorTokens: TokenSet.from([OPERATOR_TOKEN], 'operator'),
  });
  t.equal((await app.inject({ method: 'GET', url: '/v1/users/alice' })).statusCode, 401);
  const response = await app.inject({ method: 'GET', url: METRICS_PATH });
  t.equal(response.statusCode, 200, 'no credential needed');
  t.match(response.headers['content-type'], /^text\/plain; version=0\.0\.4/);
});

t.test('with metrics tokens: none 401, wrong 403; metrics, operator, member 200', async (t) => {
  const app = server(t, {
    appTokens: TokenSet.from([APP_TOKEN], 'app'),
    operatorTokens: TokenSet.from([OPERATOR_TOKEN], 'operator'),
    metricsTokens: TokenSet.from([METRICS_TOKEN], 'metrics'),
  });
  const statusWith = async (headers: Record<string, string>) =>
    (await app.inject({ method: 'GET', url: METRICS_PATH, headers })).statusCode;
  const none = await app.inject({ method: 'GET', url: METRICS_PATH });
  t.equal(none.statusCode, 401);
  t.equal(none.json().error.code, 'UNAUTHENTICATED');
  t.equal(none.headers['www-authenticate'], 'Bearer realm="chatring"');
  t.equal(
    await statusWith({ authorization: `Bearer ${APP_TOKEN}` }),
    403,
    'an app token is not one',
  );
  t.equal(await statusWith({ authorization: 'Bearer not-the-metrics-token-at-all' }), 403);
  t.equal(await statusWith({ authorization: `Bearer ${METRICS_TOKEN}` }), 200);
  t.equal(await statusWith({ authorization: `Bearer ${OPERATOR_TOKEN}` }), 200);
  const signer = new MemberSigner('router', SECRET);
  t.equal(
    await statusWith({ [MEMBER_SIGNATURE_HEADER]: signer.sign('GET', METRICS_PATH, undefined) }),
    200,
    'a member signature',
  );
  t.equal(
    (await app.inject({ method: 'GET', url: '/healthz' })).statusCode,
    404,
    'other classes unchanged (no /healthz route here: 404, not 401)',
  );
});
