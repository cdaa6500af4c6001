/**
 * kill -9 of a node in the middle of a send, at exact points (failpoints, cache-node/failpoints.ts):
 * between the two copies' commits, and on Cassandra between a copy's commit intent and its rows. The
 * original attempt is never acknowledged as new; the client's retry of the same send (same sender,
 * recipient, content and clientMessageId) through the router succeeds once the slot is served again,
 * and then each mailbox holds that message exactly once, with the same messageId and sentAt, the
 * ones the retry answered; a later send in the conversation orders after it. Each kill point runs
 * twice: the killed member restarted (with the same environment: its failpoints armed again), and
 * the standby taking the dead slot (its environment has them too).
 */
import type { Test } from 'tap';
import {
  conversationIdOf,
  orderedPair,
  type Message,
  type SendMessageResponse,
} from '../../protocol/index.js';
import { ApiClient, eventually, uniqueUser, type ApiResponse } from '../../harness/index.js';
import type { BootCluster } from '../helpers/cluster-stores.js';
import type { TestCluster } from '../helpers/local-cluster.js';

/** One place to kill a node, and whose node dies there. */
export interface KillPoint {
  title: string;
  /** The failpoint's environment variable, armed with `clientMessageId` on every member. */
  variable: string;
  clientMessageId: string;
  /** The coordinator (the lower user id's owner) or the delivered copy's (the higher id's owner). */
  victim: 'coordinator' | 'delivered copy owner';
}

export const KILL_BETWEEN_COPIES: KillPoint = {
  title: 'the coordinator is killed between the two copies’ commits',
  variable: 'CHATRING_FAILPOINT_KILL_BEFORE_COORDINATOR_COMMIT',
  clientMessageId: 'kill-between-copies',
  victim: 'coordinator',
};

export const KILL_AFTER_DELIVERED_COPY_INTENT: KillPoint = {
  title: 'the higher id’s owner is killed between its copy’s intent and rows',
  variable: 'CHATRING_FAILPOINT_KILL_AFTER_DELIVERED_COPY_INTENT',
  clientMessageId: 'kill-after-delivered-copy-intent',
  victim: 'delivered copy owner',
};

export const KILL_AFTER_COORDINATOR_COPY_INTENT: KillPoint = {
  title: 'the coordinator is killed between its own copy’s intent and rows',
  variable: 'CHATRING_FAILPOINT_KILL_AFTER_COORDINATOR_COPY_INTENT',
  clientMessageId: 'kill-after-coordinator-copy-intent',
  victim: 'coordinator',
};

/**
 * How the dead slot is served again: `restart`, the launcher starts the killed member again (250 ms
 * later; it keeps its slot when it heartbeats within its old lease, as it does unless start-up is
 * slow, else the standby takes the slot); `standby`, no restarts, so a standby takes the slot once
 * the lease lapses (one standby per kill point).
 */
export type Recovery = 'restart' | 'standby';

/**
 * The app's deadline for the original attempt: once the victim is dead nothing can answer it until
 * a new process serves the slot (a restart: 250 ms, then start-up; a standby: the 3 s lease), so
 * the app gives up and retries, as an app would. With restarts, one quicker than this lets the
 * router's own retry answer the original attempt instead, never as new (201): the copy written
 * before the kill makes any later answer a duplicate.
 */
const ORIGINAL_ATTEMPT_TIMEOUT_MS = 1_000;
/** How long the retries may take: a failover, a Cassandra connect, on a busy 2-core box. */
const RETRY_WINDOW_MS = 60_000;

export async function killBetweenCommitsSuite(
  t: Test,
  boot: BootCluster,
  points: readonly KillPoint[],
): Promise<void> {
  for (const recovery of ['restart', 'standby'] as const)
    await t.test(`recovery: ${recovery}`, (t) => killPointsOnOneCluster(t, boot, points, recovery));
}

async function killPointsOnOneCluster(
  t: Test,
  boot: BootCluster,
  points: readonly KillPoint[],
  recovery: Recovery,
): Promise<void> {
  // Every member gets every failpoint: whoever commits the message at that point dies, and the
  // processes that take over (restarted with the same environment, or the standby) must not fire.
  const cluster = await boot(t, {
    nodes: 3,
    standbys: recovery === 'restart' ? 1 : points.length,
    restartMembers: recovery === 'restart',
    env: Object.fromEntries(points.map((point) => [point.variable, point.clientMessageId])),
  });
  const api = new ApiClient(cluster.url);
  const impatient = new ApiClient(cluster.url, { timeoutMs: ORIGINAL_ATTEMPT_TIMEOUT_MS });
  t.teardown(async () => {
    await api.close();
    await impatient.close();
  });

  for (const point of points) {
    await t.test(point.title, async (t) => {
      await settled(cluster);
      // alice < bob: alice's owner coordinates, bob's owner writes the delivered copy first.
      const { alice, bob, coordinator, deliveredOwner } = await pairOnTwoNodes(cluster);
      const conversationId = conversationIdOf(alice, bob);
      const victim = point.victim === 'coordinator' ? coordinator : deliveredOwner;
      const survivor = point.victim === 'coordinator' ? deliveredOwner : coordinator;
      const victimPid = await cluster.pidOf(victim);
      const survivorPid = await cluster.pidOf(survivor);
      const send = (client: ApiClient) =>
        client.send(alice, bob, `killed at ${point.variable}`, point.clientMessageId);

      const startedAt = Date.now();
      const original = await send(impatient);
      await eventually(`${victim} (pid ${victimPid}) to be killed by the failpoint`, async () =>
        isAlive(victimPid) ? undefined : true,
      );
      t.ok(isAlive(survivorPid), `${survivor}, the other owner, still runs`);
      t.not(original.status, 201, 'the original attempt is never acknowledged as new');
      if (recovery === 'standby')
        t.equal(original.status, 0, 'the app saw no answer: the slot waits for the lease');
      if (original.status === 200)
        t.equal(original.body.duplicate, true, 'an answer after the kill is a duplicate');

      let attempts = 0;
      const retry = await eventually(
        'the retry of the same send to succeed',
        async () => {
          attempts += 1;
          const answer = await send(api);
          return answer.status >= 200 && answer.status < 300 ? answer : undefined;
        },
        RETRY_WINDOW_MS,
      );
      const recoveredMs = Date.now() - startedAt;
      t.equal(retry.status, 200, 'the retry completes the message, not a new one');
      t.equal(retry.body.duplicate, true);
      const servedBy = (await cluster.ownerOf(point.victim === 'coordinator' ? alice : bob)).nodeId;
      if (recovery === 'standby') t.not(servedBy, victim, 'a standby holds the dead slot');

      const [aliceCopies, bobCopies] = await Promise.all(
        [alice, bob].map(async (user) =>
          (await messagesOf(api, user, conversationId)).filter(
            (m) => m.clientMessageId === point.clientMessageId,
          ),
        ),
      );
      t.equal(aliceCopies?.length, 1, "exactly one copy in alice's mailbox (the coordinator's)");
      t.equal(bobCopies?.length, 1, "exactly one copy in bob's mailbox (the delivered one)");
      const [aliceCopy, bobCopy] = [aliceCopies?.[0], bobCopies?.[0]];
      t.same(aliceCopy, bobCopy, 'both copies: the same messageId and sentAt');
      t.same(retry.body.message, aliceCopy, "the retry answers the stored message's id and time");
      if (original.status === 200) t.same(original.body.message, aliceCopy);

      const later = await api.send(alice, bob, 'after the kill');
      t.equal(later.status, 201, 'a later send in the conversation');
      t.ok(later.body.message.sentAt > (aliceCopy?.sentAt ?? Infinity), 'orders after it');
      for (const user of [alice, bob])
        t.same(
          (await messagesOf(api, user, conversationId)).map((m) => m.messageId),
          [later.body.message.messageId, aliceCopy?.messageId],
          `${user}'s conversation: the later message, then the killed send's, nothing else`,
        );

      t.comment(
        `${victim} killed; original attempt: ${describe(original)}; the retry succeeded after ${recoveredMs} ms and ${attempts} attempt(s), served by ${servedBy === victim ? `${victim} restarted` : `${servedBy} (took the slot)`}`,
      );
    });
  }
}

/** Two new users owned by two different serving nodes, alice < bob. */
async function pairOnTwoNodes(cluster: TestCluster): Promise<{
  alice: string;
  bob: string;
  coordinator: string;
  deliveredOwner: string;
}> {
  for (let tries = 0; tries < 100; tries += 1) {
    const [alice, bob] = orderedPair(uniqueUser('alice'), uniqueUser('bob'));
    const [coordinator, deliveredOwner] = await Promise.all(
      [alice, bob].map(async (user) => (await cluster.ownerOf(user)).nodeId),
    );
    if (coordinator !== undefined && deliveredOwner !== undefined && coordinator !== deliveredOwner)
      return { alice, bob, coordinator, deliveredOwner };
  }
  throw new Error('no pair of users on two different nodes in 100 tries');
}

/**
 * Waits until the cluster is whole again after a kill: every slot's node and every standby
 * heartbeats from a live process (the status keeps a dead process's pid and calls it alive until
 * its lease lapses or it is restarted), a standby is free to take the next dead slot, and the router
 * routes by the control plane's epoch. A killed member that was not restarted stays `dead` outside
 * the ring; it does not count.
 */
async function settled(cluster: TestCluster): Promise<void> {
  await eventually(
    'every member of the ring alive, a standby free, the router on the current ring',
    async () => {
      const status = await cluster.status();
      const members = new Set([...status.slots.map((s) => s.nodeId), ...status.standbys]);
      const whole =
        status.standbys.length > 0 &&
        status.nodes
          .filter((node) => members.has(node.nodeId))
          .every(
            (node) =>
              (node.state === 'serving' || node.state === 'standby') &&
              node.pid !== undefined &&
              isAlive(node.pid),
          );
      const routed = await cluster.ownerOf(uniqueUser('probe'));
      return whole && routed.epoch === status.epoch ? true : undefined;
    },
    RETRY_WINDOW_MS,
  );
}

async function messagesOf(
  api: ApiClient,
  userId: string,
  conversationId: string,
): Promise<Message[]> {
  const answer = await api.messages(userId, conversationId, '?pageSize=200');
  if (answer.status !== 200)
    throw new Error(`reading ${userId}'s messages answered ${answer.status} ${answer.errorCode}`);
  return answer.body.messages;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function describe(answer: ApiResponse<SendMessageResponse>): string {
  return answer.status === 0 ? `no answer (${answer.errorCode})` : `${answer.status}`;
}
