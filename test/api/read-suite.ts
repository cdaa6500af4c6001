/**
 * Reading through a real local cluster: pagination without overlap or gap, conversations by last
 * activity, the timestamp delta, the gapless cursor (including a late delivery whose sentAt is
 * older than what the client saw), unread counts and mark-read.
 */
import type { Test } from 'tap';
import {
  PUBLIC_RING_PATH,
  conversationIdOf,
  type Message,
  type PublicRing,
} from '../../protocol/index.js';
import { ApiClient, eventually, uniqueUser } from '../../harness/index.js';
import type { BootCluster } from '../helpers/cluster-stores.js';

export async function readSuite(t: Test, boot: BootCluster): Promise<void> {
  // The coordinator of a send is the owner of the lower user id; this failpoint makes its own commit
  // of one message fail once, after the higher id's copy was written: a half-sent message. The
  // node's own background repair is pushed far out, so here the client's retry completes it.
  const LATE_CLIENT_ID = 'late-delivery-1';
  const cluster = await boot(t, {
    env: {
      CHATRING_FAILPOINT_COORDINATOR_COMMIT: LATE_CLIENT_ID,
      CHATRING_REPAIR_DELAY_MS: '600000',
    },
  });
  const api = new ApiClient(cluster.url);
  t.teardown(() => api.close());

  t.test(
    "GET /v1/ring: the epoch, the slots and each serving node's URL, as apps see them",
    async (t) => {
      // The ring still moves just after start (a standby registering its URL is an epoch), and
      // the router learns each epoch a moment after the control plane has it: compare one epoch.
      const [ring, inner] = await eventually(
        "the router to hold the control plane's epoch",
        async () => {
          const answer = await fetch(`${cluster.url}${PUBLIC_RING_PATH}`);
          t.equal(answer.status, 200);
          const [publicRing, innerRing] = [
            (await answer.json()) as PublicRing,
            await cluster.ring(),
          ];
          return publicRing.epoch === innerRing.epoch
            ? ([publicRing, innerRing] as const)
            : undefined;
        },
      );
      t.equal(ring.virtualNodesPerWeight, inner.virtualNodesPerWeight);
      t.same(ring.slots, inner.slots);
      for (const { nodeId } of ring.slots)
        t.equal(ring.nodes[nodeId]?.url, inner.nodes[nodeId]?.url, `${nodeId}'s URL`);
      t.notOk('pid' in (Object.values(ring.nodes)[0] ?? {}), 'no process details');
      t.same(
        Object.keys(ring.nodes).sort(),
        [...new Set(inner.slots.map((a) => a.nodeId))].sort(),
        'serving nodes only',
      );
    },
  );

  t.test('message pages: newest first, no overlap, no gap, past the cached window', async (t) => {
    const [alice, bob] = [uniqueUser('alice'), uniqueUser('bob')];
    const sent: string[] = [];
    for (let i = 0; i < 250; i += 1)
      sent.push((await api.send(alice, bob, `m${i}`)).body.message.messageId);
    const conversationId = conversationIdOf(alice, bob);
    for (const pageSize of [7, 50, 200]) {
      const seen: string[] = [];
      for (let page = 0; ; page += 1) {
        const response = await api.messages(
          bob,
          conversationId,
          `?page=${page}&pageSize=${pageSize}`,
        );
        t.equal(response.status, 200);
        t.equal(response.body.isDeltaUpdate, false);
        seen.push(...response.body.messages.map((m) => m.messageId));
        if (response.body.messages.length < pageSize) break;
      }
      t.same(seen, [...sent].reverse(), `pageSize ${pageSize}: every message once, newest first`);
    }
    const clamped = await api.messages(bob, conversationId, '?pageSize=1000');
    t.equal(clamped.body.messages.length, 200, 'pageSize is clamped to 200');
    const atLeastOne = await api.messages(bob, conversationId, '?pageSize=0');
    t.equal(atLeastOne.body.messages.length, 1, 'pageSize is clamped to 1');
    const defaults = await api.messages(bob, conversationId);
    t.equal(defaults.body.messages.length, 50, 'messages default to 50 a page');
  });

  t.test('conversations: most recent activity first, paged, clamped', async (t) => {
    const alice = uniqueUser('alice');
    const peers = Array.from({ length: 25 }, (_, i) => uniqueUser(`peer${i}`));
    for (const peer of peers) await api.send(peer, alice, `from ${peer}`);
    await api.send(alice, peers[3] ?? '', 'bump peer 3');
    const first = await api.conversations(alice);
    t.equal(first.body.conversations.length, 20, 'default page size 20');
    t.equal(
      first.body.conversations[0]?.conversationId,
      conversationIdOf(alice, peers[3] ?? ''),
      'the latest activity first',
    );
    t.equal(first.body.conversations[0]?.snippet, 'bump peer 3');
    const second = await api.conversations(alice, '?page=1');
    const all = [...first.body.conversations, ...second.body.conversations];
    t.equal(all.length, 25);
    t.equal(new Set(all.map((c) => c.conversationId)).size, 25, 'no overlap');
    const times = all.map((c) => c.lastUpdatedTimestamp);
    t.ok(
      times.every((time, i) => i === 0 || time <= (times[i - 1] ?? Infinity)),
      'ordered by last activity',
    );
    t.same(all[0]?.participants, [alice, peers[3]].sort(), 'participants');
  });

  t.test('delta by lastUpdatedTimestamp returns only what changed after T', async (t) => {
    const [alice, bob, carol] = [uniqueUser('alice'), uniqueUser('bob'), uniqueUser('carol')];
    await api.send(alice, bob, 'old');
    const seen = (await api.send(alice, carol, 'seen')).body.message;
    const newer = (await api.send(bob, alice, 'new')).body.message;
    const conversations = await api.conversations(alice, `?lastUpdatedTimestamp=${seen.sentAt}`);
    t.equal(conversations.body.isDeltaUpdate, true);
    t.same(
      conversations.body.conversations.map((c) => c.conversationId),
      [newer.conversationId],
    );
    const messages = await api.messages(
      alice,
      newer.conversationId,
      `?lastUpdatedTimestamp=${newer.sentAt - 1}`,
    );
    t.equal(messages.body.isDeltaUpdate, true);
    t.same(
      messages.body.messages.map((m) => m.messageId),
      [newer.messageId],
    );
    const nothing = await api.messages(
      alice,
      newer.conversationId,
      `?lastUpdatedTimestamp=${newer.sentAt}`,
    );
    t.same(nothing.body.messages, []);
  });

  t.test(
    'the cursor is gapless: it returns a late delivery whose sentAt is older than what was seen',
    async (t) => {
      // Make the lower id the sender so its node coordinates, and its own copy is the one that fails.
      const alice = `a-${uniqueUser('x')}`;
      const bob = `b-${uniqueUser('y')}`;
      const conversationId = conversationIdOf(alice, bob);

      const halfSent = await api.send(alice, bob, 'I was late', LATE_CLIENT_ID);
      t.equal(halfSent.status, 503, 'the send failed: not acknowledged');
      t.equal(
        (halfSent.body as unknown as { error: { code: string } }).error.code,
        'STORE_UNAVAILABLE',
      );
      const bobSees = await api.messages(bob, conversationId);
      t.equal(
        bobSees.body.messages.length,
        1,
        "bob's copy was written before the coordinator's failed",
      );
      const lateSentAt = bobSees.body.messages[0]?.sentAt ?? 0;

      const synced = await api.messages(alice, conversationId);
      t.same(synced.body.messages, [], "alice's mailbox does not have it yet");
      const later = (await api.send(alice, bob, 'after')).body.message;
      const delta = await api.messages(alice, conversationId, `?cursor=${synced.body.cursor}`);
      t.equal(delta.body.isDeltaUpdate, true);
      t.same(
        delta.body.messages.map((m) => m.messageId),
        [later.messageId],
      );

      const retry = await api.send(alice, bob, 'I was late', LATE_CLIENT_ID);
      t.equal(retry.status, 200, 'the retry completes the half-sent message');
      t.equal(retry.body.duplicate, true);
      t.equal(retry.body.message.sentAt, lateSentAt, 'with the sentAt fixed the first time');
      t.ok(retry.body.message.sentAt < later.sentAt, 'older than a message alice already saw');

      const byTimestamp = await api.messages(
        alice,
        conversationId,
        `?lastUpdatedTimestamp=${later.sentAt}`,
      );
      t.same(byTimestamp.body.messages, [], 'a timestamp delta cannot see the late delivery');
      const byCursor = await api.messages(alice, conversationId, `?cursor=${delta.body.cursor}`);
      t.same(
        byCursor.body.messages.map((m) => m.messageId),
        [retry.body.message.messageId],
        'the cursor does',
      );
      const caughtUp = await api.messages(alice, conversationId, `?cursor=${byCursor.body.cursor}`);
      t.same(caughtUp.body.messages, [], 'and then nothing more');
      for (const owner of [alice, bob]) {
        const all = (await api.messages(owner, conversationId)).body.messages;
        t.same(
          all.map((m: Message) => m.clientMessageId).sort(),
          [LATE_CLIENT_ID, later.clientMessageId].sort(),
          `${owner} has each once`,
        );
      }
    },
  );

  t.test(
    'cursor paging: a full page stops at its last change, later pages continue without gap',
    async (t) => {
      const [alice, bob] = [uniqueUser('alice'), uniqueUser('bob')];
      const conversationId = conversationIdOf(alice, bob);
      const start = await api.messages(alice, conversationId);
      const listStart = await api.conversations(alice);
      const sent: string[] = [];
      for (let i = 0; i < 12; i += 1)
        sent.push((await api.send(bob, alice, `c${i}`)).body.message.messageId);
      const seen: string[] = [];
      let cursor = start.body.cursor;
      for (let round = 0; round < 10; round += 1) {
        const page = await api.messages(alice, conversationId, `?cursor=${cursor}&pageSize=5`);
        seen.push(...page.body.messages.map((m) => m.messageId).reverse());
        cursor = page.body.cursor;
        if (page.body.messages.length < 5) break;
      }
      t.same(seen, sent, 'every message once, in commit order across pages');
      const conversations = await api.conversations(alice, `?cursor=${listStart.body.cursor}`);
      t.same(
        conversations.body.conversations.map((c) => c.conversationId),
        [conversationId],
      );
      const wrongList = await api.conversations(alice, `?cursor=${start.body.cursor}`);
      t.equal(wrongList.status, 400, "a conversation's cursor is refused on the conversation list");
      const foreign = await api.messages(bob, conversationId, `?cursor=${cursor}`);
      t.equal(foreign.status, 400, "another user's cursor is refused");
      t.equal(
        (foreign.body as unknown as { error: { code: string } }).error.code,
        'INVALID_CURSOR',
      );
    },
  );

  t.test(
    'unread counts count incoming messages; mark-read zeroes them and shows in the cursor',
    async (t) => {
      const [alice, bob] = [uniqueUser('alice'), uniqueUser('bob')];
      const conversationId = conversationIdOf(alice, bob);
      for (let i = 0; i < 3; i += 1) await api.send(alice, bob, `u${i}`);
      await api.send(bob, alice, 'reply');
      const before = await api.conversations(bob);
      t.equal(before.body.conversations[0]?.unreadCount, 3);
      t.equal((await api.conversations(alice)).body.conversations[0]?.unreadCount, 1);
      const read = await api.markRead(bob, conversationId);
      t.equal(read.status, 200);
      t.same(read.body, { unreadCount: 0 });
      const after = await api.conversations(bob, `?cursor=${before.body.cursor}`);
      t.same(
        after.body.conversations.map((c) => [c.conversationId, c.unreadCount]),
        [[conversationId, 0]],
        'the read is a change',
      );
      t.same(
        (await api.markRead(bob, conversationId)).body,
        { unreadCount: 0 },
        'marking again is harmless',
      );
      const emptyBody = await api.call(
        'POST',
        `/v1/users/${bob}/conversations/${conversationId}/read`,
      );
      t.equal(emptyBody.status, 200, 'an empty body counts as {}');
      const extra = await api.call<{ error: { code: string } }>(
        'POST',
        `/v1/users/${bob}/conversations/${conversationId}/read`,
        { x: 1 },
      );
      t.equal(extra.body.error.code, 'UNKNOWN_FIELD');
    },
  );

  t.test(
    'query errors: bad numbers, unknown parameters, depth past the offset limit',
    async (t) => {
      const alice = uniqueUser('alice');
      for (const [query, code] of [
        ['?page=-1', 'INVALID_QUERY'],
        ['?pageSize=abc', 'INVALID_QUERY'],
        ['?page=1.5', 'INVALID_QUERY'],
        ['?sort=asc', 'INVALID_QUERY'],
        ['?lastUpdatedTimestamp=-5', 'INVALID_QUERY'],
        ['?cursor=garbage', 'INVALID_CURSOR'],
        ['?page=51&pageSize=200', 'PAGE_OUT_OF_RANGE'],
      ] as const) {
        const response = await api.call<{ error: { code: string } }>(
          'GET',
          `/v1/users/${alice}/conversations${query}`,
        );
        t.equal(response.status, 400, query);
        t.equal(response.body.error.code, code, query);
      }
      t.equal(
        (await api.conversations(alice, '?page=50&pageSize=200')).status,
        200,
        'the deepest page allowed',
      );
    },
  );
}
