/**
 * Cassandra stopped mid-run: sends fail with a clear retryable error and nothing half-written
 * becomes visible; after Cassandra returns, retried sends complete exactly once.
 *
 * A real local cluster (router + 3 cache nodes as processes, no standby, no member restarts) runs
 * on a Cassandra of this file's own (test/helpers/dedicated-cassandra.ts: its own run dir, so
 * stopping it cannot disturb other test files on the shared node). Short store deadlines
 * (requestTimeoutMs/attemptTimeoutMs) make failures come back fast.
 *
 *  1. Warm-up: a few sends per pair of users (pairs across nodes and within one node), all 201;
 *     both mailboxes read once so the nodes cache them.
 *  2. Mid-run: every pair sends sequentially, like a client's outbox (nothing newer goes out before
 *     the last send is acknowledged), and Cassandra is really stopped (the script's `stop`, SIGTERM)
 *     while those sends run. Each pair's loop ends at its first failed send.
 *  3. Outage: fresh sends in both directions, and a retry of each pair's failed send, must answer
 *     503 with a retryable code (STORE_UNAVAILABLE, or OWNER_UNAVAILABLE) and a message. Reads are
 *     recorded, not required to fail: a node may answer from cache, which only holds durable data
 *     (checked at the end: whatever a read showed during the outage is in the final mailbox).
 *  4. Cassandra really started again on the same run dir (data kept). Every failed send is retried
 *     with the SAME clientMessageId, per pair in its original order, until acknowledged (a bounded
 *     loop with a deadline; no timing is asserted). The first success may be 201 or a 200 duplicate
 *     (if the first attempt had landed, wholly or in one mailbox).
 *  5. Then: a further retry of every acknowledged send (before and after the outage) is a 200
 *     duplicate with the same messageId and sentAt; both mailboxes of every pair hold exactly the
 *     acknowledged messages, each once, in acknowledgement order, with strictly increasing sentAt,
 *     and identical copies (so nothing half-written is visible once the retries are done); fresh
 *     sends are 201 again; and no cache node crashed or was replaced.
 *
 * Caveat (see the helper): the script reuses its last ports on restart only when they are still
 * free, so the cluster reaches Cassandra through a forwarder in the test process on
 * a fixed port. The forwarder stops listening for the outage (connections are refused, as by a
 * stopped node) and resumes on the same port towards the restarted node's new CQL port. The
 * Cassandra process itself is really stopped and started.
 */
import t from 'tap';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { conversationIdOf, type Message, type SendMessageResponse } from '../../protocol/index.js';
import {
  ApiClient,
  eventually,
  readConversation,
  uniqueUser,
  type ApiResponse,
} from '../../harness/index.js';
import { startDedicatedCassandra } from '../helpers/dedicated-cassandra.js';
import { bootCluster, type TestCluster } from '../helpers/local-cluster.js';

const RETRYABLE_CODES = ['STORE_UNAVAILABLE', 'OWNER_UNAVAILABLE'];
const WARM_UP_SENDS = 4;
const OUTAGE_SENDS = 2;
/** Bounds of the waiting loops: a failure to recover fails the test, it does not hang it. */
const RECOVERY_DEADLINE_MS = 120_000;
const MID_RUN_DEADLINE_MS = 30_000;

interface Attempt {
  phase: string;
  status: number;
  code: string;
  message: string;
  ms: number;
  /** The attempt began after the Cassandra process was gone. */
  whileDown: boolean;
}

interface Send {
  from: string;
  to: string;
  content: string;
  clientMessageId: string;
  attempts: Attempt[];
  /** The first acknowledgement, once there is one. */
  ack?: { status: number; message: Message };
}

interface Pair {
  name: string;
  lower: string;
  higher: string;
  conversationId: string;
  sends: Send[];
  /** Acknowledged messages in the order their acknowledgements came back. */
  acked: Message[];
}

interface ErrorBody {
  error?: { code?: unknown; message?: unknown };
}

const isAck = (status: number) => status === 200 || status === 201;

t.test('Cassandra stopped mid-run, then started again', async (t) => {
  const cassandra = await startDedicatedCassandra(t);
  const storeOptions = {
    contactPoints: [cassandra.contactPoint],
    localDataCenter: cassandra.localDataCenter,
    keyspace: 'chatring_outage',
    requestTimeoutMs: 3_000,
    attemptTimeoutMs: 1_500,
    connectTimeoutMs: 1_000,
  };
  const cluster = await bootCluster(t, {
    nodes: 3,
    standbys: 0,
    restartMembers: false,
    storeArgs: ['--store', 'cassandra', '--cassandra-options', JSON.stringify(storeOptions)],
  });
  const api = new ApiClient(cluster.url);
  t.teardown(() => api.close());

  // Each node opens the store (and its schema) as it starts; wait until all three serve.
  const membersBefore = await eventually(
    'all three cache nodes serving',
    async () => {
      const now = await members(cluster);
      return now.length === 3 && now.every((m) => m.state === 'serving') ? now : undefined;
    },
    120_000,
  );
  const pairs = await choosePairs(cluster);
  let down = false;

  const newSend = (pair: Pair): Send => {
    const n = pair.sends.length;
    const [from, to] = n % 2 === 0 ? [pair.lower, pair.higher] : [pair.higher, pair.lower];
    const send: Send = {
      from,
      to,
      content: `${pair.name} #${n}`,
      clientMessageId: randomUUID(),
      attempts: [],
    };
    pair.sends.push(send);
    return send;
  };

  const attempt = async (
    pair: Pair,
    send: Send,
    phase: string,
  ): Promise<ApiResponse<SendMessageResponse> | undefined> => {
    const whileDown = down;
    const t0 = performance.now();
    const response = await api
      .send(send.from, send.to, send.content, send.clientMessageId)
      .catch(() => undefined);
    const error = (response?.body as ErrorBody | undefined)?.error;
    send.attempts.push({
      phase,
      status: response?.status ?? 0,
      code: typeof error?.code === 'string' ? error.code : response === undefined ? 'NETWORK' : '',
      message: typeof error?.message === 'string' ? error.message : '',
      ms: Math.round(performance.now() - t0),
      whileDown,
    });
    if (response !== undefined && isAck(response.status) && send.ack === undefined) {
      send.ack = { status: response.status, message: response.body.message };
      pair.acked.push(response.body.message);
    }
    return response;
  };

  // 1. Warm-up.
  await Promise.all(
    pairs.map(async (pair) => {
      for (let i = 0; i < WARM_UP_SENDS; i += 1) {
        const send = newSend(pair);
        const response = await attempt(pair, send, 'warm-up');
        if (response?.status !== 201)
          throw new Error(`warm-up send failed: ${JSON.stringify(send.attempts)}`);
      }
      for (const user of [pair.lower, pair.higher]) {
        const read = await api.messages(user, pair.conversationId, '?pageSize=200');
        if (read.status !== 200 || read.body.messages.length !== WARM_UP_SENDS)
          throw new Error(`warm-up read of ${user} failed: ${JSON.stringify(read)}`);
      }
    }),
  );
  t.pass(`warm-up: ${pairs.length} pairs × ${WARM_UP_SENDS} sends acknowledged and read`);

  // 2. Stop Cassandra while every pair is sending.
  const midRunAcks = new Map(pairs.map((pair) => [pair, 0]));
  const loops = pairs.map(async (pair) => {
    for (;;) {
      const send = newSend(pair);
      const response = await attempt(pair, send, 'mid-run');
      if (response === undefined || !isAck(response.status)) return;
      midRunAcks.set(pair, (midRunAcks.get(pair) ?? 0) + 1);
      // Once Cassandra is gone one more send is enough to see it fail (or wrongly succeed).
      if (send.attempts[0]?.whileDown === true) return;
    }
  });
  const midRunDeadline = Date.now() + MID_RUN_DEADLINE_MS;
  while (pairs.some((pair) => (midRunAcks.get(pair) ?? 0) < 2)) {
    if (Date.now() > midRunDeadline) throw new Error('the mid-run sends did not get going');
    await sleep(20);
  }
  const stopped = await cassandra.stop();
  down = true;
  await Promise.all(loops);
  const midRunSends = pairs.flatMap((pair) =>
    pair.sends.slice(WARM_UP_SENDS).map((send) => ({ pair, send })),
  );
  t.same(
    midRunSends.filter(({ send }) => send.attempts[0]?.whileDown === true && send.ack),
    [],
    'no send that began after Cassandra was gone was acknowledged',
  );
  t.ok(
    pairs.every((pair) => pair.sends.at(-1)?.ack === undefined),
    'every pair’s mid-run loop ended with a failed send',
  );
  const midRunFailures = pairs.flatMap((pair) => pair.sends.at(-1)?.attempts ?? []);
  t.comment(
    `Cassandra stopped in ${stopped.ms} ms (${stopped.scriptLog.trim()}); mid-run acks per pair: ` +
      `${pairs.map((pair) => midRunAcks.get(pair)).join(', ')}; the in-flight sends failed after ` +
      `${midRunFailures.map((a) => `${a.ms} ms (${a.status} ${a.code})`).join(', ')}; ` +
      `e.g. "${midRunFailures[0]?.message}"`,
  );

  // 3. Outage: retries and fresh sends fail retryably; reads are recorded.
  const outageFailures: Attempt[] = [];
  await Promise.all(
    pairs.map(async (pair) => {
      const pending = pair.sends.filter((send) => send.ack === undefined);
      for (const send of [
        ...pending,
        ...Array.from({ length: OUTAGE_SENDS }, () => newSend(pair)),
      ]) {
        await attempt(pair, send, 'outage');
        const last = send.attempts.at(-1);
        if (last !== undefined) outageFailures.push(last);
      }
    }),
  );
  for (const failure of outageFailures) {
    t.equal(failure.status, 503, 'a send while Cassandra is down answers 503');
    t.ok(RETRYABLE_CODES.includes(failure.code), `with a retryable code (${failure.code})`);
    t.ok(failure.message.length > 0, 'and a message');
  }
  const outageReads: { user: string; status: number; code: string; messages: Message[] }[] = [];
  for (const pair of pairs) {
    for (const user of [pair.lower, pair.higher]) {
      const read = await api.messages(user, pair.conversationId, '?pageSize=200');
      const error = (read.body as ErrorBody | undefined)?.error;
      outageReads.push({
        user,
        status: read.status,
        code: typeof error?.code === 'string' ? error.code : '',
        messages: read.status === 200 ? read.body.messages : [],
      });
    }
  }
  for (const read of outageReads.filter((r) => r.status !== 200)) {
    t.equal(read.status, 503, `a read of ${read.user} that is not served from cache is a 503`);
    t.ok(RETRYABLE_CODES.includes(read.code), `with a retryable code (${read.code})`);
  }
  const outageMs = outageFailures.map((failure) => failure.ms);
  // A message the sender has no acknowledgement for yet, shown by a read: durable in that mailbox
  // (its owner committed it), while the send's other copy may still be missing until the retry.
  const unackedSeen = outageReads.flatMap((read) =>
    read.messages
      .filter((m) => !pairs.some((pair) => pair.acked.some((a) => a.messageId === m.messageId)))
      .map((m) => {
        const role = m.senderId === read.user ? 'sender' : 'recipient';
        const order =
          read.user < (role === 'sender' ? m.recipientId : m.senderId) ? 'lower' : 'higher';
        const otherRead = outageReads.find(
          (r) => r.user === (role === 'sender' ? m.recipientId : m.senderId),
        );
        const other =
          otherRead?.status !== 200
            ? `other copy unknown (${otherRead?.status} ${otherRead?.code})`
            : otherRead.messages.some((o) => o.messageId === m.messageId)
              ? 'other copy there too'
              : 'other copy missing';
        return `${role}'s (${order} id) mailbox, ${other}`;
      }),
  );
  t.comment(
    `outage: ${outageFailures.length} sends failed in ${Math.min(...outageMs)}–${Math.max(...outageMs)} ms ` +
      `(codes ${[...new Set(outageFailures.map((f) => f.code))].join(', ')}); reads: ` +
      `${outageReads.filter((r) => r.status === 200).length} served from cache, ` +
      `${outageReads.filter((r) => r.status !== 200).length} refused; ` +
      `${unackedSeen.length} message(s) not yet acknowledged were shown` +
      (unackedSeen.length > 0 ? `: ${unackedSeen.join('; ')}` : ''),
  );

  // 4. Cassandra back; retry every failed send with its clientMessageId until acknowledged.
  const restarted = await cassandra.start();
  down = false;
  const restartedAt = performance.now();
  let firstSuccessMs: number | undefined;
  await Promise.all(
    pairs.map(async (pair) => {
      const deadline = Date.now() + RECOVERY_DEADLINE_MS;
      for (const send of pair.sends.filter((s) => s.ack === undefined)) {
        while (send.ack === undefined) {
          if (Date.now() > deadline)
            throw new Error(
              `send ${send.clientMessageId} not acknowledged after the restart: ${JSON.stringify(send.attempts.slice(-3))}`,
            );
          const response = await attempt(pair, send, 'after-restart');
          if (response !== undefined && isAck(response.status))
            firstSuccessMs ??= Math.round(performance.now() - restartedAt);
          else await sleep(200);
        }
      }
    }),
  );
  const retried = pairs.flatMap((pair) =>
    pair.sends.filter((send) => send.attempts.some((a) => !isAck(a.status))),
  );
  const afterRestartFailures = retried.flatMap((send) =>
    send.attempts.filter((a) => a.phase === 'after-restart' && !isAck(a.status)),
  );
  t.comment(
    `Cassandra restarted in ${restarted.ms} ms (CQL port ${restarted.nativePort}); first acknowledged ` +
      `retry ${firstSuccessMs} ms later; ${retried.length} failed sends retried ` +
      `(${retried.filter((s) => s.ack?.status === 201).length} → 201, ` +
      `${retried.filter((s) => s.ack?.status === 200).length} → 200 duplicate), ` +
      `${afterRestartFailures.length} failed attempts after the restart ` +
      `(${[...new Set(afterRestartFailures.map((a) => `${a.status} ${a.code}`))].join(', ') || 'none'})`,
  );

  // 5. Every failure of the whole run was a retryable 503 with a message.
  const badFailures = pairs
    .flatMap((pair) => pair.sends.flatMap((send) => send.attempts))
    .filter((a) => !isAck(a.status))
    .filter((a) => a.status !== 503 || !RETRYABLE_CODES.includes(a.code) || a.message === '');
  t.same(
    badFailures,
    [],
    'every failed send attempt was a 503 with a retryable code and a message',
  );

  // A further retry of every acknowledged send is a duplicate with the same id and sentAt.
  for (const pair of pairs) {
    for (const send of pair.sends) {
      const again = await api.send(send.from, send.to, send.content, send.clientMessageId);
      if (
        again.status !== 200 ||
        again.body.duplicate !== true ||
        !sameMessage(again.body.message, send.ack?.message)
      ) {
        t.fail(`retry of ${send.clientMessageId} is not the same duplicate`, {
          again,
          ack: send.ack,
        });
      }
    }
  }
  t.pass('a further retry of every acknowledged send returned 200, duplicate, same id and sentAt');

  // Both mailboxes: exactly the acknowledged messages, once each, in acknowledgement order.
  for (const pair of pairs) {
    const copies: Message[][] = [];
    for (const owner of [pair.lower, pair.higher]) {
      const peer = owner === pair.lower ? pair.higher : pair.lower;
      const oldestFirst = (await readConversation(api, owner, peer)).reverse();
      copies.push(oldestFirst);
      t.same(
        oldestFirst.map((m) => m.messageId),
        pair.acked.map((m) => m.messageId),
        `${owner}: every acknowledged message exactly once, in order, nothing else`,
      );
      t.same(oldestFirst, pair.acked, `${owner}: stored as acknowledged (content, sentAt, ids)`);
      t.ok(
        oldestFirst.every((m, i) => i === 0 || m.sentAt > (oldestFirst[i - 1]?.sentAt ?? 0)),
        `${owner}: strictly increasing sentAt`,
      );
      for (const read of outageReads.filter((r) => r.user === owner)) {
        const missing = read.messages.filter((m) => !oldestFirst.some((s) => sameMessage(s, m)));
        t.same(missing, [], `${owner}: what a read showed during the outage is still there`);
      }
    }
    t.same(copies[0], copies[1], `${pair.name}: both mailboxes hold identical copies`);
  }

  // Service is back for new messages, and no node died or was replaced on the way.
  for (const pair of pairs) {
    const send = newSend(pair);
    const response = await attempt(pair, send, 'after-recovery');
    t.equal(response?.status, 201, `${pair.name}: a fresh send after the recovery is 201`);
  }
  t.same(await members(cluster), membersBefore, 'the same cache nodes serve, with the same pids');
});

/** Pairs of new users: three whose two users live on different nodes, one on a single node. */
async function choosePairs(cluster: TestCluster): Promise<Pair[]> {
  const crossNode: Pair[] = [];
  const sameNode: Pair[] = [];
  for (let i = 0; i < 100 && (crossNode.length < 3 || sameNode.length < 1); i += 1) {
    const [x, y] = [uniqueUser('out-a'), uniqueUser('out-b')];
    const [lower, higher] = x < y ? [x, y] : [y, x];
    const [lowerOwner, higherOwner] = await Promise.all([
      cluster.ownerOf(lower),
      cluster.ownerOf(higher),
    ]);
    const pair: Pair = {
      name: `pair ${crossNode.length + sameNode.length}`,
      lower,
      higher,
      conversationId: conversationIdOf(lower, higher),
      sends: [],
      acked: [],
    };
    if (lowerOwner.nodeId === undefined || higherOwner.nodeId === undefined)
      throw new Error(
        `no owner for ${lower} or ${higher}: ${JSON.stringify([lowerOwner, higherOwner])}`,
      );
    if (lowerOwner.nodeId !== higherOwner.nodeId) {
      if (crossNode.length < 3) crossNode.push(pair);
    } else if (sameNode.length < 1) sameNode.push(pair);
  }
  if (crossNode.length < 3 || sameNode.length < 1)
    throw new Error(
      `could not choose pairs (${crossNode.length} across nodes, ${sameNode.length} within one)`,
    );
  return [...crossNode, ...sameNode];
}

async function members(cluster: TestCluster) {
  const status = await cluster.status();
  return status.nodes
    .map((node) => ({ nodeId: node.nodeId, pid: node.pid, state: node.state }))
    .sort((a, b) => a.nodeId.localeCompare(b.nodeId));
}

function sameMessage(a: Message | undefined, b: Message | undefined): boolean {
  return a !== undefined && b !== undefined && a.messageId === b.messageId && a.sentAt === b.sentAt;
}
