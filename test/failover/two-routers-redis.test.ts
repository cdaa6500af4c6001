/**
 * Several routers on a Redis control plane (a real redis-server started for this test): two routers
 * route every user identically; a third router started later routes identically at once; a node
 * killed with SIGKILL under load through both routers is replaced and both routers follow the new
 * ring by push; nothing acknowledged is lost.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { ApiClient, eventually, uniqueUser } from '../../harness/index.js';
import { assertNothingLost } from '../helpers/assert-nothing-lost.js';
import { bootCluster } from '../helpers/local-cluster.js';
import { startRedisServer } from '../helpers/redis-server.js';
import { startSteadyLoad } from '../helpers/steady-load.js';

const ENTRY = fileURLToPath(new URL('../../dist/cli/chatring.js', import.meta.url));
/** The lease of the first test's cluster and of the router it adds. */
const LEASE_MS = 3_000;

const ownersOf = async (routerUrl: string, users: string[]) =>
  Promise.all(
    users.map(
      async (user) =>
        ((await (await fetch(`${routerUrl}/admin/v1/owner/${user}`)).json()) as { nodeId: string })
          .nodeId,
    ),
  );

t.test('routers sharing a Redis control plane agree, and follow a failover together', async (t) => {
  const redis = await startRedisServer(t);
  const cluster = await bootCluster(t, {
    redisUrl: redis.url,
    routers: 2,
    restartMembers: false,
    // Longer than the 1.5 s default: the test kills a node on purpose, and a machine stalled past
    // the lease (seen under a load average of 7) would promote the standby before the kill.
    leaseMs: LEASE_MS,
    heartbeatIntervalMs: 250,
  });
  t.equal(cluster.urls.length, 2);
  const [first = '', second = ''] = cluster.urls;
  const users = Array.from({ length: 300 }, () => uniqueUser('u'));
  t.same(
    await ownersOf(second, users),
    await ownersOf(first, users),
    'both routers route every user identically',
  );

  // A router added later (or restarted: it has no state of its own) routes identically at once.
  const third = spawn(
    process.execPath,
    [
      ENTRY,
      'router',
      '--redis',
      redis.url,
      '--port',
      '0',
      '--lease-ms',
      String(LEASE_MS),
      '--heartbeat-interval-ms',
      '250',
    ],
    // The cluster's secret, in the environment as an operator would give it (never on argv).
    {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, CHATRING_CLUSTER_SECRET: cluster.clusterSecret.toString() },
    },
  );
  t.teardown(() => {
    third.kill('SIGTERM');
  });
  const thirdUrl = await new Promise<string>((resolve, reject) => {
    third.stdout?.setEncoding('utf8').on('data', (text: string) => {
      const match = /router listening on (\S+)/.exec(text);
      if (match?.[1] !== undefined) resolve(match[1]);
    });
    // It printed why on stderr (inherited); fail now rather than at the file's timeout.
    third.once('exit', (code) => reject(new Error(`the third router exited (${code})`)));
  });
  t.same(
    await ownersOf(thirdUrl, users),
    await ownersOf(first, users),
    'a new router routes identically from its first request',
  );

  const [apiA, apiB] = [new ApiClient(first), new ApiClient(second)];
  t.teardown(async () => {
    await apiA.close();
    await apiB.close();
  });
  const sent = await apiA.send(users[0] ?? '', users[1] ?? '', 'through router A');
  t.equal(sent.status, 201);
  const seen = await apiB.messages(users[1] ?? '', sent.body.message.conversationId);
  t.same(
    seen.body.messages.map((m) => m.messageId),
    [sent.body.message.messageId],
    'router B reads what router A wrote',
  );

  const loadA = startSteadyLoad(apiA, 4);
  const loadB = startSteadyLoad(apiB, 4);
  await sleep(1_000);
  const beforeKill = await cluster.status();
  t.equal(
    beforeKill.nodes.find((node) => node.nodeId === 'standby-1')?.state,
    'standby',
    'standby-1 still stands by before the kill (no lease lapsed under load)',
  );
  const victim = await cluster.ownerOf(loadA.report.pairs[0]?.[0] ?? '');
  t.match(victim.nodeId, /^node-/, 'the victim is a primary');
  process.kill(await cluster.pidOf(victim.nodeId), 'SIGKILL');
  const promoted = await eventually('the standby to take the slot', async () => {
    const status = await cluster.status();
    return status.slots.find((s) => s.slot === victim.slot)?.nodeId === 'standby-1'
      ? status
      : undefined;
  });
  const agreed = await eventually('every router to route by the new ring', async () => {
    const epochs = await Promise.all(
      [first, second, thirdUrl].map(
        async (url) => ((await (await fetch(`${url}/healthz`)).json()) as { epoch: number }).epoch,
      ),
    );
    return epochs.every((epoch) => epoch === promoted.epoch) ? epochs : undefined;
  });
  t.same(
    agreed,
    [promoted.epoch, promoted.epoch, promoted.epoch],
    'all three routers at the same epoch',
  );
  t.same(
    await ownersOf(second, users),
    await ownersOf(first, users),
    'and they still agree on every user',
  );
  await sleep(1_000);
  const [reportA, reportB] = await Promise.all([loadA.stop(), loadB.stop()]);
  await assertNothingLost(t, apiA, reportA);
  await assertNothingLost(t, apiB, reportB);
});

t.test('Redis restarted: traffic continues, and failover works again after', async (t) => {
  const redis = await startRedisServer(t, { appendOnly: true });
  const cluster = await bootCluster(t, {
    redisUrl: redis.url,
    restartMembers: false,
    leaseMs: 3_000,
    heartbeatIntervalMs: 250,
  });
  const api = new ApiClient(cluster.url);
  t.teardown(() => api.close());
  const load = startSteadyLoad(api, 4);
  await sleep(1_000);
  await redis.stop('SIGKILL');
  await sleep(500); // shorter than the lease margin: nodes keep serving on their last lease
  await redis.restart();
  await sleep(1_500);
  const before = await cluster.status();
  t.ok(
    before.nodes.filter((n) => n.state === 'serving').length === 3,
    'nobody was declared dead over the restart',
  );

  const victim = await cluster.ownerOf(load.report.pairs[0]?.[0] ?? '');
  process.kill(await cluster.pidOf(victim.nodeId), 'SIGKILL');
  await eventually('a promotion after Redis came back', async () => {
    const status = await cluster.status();
    return status.slots.find((s) => s.slot === victim.slot)?.nodeId === 'standby-1'
      ? true
      : undefined;
  });
  await sleep(1_000);
  const report = await load.stop();
  t.comment(
    `${report.acknowledged.length} sends acknowledged; ${report.failures.length} failed attempts (retried)`,
  );
  await assertNothingLost(t, api, report);
});
