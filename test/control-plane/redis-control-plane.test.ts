/**
 * The control-plane conformance suite on the Redis backend (against a private redis-server), plus
 * what only it promises: the key layout ringctl relies on; two routers on one Redis see one ring
 * and a change made through one is pushed to the other (latency measured and reported, not
 * asserted); concurrent compare-and-sets: exactly one wins, the other gets EPOCH_CONFLICT; two
 * failure detectors apply one failover once; the seed window refuses changes; initialRing is used
 * only for an empty Redis; bad options and an unreachable Redis fail at start-up, naming the cause.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import t, { type Test } from 'tap';
import {
  EpochConflictError,
  RedisControlPlane,
  initialRing,
  redisControlPlaneKeys,
  type RedisControlPlaneEvent,
  type RedisControlPlaneOptions,
} from '../../control-plane/index.js';
import type { RingConfig } from '../../protocol/index.js';
import { startRedisServer } from '../helpers/redis-server.js';
import {
  CONFORMANCE_TIMINGS,
  nodeInfo,
  runControlPlaneConformance,
  startHeartbeats,
  waitFor,
  waitForRegistered,
} from './control-plane-conformance.js';

const redis = await startRedisServer(t);
const inspector = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
await inspector.connect();
t.teardown(() => inspector.quit());

function freshPrefix(): string {
  return `test-${randomUUID().slice(0, 8)}:`;
}

async function openControlPlane(
  t: Test,
  options: Partial<RedisControlPlaneOptions> & { keyPrefix: string },
): Promise<RedisControlPlane> {
  const controlPlane = await RedisControlPlane.open({
    redisUrl: redis.url,
    ...CONFORMANCE_TIMINGS,
    // The default (lease / 3 = 100 ms) is tight on a busy CI box; these tests are not about stalls.
    commandTimeoutMs: 250,
    ...options,
  });
  t.teardown(() => controlPlane.close());
  return controlPlane;
}

/** The seed window of a fresh ring refuses changes for one lease; tests that CAS wait it out. */
async function waitForSeedWindow(prefix: string): Promise<void> {
  const key = redisControlPlaneKeys(prefix).seedWindow;
  await waitFor('the seed window to close', async () =>
    (await inspector.exists(key)) === 0 ? true : undefined,
  );
}

/** A harmless change: a note in ring.nodes (no slot moves, the detector ignores it). */
function withNote(ring: RingConfig, note: string): RingConfig {
  return {
    ...ring,
    epoch: ring.epoch + 1,
    nodes: { ...ring.nodes, [note]: { nodeId: note, url: `http://${note}.invalid:1` } },
  };
}

function percentile(sorted: number[], fraction: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))] ?? Number.NaN;
}

runControlPlaneConformance(t, {
  backend: 'redis',
  open: async (t, options) => openControlPlane(t, { ...options, keyPrefix: freshPrefix() }),
});

t.test(
  'key layout: the ring as JSON with its epoch, leases as PX keys, epochs pushed',
  async (t) => {
    const keyPrefix = freshPrefix();
    const keys = redisControlPlaneKeys(keyPrefix);
    const subscriber = new Redis(redis.url);
    t.teardown(() => subscriber.quit());
    const pushed: string[] = [];
    await subscriber.subscribe(keys.ringChanged);
    subscriber.on('message', (_channel: string, message: string) => pushed.push(message));

    const controlPlane = await openControlPlane(t, {
      keyPrefix,
      initialRing: initialRing(['node-1']),
    });
    const stored = await inspector.hgetall(keys.ring);
    t.equal(stored.epoch, '1');
    t.same(JSON.parse(stored.config ?? 'null'), initialRing(['node-1']));
    await controlPlane.heartbeat(nodeInfo('node-1'));
    const ttlMs = await inspector.pttl(keys.lease('node-1'));
    t.ok(ttlMs > 0 && ttlMs <= CONFORMANCE_TIMINGS.leaseMs, `lease key expires in ${ttlMs} ms`);
    t.ok(Number(await inspector.hget(keys.lastSeen, 'node-1')) > 0, 'last-seen recorded');

    await waitForSeedWindow(keyPrefix);
    const ring = await controlPlane.currentRing();
    await controlPlane.compareAndSetRing(ring.epoch, withNote(ring, 'note'));
    await waitFor('the epoch pushed', () =>
      pushed.includes(String(ring.epoch + 1)) ? true : undefined,
    );
    t.equal(await inspector.hget(keys.ring, 'epoch'), String(ring.epoch + 1));
  },
);

t.test('initialRing seeds only an empty Redis', async (t) => {
  const keyPrefix = freshPrefix();
  const first = await openControlPlane(t, { keyPrefix, initialRing: initialRing(['a', 'b']) });
  const second = await openControlPlane(t, { keyPrefix, initialRing: initialRing(['x']) });
  t.same(await second.currentRing(), await first.currentRing());
  t.same(
    (await second.currentRing()).slots.map((a) => a.nodeId),
    ['a', 'b'],
  );
});

t.test('two routers see one ring; a change through one is pushed to the other', async (t) => {
  const keyPrefix = freshPrefix();
  const ring = initialRing(['node-1']);
  const routerA = await openControlPlane(t, { keyPrefix, initialRing: ring });
  const routerB = await openControlPlane(t, { keyPrefix, initialRing: ring });
  startHeartbeats(t, (n) => routerA.heartbeat(n), [nodeInfo('node-1')], 50);
  await waitForRegistered(routerA, ['node-1']);
  await waitForSeedWindow(keyPrefix);
  await waitFor('both routers on one epoch', async () => {
    const [a, b] = [await routerA.currentRing(), await routerB.currentRing()];
    return a.epoch === b.epoch ? true : undefined;
  });
  t.same(await routerB.currentRing(), await routerA.currentRing(), 'same ring, same epoch');

  const arrivals = new Map<number, number>();
  const orderOnB: number[] = [];
  routerB.subscribe((next) => {
    arrivals.set(next.epoch, performance.now());
    orderOnB.push(next.epoch);
  });
  const changes = 50;
  const latenciesMs: number[] = [];
  for (let index = 0; index < changes; index += 1) {
    const current = await routerA.currentRing();
    const startedAt = performance.now();
    const written = await routerA.compareAndSetRing(current.epoch, withNote(current, `n${index}`));
    const arrivedAt = await waitFor(`epoch ${written.epoch} on router B`, () =>
      arrivals.get(written.epoch),
    );
    latenciesMs.push(arrivedAt - startedAt);
  }
  latenciesMs.sort((a, b) => a - b);
  const summary = `push latency A→B over ${changes} changes (CAS call to B's listener): p50 ${percentile(latenciesMs, 0.5).toFixed(2)} ms, p99 ${percentile(latenciesMs, 0.99).toFixed(2)} ms, max ${(latenciesMs.at(-1) ?? Number.NaN).toFixed(2)} ms`;
  t.comment(summary);
  t.ok(
    orderOnB.every((epoch, index) => index === 0 || epoch > (orderOnB[index - 1] ?? 0)),
    'router B saw the rings in epoch order',
  );
  t.same(await routerB.currentRing(), await routerA.currentRing());
});

t.test(
  'concurrent compare-and-sets: exactly one wins, the other gets EPOCH_CONFLICT',
  async (t) => {
    const keyPrefix = freshPrefix();
    const routerA = await openControlPlane(t, {
      keyPrefix,
      initialRing: initialRing(['node-1']),
      failureDetector: false,
    });
    const routerB = await openControlPlane(t, { keyPrefix, failureDetector: false });
    await waitForSeedWindow(keyPrefix);
    for (let round = 0; round < 20; round += 1) {
      const [ringA, ringB] = [await routerA.currentRing(), await routerB.currentRing()];
      t.equal(ringA.epoch, ringB.epoch);
      const results = await Promise.allSettled([
        routerA.compareAndSetRing(ringA.epoch, withNote(ringA, `a${round}`)),
        routerB.compareAndSetRing(ringB.epoch, withNote(ringB, `b${round}`)),
      ]);
      const won = results.filter((r) => r.status === 'fulfilled');
      const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (won.length !== 1 || lost.length !== 1) {
        t.fail(`round ${round}: ${won.length} won, ${lost.length} lost`);
        continue;
      }
      t.match(lost[0]?.reason, { code: 'EPOCH_CONFLICT', reason: 'epoch' }, `round ${round}`);
      t.ok(lost[0]?.reason instanceof EpochConflictError);
      const winner = (won[0] as PromiseFulfilledResult<RingConfig>).value;
      const { ring: ringKey } = redisControlPlaneKeys(keyPrefix);
      t.equal(
        await inspector.hget(ringKey, 'config'),
        JSON.stringify(winner),
        'Redis holds the winner',
      );
      await waitFor('both routers on the winner', async () =>
        (await routerB.currentRing()).epoch === winner.epoch &&
        (await routerA.currentRing()).epoch === winner.epoch
          ? true
          : undefined,
      );
    }
    await t.rejects(
      routerA.compareAndSetRing(1, withNote(await routerA.currentRing(), 'stale')),
      RangeError,
      'next.epoch must be expectedEpoch + 1',
    );
  },
);

t.test('a fresh seed refuses changes for one lease (the seed window)', async (t) => {
  const keyPrefix = freshPrefix();
  const controlPlane = await openControlPlane(t, {
    keyPrefix,
    initialRing: initialRing(['node-1']),
    leaseMs: 2_000,
    startupGraceMs: 2_000,
  });
  const ring = await controlPlane.currentRing();
  await t.rejects(controlPlane.compareAndSetRing(ring.epoch, withNote(ring, 'early')), {
    code: 'EPOCH_CONFLICT',
    reason: 'seeding',
  });
});

t.test('two routers running failure detectors apply one failover, once', async (t) => {
  const keyPrefix = freshPrefix();
  const ring = initialRing(['node-1', 'node-2', 'node-3'], undefined, ['standby-1', 'standby-2']);
  const failovers: number[] = [];
  const onEvent = (event: RedisControlPlaneEvent) => {
    if (event.type === 'failover') failovers.push(event.epoch);
  };
  const routers = [
    await openControlPlane(t, { keyPrefix, initialRing: ring, onEvent }),
    await openControlPlane(t, { keyPrefix, initialRing: ring, onEvent }),
    await openControlPlane(t, { keyPrefix, initialRing: ring, onEvent }),
  ];
  const nodes = await openControlPlane(t, { keyPrefix, failureDetector: false });
  const loops = startHeartbeats(
    t,
    (n) => nodes.heartbeat(n),
    ['node-1', 'node-2', 'node-3', 'standby-1', 'standby-2'].map(nodeInfo),
    50,
  );
  const before = await waitForRegistered(nodes, [
    'node-1',
    'node-2',
    'node-3',
    'standby-1',
    'standby-2',
  ]);
  loops.stop('node-3');
  const after = await waitFor('node-3 replaced', async () => {
    const latest = await routers[0]?.currentRing();
    return latest?.slots.some((a) => a.nodeId === 'node-3') === false ? latest : undefined;
  });
  t.equal(after.epoch, before.epoch + 1, 'one change');
  // The standbys registered in whichever order their first heartbeats landed: the first one wins.
  const promoted = before.standbys[0];
  t.same(
    after.slots.find((a) => a.slot === 'slot-2'),
    { slot: 'slot-2', nodeId: promoted, weight: 1 },
  );
  t.same(after.standbys, before.standbys.slice(1), 'only one standby promoted');
  t.same(failovers, [after.epoch], 'one router applied it; the others lost the compare-and-set');
  for (const router of routers) {
    await waitFor('every router on the new epoch', async () =>
      (await router.currentRing()).epoch === after.epoch ? true : undefined,
    );
  }
});

t.test('options are validated once, naming the bad key', async (t) => {
  t.throws(() => new RedisControlPlane({ redisUrl: 'http://127.0.0.1:1' }), /redisUrl/);
  t.throws(
    () => new RedisControlPlane({ redisUrl: redis.url, leaseMs: 100, heartbeatIntervalMs: 100 }),
    /heartbeatIntervalMs/,
  );
  t.throws(
    () => new RedisControlPlane({ redisUrl: redis.url, keyPrefix: 'bad prefix' }),
    /keyPrefix/,
  );
  t.throws(
    () =>
      new RedisControlPlane({
        redisUrl: redis.url,
        leaseMs: 300,
        heartbeatIntervalMs: 50,
        commandTimeoutMs: 300,
      }),
    /commandTimeoutMs/,
  );
});

t.test('an unreachable Redis fails start-up within startTimeoutMs, naming it', async (t) => {
  const startedAt = performance.now();
  await t.rejects(
    RedisControlPlane.open({ redisUrl: 'redis://127.0.0.1:1', startTimeoutMs: 300 }),
    { code: 'OWNER_UNAVAILABLE', message: /127\.0\.0\.1:1 not reachable within 300 ms/ },
  );
  t.ok(performance.now() - startedAt < 2_000, 'fails fast');
});

t.test('close() quits both connections and stops the timers', async (t) => {
  const connections = async () =>
    String(await inspector.call('CLIENT', 'LIST'))
      .split('\n')
      .filter((line) => line.includes('name=chatring-control-plane-')).length;
  const before = await connections();
  const controlPlane = await RedisControlPlane.open({
    redisUrl: redis.url,
    keyPrefix: freshPrefix(),
    initialRing: initialRing(['node-1']),
    ...CONFORMANCE_TIMINGS,
  });
  t.equal(await connections(), before + 2, 'a command and a subscriber connection');
  await controlPlane.close();
  await waitFor('both connections gone', async () =>
    (await connections()) === before ? true : undefined,
  );
  t.equal(await controlPlane.detectFailures(), 'closed');
  await t.rejects(controlPlane.currentRing(), /closed/);
});
