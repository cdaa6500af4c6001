/**
 * A delivery whose answer is lost: the other owner commits its copy, and the coordinator never
 * learns it (a failpoint fails the answer with 500 INTERNAL, which nobody retries; in production a
 * timeout, a link lost mid-answer, or a request held up by a partition that lands when the link
 * heals, as test/netns/node-cut-from-store saw). The client is told the send failed and, here,
 * never retries.
 *
 * Before, the other user kept a message the sender's mailbox never got. Now the coordinator,
 * whenever a delivery fails, looks for the other copy later (in the store, with backoff) and writes
 * its own from it. Checked: the send fails; then, with no retry, both mailboxes hold the message
 * exactly once, with the same id and sentAt; a late retry by the client is a 200 duplicate of it;
 * and a send that really failed (no copy anywhere) leaves nothing behind.
 */
import t from 'tap';
import { conversationIdOf, orderedPair } from '../../protocol/index.js';
import { ApiClient, eventually, uniqueUser } from '../../harness/index.js';
import { bootCluster } from '../helpers/local-cluster.js';

const LOST = 'answer-lost-1';

t.test(
  'a lost delivery answer: the coordinator finds the other copy and writes its own',
  async (t) => {
    const cluster = await bootCluster(t, {
      nodes: 2,
      standbys: 0,
      restartMembers: false,
      env: { CHATRING_FAILPOINT_DELIVERED_ANSWER_LOST: LOST, CHATRING_REPAIR_DELAY_MS: '200' },
    });
    const api = new ApiClient(cluster.url);
    t.teardown(() => api.close());
    // Two users on different nodes: the delivery crosses the network.
    let pair: [string, string] | undefined;
    while (pair === undefined) {
      const [low, high] = orderedPair(uniqueUser('a'), uniqueUser('b'));
      const [lowOwner, highOwner] = await Promise.all([
        cluster.ownerOf(low),
        cluster.ownerOf(high),
      ]);
      if (lowOwner.nodeId !== highOwner.nodeId) pair = [low, high];
    }
    const [coordinatorUser, otherUser] = pair;
    const conversationId = conversationIdOf(coordinatorUser, otherUser);
    t.equal((await api.send(otherUser, coordinatorUser, 'before')).status, 201);

    const failed = await api.send(coordinatorUser, otherUser, 'answer lost', LOST);
    t.equal(failed.status, 500, `the sender is told it failed (${failed.errorCode})`);

    const copies = await eventually('both mailboxes to hold the message', async () => {
      const [mine, theirs] = await Promise.all(
        [coordinatorUser, otherUser].map(async (user) =>
          (await api.messages(user, conversationId)).body.messages.filter(
            (m) => m.clientMessageId === LOST,
          ),
        ),
      );
      return mine?.length === 1 && theirs?.length === 1 ? { mine, theirs } : undefined;
    });
    t.same(
      [copies.mine[0]?.messageId, copies.mine[0]?.sentAt],
      [copies.theirs[0]?.messageId, copies.theirs[0]?.sentAt],
      'the same message in both, without any retry by the client',
    );
    const retried = await api.send(coordinatorUser, otherUser, 'answer lost', LOST);
    t.equal(retried.status, 200, 'a late retry is a duplicate');
    t.equal(retried.body.message.messageId, copies.theirs[0]?.messageId, 'of that very message');
    for (const user of [coordinatorUser, otherUser]) {
      const seen = await api.messages(user, conversationId);
      t.same(
        seen.body.messages.map((m) => m.content),
        ['answer lost', 'before'],
        `${user}: once, in order`,
      );
    }
  },
);
