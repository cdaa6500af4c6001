/**
 * `chatring start` options: defaults, flags over environment, and every limit at the limit
 * (accepted) and one past it (refused with a message naming the option).
 */
import t from 'tap';
import { LOCAL_CLUSTER_LIMITS, resolveClusterOptions } from '../../cli/cluster-options.js';

t.test('defaults', async (t) => {
  const options = resolveClusterOptions({}, {});
  t.equal(options.port, 8080);
  t.equal(options.nodes, 3);
  t.equal(options.standbys, 1);
  t.equal(options.routers, 1);
  t.equal(options.leaseMs, 3000);
  t.equal(options.heartbeatIntervalMs, 500);
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
  t.equal(resolveClusterOptions({ leaseMs: '100' }, {}).leaseMs, 100);
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
