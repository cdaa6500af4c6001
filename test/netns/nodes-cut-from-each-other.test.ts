/**
 * Two cache nodes cut from each other, both alive and renewing their leases, both reachable by the
 * router: every packet between node-1's host and node-2's is dropped.
 *
 * A send writes a copy in each participant's mailbox, the coordinator (the owner of the pair's lower
 * id) asking the other owner to write its copy first. Between users of the two nodes that request
 * crosses the cut, so such sends must fail retryably and never leave a message that only one side
 * can see for good; sends within one node, and reads, go on. Checked:
 * - a send between a node-1 user and a node-2 user answers a retryable 503;
 * - sends between users of the same node, and reads of every user, are served during the cut;
 * - the ring does not change (nobody is dead);
 * - healed, the failed send retried with its clientMessageId is in both mailboxes exactly once,
 *   with the same messageId, and a later send orders after it;
 * - a steady load within each node across the cut loses, doubles and reorders nothing.
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
    'two nodes cut from each other: cross sends fail retryably, nothing half-done stays',
    async (t) => {
      const cluster = await startMultiHostCluster(t, 'netns_node_cut');
      const { network } = cluster;
      const api = new ApiClient(cluster.routerUrl, { bearerToken: cluster.appToken });
      t.teardown(() => api.close());
      const [a1 = '', a2 = '', a3 = ''] = await cluster.usersOwnedBy('node-1', 3, 'a');
      const [b1 = '', b2 = '', b3 = ''] = await cluster.usersOwnedBy('node-2', 3, 'b');
      const crossConversation = conversationIdOf(a1, b1);
      t.equal((await api.send(b1, a1, 'before the cut')).status, 201);
      // Both sides' windows cached: a read that needs a load waits for the user's lock, which a send
      // stuck on the cut holds (USER_BUSY); reads from memory take no lock.
      t.equal((await api.messages(a1, crossConversation)).status, 200);
      t.equal((await api.messages(b1, crossConversation)).status, 200);
      const before = await cluster.status();

      const load = startSteadyLoad(api, 2, [
        [a2, a3],
        [b2, b3],
      ]);
      const [node1, node2] = [cluster.member('node-1'), cluster.member('node-2')];
      network.cut(node1.host, node2.host);
      const cutAt = Date.now();

      const startedAt = performance.now();
      const clientMessageId = `cross-${a1}`;
      const [crossSend, readA, readB] = await Promise.all([
        api.send(a1, b1, 'across the cut', clientMessageId),
        api.messages(a1, crossConversation),
        api.messages(b1, crossConversation),
      ]);
      const ms = Math.round(performance.now() - startedAt);
      t.equal(crossSend.status, 503, `a send across the cut fails (answered within ${ms} ms)`);
      t.ok(isRetryableCode(crossSend.errorCode), `retryably: ${crossSend.errorCode}`);
      t.equal(readA.status, 200, `node-1's user reads during the cut`);
      t.equal(readB.status, 200, `node-2's user reads during the cut`);
      const within = load.report.acknowledged.filter((ack) => (ack.acknowledgedAtMs ?? 0) > cutAt);
      t.ok(within.length > 0, `sends within each node went on (${within.length} during the cut)`);
      const during = await cluster.status();
      t.equal(during.epoch, before.epoch, 'the ring did not change');

      network.heal(node1.host, node2.host);
      const retried = await eventually('the retry to land once healed', async () => {
        const answer = await api.send(a1, b1, 'across the cut', clientMessageId);
        return answer.status === 201 || answer.status === 200 ? answer : undefined;
      });
      const { messageId } = retried.body.message;
      const later = await api.send(b1, a1, 'after the heal');
      t.equal(later.status, 201);
      for (const reader of [a1, b1]) {
        const seen = await api.messages(reader, crossConversation);
        t.same(
          seen.body.messages.map((m) => m.content),
          ['after the heal', 'across the cut', 'before the cut'],
          `${reader}: the retried send once, in order`,
        );
        t.equal(seen.body.messages[1]?.messageId, messageId, `${reader}: the same message`);
      }
      const report = await load.stop();
      await assertNothingLost(t, api, report);
    },
  );
