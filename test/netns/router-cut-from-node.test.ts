/**
 * A router cut from one cache node, while that node still renews its lease (Redis reaches it) and
 * the other members still reach it: every packet between the router's host and node-1's is dropped.
 *
 * The ring does not change (node-1 is alive and holds its lease), so the router must not send
 * node-1's users anywhere else: their requests fail clearly (a retryable 503 within the router's
 * deadline) and nothing they asked for is written anywhere. Checked:
 * - node-1's users get a retryable 503 (and no hang past the router's deadline);
 * - nothing of those failed sends is stored, on node-1 or on the other participant's node;
 * - node-2's users keep being served through the same router all along (a load between them is
 *   acknowledged during the cut), and a send from a node-2 user to a node-1 user still works:
 *   node-2 delivers it to node-1 over their own link, which is not cut;
 * - the ring and its epoch never change: no failover for a node that is only unreachable from one
 *   router;
 * - healed, the failed send retried with its clientMessageId is in both mailboxes exactly once
 *   (the first attempt may land late: its bytes wait in the link's socket until the link heals).
 */
import t from 'tap';
import { conversationIdOf } from '../../protocol/index.js';
import { ApiClient, eventually } from '../../harness/index.js';
import { assertNothingLost } from '../helpers/assert-nothing-lost.js';
import { startMultiHostCluster } from '../helpers/multi-host-cluster.js';
import { networkNamespacesUnavailable } from '../helpers/network-namespaces.js';
import { isRetryableCode } from '../helpers/retryable.js';
import { startSteadyLoad } from '../helpers/steady-load.js';

const unavailable = networkNamespacesUnavailable();
if (unavailable !== undefined) t.plan(0, `skipped: ${unavailable}`);
else
  t.test(
    'a router cut from one node fails its users clearly and never reroutes them',
    async (t) => {
      const cluster = await startMultiHostCluster(t, 'netns_router_cut');
      const { network } = cluster;
      const api = new ApiClient(cluster.routerUrl, { bearerToken: cluster.appToken });
      t.teardown(() => api.close());
      // A send is coordinated by the owner of the pair's lower id: node-1's users sort after node-2's,
      // so node-1 coordinates only sends between its own users.
      const [z1 = '', z2 = ''] = await cluster.usersOwnedBy('node-1', 2, 'z');
      const [a1 = '', a2 = '', a3 = ''] = await cluster.usersOwnedBy('node-2', 3, 'a');
      t.equal((await api.send(z1, z2, 'before the cut')).status, 201);
      const before = await cluster.status();

      const load = startSteadyLoad(api, 2, [
        [a2, a3],
        [a3, a2],
      ]);
      const node1 = cluster.member('node-1');
      network.cut(cluster.router.host, node1.host);
      const cutAt = Date.now();

      // Asked at once, so the file waits out the router's deadline once.
      const startedAt = performance.now();
      const clientMessageId = `cut-${z1}`;
      const [failedSend, failedRead, inbound] = await Promise.all([
        api.send(z1, z2, 'during the cut', clientMessageId),
        api.messages(z1, conversationIdOf(z1, z2)),
        // Coordinated by node-2 (a1 sorts first), which writes z1's copy over its own link to node-1.
        api.send(z1, a1, 'coordinated by node-2, during the cut'),
      ]);
      const ms = Math.round(performance.now() - startedAt);
      t.equal(failedSend.status, 503, `a send node-1 coordinates fails (all answered in ${ms} ms)`);
      t.ok(isRetryableCode(failedSend.errorCode), `retryably: ${failedSend.errorCode}`);
      t.equal(
        failedRead.status,
        503,
        `a read of a node-1 user fails too (${failedRead.errorCode})`,
      );
      t.equal(inbound.status, 201, 'a send node-2 coordinates reaches node-1 over their own link');
      const duringCut = load.report.acknowledged.filter(
        (ack) => (ack.acknowledgedAtMs ?? 0) > cutAt,
      );
      t.ok(
        duringCut.length > 0,
        `node-2's users were served during the cut (${duringCut.length} sends)`,
      );

      const direct = new ApiClient(node1.url, { bearerToken: cluster.appToken });
      t.teardown(() => direct.close());
      const onNode1 = await direct.messages(z1, conversationIdOf(z1, z2));
      t.same(
        onNode1.body.messages.map((m) => m.content),
        ['before the cut'],
        'node-1 stored nothing of the failed send',
      );
      const during = await cluster.status();
      t.equal(during.epoch, before.epoch, 'the ring did not change');
      t.same(during.slots, before.slots, 'node-1 keeps its slot');

      network.heal(cluster.router.host, node1.host);
      const retried = await eventually('the retry to land once healed', async () => {
        const answer = await api.send(z1, z2, 'during the cut', clientMessageId);
        return answer.status === 201 || answer.status === 200 ? answer : undefined;
      });
      // 201, or 200 duplicate: the router gave up on the first attempt, but its bytes may still sit
      // in the link's socket and reach node-1 once the link heals (a 503 means "unknown outcome").
      t.ok(
        [200, 201].includes(retried.status),
        `the retry answers the one message (${retried.status})`,
      );
      t.equal(retried.body.message.clientMessageId, clientMessageId);
      for (const reader of [z1, z2]) {
        const seen = await api.messages(reader, conversationIdOf(z1, z2));
        t.same(
          seen.body.messages.map((m) => m.content),
          ['during the cut', 'before the cut'],
          `exactly once in ${reader}'s mailbox`,
        );
      }
      const inboundSeen = await api.messages(z1, conversationIdOf(z1, a1));
      t.same(
        inboundSeen.body.messages.map((m) => m.messageId),
        [inbound.body.message.messageId],
        'the send node-2 coordinated is in node-1 user’s mailbox',
      );
      const report = await load.stop();
      await assertNothingLost(t, api, report);
    },
  );
