/**
 * A symmetric partition that heals: node-1's host loses its link (it reaches nobody, nobody reaches
 * it), the standby takes its slot, writes go on through the new owner, and then the link comes back.
 *
 * The old owner must come back as a fresh member, never as the owner it was: it learns from its
 * first renewal that its slot is gone, drops everything it cached (its lease lapsed), and joins as a
 * standby. Checked:
 * - while cut off, and after the link is back, node-1 (asked directly all along) never answers a
 *   read with a page that lacks a message acknowledged through the new owner (no stale read);
 * - after the heal node-1 is a standby, holds no slot, and caches no user;
 * - made owner again (the standby that took its slot is killed, so node-1 is promoted into it), it
 *   serves the messages written while it was away: it loaded them from the store, not from the
 *   cache it had before the partition;
 * - a steady load through the router across all of it loses, doubles and reorders nothing.
 */
import t from 'tap';
import { setTimeout as sleep } from 'node:timers/promises';
import { conversationIdOf } from '../../protocol/index.js';
import { ApiClient, eventually, readNodeStats } from '../../harness/index.js';
import { assertNothingLost } from '../helpers/assert-nothing-lost.js';
import { startMultiHostCluster } from '../helpers/multi-host-cluster.js';
import { networkNamespacesUnavailable } from '../helpers/network-namespaces.js';
import { startStaleReadProbe } from '../helpers/stale-read-probe.js';
import { startSteadyLoad } from '../helpers/steady-load.js';

const unavailable = networkNamespacesUnavailable();
if (unavailable !== undefined) t.plan(0, `skipped: ${unavailable}`);
else
  t.test('a partitioned owner rejoins as a fresh standby and serves nothing stale', async (t) => {
    const cluster = await startMultiHostCluster(t, 'netns_heal');
    const { network } = cluster;
    const api = new ApiClient(cluster.routerUrl, { bearerToken: cluster.appToken });
    t.teardown(() => api.close());
    const [z1 = '', z2 = '', z3 = ''] = await cluster.usersOwnedBy('node-1', 3, 'z');
    const [a1 = '', a2 = ''] = await cluster.usersOwnedBy('node-2', 2, 'a');
    const conversationId = conversationIdOf(z1, z2);
    t.equal((await api.send(z2, z1, 'before the partition')).status, 201);
    t.equal((await api.messages(z1, conversationId)).status, 200, 'cached on node-1');

    const node1 = cluster.member('node-1');
    // A short timeout: while the link is down the probe's requests get no answer at all.
    const direct = new ApiClient(node1.url, { bearerToken: cluster.appToken, timeoutMs: 1_000 });
    t.teardown(() => direct.close());
    const probe = startStaleReadProbe(direct, z1, conversationId);
    const load = startSteadyLoad(api, 3, [
      [z3, a1],
      [a1, a2],
      [z2, z3],
    ]);
    await sleep(500);
    network.isolate(node1.host);

    await eventually('the standby to take node-1 slot', async () => {
      const status = await cluster.status();
      return status.slots.some((slot) => slot.nodeId === 'standby-1') ? status : undefined;
    });
    const marker = await api.send(z2, z1, 'while node-1 was away');
    t.equal(marker.status, 201, 'the new owner accepts writes');
    const markerAckedAt = performance.now();
    await sleep(1_000);

    network.rejoin(node1.host);
    const rejoinedAt = performance.now();
    const rejoined = await eventually('node-1 to rejoin as a standby', async () => {
      const status = await cluster.status();
      return status.standbys.includes('node-1') ? status : undefined;
    });
    t.notOk(
      rejoined.slots.some((slot) => slot.nodeId === 'node-1'),
      'node-1 holds no slot after the heal',
    );
    const stats = await readNodeStats(node1.url, 2_000, cluster.signer);
    t.same(stats.slots, [], 'node-1 sees no slot of its own');
    t.equal(stats.counters.cachedUsers, 0, 'node-1 dropped everything it had cached');
    await sleep(1_000); // node-1 keeps being probed once it is back
    const answers = await probe.stop();
    const served = answers.filter((answer) => answer.status === 200).length;
    const answeredSinceHeal = answers.filter(
      (answer) => answer.sentAt > rejoinedAt && answer.status !== 0,
    );
    t.ok(
      answeredSinceHeal.length > 0,
      `node-1 answered ${answeredSinceHeal.length} probes since the heal`,
    );
    t.same(
      probe.staleSince(markerAckedAt, marker.body.message.messageId),
      [],
      `node-1 served no stale read (${answers.length} probes: ${served} served before the partition, the rest refused or unanswered)`,
    );

    // Promoted again, node-1 must serve what was written while it was away.
    await cluster.member('standby-1').kill();
    await eventually('node-1 to be promoted into the slot again', async () => {
      const status = await cluster.status();
      return status.slots.some((slot) => slot.nodeId === 'node-1') ? status : undefined;
    });
    const after = await eventually('node-1 to serve z1 again', async () => {
      const response = await api.messages(z1, conversationId);
      return response.status === 200 ? response : undefined;
    });
    t.same(
      after.body.messages.map((m) => m.content),
      ['while node-1 was away', 'before the partition'],
      'it serves the messages written while it was away, from the store',
    );
    t.equal((await cluster.ownerOf(z1)).nodeId, 'node-1');

    const report = await load.stop();
    t.comment(
      `${report.acknowledged.length} sends acknowledged, ${report.failures.length} attempts failed and were retried`,
    );
    t.same(report.staleReads, [], 'every acknowledged send was read back at once');
    await assertNothingLost(t, api, report);
  });
