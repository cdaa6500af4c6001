/**
 * The ring page's parts without a cluster or a browser: its routes' access classes (the HTML open,
 * the state an operator route), the page's script parses and is the one its CSP lets run, node
 * figures from stats and Prometheus text, rates and hit ratios from counters, the state document
 * (failovers in the making, a ring reaching the nodes, operator changes, the router's ring when
 * the control plane does not answer), one refresh for any number of callers within 500 ms, the
 * ring-change watch following the change route's NDJSON, and the routes on a real server with
 * operator tokens: 401 without, the operator's token passed on to the nodes.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { Script } from 'node:vm';
import Fastify from 'fastify';
import t from 'tap';
import {
  ChatringError,
  type ClusterStatus,
  type Clock,
  type RingConfig,
} from '../../protocol/index.js';
import {
  NodeRates,
  RING_PAGE_CONTENT_SECURITY_POLICY,
  RING_PAGE_HTML,
  RING_PAGE_SCRIPT,
  RING_PAGE_TIMINGS,
  RingChangeWatch,
  RingPageSource,
  metricFigures,
  nodeProblemOf,
  nodeReportOf,
  registerRingPage,
  ringPageStateOf,
  type NodeReading,
  type NodeReport,
  type RingPageInput,
  type WatchedChange,
} from '../../router/ui/index.js';
import { RingView } from '../../ring/index.js';
import {
  accessOf,
  createHttpServer,
  installAccessControl,
  processSecurity,
} from '../../transport/index.js';

class FakeClock implements Clock {
  nowMs = 1_000;
  monotonicNow(): number {
    return this.nowMs;
  }
  wallNow(): number {
    return 1_700_000_000_000 + this.nowMs;
  }
  async sleep(ms: number): Promise<void> {
    this.nowMs += ms;
  }
}

const STATS = {
  nodeId: 'node-1',
  epoch: 4,
  slots: ['slot-0'],
  leaseRemainingMs: 2_100,
  cache: { users: 12, bytes: 3_000, evictions: 0 },
  service: { storeLoads: 5, cacheHits: 30, cacheMisses: 10 },
  handoff: { releasedUsers: 1, warmUsersSent: 2, warmUsersReceived: 3, warmUsersAdopted: 3 },
  pendingRepairs: 0,
};
const METRICS = [
  '# HELP chatring_http_requests_total HTTP requests answered, by route pattern, method and status.',
  '# TYPE chatring_http_requests_total counter',
  'chatring_http_requests_total{route="/v1/messages",method="POST",status="201"} 7',
  'chatring_http_requests_total{route="/v1/users/:userId/conversations",method="GET",status="200"} 5 1700000000000',
  'chatring_http_requests_total{route="/internal/v1/stats",method="GET",status="200"} 100',
  'chatring_http_requests_total_other{route="/v1/messages"} 1000',
  'chatring_cache_bytes_budget 268435456',
  'chatring_cache_bytes 3000',
].join('\n');

function statusOf(overrides: Partial<ClusterStatus> = {}): ClusterStatus {
  return {
    epoch: 4,
    backend: 'in-process',
    leaseMs: 3_000,
    heartbeatIntervalMs: 250,
    slots: [
      { slot: 'slot-0', nodeId: 'node-1', weight: 1 },
      { slot: 'slot-1', nodeId: 'node-2', weight: 1 },
    ],
    standbys: ['standby-1'],
    nodes: [
      {
        nodeId: 'node-1',
        url: 'http://127.0.0.1:1',
        state: 'serving',
        slots: ['slot-0'],
        leaseAgeMs: 100,
      },
      {
        nodeId: 'node-2',
        url: 'http://127.0.0.1:2',
        state: 'serving',
        slots: ['slot-1'],
        leaseAgeMs: 120,
      },
      {
        nodeId: 'standby-1',
        url: 'http://127.0.0.1:3',
        state: 'standby',
        slots: [],
        leaseAgeMs: 90,
      },
    ],
    ...overrides,
  };
}

function inputOf(overrides: Partial<RingPageInput> = {}): RingPageInput {
  return {
    nowWallMs: 1_700_000_000_000,
    status: statusOf(),
    statusProblem: '',
    ring: undefined,
    readings: new Map(),
    running: [],
    finished: [],
    ...overrides,
  };
}

function reading(report: Partial<NodeReport> = {}): NodeReading {
  return {
    ok: true,
    report: { ...nodeReportOf(STATS, METRICS), ...report },
    rates: { requestsPerSecond: 4, hitRatio: 0.75, hitRatioScope: 'recent' },
  };
}

t.test('/ui is open (the page holds no data), /ui/state is an operator route', async (t) => {
  t.equal(accessOf('/ui'), 'open');
  t.equal(accessOf('/ui?x=1'), 'open');
  t.equal(accessOf('/ui/state'), 'operator');
  t.equal(accessOf('/ui/state?x=1'), 'operator');
  t.equal(accessOf('/ui/other'), 'member', 'anything else under /ui stays closed');
  t.equal(accessOf('/uix'), 'member');
});

t.test('the page: its script parses, its CSP allows exactly that script', async (t) => {
  t.doesNotThrow(() => new Script(RING_PAGE_SCRIPT), 'the inline script is valid JavaScript');
  t.notMatch(RING_PAGE_SCRIPT, /__POLL_MS__/, 'the poll interval is filled in');
  t.match(RING_PAGE_SCRIPT, `var POLL_MS = ${RING_PAGE_TIMINGS.pagePollMs};`);
  const hash = createHash('sha256').update(RING_PAGE_SCRIPT).digest('base64');
  t.match(RING_PAGE_CONTENT_SECURITY_POLICY, `script-src 'sha256-${hash}'`);
  t.ok(RING_PAGE_HTML.includes(`<script>${RING_PAGE_SCRIPT}</script>`), 'served as hashed');
  t.notMatch(RING_PAGE_SCRIPT, /innerHTML/, 'values are set as text, never as markup');
  t.ok(Buffer.byteLength(RING_PAGE_HTML) < 32 * 1024, 'small: under 32 KiB');
});

t.test(
  'metric figures: API requests summed by route, the budget; unreadable text says so',
  async (t) => {
    t.same(metricFigures(METRICS), { apiRequests: 12, cacheBytesBudget: 268_435_456 });
    t.same(
      metricFigures('chatring_http_requests_total{route="/internal/v1/stats"} 4'),
      { apiRequests: 0, cacheBytesBudget: undefined },
      'the metric is there, no API request yet: 0, not unknown',
    );
    t.same(metricFigures(''), { apiRequests: undefined, cacheBytesBudget: undefined });
    t.throws(() => metricFigures('chatring_http_requests_total{broken="1"'), /line 1/);
    t.match(
      nodeReportOf(STATS, 'chatring_http_requests_total{broken="1"').metricsProblem,
      /^metrics unreadable: line 1/,
      'a node serving garbled metrics is shown with why, its figures unknown',
    );
  },
);

t.test(
  'a node report from its stats and metrics; missing figures count 0 or stay unknown',
  async (t) => {
    const report = nodeReportOf(STATS, METRICS);
    t.match(report, {
      epoch: 4,
      slots: ['slot-0'],
      leaseRemainingMs: 2_100,
      cacheHits: 30,
      cacheMisses: 10,
      cachedUsers: 12,
      cachedBytes: 3_000,
      cacheBytesBudget: 268_435_456,
      apiRequests: 12,
      handoff: { warmUsersSent: 2, warmUsersReceived: 3, warmUsersFailed: 0 },
      metricsProblem: '',
    });
    const bare = nodeReportOf(
      { cache: 'nonsense', slots: [1, 'slot-2'] },
      '',
      'metrics answered HTTP 404',
    );
    t.match(bare, {
      epoch: undefined,
      slots: ['slot-2'],
      cacheHits: 0,
      cacheBytesBudget: undefined,
      apiRequests: undefined,
      metricsProblem: 'metrics answered HTTP 404',
    });
  },
);

t.test('a node that does not answer: a short reason for the table', async (t) => {
  t.equal(
    nodeProblemOf(
      new ChatringError(
        'OWNER_UNAVAILABLE',
        'ring page: GET http://127.0.0.1:1/internal/v1/stats failed: connect ECONNREFUSED 127.0.0.1:1',
      ),
    ),
    'not answering: connect ECONNREFUSED 127.0.0.1:1',
  );
  t.equal(
    nodeProblemOf(
      new ChatringError('UNAUTHENTICATED', 'this route needs an operator bearer token'),
    ),
    'UNAUTHENTICATED: this route needs an operator bearer token',
    'a refusal keeps its code',
  );
  t.equal(nodeProblemOf(new Error('boom')), 'boom');
});

t.test('rates: over the window, none from one reading, a restart starts over', async (t) => {
  const rates = new NodeRates({ windowMs: 10_000, rateSpanMinMs: 400, samplesMax: 4 });
  const sample = (atMs: number, apiRequests: number | undefined, hits: number, misses: number) =>
    rates.record('n', { atMs, apiRequests, cacheHits: hits, cacheMisses: misses });
  t.same(sample(0, 100, 10, 10), {
    requestsPerSecond: null,
    hitRatio: 0.5,
    hitRatioScope: 'since start',
  });
  t.same(sample(1_000, 150, 19, 11), {
    requestsPerSecond: 50,
    hitRatio: 0.9,
    hitRatioScope: 'recent',
  });
  t.equal(sample(2_000, 250, 19, 11).requestsPerSecond, 75, 'from the oldest reading kept');
  t.equal(sample(12_000, 300, 19, 11).requestsPerSecond, 5, 'readings past the window dropped');
  t.same(
    sample(13_000, 300, 19, 11),
    { requestsPerSecond: 0, hitRatio: 19 / 30, hitRatioScope: 'since start' },
    'no look-up in the window: the ratio since the start',
  );
  t.same(
    sample(14_000, 3, 1, 0),
    { requestsPerSecond: null, hitRatio: 1, hitRatioScope: 'since start' },
    'a counter went down (the node restarted): history dropped',
  );
  t.equal(sample(14_300, 6, 1, 0).requestsPerSecond, null, 'closer than rateSpanMinMs: no rate');
  t.equal(sample(15_000, undefined, 1, 0).requestsPerSecond, null, 'no metrics: no rate');
  for (let at = 16_000; at < 20_000; at += 500) sample(at, 10, 1, 0);
  t.equal(sample(20_000, 30, 1, 0).requestsPerSecond, 20 / 1.5, 'at most samplesMax kept');
  rates.retainOnly(new Set());
  t.equal(sample(21_000, 40, 1, 0).requestsPerSecond, null, 'forgotten');
});

t.test('rates: a reading exactly one window old still counts, one past it does not', async (t) => {
  const rates = new NodeRates();
  const at = (atMs: number, apiRequests: number) =>
    rates.record('n', { atMs, apiRequests, cacheHits: 0, cacheMisses: 0 }).requestsPerSecond;
  at(0, 0);
  t.equal(at(10_000, 100), 10, 'the reading at 0 is inside a 10 s window ending at 10 s');
  t.equal(at(10_500, 150), 100, 'at 10.5 s it is out: the rate runs from the 10 s reading');
});

t.test('the state: nodes with their figures, cache fill, unreachable nodes', async (t) => {
  const state = ringPageStateOf(
    inputOf({
      readings: new Map<string, NodeReading>([
        ['node-1', reading()],
        [
          'node-2',
          reading({ cacheBytesBudget: undefined, metricsProblem: 'metrics answered HTTP 404' }),
        ],
        ['standby-1', { ok: false, problem: 'OWNER_UNAVAILABLE: connect ECONNREFUSED' }],
      ]),
    }),
  );
  t.match(state, {
    epoch: 4,
    backend: 'in-process',
    controlPlaneProblem: '',
    standbys: ['standby-1'],
    changes: [],
  });
  t.same(
    state.slots.map((s) => `${s.slot}=${s.nodeId}`),
    ['slot-0=node-1', 'slot-1=node-2'],
  );
  const [one, two, standby] = state.nodes;
  t.match(one, {
    nodeId: 'node-1',
    state: 'serving',
    reachable: true,
    epoch: 4,
    requestsPerSecond: 4,
    hitRatio: 0.75,
    cacheFill: 3_000 / 268_435_456,
    problem: '',
  });
  t.match(two, { cacheFill: null, cacheBytesBudget: null, problem: 'metrics answered HTTP 404' });
  t.match(standby, {
    reachable: false,
    problem: 'OWNER_UNAVAILABLE: connect ECONNREFUSED',
    hitRatio: null,
    handoff: null,
  });
});

t.test('changes: a silent node, a dead one, no standby left, the last slot', async (t) => {
  const silent = statusOf({
    nodes: statusOf().nodes.map((node) =>
      node.nodeId === 'node-1' ? { ...node, leaseAgeMs: 1_500 } : node,
    ),
  });
  t.same(ringPageStateOf(inputOf({ status: silent })).changes, [
    {
      kind: 'failover',
      summary:
        'node-1 silent for 1.5 s of its 3.0 s lease: standby-1 takes slot-0 when it runs out',
      progress: 0.5,
    },
  ]);
  const atAThirdOfTheLease = statusOf({
    nodes: statusOf().nodes.map((node) =>
      node.nodeId === 'node-1' ? { ...node, leaseAgeMs: 1_000 } : node,
    ),
  });
  t.same(
    ringPageStateOf(inputOf({ status: atAThirdOfTheLease })).changes,
    [],
    'silent for a third of the lease (above two heartbeats): not yet shown',
  );

  const bothDead = statusOf({
    standbys: [],
    nodes: statusOf().nodes.map((node) =>
      node.nodeId === 'standby-1' ? node : { ...node, state: 'dead' as const, leaseAgeMs: 3_500 },
    ),
  });
  t.same(
    ringPageStateOf(inputOf({ status: bothDead })).changes.map((c) => c.summary),
    [
      "node-1's lease ran out: slot-0 leaves the ring, its users spread over the others at the control plane's next check",
      "node-2's lease ran out: slot-1 stays: it is the last slot at the control plane's next check",
    ],
  );
});

t.test(
  'changes: a ring on its way to the nodes, operator changes under way and done',
  async (t) => {
    const running: WatchedChange = {
      action: 'remove',
      nodeId: 'node-2',
      startedAtMs: 1_699_999_999_000,
      phase: 'releasing',
      movedShare: 0.25,
      released: { done: 1, total: 2 },
      epoch: undefined,
      endedAtMs: undefined,
      failure: undefined,
    };
    const done: WatchedChange = {
      ...running,
      action: 'add',
      nodeId: 'standby-1',
      phase: 'done',
      epoch: 4,
      endedAtMs: 1_699_999_999_400,
    };
    const old: WatchedChange = { ...done, endedAtMs: 1_699_999_000_000 };
    const state = ringPageStateOf(
      inputOf({
        readings: new Map([
          ['node-1', reading()],
          ['node-2', reading({ epoch: 3 })],
        ]),
        running: [running],
        finished: [done, old],
      }),
    );
    t.same(state.changes, [
      {
        kind: 'operator',
        summary: 'remove node-2: 1 of 2 nodes released their moving users (25.0% of users move)',
        progress: 0.5,
      },
      {
        kind: 'propagation',
        summary: 'epoch 4 reaching the nodes: 1 of 2 route by it',
        progress: 0.5,
      },
      { kind: 'finished', summary: 'add standby-1: done at epoch 4 in 0.4 s', progress: 1 },
    ]);
    t.equal(
      state.nodes.find((n) => n.nodeId === 'node-2')?.draining,
      true,
      'draining while removed',
    );
    t.equal(state.nodes.find((n) => n.nodeId === 'node-1')?.draining, false);
  },
);

t.test(
  'without the control plane: the router’s ring, states unknown, the reason shown',
  async (t) => {
    const ring: RingConfig = {
      epoch: 5,
      virtualNodesPerWeight: 160,
      slots: [{ slot: 'slot-0', nodeId: 'node-1', weight: 1 }],
      standbys: ['standby-1'],
      nodes: {
        'node-1': { nodeId: 'node-1', url: 'http://127.0.0.1:1' },
        'standby-1': { nodeId: 'standby-1', url: 'http://127.0.0.1:3' },
      },
    };
    const state = ringPageStateOf(
      inputOf({ status: undefined, statusProblem: 'OWNER_UNAVAILABLE: redis down', ring }),
    );
    t.match(state, {
      epoch: 5,
      backend: null,
      leaseMs: null,
      controlPlaneProblem: 'OWNER_UNAVAILABLE: redis down',
      slots: [{ slot: 'slot-0', nodeId: 'node-1' }],
      standbys: ['standby-1'],
    });
    t.same(
      state.nodes.map((n) => [n.nodeId, n.state, n.slots]),
      [
        ['node-1', 'unknown', ['slot-0']],
        ['standby-1', 'unknown', []],
      ],
    );
  },
);

t.test('one refresh for every caller within 500 ms; nodes read in parallel', async (t) => {
  const clock = new FakeClock();
  let statusReads = 0;
  let nodeReads = 0;
  let release: () => void = () => undefined;
  let gate = new Promise<void>((resolve) => (release = resolve));
  const source = new RingPageSource({
    readStatus: async () => {
      statusReads += 1;
      await gate;
      return statusOf();
    },
    readNode: async (url) => {
      nodeReads += 1;
      if (url.endsWith(':3')) throw new Error('OWNER_UNAVAILABLE: connect ECONNREFUSED');
      return nodeReportOf(STATS, METRICS);
    },
    ring: () => undefined,
    changes: { running: () => [], finished: () => [] },
    clock,
  });
  const callers = Array.from({ length: 10 }, () => source.state({}));
  release();
  const states = await Promise.all(callers);
  t.equal(statusReads, 1, 'ten callers during a refresh share it');
  t.equal(nodeReads, 3, 'each node read once');
  t.ok(states.every((state) => state === states[0]));
  t.same(
    states[0]?.nodes.map((n) => [n.nodeId, n.reachable]),
    [
      ['node-1', true],
      ['node-2', true],
      ['standby-1', false],
    ],
  );
  clock.nowMs += RING_PAGE_TIMINGS.stateReuseMs - 1;
  await source.state({});
  t.equal(statusReads, 1, 'reused until 500 ms have passed');
  clock.nowMs += 1;
  gate = Promise.resolve();
  const next = await source.state({});
  t.equal(statusReads, 2, 'refreshed at 500 ms');
  t.equal(nodeReads, 6);
  t.equal(next.nodes[0]?.hitRatio, 0.75, 'no look-ups between the readings: since the start');
});

t.test('the watch follows the change route’s NDJSON stream', async (t) => {
  const clock = new FakeClock();
  const app = Fastify();
  t.teardown(() => app.close());
  const watch = new RingChangeWatch(clock);
  watch.install(app);
  let proceed: () => void = () => undefined;
  const midway = new Promise<void>((resolve) => (proceed = resolve));
  let reachedMidway: () => void = () => undefined;
  const atMidway = new Promise<void>((resolve) => (reachedMidway = resolve));
  app.post('/control/v1/changes', async (request, reply) => {
    const { change } = request.body as { change: { action: string } };
    if (change.action === 'refuse')
      return reply
        .code(409)
        .send({ error: { code: 'EPOCH_CONFLICT', message: 'the ring is at epoch 8' } });
    reply.raw.writeHead(200, { 'content-type': 'application/x-ndjson' });
    const write = (line: unknown) => reply.raw.write(`${JSON.stringify(line)}\n`);
    write({ progress: { phase: 'planned', preview: { movedShare: 0.24 } } });
    write({ progress: { phase: 'released', nodeId: 'node-1', done: 1, total: 3 } });
    reachedMidway();
    await midway;
    write({ progress: { phase: 'published', epoch: 7 } });
    clock.nowMs += 400;
    write({ result: { epoch: 7 } });
    reply.raw.end();
    return reply;
  });
  const answer = app.inject({
    method: 'POST',
    url: '/control/v1/changes',
    payload: { change: { action: 'add', nodeId: 'standby-1' } },
  });
  await atMidway;
  t.match(watch.running(), [
    {
      action: 'add',
      nodeId: 'standby-1',
      phase: 'releasing',
      movedShare: 0.24,
      released: { done: 1, total: 3 },
    },
  ]);
  proceed();
  t.equal((await answer).statusCode, 200);
  t.same(watch.running(), []);
  t.match(watch.finished(), [{ action: 'add', phase: 'done', epoch: 7, failure: undefined }]);
  t.equal((watch.finished()[0]?.endedAtMs ?? 0) - (watch.finished()[0]?.startedAtMs ?? 0), 400);

  const refused = await app.inject({
    method: 'POST',
    url: '/control/v1/changes',
    payload: { change: { action: 'refuse', nodeId: 'x' } },
  });
  t.equal(refused.statusCode, 409);
  t.match(watch.finished()[0], {
    action: 'refuse',
    phase: 'failed',
    failure: 'EPOCH_CONFLICT: the ring is at epoch 8',
  });
  const other = await app.inject({ method: 'GET', url: '/control/v1/changes' });
  t.equal(other.statusCode, 404, 'other routes untouched');
});

t.test(
  'the routes with operator tokens: page open, state 401 without, token passed on',
  async (t) => {
    const OPERATOR_TOKEN = 'operator-token-for-the-ui-01';
    const security = processSecurity('test', 'router', '127.0.0.1', {
      clusterSecret: randomBytes(32),
      operatorTokens: [OPERATOR_TOKEN],
    });
    // A stand-in node: its stats and metrics, recording the credential the router presents.
    const node = Fastify();
    const presented: (string | undefined)[] = [];
    node.get('/internal/v1/stats', async (request) => {
      presented.push(request.headers.authorization);
      return STATS;
    });
    node.get('/metrics', async (_request, reply) => reply.type('text/plain').send(METRICS));
    await node.listen({ host: '127.0.0.1', port: 0 });
    t.teardown(() => node.close());
    const nodeUrl = `http://127.0.0.1:${(node.server.address() as AddressInfo).port}`;
    // And one that never answers: past the node deadline it is shown unreachable, the rest is not held up.
    const hung = Fastify({ forceCloseConnections: true });
    hung.get('/internal/v1/stats', () => new Promise(() => undefined));
    hung.get('/metrics', () => new Promise(() => undefined));
    await hung.listen({ host: '127.0.0.1', port: 0 });
    t.teardown(() => hung.close());
    const hungUrl = `http://127.0.0.1:${(hung.server.address() as AddressInfo).port}`;

    const router = createHttpServer({});
    installAccessControl(router, security.policy);
    const ring = new RingView({
      epoch: 4,
      virtualNodesPerWeight: 160,
      slots: [{ slot: 'slot-0', nodeId: 'node-1', weight: 1 }],
      standbys: [],
      nodes: { 'node-1': { nodeId: 'node-1', url: nodeUrl } },
    });
    registerRingPage(router, { ring: () => ring });
    router.get('/control/v1/status', async () =>
      statusOf({
        slots: [{ slot: 'slot-0', nodeId: 'node-1', weight: 1 }],
        standbys: [],
        nodes: [
          { nodeId: 'node-1', url: nodeUrl, state: 'serving', slots: ['slot-0'], leaseAgeMs: 80 },
          { nodeId: 'standby-1', url: hungUrl, state: 'standby', slots: [], leaseAgeMs: 80 },
        ],
      }),
    );
    t.teardown(() => router.close());

    const page = await router.inject({ method: 'GET', url: '/ui' });
    t.equal(page.statusCode, 200, 'the page needs no token');
    t.match(page.headers['content-type'], /^text\/html/);
    t.equal(page.headers['content-security-policy'], RING_PAGE_CONTENT_SECURITY_POLICY);
    t.equal(page.body, RING_PAGE_HTML);

    const anonymous = await router.inject({ method: 'GET', url: '/ui/state' });
    t.equal(anonymous.statusCode, 401);
    t.equal(anonymous.json<{ error: { code: string } }>().error.code, 'UNAUTHENTICATED');
    const wrong = await router.inject({
      method: 'GET',
      url: '/ui/state',
      headers: { authorization: 'Bearer not-the-operator-token-0' },
    });
    t.equal(wrong.statusCode, 403);
    t.same(presented, [], 'nothing reached the node for refused callers');

    const startedAt = performance.now();
    const answer = await router.inject({
      method: 'GET',
      url: '/ui/state',
      headers: { authorization: `Bearer ${OPERATOR_TOKEN}` },
    });
    const elapsedMs = Math.round(performance.now() - startedAt);
    t.equal(answer.statusCode, 200);
    t.equal(answer.headers['cache-control'], 'no-store');
    const state = answer.json<{
      controlPlaneProblem: string;
      nodes: { nodeId: string; reachable: boolean; cacheBytesBudget: number; problem: string }[];
    }>();
    t.equal(state.controlPlaneProblem, '', 'the status route answered under the same token');
    t.match(state.nodes, [
      { nodeId: 'node-1', reachable: true, cacheBytesBudget: 268_435_456 },
      { nodeId: 'standby-1', reachable: false, problem: /^not answering: .*[Tt]imeout/ },
    ]);
    t.ok(
      elapsedMs >= RING_PAGE_TIMINGS.nodeTimeoutMs - 50,
      `waited for the node deadline (${elapsedMs} ms)`,
    );
    t.same(presented, [`Bearer ${OPERATOR_TOKEN}`], "the node was asked with the operator's token");
  },
);
