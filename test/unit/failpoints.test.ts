/**
 * Failpoints fire where they say, once, and never on a retry: the coordinator kill only when its
 * send wrote the delivered copy (a retry's delivery is a duplicate), the intent kills only at a
 * message commit of the copy they name; the intent kills refuse a store without intents; the
 * environment arms them by clientMessageId lists. The kill is injected: these tests must survive it.
 */
import t from 'tap';
import { Failpoints, failpointsFromEnvironment } from '../../cache-node/failpoints.js';
import { conversationIdOf, type Message } from '../../protocol/index.js';
import type { MailboxCommit } from '../../store-adapter/index.js';

// 'a' < 'b': a's owner coordinates, b's copy is the delivered one.
const message = (clientMessageId: string): Message => ({
  messageId: `m-${clientMessageId}`,
  conversationId: conversationIdOf('a', 'b'),
  senderId: 'b',
  recipientId: 'a',
  content: 'x',
  clientMessageId,
  sentAt: 1,
});

const commitOf = (ownerId: string) => ({
  ownerId,
  version: 1,
  commitId: `c-${ownerId}`,
  conversation: {
    conversationId: conversationIdOf('a', 'b'),
    participants: ['a', 'b'] as [string, string],
    snippet: 'x',
    lastUpdatedTimestamp: 1,
    unreadCount: 0,
    version: 1,
  },
});

const messageCommit = (ownerId: string, clientMessageId: string): MailboxCommit => ({
  ...commitOf(ownerId),
  kind: 'message',
  message: message(clientMessageId),
});

function recordingKills(): { kills: string[]; kill: (reason: string) => void } {
  const kills: string[] = [];
  return { kills, kill: (reason) => kills.push(reason) };
}

t.test('the coordinator kill fires once, only when its own send wrote the delivered copy', (t) => {
  const { kills, kill } = recordingKills();
  const failpoints = new Failpoints({ killBeforeCoordinatorCommit: ['m1'] }, kill);
  failpoints.beforeCoordinatorCommit({ message: message('other'), duplicate: false });
  t.same(kills, [], 'another message passes');
  failpoints.beforeCoordinatorCommit({ message: message('m1'), duplicate: true });
  t.same(kills, [], "a retry's delivery (a duplicate) passes: a new owner never dies here again");
  failpoints.beforeCoordinatorCommit({ message: message('m1'), duplicate: false });
  t.equal(kills.length, 1, 'the first send of the message is killed');
  t.match(kills[0], /KILL_BEFORE_COORDINATOR_COMMIT: m1/);
  failpoints.beforeCoordinatorCommit({ message: message('m1'), duplicate: false });
  t.equal(kills.length, 1, 'once');
  t.end();
});

t.test('the coordinator commit failure throws once, and kills nothing', (t) => {
  const { kills, kill } = recordingKills();
  const failpoints = new Failpoints({ failCoordinatorCommit: ['m1'] }, kill);
  t.throws(() => failpoints.beforeCoordinatorCommit({ message: message('m1'), duplicate: false }), {
    code: 'STORE_UNAVAILABLE',
  });
  t.doesNotThrow(() =>
    failpoints.beforeCoordinatorCommit({ message: message('m1'), duplicate: false }),
  );
  t.same(kills, []);
  t.end();
});

t.test('the intent kills fire at the message commit of the copy they name, once', async (t) => {
  const { kills, kill } = recordingKills();
  const failpoints = new Failpoints(
    { killAfterDeliveredCopyIntent: ['d1'], killAfterCoordinatorCopyIntent: ['c1'] },
    kill,
  );
  const afterIntentDurable = failpoints.storeHooks('cassandra').cassandra?.afterIntentDurable;
  if (afterIntentDurable === undefined) throw new Error('no Cassandra hook');
  const read: MailboxCommit = { ...commitOf('b'), kind: 'read' };
  await afterIntentDurable(read);
  await afterIntentDurable(messageCommit('a', 'd1'));
  t.same(kills, [], "a read commit, and d1's coordinator copy, pass");
  await afterIntentDurable(messageCommit('b', 'd1'));
  await afterIntentDurable(messageCommit('b', 'd1'));
  t.equal(kills.length, 1, "d1's delivered copy (b's) is killed, once");
  t.match(kills[0], /KILL_AFTER_DELIVERED_COPY_INTENT: d1, in b's mailbox/);
  await afterIntentDurable(messageCommit('b', 'c1'));
  t.equal(kills.length, 1, "c1's delivered copy passes");
  await afterIntentDurable(messageCommit('a', 'c1'));
  t.equal(kills.length, 2, "c1's coordinator copy (a's) is killed");
  t.match(kills[1], /KILL_AFTER_COORDINATOR_COPY_INTENT: c1, in a's mailbox/);
});

t.test('intent kills need the Cassandra store; the others need no store hooks', (t) => {
  const intents = new Failpoints({ killAfterDeliveredCopyIntent: ['d1'] });
  t.throws(() => intents.storeHooks('embedded'), {
    code: 'INVALID_OPTION',
    message: /KILL_AFTER_DELIVERED_COPY_INTENT .* need the Cassandra store/,
  });
  t.ok(intents.storeHooks('cassandra').cassandra?.afterIntentDurable);
  const coordinator = new Failpoints({ killBeforeCoordinatorCommit: ['m1'] });
  t.same(coordinator.storeHooks('embedded'), {}, 'nothing for the store to do');
  t.same(coordinator.storeHooks('cassandra'), {});
  t.end();
});

t.test('the environment arms failpoints by comma-separated clientMessageIds', (t) => {
  t.equal(failpointsFromEnvironment({}), undefined, 'none armed: no Failpoints at all');
  t.equal(failpointsFromEnvironment({ CHATRING_FAILPOINT_COORDINATOR_COMMIT: ',' }), undefined);
  const armed = failpointsFromEnvironment({
    CHATRING_FAILPOINT_KILL_AFTER_COORDINATOR_COPY_INTENT: 'c1,c2',
  });
  t.ok(armed);
  t.throws(() => armed?.storeHooks('embedded'), { code: 'INVALID_OPTION' });
  for (const variable of [
    'CHATRING_FAILPOINT_COORDINATOR_COMMIT',
    'CHATRING_FAILPOINT_KILL_BEFORE_COORDINATOR_COMMIT',
    'CHATRING_FAILPOINT_KILL_AFTER_DELIVERED_COPY_INTENT',
    'CHATRING_FAILPOINT_KILL_AFTER_COORDINATOR_COPY_INTENT',
  ])
    t.ok(failpointsFromEnvironment({ [variable]: 'x' }), `${variable} arms one`);
  t.end();
});
