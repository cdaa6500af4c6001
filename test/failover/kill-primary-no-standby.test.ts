/**
 * kill -9 of a primary with no standby left: its slot leaves the ring, its users spread over the
 * remaining nodes (refilled from the store), and nothing acknowledged is lost or doubled.
 */
import t from 'tap';
import { setTimeout as sleep } from 'node:timers/promises';
import { ApiClient, eventually } from '../../harness/index.js';
import { assertNothingLost } from '../helpers/assert-nothing-lost.js';
import { bootCluster } from '../helpers/local-cluster.js';
import { startSteadyLoad } from '../helpers/steady-load.js';

t.test('kill -9 of a primary under load, no standby', async (t) => {
  const cluster = await bootCluster(t, {
    nodes: 3,
    standbys: 0,
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
  const killedAt = Date.now();
  process.kill(await cluster.pidOf(victim.nodeId), 'SIGKILL');

  const after = await eventually('the dead slot to leave the ring', async () => {
    const status = await cluster.status();
    return status.slots.some((s) => s.slot === victim.slot) ? undefined : status;
  });
  await sleep(1_000);
  const report = await load.stop();

  t.equal(after.slots.length, 2, 'two slots remain');
  const newOwner = await cluster.ownerOf(victimUser);
  t.not(newOwner.nodeId, victim.nodeId, 'the affected user moved to a surviving node');
  t.comment(
    `slot removed ${Date.now() - killedAt} ms after the kill (upper bound); ${report.failures.length} failed attempts (all retried)`,
  );
  await assertNothingLost(t, api, report);
});
