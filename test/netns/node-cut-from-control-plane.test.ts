/**
 * A cache node cut from the control plane (Redis) but not from the router, the app servers or the
 * store: every packet between node-1's host and Redis's host is dropped, both ways.
 *
 * node-1 can no longer renew its lease, so it must stop serving on its own before the control plane
 * may give its slot away (fencing: it serves only while its last renewal was sent less than 4/5 of
 * a lease ago), and the standby must take the slot. Checked:
 * - node-1, asked directly, refuses retryably (503 OWNER_UNAVAILABLE) and accepts no write;
 * - the standby takes node-1's slot and serves its users through the router;
 * - a message written through the new owner is never missing from an answer node-1 gave to a read
 *   sent after it was acknowledged (a probe reads node-1 directly all along: no stale read);
 * - a steady load through the router (users on both nodes) loses, doubles and reorders nothing.
 */
import t from 'tap';
import { setTimeout as sleep } from 'node:timers/promises';
import { conversationIdOf } from '../../protocol/index.js';
import { ApiClient, eventually } from '../../harness/index.js';
import { assertNothingLost } from '../helpers/assert-nothing-lost.js';
import { startMultiHostCluster } from '../helpers/multi-host-cluster.js';
import { networkNamespacesUnavailable } from '../helpers/network-namespaces.js';
import { startStaleReadProbe } from '../helpers/stale-read-probe.js';
import { startSteadyLoad } from '../helpers/steady-load.js';

const unavailable = networkNamespacesUnavailable();
if (unavailable !== undefined) t.plan(0, `skipped: ${unavailable}`);
else
  t.test(
    'a node cut from the control plane stops serving and its standby takes over',
    async (t) => {
      const cluster = await startMultiHostCluster(t, 'netns_cp_cut');
      const { network } = cluster;
      const api = new ApiClient(cluster.routerUrl, { bearerToken: cluster.appToken });
      t.teardown(() => api.close());
      const [a1 = '', a2 = '', a3 = '', a4 = ''] = await cluster.usersOwnedBy('node-1', 4, 'n1');
      const [b1 = '', b2 = '', b3 = ''] = await cluster.usersOwnedBy('node-2', 3, 'n2');

      // a1's conversation with b1, cached on node-1 (a read through it) before the cut.
      const conversationId = conversationIdOf(a1, b1);
      t.equal((await api.send(b1, a1, 'before the cut')).status, 201);
      t.equal((await api.messages(a1, conversationId)).status, 200);
      const node1 = cluster.member('node-1');
      const direct = new ApiClient(node1.url, { bearerToken: cluster.appToken, timeoutMs: 10_000 });
      t.teardown(() => direct.close());
      const probe = startStaleReadProbe(direct, a1, conversationId);

      const load = startSteadyLoad(api, 4, [
        [a2, b2],
        [a3, a4],
        [b3, a2],
        [b2, b3],
      ]);
      await sleep(500);
      network.cut(node1.host, network.host('redis'));
      const cutAt = performance.now();

      const refusal = await eventually('node-1 to refuse its own users', async () => {
        const answer = await direct.messages(a1, conversationId);
        return answer.status === 200 ? undefined : answer;
      });
      t.equal(refusal.status, 503, 'node-1 refuses with 503');
      t.equal(refusal.errorCode, 'OWNER_UNAVAILABLE', 'retryably: it cannot prove its lease');
      t.comment(`node-1 refused ${Math.round(performance.now() - cutAt)} ms after the cut`);
      const write = await direct.send(a1, b1, 'to the cut-off node', 'cut-off-write');
      t.equal(write.status, 503, 'a write straight to node-1 is refused too');

      const promoted = await eventually('the standby to take node-1 slot', async () => {
        const status = await cluster.status();
        return status.slots.some((slot) => slot.nodeId === 'standby-1') ? status : undefined;
      });
      t.notOk(
        promoted.slots.some((slot) => slot.nodeId === 'node-1'),
        'node-1 holds no slot any more',
      );
      t.equal(
        (await cluster.ownerOf(a1)).nodeId,
        'standby-1',
        "node-1's users moved to the standby",
      );

      const marker = await api.send(b1, a1, 'through the new owner');
      t.equal(marker.status, 201, 'the new owner accepts writes for node-1 users');
      const markerAckedAt = performance.now();
      const read = await api.messages(a1, conversationId);
      t.same(
        read.body.messages.map((m) => m.content),
        ['through the new owner', 'before the cut'],
        'the router serves the new owner, with nothing of the refused write',
      );
      await sleep(1_500); // node-1 keeps being probed after the new write
      const answers = await probe.stop();
      t.same(
        probe.staleSince(markerAckedAt, marker.body.message.messageId),
        [],
        `node-1 served no stale read (${answers.length} probes, ${answers.filter((a) => a.status === 200).length} served before it stopped)`,
      );

      const report = await load.stop();
      t.comment(
        `${report.acknowledged.length} sends acknowledged, ${report.failures.length} attempts failed and were retried`,
      );
      t.same(report.staleReads, [], 'every acknowledged send was read back at once');
      await assertNothingLost(t, api, report);
      network.heal(node1.host, network.host('redis'));
    },
  );
