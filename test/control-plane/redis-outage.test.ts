/**
 * Failure mode: Redis goes away for longer than a lease, and comes back. Proves, for a restart
 * that lost everything (no persistence), a restart that kept its data (AOF), a hung Redis
 * (SIGSTOP) and a Redis emptied under live connections (FLUSHALL): while Redis is away
 * currentRing() still answers the last ring (routing goes on), heartbeat() and status() reject
 * fast, and no failover happens; when it is back, nodes that resume heartbeating are not declared
 * dead (grace), a lost ring is re-seeded from the newest ring the instances remember (same epoch,
 * same slots), and a node that then stays silent is still detected and replaced by a standby.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import t, { type Test } from 'tap';
import {
  RedisControlPlane,
  initialRing,
  redisControlPlaneKeys,
  type RedisControlPlaneEvent,
  type RedisControlPlaneOptions,
} from '../../control-plane/index.js';
import type { RingConfig } from '../../protocol/index.js';
import { startRedisServer, type TestRedisServer } from '../helpers/redis-server.js';
import {
  nodeInfo,
  startHeartbeats,
  waitFor,
  waitForRegistered,
  type HeartbeatLoops,
} from './control-plane-conformance.js';

const LEASE_MS = 400;
const HEARTBEAT_INTERVAL_MS = 50;
/** Longer than a lease, so every lease key lapses on Redis's clock meanwhile. */
const OUTAGE_MS = LEASE_MS * 3;
const NODE_IDS = ['node-1', 'node-2', 'node-3', 'standby-1'];
/** How long nodes stay away after Redis is back (reconnect delay; heartbeat pause on FLUSHALL). */
const NODE_RECONNECT_DELAY_MS = 150;

interface OutageCluster {
  keyPrefix: string;
  /** Routers: failure detector on. */
  routers: RedisControlPlane[];
  /** The nodes' handle on the control plane (no detector), as a cache node would hold it. */
  nodes: RedisControlPlane;
  loops: HeartbeatLoops;
  ring: RingConfig;
  events: { source: string; event: RedisControlPlaneEvent; atMs: number }[];
  delivered: number[];
  inspector: Redis;
}

async function bootCluster(
  t: Test,
  server: TestRedisServer,
  routerCount = 1,
): Promise<OutageCluster> {
  const keyPrefix = `outage-${randomUUID().slice(0, 8)}:`;
  const events: OutageCluster['events'] = [];
  const common = (source: string): RedisControlPlaneOptions => ({
    redisUrl: server.url,
    keyPrefix,
    leaseMs: LEASE_MS,
    heartbeatIntervalMs: HEARTBEAT_INTERVAL_MS,
    startupGraceMs: LEASE_MS,
    commandTimeoutMs: 150,
    connectTimeoutMs: 200,
    reconnectBackoffBaseMs: 10,
    reconnectBackoffMaxMs: 20,
    onEvent: (event) => events.push({ source, event, atMs: performance.now() }),
  });
  const routers: RedisControlPlane[] = [];
  for (let index = 0; index < routerCount; index += 1) {
    routers.push(
      await RedisControlPlane.open({
        ...common(`router-${index}`),
        initialRing: initialRing(['node-1', 'node-2', 'node-3'], 8, ['standby-1']),
      }),
    );
  }
  // Nodes reconnect later than routers (a longer backoff, still well inside one lease): without
  // grace, a router would see their lapsed lease keys first and declare them dead.
  const nodes = await RedisControlPlane.open({
    ...common('nodes'),
    failureDetector: false,
    reconnectBackoffBaseMs: NODE_RECONNECT_DELAY_MS,
    reconnectBackoffMaxMs: NODE_RECONNECT_DELAY_MS,
  });
  const inspector = new Redis(server.url, { maxRetriesPerRequest: 1 });
  t.teardown(async () => {
    await Promise.all([...routers, nodes].map((controlPlane) => controlPlane.close()));
    inspector.disconnect();
  });
  const loops = startHeartbeats(
    t,
    (node) => nodes.heartbeat(node),
    NODE_IDS.map(nodeInfo),
    HEARTBEAT_INTERVAL_MS,
  );
  const router = routers[0] as RedisControlPlane;
  await waitForRegistered(router, NODE_IDS);
  await waitFor('the seed window and start-up grace to pass', async () =>
    (await inspector.exists(redisControlPlaneKeys(keyPrefix).seedWindow)) === 0 &&
    routers.every((r) => r.graceRemainingMs() === 0)
      ? true
      : undefined,
  );
  const ring = await router.currentRing();
  const delivered: number[] = [];
  router.subscribe((next) => delivered.push(next.epoch));
  return { keyPrefix, routers, nodes, loops, ring, events, delivered, inspector };
}

function eventsSince(
  cluster: OutageCluster,
  sinceMs: number,
  type: RedisControlPlaneEvent['type'],
) {
  return cluster.events.filter((e) => e.atMs >= sinceMs && e.event.type === type);
}

/** While Redis is away: the last ring still routes, heartbeats and status fail fast, no change. */
async function assertDegraded(t: Test, cluster: OutageCluster): Promise<void> {
  const router = cluster.routers[0] as RedisControlPlane;
  t.same(await router.currentRing(), cluster.ring, 'currentRing() answers the last ring');
  const startedAt = performance.now();
  await t.rejects(cluster.nodes.heartbeat(nodeInfo('node-1')), { code: 'OWNER_UNAVAILABLE' });
  const failedInMs = performance.now() - startedAt;
  t.ok(failedInMs < LEASE_MS, `heartbeat() rejects fast (${Math.round(failedInMs)} ms)`);
  await t.rejects(router.status(), { code: 'OWNER_UNAVAILABLE' }, 'status() rejects');
  await waitFor('the detector to find Redis away', async () =>
    (await router.detectFailures()) === 'unreachable' ? true : undefined,
  );
  await sleep(OUTAGE_MS);
  t.same(await router.currentRing(), cluster.ring, 'still the last ring after a whole outage');
  t.same(cluster.delivered, [], 'no ring change while Redis is away');
}

/**
 * After Redis is back: every node alive again, nobody declared dead for several leases; then a
 * node that stays silent is replaced by the standby, in one change.
 */
async function assertRecovered(t: Test, cluster: OutageCluster, backAtMs: number): Promise<void> {
  const router = cluster.routers[0] as RedisControlPlane;
  const alive = await waitFor('every node heartbeating again', async () => {
    const status = await router.status();
    return status.nodes.every((n) => n.state === 'serving' || n.state === 'standby')
      ? status
      : undefined;
  });
  t.comment(
    `all ${alive.nodes.length} nodes alive again ${Math.round(performance.now() - backAtMs)} ms after Redis was back`,
  );
  await sleep(LEASE_MS * 4); // proving that nothing happens takes waiting
  t.same(eventsSince(cluster, backAtMs, 'failover'), [], 'no node declared dead after the outage');
  const ring = await router.currentRing();
  t.same(ring.slots, cluster.ring.slots, 'every slot where it was');
  t.same(ring.standbys, cluster.ring.standbys, 'the standby still a standby');
  t.equal(ring.epoch, cluster.ring.epoch, 'the same epoch: no change at all');
  const graces = eventsSince(cluster, backAtMs, 'grace').map((e) => e.event);
  t.ok(
    graces.length > 0,
    `grace granted (${graces.map((g) => (g.type === 'grace' ? g.reason : '')).join(', ')})`,
  );

  const silentAt = performance.now();
  cluster.loops.stop('node-2');
  const after = await waitFor('node-2 replaced by standby-1', async () => {
    const latest = await router.currentRing();
    return latest.slots.find((a) => a.slot === 'slot-1')?.nodeId === 'standby-1'
      ? latest
      : undefined;
  });
  t.comment(
    `silent node replaced ${Math.round(performance.now() - silentAt)} ms after its heartbeats stopped (lease ${LEASE_MS} ms)`,
  );
  t.equal(after.epoch, cluster.ring.epoch + 1, 'promotion resumes: one change, epoch + 1');
  t.equal(eventsSince(cluster, silentAt, 'failover').length, 1, 'applied once');
}

t.test(
  'Redis restarted without persistence: ring re-seeded from memory, grace, then detection',
  async (t) => {
    const server = await startRedisServer(t);
    const cluster = await bootCluster(t, server);
    await server.stop('SIGKILL');
    await assertDegraded(t, cluster);

    const backAtMs = performance.now();
    await server.restart();
    const keys = redisControlPlaneKeys(cluster.keyPrefix);
    const reseeded = await waitFor('the ring re-seeded', async () => {
      const config = await cluster.inspector.hget(keys.ring, 'config');
      return config === null ? undefined : (JSON.parse(config) as RingConfig);
    });
    t.same(reseeded, cluster.ring, 'the remembered ring, not the initial one, with its own epoch');
    const seeded = eventsSince(cluster, backAtMs, 'seeded');
    t.ok(seeded.length >= 1, `seeded by ${seeded.map((e) => e.source).join(', ')}`);
    t.match(seeded[0]?.event, { origin: 'remembered', epoch: cluster.ring.epoch });
    await assertRecovered(t, cluster, backAtMs);
  },
);

t.test('Redis restarted with its data (AOF): ring kept, lapsed leases get grace', async (t) => {
  const server = await startRedisServer(t, { appendOnly: true });
  const cluster = await bootCluster(t, server);
  await server.stop('SIGKILL');
  await assertDegraded(t, cluster);

  const backAtMs = performance.now();
  await server.restart();
  const keys = redisControlPlaneKeys(cluster.keyPrefix);
  t.equal(
    await cluster.inspector.hget(keys.ring, 'epoch'),
    String(cluster.ring.epoch),
    'ring kept',
  );
  await assertRecovered(t, cluster, backAtMs);
  t.same(eventsSince(cluster, backAtMs, 'seeded'), [], 'nothing to re-seed');
});

t.test('Redis hung (SIGSTOP) longer than a lease: commands time out, then grace', async (t) => {
  const server = await startRedisServer(t);
  const cluster = await bootCluster(t, server);
  server.pause();
  await assertDegraded(t, cluster);
  server.resume();
  const backAtMs = performance.now();
  await assertRecovered(t, cluster, backAtMs);
  t.ok(
    eventsSince(cluster, backAtMs, 'grace').some(
      (e) => e.event.type === 'grace' && e.event.reason === 'degraded',
    ),
    'the connection never dropped: grace came from the failed commands',
  );
});

t.test(
  'Redis emptied under live connections (FLUSHALL): the seed window is the grace',
  async (t) => {
    const server = await startRedisServer(t);
    const cluster = await bootCluster(t, server, 2);
    // The nodes miss a few heartbeats around the flush (their leases are still valid on their own
    // clocks): without the seed window, the routers would read the lost keys as lapsed leases.
    cluster.loops.stopAll();
    const flushedAtMs = performance.now();
    await cluster.inspector.flushall();
    await sleep(NODE_RECONNECT_DELAY_MS);
    for (const nodeId of NODE_IDS) cluster.loops.start(nodeInfo(nodeId));
    await assertRecovered(t, cluster, flushedAtMs);
    const seeded = eventsSince(cluster, flushedAtMs, 'seeded');
    t.equal(seeded.length, 1, `re-seeded once (by ${seeded.map((e) => e.source).join(', ')})`);
    t.same(eventsSince(cluster, flushedAtMs, 'connected'), [], 'no connection dropped');
  },
);
