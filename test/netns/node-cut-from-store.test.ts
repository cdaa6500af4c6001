/**
 * A cache node cut from the store (Apache Cassandra) but not from the router, the other nodes or
 * the control plane: every packet between node-1's host and the store's address is dropped, both
 * ways, so its store requests hang until the store's own deadlines (the defaults: 3 s per
 * operation, 2.5 s per attempt) end them.
 *
 * ARCHITECTURE.md ("Degraded modes", "Partitions") says: writes answer `503 STORE_UNAVAILABLE`
 * once the store's timeouts expire, reads of cached users go on, the lease is unaffected, and the
 * rest of the cluster is unaffected; "Failure in the middle" adds that a store error drops the
 * user's cached state (the write may have landed), so that user's next read needs the store.
 * Checked, with users chosen so that each shape of send is covered (node-1 coordinating with the
 * other copy on node-2, node-2 coordinating with the other copy on node-1, both copies on node-1):
 * - each send involving node-1's users answers 503 STORE_UNAVAILABLE (retryable) well within the
 *   router's attempt timeout, so the node's store deadline, not the router's timeout and retry
 *   budget, decides: the first attempt and a retry during the cut alike (timeouts nest; with the
 *   earlier defaults, a 10 s store deadline under a 5 s router attempt, the same cut answered
 *   OWNER_UNAVAILABLE and USER_BUSY after 5 to 15 s: this test failed that way);
 * - a user node-1 has cached and that no failed write touched is read from memory all through the
 *   cut (conversation and conversation list: 200, exactly what was there before), and so is a
 *   coordinator whose own copy was never tried because the other copy failed first;
 * - a user node-1 has not cached, and a user whose commit just failed, cannot be read: 503
 *   STORE_UNAVAILABLE, fast, not a hang;
 * - two users both on node-2 keep sending and reading (every send 201);
 * - node-1 keeps its slot: the ring's epoch does not move, and node-1 serves on after the heal;
 * - healed, every failed send retried with its clientMessageId is acknowledged exactly once (201,
 *   or 200 duplicate where one copy had landed), a further retry is the same duplicate, and both
 *   mailboxes of every pair hold exactly the acknowledged messages, once each, in order.
 */
import t from 'tap';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { conversationIdOf, type Message } from '../../protocol/index.js';
import { DEFAULT_OWNER_CLIENT_OPTIONS } from '../../transport/index.js';
import {
  ApiClient,
  findHistoryViolations,
  readMailboxCopies,
  type AcknowledgedSend,
} from '../../harness/index.js';
import { startMultiHostCluster } from '../helpers/multi-host-cluster.js';
import { networkNamespacesUnavailable } from '../helpers/network-namespaces.js';
import { isRetryableCode } from '../helpers/retryable.js';

/**
 * A node answer slower than this makes the router give up on the attempt and retry it until its
 * budget ends (OWNER_UNAVAILABLE): a STORE_UNAVAILABLE must come back well before.
 */
const ROUTER_ATTEMPT_TIMEOUT_MS = DEFAULT_OWNER_CLIENT_OPTIONS.attemptTimeoutMs;
/** Healed, the driver reconnects (its backoff grew during the cut): bounded, not timed. */
const RECOVERY_DEADLINE_MS = 30_000;

interface Outcome {
  status: number;
  code: string | undefined;
  ms: number;
}

interface PendingSend {
  pair: string;
  from: string;
  to: string;
  content: string;
  clientMessageId: string;
  issuedAtMs: number;
  during: Outcome[];
}

const unavailable = networkNamespacesUnavailable();
if (unavailable !== undefined) t.plan(0, `skipped: ${unavailable}`);
else
  t.test(
    'a node cut from the store: sends fail fast and retryably, cached reads go on',
    async (t) => {
      // The store's default deadlines: what a cut means for an operator who set nothing.
      const cluster = await startMultiHostCluster(t, 'netns_store_cut');
      const { network } = cluster;
      const api = new ApiClient(cluster.routerUrl, { bearerToken: cluster.appToken });
      t.teardown(() => api.close());
      // Ids are ordered as strings: `m…` (node-1) sorts between `a…` and `z…` (node-2), so the
      // owner of the lower id (the coordinator) is chosen by the prefixes; node-1's are sorted, so
      // that m3 coordinates its sends with m4.
      const [m0 = '', m1 = '', m2 = '', m3 = '', m4 = '', m5 = ''] = (
        await cluster.usersOwnedBy('node-1', 6, 'm')
      ).sort();
      const [a0 = '', a1 = ''] = await cluster.usersOwnedBy('node-2', 2, 'a');
      const [z0 = '', z1 = '', z2 = ''] = await cluster.usersOwnedBy('node-2', 3, 'z');
      const pairs: Record<string, [string, string]> = {
        cached: [m0, z0], // only read during the cut
        'node-1 coordinates': [m1, z1], // z1's copy is written, m1's fails: a half-sent message
        'node-2 coordinates': [a0, m2], // m2's copy (written first) fails
        'both on node-1': [m3, m4], // m4's copy fails; m3's is never tried
        'both on node-2': [a1, z2], // keeps sending
      };
      const acknowledged: AcknowledgedSend[] = [];
      const sendOnce = async (send: Omit<PendingSend, 'during'>) => {
        const startedAt = performance.now();
        const response = await api.send(send.from, send.to, send.content, send.clientMessageId);
        const outcome = {
          status: response.status,
          code: response.errorCode,
          ms: Math.round(performance.now() - startedAt),
        };
        if (response.status === 200 || response.status === 201)
          acknowledged.push({
            message: response.body.message,
            issuedAtMs: send.issuedAtMs,
            acknowledgedAtMs: Date.now(),
          });
        return { response, outcome };
      };
      const newSend = (pair: string, from: string, to: string, content: string) => ({
        pair,
        from,
        to,
        content,
        clientMessageId: randomUUID(),
        issuedAtMs: Date.now(),
      });

      // Warm-up: two sends per pair, then both participants read: node-1 caches its users.
      for (const [name, [x, y]] of Object.entries(pairs)) {
        for (const [from, to] of [
          [x, y],
          [y, x],
        ] as const) {
          const { outcome } = await sendOnce(newSend(name, from, to, `${name}: before the cut`));
          t.equal(outcome.status, 201, `${name}: a send before the cut is acknowledged`);
        }
        for (const user of [x, y])
          t.equal((await api.messages(user, conversationIdOf(x, y))).status, 200);
      }
      const cachedConversation = conversationIdOf(m0, z0);
      const cachedBefore = await api.messages(m0, cachedConversation);
      const cachedListBefore = await api.conversations(m0);
      const stillCachedBefore = await api.messages(m3, conversationIdOf(m3, m4));
      t.equal(cachedListBefore.status, 200);
      const statusBefore = await cluster.status();
      const node1 = cluster.member('node-1');
      const node1Slots = statusBefore.slots.filter((slot) => slot.nodeId === 'node-1');
      t.equal(node1Slots.length, 1, 'node-1 serves a slot before the cut');

      network.cut(node1.host, cluster.storeHost);
      const cutAt = performance.now();
      let cutOver = false;

      // All through the cut: the cached user's reads (conversation and list), and the pair on
      // node-2 sending and reading back.
      const cachedReads: Outcome[] = [];
      const cachedReadsWrong: unknown[] = [];
      const readCached = (async () => {
        while (!cutOver) {
          const startedAt = performance.now();
          const [read, list] = await Promise.all([
            api.messages(m0, cachedConversation),
            api.conversations(m0),
          ]);
          const ms = Math.round(performance.now() - startedAt);
          for (const [answer, before] of [
            [read, cachedBefore],
            [list, cachedListBefore],
          ] as const) {
            cachedReads.push({ status: answer.status, code: answer.errorCode, ms });
            if (
              answer.status !== 200 ||
              JSON.stringify(answer.body) !== JSON.stringify(before.body)
            )
              cachedReadsWrong.push({ status: answer.status, body: answer.body });
          }
          await sleep(50);
        }
      })();
      const node2Sends: Outcome[] = [];
      const node2Loop = (async () => {
        for (let i = 0; !cutOver; i += 1) {
          const [x, y] = pairs['both on node-2'] ?? ['', ''];
          const [from, to] = i % 2 === 0 ? [x, y] : [y, x];
          const { outcome } = await sendOnce(
            newSend('both on node-2', from, to, `both on node-2: during the cut ${i}`),
          );
          node2Sends.push(outcome);
        }
      })();

      // One send per pair involving node-1; then a read of the node-1 user whose copy's commit
      // failed (its cached state dropped), and of a node-1 user whose own copy was never tried (the
      // coordinator, when the other copy failed first: still cached); then a retry of the send with
      // the same clientMessageId.
      const affected = [
        { pair: 'node-1 coordinates', failed: m1 },
        { pair: 'node-2 coordinates', failed: m2 },
        { pair: 'both on node-1', failed: m4, stillCached: m3 },
      ];
      const failedReads: (Outcome & { user: string })[] = [];
      const stillCachedReads: unknown[] = [];
      const pending = await Promise.all(
        affected.map(async ({ pair, failed, stillCached }) => {
          const [x = '', y = ''] = pairs[pair] ?? [];
          const send: PendingSend = {
            ...newSend(pair, x, y, `${pair}: during the cut`),
            during: [],
          };
          send.during.push((await sendOnce(send)).outcome);
          const startedAt = performance.now();
          const read = await api.messages(failed, conversationIdOf(x, y));
          failedReads.push({
            user: failed,
            status: read.status,
            code: read.errorCode,
            ms: Math.round(performance.now() - startedAt),
          });
          if (stillCached !== undefined) {
            const cachedRead = await api.messages(stillCached, conversationIdOf(x, y));
            if (JSON.stringify(cachedRead.body) !== JSON.stringify(stillCachedBefore.body))
              stillCachedReads.push({ status: cachedRead.status, body: cachedRead.body });
          }
          send.during.push((await sendOnce(send)).outcome);
          return send;
        }),
      );
      const uncachedStartedAt = performance.now();
      const uncached = await api.messages(m5, conversationIdOf(m5, z0));
      const uncachedMs = Math.round(performance.now() - uncachedStartedAt);
      const statusDuring = await cluster.status();
      const cutMs = Math.round(performance.now() - cutAt);
      cutOver = true;
      await Promise.all([readCached, node2Loop]);

      const attempts = pending.flatMap((send) =>
        send.during.map((a, i) => ({
          ...a,
          pair: send.pair,
          attempt: i === 0 ? 'first' : 'retry',
        })),
      );
      t.comment(
        `during the cut (${cutMs} ms), sends involving node-1: ` +
          attempts
            .map((a) => `${a.pair} (${a.attempt}) ${a.status} ${a.code} in ${a.ms} ms`)
            .join('; '),
      );
      t.same(
        attempts.filter((a) => a.status !== 503 || a.code !== 'STORE_UNAVAILABLE'),
        [],
        'every send involving node-1 answered 503 STORE_UNAVAILABLE, first attempt and retry',
      );
      t.ok(
        attempts.every((a) => a.ms < ROUTER_ATTEMPT_TIMEOUT_MS),
        `each within the router's attempt timeout (${ROUTER_ATTEMPT_TIMEOUT_MS} ms): slowest ${Math.max(...attempts.map((a) => a.ms))} ms`,
      );
      t.comment(
        `reads needing the store: after a failed commit ${failedReads.map((r) => `${r.status} ${r.code} in ${r.ms} ms`).join(', ')}; ` +
          `never cached ${uncached.status} ${uncached.errorCode} in ${uncachedMs} ms`,
      );
      t.same(
        failedReads.filter((r) => r.status !== 503 || r.code !== 'STORE_UNAVAILABLE'),
        [],
        'a user whose commit failed is no longer cached: its read needs the store, 503 STORE_UNAVAILABLE',
      );
      t.same(
        stillCachedReads,
        [],
        'a coordinator whose own copy was never tried is still cached: read from memory, unchanged',
      );
      t.equal(uncached.status, 503, 'a user node-1 has not cached cannot be read');
      t.equal(uncached.errorCode, 'STORE_UNAVAILABLE', 'retryably');
      t.ok(
        [...failedReads.map((r) => r.ms), uncachedMs].every((ms) => ms < ROUTER_ATTEMPT_TIMEOUT_MS),
        'and fast: no read that needs the store hangs',
      );
      t.comment(
        `cached user: ${cachedReads.length} reads, slowest ${Math.max(...cachedReads.map((r) => r.ms))} ms`,
      );
      t.ok(cachedReads.length >= 10, `the cached user was read all through the cut`);
      t.same(cachedReadsWrong, [], 'every read of the cached user: 200, what was there before');
      t.comment(
        `node-2 pair: ${node2Sends.length} sends, slowest ${Math.max(...node2Sends.map((s) => s.ms))} ms`,
      );
      t.ok(node2Sends.length >= 5, 'the pair on node-2 kept sending');
      t.same(
        node2Sends.filter((s) => s.status !== 201),
        [],
        'every send between two node-2 users was acknowledged',
      );
      t.equal(statusDuring.epoch, statusBefore.epoch, 'the ring did not move during the cut');
      t.same(
        statusDuring.slots.filter((slot) => slot.nodeId === 'node-1'),
        node1Slots,
        'node-1 kept its slot (its lease does not depend on the store)',
      );

      network.heal(node1.host, cluster.storeHost);
      const healedAt = performance.now();
      // Before any retry: which copies of each failed send exist now? A commit the driver gave up
      // on may still reach the store once the link heals (TCP retransmits what was dropped), and a
      // coordinator repairs its own missing copy in the background. For the record only: the
      // retries below must converge whatever this shows.
      await sleep(1_500);
      const landed = await Promise.all(
        pending.map(async (send) => {
          const where = await Promise.all(
            [send.from, send.to].map(async (user) => {
              const read = await api.messages(user, conversationIdOf(send.from, send.to));
              if (read.status !== 200) return `${read.status} ${read.errorCode}`;
              const found = read.body.messages.some(
                (m) => m.clientMessageId === send.clientMessageId,
              );
              return found ? 'copy' : 'none';
            }),
          );
          return `${send.pair}: sender ${where[0]}, recipient ${where[1]}`;
        }),
      );
      t.comment(`1.5 s after the heal, before any retry: ${landed.join('; ')}`);
      let firstAckMs: number | undefined;
      const afterHeal: Outcome[] = [];
      const acks: { send: PendingSend; status: number; message: Message }[] = [];
      for (const send of pending) {
        for (;;) {
          if (performance.now() - healedAt > RECOVERY_DEADLINE_MS)
            throw new Error(
              `${send.pair}: not acknowledged ${RECOVERY_DEADLINE_MS} ms after the heal: ${JSON.stringify(afterHeal.slice(-3))}`,
            );
          const { response, outcome } = await sendOnce(send);
          if (response.status === 200 || response.status === 201) {
            firstAckMs ??= Math.round(performance.now() - healedAt);
            acks.push({ send, status: response.status, message: response.body.message });
            break;
          }
          afterHeal.push(outcome);
          await sleep(200);
        }
      }
      t.comment(
        `healed: first acknowledged retry after ${firstAckMs} ms; ` +
          acks.map((a) => `${a.send.pair} → ${a.status}`).join(', ') +
          `; ${afterHeal.length} failed attempts on the way (${[...new Set(afterHeal.map((a) => `${a.status} ${a.code}`))].join(', ') || 'none'})`,
      );
      t.same(
        afterHeal.filter((a) => !isRetryableCode(a.code)),
        [],
        'any failure after the heal (the driver reconnecting) was retryable',
      );
      for (const { send, status, message } of acks) {
        t.ok(status === 201 || status === 200, `${send.pair}: the retried send is acknowledged`);
        const again = await api.send(send.from, send.to, send.content, send.clientMessageId);
        t.equal(again.status, 200, `${send.pair}: a further retry is a duplicate`);
        t.same(
          [again.body.message.messageId, again.body.message.sentAt, again.body.duplicate],
          [message.messageId, message.sentAt, true],
          `${send.pair}: the same message (id, sentAt)`,
        );
        const fresh = await sendOnce(
          newSend(send.pair, send.to, send.from, `${send.pair}: healed`),
        );
        t.equal(fresh.outcome.status, 201, `${send.pair}: a fresh send after the heal is 201`);
      }

      // Both mailboxes of every pair: exactly the acknowledged messages, each once, in order.
      const pairList = Object.values(pairs);
      const copies = await readMailboxCopies(api, acknowledged, pairList);
      t.same(
        findHistoryViolations(acknowledged, copies),
        [],
        `${copies.length} mailbox copies: nothing lost, nothing twice, strictly ordered`,
      );
      const ackedIds = new Set(acknowledged.map((a) => a.message.messageId));
      t.same(
        copies.flatMap((copy) => copy.messages.filter((m) => !ackedIds.has(m.messageId))),
        [],
        'no mailbox holds a message that was never acknowledged',
      );

      const statusAfter = await cluster.status();
      t.equal(statusAfter.epoch, statusBefore.epoch, 'the ring never moved');
      t.equal((await cluster.ownerOf(m0)).nodeId, 'node-1', 'node-1 still owns its users');
      t.equal(
        statusAfter.nodes.find((node) => node.nodeId === 'node-1')?.state,
        'serving',
        'node-1 is serving',
      );
    },
  );
