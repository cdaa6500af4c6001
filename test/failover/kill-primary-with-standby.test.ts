/**
 * kill -9 of a primary under a steady send/read load, with a standby free: the standby takes the
 * dead node's slot (same ring position), every acknowledged message is readable afterwards by both
 * participants exactly once, and the time until the affected users were served again is reported.
 */
import t from 'tap';
import { setTimeout as sleep } from 'node:timers/promises';
import { ApiClient, eventually } from '../../harness/index.js';
import { assertNothingLost } from '../helpers/assert-nothing-lost.js';
import { bootCluster } from '../helpers/local-cluster.js';
import { startSteadyLoad } from '../helpers/steady-load.js';

t.test('kill -9 of a primary under load, standby free', async (t) => {
  const cluster = await bootCluster(t, {
    nodes: 3,
    standbys: 1,
    restartMembers: false,
    leaseMs: 1_500,
    heartbeatIntervalMs: 250,
  });
  const api = new ApiClient(cluster.url);
  t.teardown(() => api.close());

  const load = startSteadyLoad(api, 8);
  await sleep(1_500);
  const [victimUser] = load.report.pairs[0] ?? [''];
  const victim = await cluster.ownerOf(victimUser);
  const before = await cluster.status();
  const killedAt = Date.now();
  process.kill(await cluster.pidOf(victim.nodeId), 'SIGKILL');

  const promoted = await eventually('the standby to take the slot', async () => {
    const status = await cluster.status();
    const holder = status.slots.find((s) => s.slot === victim.slot)?.nodeId;
    return holder !== undefined && holder !== victim.nodeId
      ? { holder, status, at: Date.now() }
      : undefined;
  });
  const recoveredAt = await eventually('a request for the affected user to succeed', async () => {
    const times = [...load.report.successesAt.entries()]
      .filter(([key]) => key.startsWith(`${victimUser}|`))
      .flatMap(([, at]) => at);
    return times.find((at) => at > promoted.at);
  });
  await sleep(1_000);
  const report = await load.stop();

  t.equal(promoted.holder, 'standby-1', 'the standby holds the dead node’s slot');
  t.equal(promoted.status.slots.length, before.slots.length, 'no slot left the ring');
  t.ok(promoted.status.epoch > before.epoch, 'the ring epoch moved on');
  t.comment(
    `slot handed to ${promoted.holder} ${promoted.at - killedAt} ms after kill -9; first success for an affected user ${recoveredAt - killedAt} ms after; ${report.failures.length} failed attempts (all retried)`,
  );
  await assertNothingLost(t, api, report);
});
