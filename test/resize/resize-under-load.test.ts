/**
 * Resizing under a steady send/read load, through the real ringctl: add a node, then remove one.
 * Nothing acknowledged is lost or doubled, order is kept, and no read right after an
 * acknowledgement misses it (no stale read while users change hands).
 */
import t from 'tap';
import { setTimeout as sleep } from 'node:timers/promises';
import { ApiClient } from '../../harness/index.js';
import { assertNothingLost } from '../helpers/assert-nothing-lost.js';
import { bootCluster } from '../helpers/local-cluster.js';
import { ringctl } from '../helpers/ringctl.js';
import { startSteadyLoad } from '../helpers/steady-load.js';

t.test('add then remove a node while traffic flows', async (t) => {
  const cluster = await bootCluster(t, { nodes: 2, standbys: 1 });
  const api = new ApiClient(cluster.url);
  t.teardown(() => api.close());
  const load = startSteadyLoad(api, 10);
  await sleep(1_000);

  const added = await ringctl(['--router', cluster.url, '--json', 'add', 'standby-1']);
  t.equal(added.code, 0, `add: ${added.stderr}`);
  t.equal((await cluster.status()).slots.length, 3);
  await sleep(1_000);
  const removed = await ringctl(['--router', cluster.url, '--json', 'remove', 'node-1']);
  t.equal(removed.code, 0, `remove: ${removed.stderr}`);
  const status = await cluster.status();
  t.same(status.slots.map((s) => s.nodeId).sort(), ['node-2', 'standby-1']);
  t.ok(status.standbys.includes('node-1'), 'the removed node is a standby again');
  await sleep(1_000);

  const report = await load.stop();
  t.comment(
    `${report.acknowledged.length} sends acknowledged; ${report.failures.length} failed attempts (all retried)`,
  );
  await assertNothingLost(t, api, report);
});
