/**
 * ringctl straight to a Redis control plane (`--redis`, no router in between): status, owner and a
 * change, through the real binary; the routers learn the change by push.
 */
import t from 'tap';
import type { ClusterStatus } from '../../control-plane/index.js';
import { eventually } from '../../harness/index.js';
import { bootCluster } from '../helpers/local-cluster.js';
import { startRedisServer } from '../helpers/redis-server.js';
import { ringctl } from '../helpers/ringctl.js';

t.test('ringctl --redis', async (t) => {
  const redis = await startRedisServer(t);
  const cluster = await bootCluster(t, { redisUrl: redis.url, nodes: 2, standbys: 1 });
  await eventually('the standby to register', async () =>
    (await cluster.status()).standbys.length === 1 ? true : undefined,
  );

  const status = JSON.parse(
    (await ringctl(['--redis', redis.url, '--json', 'status'])).stdout,
  ) as ClusterStatus;
  t.equal(status.backend, 'redis');
  t.equal(status.slots.length, 2);
  const owner = await ringctl(['owner', 'alice'], { CHATRING_REDIS_URL: redis.url });
  t.equal(owner.code, 0, 'CHATRING_REDIS_URL works too');
  const expected = await cluster.ownerOf('alice');
  t.match(owner.stdout, new RegExp(`^alice → ${expected.nodeId} \\(${expected.slot}, `));

  // A change run from ringctl calls the nodes itself: it must hold the cluster secret.
  const unsigned = await ringctl(['--redis', redis.url, 'add', 'standby-1']);
  t.equal(unsigned.code, 1);
  t.match(unsigned.stderr, /ringctl: INVALID_OPTION: .*cluster secret/);
  const member = { CHATRING_CLUSTER_SECRET: cluster.clusterSecret.toString() };
  const added = await ringctl(['--redis', redis.url, 'add', 'standby-1'], member);
  t.equal(added.code, 0, added.stderr);
  const epoch = JSON.parse(
    (await ringctl(['--redis', redis.url, '--json', 'status'])).stdout,
  ) as ClusterStatus;
  await eventually('the router to learn the new ring', async () => {
    const health = (await (await fetch(`${cluster.url}/healthz`)).json()) as { epoch: number };
    return health.epoch === epoch.epoch ? true : undefined;
  });
  t.equal((await cluster.status()).slots.length, 3, 'the router serves the new ring');
  const refused = await ringctl(['--redis', redis.url, 'remove', 'ghost'], member);
  t.equal(refused.code, 1);
  t.match(refused.stderr, /UNKNOWN_NODE/);
});
