/**
 * The command lines' options (`chatring start`, `chatring router`, `chatring node`, and the
 * router's own options behind them): defaults, flags over environment, and every limit at the limit
 * (accepted) and one past it (refused with INVALID_OPTION and a message naming the option); the
 * lease rule is the control plane's one rule (a heartbeat below the lease). Also the one way the
 * command lines print a failure.
 */
import { WATCHERS_PER_NODE_LIMIT, WATCHERS_PER_USER_LIMIT } from '../../protocol/index.js';
import t from 'tap';
import {
  HEARTBEAT_INTERVAL_MS_MAX,
  HEARTBEAT_INTERVAL_MS_MIN,
  LEASE_MS_MAX,
  LEASE_MS_MIN,
  ChatringError,
} from '../../protocol/index.js';
import { LOCAL_CLUSTER_LIMITS, resolveClusterOptions } from '../../cli/cluster-options.js';
import { nodeOptionsFrom, routerOptionsFrom } from '../../cli/member-options.js';
import { failureLine } from '../../cli/failure-line.js';
import {
  DEFAULT_ROUTER_OPTIONS,
  adminOwnerPath,
  ownerAnswerOf,
  resolveRouterOptions,
} from '../../router/index.js';

/** Members always need the cluster secret; these tests are about the other flags. */
const SECRET_ENV = { CHATRING_CLUSTER_SECRET: 'a-test-cluster-secret-of-32-bytes-or-more' };

t.test('defaults', async (t) => {
  const options = resolveClusterOptions({}, {});
  t.equal(options.port, 8080);
  t.equal(options.nodes, 3);
  t.equal(options.standbys, 1);
  t.equal(options.routers, 1);
  t.equal(options.leaseMs, 1500);
  t.equal(options.heartbeatIntervalMs, 250);
  t.equal(options.restartMembers, true);
  t.equal(options.warmHandoffBytesMax, 64 * 1024 * 1024);
  t.match(options.dataDir, /\.chatring-data$/);
  t.same(options.store, { kind: 'embedded', dataDir: options.dataDir });
  t.ok(Object.isFrozen(options), 'frozen');
});

t.test('a flag wins over CHATRING_X, which wins over plain X', async (t) => {
  t.equal(
    resolveClusterOptions({ port: '9000' }, { CHATRING_PORT: '9001', PORT: '9002' }).port,
    9000,
  );
  t.equal(resolveClusterOptions({}, { CHATRING_PORT: '9001', PORT: '9002' }).port, 9001);
  t.equal(resolveClusterOptions({}, { PORT: '9002' }).port, 9002);
  t.equal(resolveClusterOptions({}, { NODES: '5' }).nodes, 5);
});

t.test('limits: at the limit accepted, past it refused naming the option', async (t) => {
  const { nodesMax, standbysMax, routersMax } = LOCAL_CLUSTER_LIMITS;
  t.equal(resolveClusterOptions({ nodes: String(nodesMax) }, {}).nodes, nodesMax);
  t.throws(
    () => resolveClusterOptions({ nodes: String(nodesMax + 1) }, {}),
    /--nodes must be an integer from 1 to 64/,
  );
  t.throws(() => resolveClusterOptions({ nodes: '0' }, {}), /--nodes/);
  t.equal(resolveClusterOptions({ standbys: String(standbysMax) }, {}).standbys, standbysMax);
  t.throws(() => resolveClusterOptions({ standbys: String(standbysMax + 1) }, {}), /--standbys/);
  t.equal(resolveClusterOptions({ port: '65535' }, {}).port, 65_535);
  t.throws(() => resolveClusterOptions({ port: '65536' }, {}), /--port/);
  t.throws(() => resolveClusterOptions({ port: 'http' }, {}), /--port/);
  t.throws(() => resolveClusterOptions({ leaseMs: '99' }, {}), /--lease-ms/);
  t.equal(
    resolveClusterOptions({ leaseMs: '100', heartbeatIntervalMs: '10' }, {}).leaseMs,
    100,
    'the shortest lease, with a heartbeat below it',
  );
  t.throws(
    () => resolveClusterOptions({ heartbeatIntervalMs: '9' }, {}),
    /--heartbeat-interval-ms/,
  );
  t.throws(
    () => resolveClusterOptions({ restartMembers: 'maybe' }, {}),
    /--restart-members must be true or false/,
  );
  t.equal(
    resolveClusterOptions({ warmHandoffBytesMax: '0' }, {}).warmHandoffBytesMax,
    0,
    '0: always cold',
  );
  const redis = 'redis://127.0.0.1:6379';
  t.equal(resolveClusterOptions({ routers: String(routersMax), redis }, {}).routers, routersMax);
  t.throws(
    () => resolveClusterOptions({ routers: String(routersMax + 1), redis }, {}),
    /--routers/,
  );
  t.throws(() => resolveClusterOptions({ routers: '2' }, {}), /--routers above 1 needs --redis/);
  t.throws(
    () => resolveClusterOptions({ redis: 'http://x' }, {}),
    /--redis must be a redis:\/\/ URL/,
  );
});

t.test('store options: unknown store and bad Cassandra options fail at start-up', async (t) => {
  t.throws(() => resolveClusterOptions({ store: 'mongo' }, {}), /--store: unknown store "mongo"/);
  t.throws(
    () => resolveClusterOptions({ store: 'cassandra', cassandraOptions: '{' }, {}),
    /--cassandra-options is not JSON/,
  );
  t.throws(
    () => resolveClusterOptions({ store: 'cassandra', cassandraOptions: '{"bogus":1}' }, {}),
    /bogus/,
  );
  const cassandra = resolveClusterOptions(
    { store: 'cassandra' },
    { CASSANDRA_CONTACT_POINTS: '127.0.0.1:9042' },
  );
  t.same(cassandra.store, { kind: 'cassandra', cassandra: { contactPoints: '127.0.0.1:9042' } });
});

t.test('lease and heartbeat: one rule, from the control plane, on every command', async (t) => {
  const at = (leaseMs: number, heartbeatIntervalMs: number) =>
    resolveClusterOptions(
      { leaseMs: String(leaseMs), heartbeatIntervalMs: String(heartbeatIntervalMs) },
      {},
    );
  t.equal(at(LEASE_MS_MIN, HEARTBEAT_INTERVAL_MS_MIN).leaseMs, LEASE_MS_MIN);
  t.throws(() => at(LEASE_MS_MIN - 1, HEARTBEAT_INTERVAL_MS_MIN), {
    code: 'INVALID_OPTION',
    message: /--lease-ms must be an integer from 100 to 600000, got "99"/,
  });
  t.equal(at(LEASE_MS_MAX, HEARTBEAT_INTERVAL_MS_MAX).leaseMs, LEASE_MS_MAX);
  t.throws(() => at(LEASE_MS_MAX + 1, 500), { code: 'INVALID_OPTION', message: /--lease-ms/ });
  t.throws(() => at(LEASE_MS_MAX, HEARTBEAT_INTERVAL_MS_MAX + 1), {
    code: 'INVALID_OPTION',
    message: /--heartbeat-interval-ms/,
  });
  t.equal(at(500, 499).heartbeatIntervalMs, 499, 'a heartbeat just below the lease');
  t.throws(() => at(500, 500), {
    code: 'INVALID_OPTION',
    message: /^chatring start: option "heartbeatIntervalMs" must be below leaseMs/,
  });
  t.throws(
    () => resolveClusterOptions({ leaseMs: '200' }, {}),
    /must be below leaseMs/,
    'the default heartbeat (250) is checked against a given lease',
  );
  t.throws(
    () => resolveClusterOptions({}, { CHATRING_LEASE_MS: '500', HEARTBEAT_INTERVAL_MS: '600' }),
    /below leaseMs/,
    'from the environment too',
  );

  const dataDir = '/tmp/chatring-options-test';
  t.throws(() => routerOptionsFrom({ dataDir, leaseMs: '99' }, SECRET_ENV), /--lease-ms/);
  t.throws(
    () => routerOptionsFrom({ dataDir, leaseMs: '1000', heartbeatIntervalMs: '1000' }, SECRET_ENV),
    /^chatring router: option "heartbeatIntervalMs" must be below leaseMs/,
  );
  const node = { nodeId: 'node-1', dataDir, redis: 'redis://127.0.0.1:6379' };
  t.throws(
    () => nodeOptionsFrom({ ...node, leaseMs: '1000', heartbeatIntervalMs: '1000' }, SECRET_ENV),
    /^chatring node: option "heartbeatIntervalMs" must be below leaseMs/,
  );
  const onRedis = nodeOptionsFrom(
    { ...node, leaseMs: '1000', heartbeatIntervalMs: '999' },
    SECRET_ENV,
  );
  t.match(onRedis.controlPlane, { kind: 'redis', leaseMs: 1000, heartbeatIntervalMs: 999 });
  t.equal(onRedis.heartbeatIntervalMs, 999);
  const local = nodeOptionsFrom(
    {
      nodeId: 'node-1',
      dataDir,
      controlPlaneUrl: 'http://127.0.0.1:8080',
      heartbeatIntervalMs: '5000',
    },
    SECRET_ENV,
  );
  t.equal(
    local.heartbeatIntervalMs,
    5000,
    "in local mode the lease is the router's, not checked here",
  );
  t.throws(
    () =>
      nodeOptionsFrom(
        { nodeId: 'node-1', dataDir, controlPlaneUrl: 'http://r', heartbeatIntervalMs: '9' },
        SECRET_ENV,
      ),
    /--heartbeat-interval-ms/,
  );
});

t.test('chatring router: flags into the router options, checked once', async (t) => {
  const dataDir = '/tmp/chatring-options-test';
  const options = resolveRouterOptions(routerOptionsFrom({ dataDir }, SECRET_ENV));
  t.equal(options.host, DEFAULT_ROUTER_OPTIONS.host);
  t.equal(options.port, 8080);
  t.same(options.initialNodeIds, ['node-1', 'node-2', 'node-3']);
  t.equal(options.leaseMs, 1500);
  t.equal(options.heartbeatIntervalMs, 250);
  t.same(options.controlPlane, { kind: 'in-process', dataDir });
  t.ok(Object.isFrozen(options), 'frozen');
  t.same(
    resolveRouterOptions(routerOptionsFrom({ dataDir, initialNodes: 'a,b' }, SECRET_ENV))
      .initialNodeIds,
    ['a', 'b'],
  );
  t.same(
    routerOptionsFrom({ dataDir }, { ...SECRET_ENV, CHATRING_REDIS_URL: 'redis://127.0.0.1:6379' })
      .controlPlane,
    { kind: 'redis', redisUrl: 'redis://127.0.0.1:6379', connection: {} },
    'Redis wins over --data-dir; the key prefix is left to the control plane, no AUTH or TLS unless given',
  );
  t.equal(routerOptionsFrom({ dataDir, port: '65535' }, SECRET_ENV).port, 65_535);
  t.throws(() => routerOptionsFrom({ dataDir, port: '65536' }, SECRET_ENV), {
    code: 'INVALID_OPTION',
    message: /--port must be an integer from 0 to 65535/,
  });
  t.throws(() => routerOptionsFrom({}, SECRET_ENV), {
    code: 'INVALID_OPTION',
    message: /give --data-dir \(in-process control plane\) or --redis URL/,
  });
  t.throws(
    () => routerOptionsFrom({ redis: 'http://x' }, SECRET_ENV),
    /--redis must be a redis:\/\/ URL/,
  );

  const controlPlane = { kind: 'in-process', dataDir } as const;
  const credentials = { clusterSecret: Buffer.alloc(32, 7) };
  t.throws(() => resolveRouterOptions({ controlPlane, credentials, port: 65_536 }), {
    code: 'INVALID_OPTION',
    message: /^startRouter: option "port" must be an integer from 0 to 65535/,
  });
  t.throws(() => resolveRouterOptions({ controlPlane, credentials, bogus: 1 } as never), {
    code: 'INVALID_OPTION',
    message: /option "bogus" is unknown/,
  });
  t.throws(
    () => resolveRouterOptions({ controlPlane: { kind: 'in-process', dataDir: '' }, credentials }),
    {
      code: 'INVALID_OPTION',
      message: /option "controlPlane"/,
    },
  );
  t.throws(() => resolveRouterOptions({ controlPlane, credentials, initialNodeIds: ['a', 'a'] }), {
    code: 'INVALID_OPTION',
    message: /option "initialNodeIds"/,
  });
  t.throws(
    () =>
      resolveRouterOptions({ controlPlane, credentials, leaseMs: 1000, heartbeatIntervalMs: 1000 }),
    {
      code: 'INVALID_OPTION',
      message: /^startRouter: option "heartbeatIntervalMs" must be below leaseMs/,
    },
  );
});

t.test('chatring node: flags into the cache node options', async (t) => {
  const base = {
    nodeId: 'node-1',
    dataDir: '/tmp/chatring-options-test',
    controlPlaneUrl: 'http://r',
  };
  const options = nodeOptionsFrom(base, SECRET_ENV);
  t.equal(options.port, 0, 'any free port by default');
  t.equal(options.heartbeatIntervalMs, 250);
  t.same(options.controlPlane, { kind: 'http', url: 'http://r' });
  t.equal(options.cache, undefined, "the cache's own budget by default");
  t.equal(options.handoff, undefined, "the handoff's own warm budget by default");
  t.throws(() => nodeOptionsFrom({ nodeId: 'node-1', dataDir: '/tmp/x' }, SECRET_ENV), {
    code: 'INVALID_OPTION',
    message: /give --control-plane-url \(local mode\) or --redis URL/,
  });
  t.equal(nodeOptionsFrom({ ...base, cacheBytesMax: '1' }, SECRET_ENV).cache?.cacheBytesMax, 1);
  t.throws(() => nodeOptionsFrom({ ...base, cacheBytesMax: '0' }, SECRET_ENV), {
    code: 'INVALID_OPTION',
    message: /--cache-bytes-max must be an integer from 1/,
  });
  t.equal(
    nodeOptionsFrom({ ...base, warmHandoffBytesMax: '0' }, SECRET_ENV).handoff?.warmBytesMax,
    0,
  );
  t.throws(
    () => nodeOptionsFrom({ ...base, warmHandoffBytesMax: '-1' }, SECRET_ENV),
    /--warm-handoff-bytes-max/,
  );
  t.throws(() => nodeOptionsFrom({ ...base, port: '65536' }, SECRET_ENV), /--port/);
  t.equal(
    nodeOptionsFrom(base, { ...SECRET_ENV, CHATRING_REPAIR_DELAY_MS: '600000' }).service
      ?.repairDelayMs,
    600_000,
  );
  t.throws(
    () => nodeOptionsFrom(base, { ...SECRET_ENV, CHATRING_REPAIR_DELAY_MS: '0' }),
    /CHATRING_REPAIR_DELAY_MS/,
  );
  // The change feed's bounds on held requests, at their limits and one past.
  for (const [variable, option, limit] of [
    ['CHATRING_WATCHERS_PER_USER_MAX', 'watchersPerUserMax', WATCHERS_PER_USER_LIMIT],
    ['CHATRING_WATCHERS_PER_NODE_MAX', 'watchersPerNodeMax', WATCHERS_PER_NODE_LIMIT],
  ] as const) {
    for (const value of [1, limit])
      t.equal(
        nodeOptionsFrom(base, { ...SECRET_ENV, [variable]: String(value) }).service?.[option],
        value,
        `${variable}=${value}`,
      );
    for (const value of ['0', String(limit + 1), 'many'])
      t.throws(
        () => nodeOptionsFrom(base, { ...SECRET_ENV, [variable]: value }),
        new RegExp(variable),
        `${variable}=${value}`,
      );
  }
});

t.test('errors are the catalogue: every flag refusal is INVALID_OPTION', async (t) => {
  for (const flags of [
    { nodes: '0' },
    { restartMembers: 'maybe' },
    { routers: '2' },
    { redis: 'http://x' },
    { store: 'mongo' },
    { store: 'cassandra', cassandraOptions: '{' },
    { store: 'cassandra', cassandraOptions: '[]' },
  ]) {
    t.throws(
      () => resolveClusterOptions(flags, {}),
      { code: 'INVALID_OPTION' },
      JSON.stringify(flags),
    );
  }
});

t.test('one failure line: PROGRAM: CODE: message', async (t) => {
  t.equal(
    failureLine(
      'ringctl',
      new ChatringError(
        'EPOCH_CONFLICT',
        'the ring is at epoch 9, not 3: another change came first',
      ),
    ),
    'ringctl: EPOCH_CONFLICT: the ring is at epoch 9, not 3: another change came first',
  );
  const refused = new Error('connect ECONNREFUSED 127.0.0.1:1');
  t.equal(
    failureLine(
      'ringctl',
      new ChatringError('OWNER_UNAVAILABLE', `status failed: ${refused.message}`, {
        cause: refused,
      }),
    ),
    'ringctl: OWNER_UNAVAILABLE: status failed: connect ECONNREFUSED 127.0.0.1:1',
    'a cause the message already says is not said twice',
  );
  t.equal(
    failureLine('ringctl', new ChatringError('OWNER_UNAVAILABLE', 'no answer', { cause: refused })),
    'ringctl: OWNER_UNAVAILABLE: no answer (connect ECONNREFUSED 127.0.0.1:1)',
  );
  t.equal(failureLine('chatring', new Error('boom')), 'chatring: INTERNAL: boom');
});

t.test('owner lookup: the one function behind the admin route and ringctl --redis', async (t) => {
  t.equal(adminOwnerPath('alice'), '/admin/v1/owner/alice');
  t.equal(adminOwnerPath('bad id'), '/admin/v1/owner/bad%20id');
  t.throws(() => ownerAnswerOf(undefined, 'alice'), { code: 'OWNER_UNAVAILABLE' });
  t.throws(() => ownerAnswerOf(undefined, 'bad id'), { code: 'INVALID_USER_ID' });
});

t.test('--http-options: a JSON object of the server bounds, checked at start-up', async (t) => {
  const base = { nodeId: 'node-1', dataDir: '/tmp/x', controlPlaneUrl: 'http://r' };
  t.same(nodeOptionsFrom(base, SECRET_ENV).http, {}, 'none: the server defaults');
  t.same(nodeOptionsFrom({ ...base, httpOptions: '{"requestsInFlightMax":5}' }, SECRET_ENV).http, {
    requestsInFlightMax: 5,
  });
  t.same(
    routerOptionsFrom(
      { dataDir: '/tmp/x' },
      { ...SECRET_ENV, CHATRING_HTTP_OPTIONS: '{"connectionsMax":9}' },
    ).http,
    { connectionsMax: 9 },
    'from the environment too',
  );
  t.throws(() => nodeOptionsFrom({ ...base, httpOptions: '{' }, SECRET_ENV), {
    code: 'INVALID_OPTION',
    message: /--http-options is not JSON/,
  });
  t.throws(() => nodeOptionsFrom({ ...base, httpOptions: '[1]' }, SECRET_ENV), {
    code: 'INVALID_OPTION',
    message: /--http-options must be a JSON object/,
  });
  t.throws(
    () => nodeOptionsFrom({ ...base, httpOptions: '{"requestsInFlightMax":0}' }, SECRET_ENV),
    {
      code: 'INVALID_OPTION',
      message: /requestsInFlightMax/,
    },
  );
  t.throws(() => nodeOptionsFrom({ ...base, httpOptions: '{"bogus":1}' }, SECRET_ENV), {
    code: 'INVALID_OPTION',
    message: /"bogus" is unknown/,
  });
});
