/**
 * The ring-aware client (client/) against a real local cluster: it sends each request straight to
 * its user's owner with the router's validation and answers; it follows the ring when it moves
 * (`ringctl add` under load) and when an owner dies (kill -9 under load) without losing, doubling
 * or reordering anything; it sends exactly once under retries; it follows a mailbox by its cursor;
 * app tokens apply on the nodes as on the router; and every option is checked at its limit.
 */
import t from 'tap';
import { setTimeout as sleep } from 'node:timers/promises';
import { randomUUID } from 'node:crypto';
import {
  ChatringClient,
  ChatringError,
  conversationIdOf,
  type Message,
} from '../../client/index.js';
import { ApiClient, clientApi, eventually, uniqueUser } from '../../harness/index.js';
import { assertNothingLost } from '../helpers/assert-nothing-lost.js';
import { bootCluster } from '../helpers/local-cluster.js';
import { ringctl } from '../helpers/ringctl.js';
import { startSteadyLoad } from '../helpers/steady-load.js';

const APP_TOKEN = 'app-token-for-the-client-test-01';

/** Rejects with the ChatringError `call` throws, or fails the test if it resolves. */
async function refusal(call: () => Promise<unknown>): Promise<ChatringError> {
  try {
    await call();
  } catch (error) {
    if (error instanceof ChatringError) return error;
    throw error;
  }
  throw new Error('expected a ChatringError, the call succeeded');
}

t.test('options are checked at their limits', async (t) => {
  const build = (options: ConstructorParameters<typeof ChatringClient>[0]) => () =>
    new ChatringClient(options);
  t.throws(build({ routerUrls: [] }), { code: 'INVALID_OPTION' }, 'no router');
  t.throws(
    build({ routerUrls: Array.from({ length: 65 }, (_, i) => `http://127.0.0.1:${1000 + i}`) }),
    { code: 'INVALID_OPTION' },
    '65 routers (64 is the limit)',
  );
  const atLimit = new ChatringClient({
    routerUrls: Array.from({ length: 64 }, (_, i) => `http://127.0.0.1:${1000 + i}`),
  });
  await atLimit.close();
  t.throws(build({ routerUrls: ['ftp://127.0.0.1:1'] }), { code: 'INVALID_OPTION' }, 'not http');
  t.throws(build({ routerUrls: ['http://127.0.0.1:1/v1'] }), { code: 'INVALID_OPTION' }, 'a path');
  t.throws(
    build({ routerUrls: ['http://127.0.0.1:1'], mode: 'sideways' as 'direct' }),
    { code: 'INVALID_OPTION' },
    'mode',
  );
  t.throws(
    build({ routerUrls: ['http://127.0.0.1:1'], appToken: 'two words' }),
    { code: 'INVALID_OPTION' },
    'a token with a space',
  );
  t.throws(
    build({ routerUrls: ['http://127.0.0.1:1'], connectionsPerNode: 0 }),
    { code: 'INVALID_OPTION' },
    'no connections',
  );
  t.throws(
    build({ routerUrls: ['http://127.0.0.1:1'], unknown: 1 } as never),
    { code: 'INVALID_OPTION' },
    'an unknown option',
  );
  const client = new ChatringClient({ routerUrls: ['http://127.0.0.1:1'] });
  t.teardown(() => client.close());
  const follow = (options: object) =>
    client.followMessages('a', conversationIdOf('a', 'b'), options).next();
  t.equal((await refusal(() => follow({ pollIntervalMs: 0 }))).code, 'INVALID_OPTION');
  t.equal((await refusal(() => follow({ pageSize: 201 }))).code, 'INVALID_OPTION');
  t.equal((await refusal(() => follow({ pageSize: 0 }))).code, 'INVALID_OPTION');
});

t.test('client-direct on a real cluster', async (t) => {
  const cluster = await bootCluster(t, {
    nodes: 3,
    standbys: 1,
    env: { CHATRING_APP_TOKENS: APP_TOKEN },
  });
  const client = new ChatringClient({ routerUrls: [cluster.url], appToken: APP_TOKEN });
  const viaRouter = new ApiClient(cluster.url, { bearerToken: APP_TOKEN });
  t.teardown(() => Promise.all([client.close(), viaRouter.close()]));

  t.test('the ring it routes by is the router’s, and every user goes to its owner', async (t) => {
    // Start-up waits for the slots' nodes; the standby registers its URL at its first heartbeat,
    // which may come a moment later and moves the epoch: compare rings once nothing is moving.
    await eventually('every node to have registered its URL', async () => {
      const status = await cluster.status();
      return status.nodes.length === 4 && status.nodes.every((node) => node.url !== '')
        ? true
        : undefined;
    });
    const ring = await client.ring();
    const inner = await cluster.ring();
    t.equal(ring.epoch, inner.epoch);
    t.same(ring.slots, inner.slots);
    for (const user of ['alice', 'bob', 'carol', 'dave']) {
      const sent = await client.send({ senderId: user, recipientId: `${user}-x`, content: 'hi' });
      t.equal(sent.duplicate, false);
    }
  });

  t.test('answers are the router’s: sends, pages, cursors, mark-read', async (t) => {
    const [alice, bob] = [uniqueUser('alice'), uniqueUser('bob')];
    const conversationId = conversationIdOf(alice, bob);
    const sent: Message[] = [];
    for (let i = 0; i < 5; i += 1)
      sent.push(
        (await client.send({ senderId: alice, recipientId: bob, content: `m${i}` })).message,
      );
    const direct = await client.messages(bob, conversationId, { pageSize: 3 });
    const routed = await viaRouter.messages(bob, conversationId, { pageSize: 3 });
    t.same(direct, routed.body, 'the same page, byte for byte in content');
    t.same(
      direct.messages.map((m) => m.content),
      ['m4', 'm3', 'm2'],
    );
    t.same(await client.conversations(bob), (await viaRouter.conversations(bob)).body);
    t.equal((await client.conversations(bob)).conversations[0]?.unreadCount, 5);
    t.same(await client.markRead(bob, conversationId), { unreadCount: 0 });
    t.equal((await viaRouter.conversations(bob)).body.conversations[0]?.unreadCount, 0);
    const since = await client.messages(bob, conversationId, { cursor: direct.cursor });
    t.equal(since.isDeltaUpdate, true);
  });

  t.test('router mode: the same calls, every one through a router', async (t) => {
    const routed = new ChatringClient({
      routerUrls: [cluster.url],
      appToken: APP_TOKEN,
      mode: 'router',
    });
    t.teardown(() => routed.close());
    const [alice, bob] = [uniqueUser('alice'), uniqueUser('bob')];
    const sent = await routed.send({ senderId: alice, recipientId: bob, content: 'via router' });
    const page = await client.messages(bob, conversationIdOf(alice, bob));
    t.same(page.messages, [sent.message], 'client-direct reads what router mode sent');
    t.same(
      await routed.conversations(bob),
      await client.conversations(bob),
      'and both read the same',
    );
  });

  t.test('a send retried with its clientMessageId is stored once', async (t) => {
    const [alice, bob] = [uniqueUser('alice'), uniqueUser('bob')];
    const clientMessageId = randomUUID();
    const first = await client.send({
      senderId: alice,
      recipientId: bob,
      content: 'x',
      clientMessageId,
    });
    const again = await client.send({
      senderId: alice,
      recipientId: bob,
      content: 'x',
      clientMessageId,
    });
    t.equal(first.duplicate, false);
    t.equal(again.duplicate, true);
    t.equal(again.message.messageId, first.message.messageId);
    const page = await viaRouter.messages(bob, conversationIdOf(alice, bob));
    t.equal(page.body.messages.length, 1);
  });

  t.test('bad input: the router’s codes, refused before anything is sent', async (t) => {
    // No router listens on port 1: an answer other than OWNER_UNAVAILABLE was made here.
    const client = new ChatringClient({ routerUrls: ['http://127.0.0.1:1'], deadlineMs: 0 });
    t.teardown(() => client.close());
    const cases: [string, () => Promise<unknown>, string][] = [
      [
        'self message',
        () => client.send({ senderId: 'a', recipientId: 'a', content: 'x' }),
        'SELF_MESSAGE',
      ],
      ['bad user id', () => client.conversations('no spaces'), 'INVALID_USER_ID'],
      [
        'foreign conversation',
        () => client.messages('carol', conversationIdOf('a', 'b')),
        'INVALID_CONVERSATION_ID',
      ],
      [
        'unknown field',
        () => client.send({ senderId: 'a', recipientId: 'b', content: 'x', extra: 1 } as never),
        'UNKNOWN_FIELD',
      ],
      [
        'bad cursor',
        () => client.messages('a', conversationIdOf('a', 'b'), { cursor: 'nope' }),
        'INVALID_CURSOR',
      ],
      ['negative page', () => client.conversations('a', { page: -1 }), 'INVALID_QUERY'],
      [
        'page beyond the deepest offset',
        () => client.conversations('a', { page: 51, pageSize: 200 }),
        'PAGE_OUT_OF_RANGE',
      ],
    ];
    for (const [what, call, code] of cases) {
      const error = await refusal(call);
      t.equal(error.code, code, what);
      t.equal(error.status, 400, `${what}: 400`);
    }
  });

  t.test('the nodes check the app token as the router does', async (t) => {
    const anonymous = new ChatringClient({ routerUrls: [cluster.url] });
    t.teardown(() => anonymous.close());
    t.equal((await refusal(() => anonymous.conversations('alice'))).code, 'UNAUTHENTICATED');
    const owner = (await cluster.ownerOf('alice')).url;
    const straight = new ApiClient(owner);
    t.teardown(() => straight.close());
    t.equal(
      (await straight.conversations('alice')).errorCode,
      'UNAUTHENTICATED',
      'a node, no token',
    );
  });

  t.test('follows a conversation by its cursor: every message once, in order', async (t) => {
    const [alice, bob] = [uniqueUser('alice'), uniqueUser('bob')];
    const conversationId = conversationIdOf(alice, bob);
    await client.send({ senderId: alice, recipientId: bob, content: 'before' });
    const controller = new AbortController();
    const seen: string[] = [];
    const following = (async () => {
      for await (const answer of client.followMessages(bob, conversationId, {
        pollIntervalMs: 20,
        pageSize: 3,
        signal: controller.signal,
      })) {
        // Within an answer the newest comes first; across answers, later answers are newer.
        seen.push(...answer.messages.map((m) => m.content).reverse());
      }
    })();
    await sleep(100);
    const expected = Array.from({ length: 10 }, (_, i) => `after-${i}`);
    for (const content of expected)
      await client.send({ senderId: alice, recipientId: bob, content });
    await eventually('every message followed', async () => (seen.length >= 10 ? true : undefined));
    controller.abort();
    await following;
    t.same(seen, expected, 'from now on: the message before is not replayed, none twice');
  });
});

t.test('client-direct under load across ringctl add, then kill -9 of an owner', async (t) => {
  const cluster = await bootCluster(t, {
    nodes: 2,
    standbys: 2,
    restartMembers: false,
    leaseMs: 1_500,
    heartbeatIntervalMs: 250,
  });
  const client = new ChatringClient({ routerUrls: [cluster.url], ringRefreshIntervalMs: 50 });
  const router = new ApiClient(cluster.url);
  t.teardown(() => Promise.all([client.close(), router.close()]));
  const epochBefore = (await client.ring()).epoch;

  const load = startSteadyLoad(clientApi(client), 10);
  await sleep(1_000);
  const added = await ringctl(['--router', cluster.url, '--json', 'add', 'standby-1']);
  t.equal(added.code, 0, `add: ${added.stderr}`);
  await sleep(1_500);
  const movedTo = (await cluster.status()).slots.length;
  t.equal(movedTo, 3, 'three slots after the add');

  const [victimUser] = load.report.pairs[0] ?? [''];
  const victim = await cluster.ownerOf(victimUser);
  process.kill(await cluster.pidOf(victim.nodeId), 'SIGKILL');
  await eventually('the standby to take the dead node’s slot', async () => {
    const holder = (await cluster.status()).slots.find((s) => s.slot === victim.slot)?.nodeId;
    return holder !== undefined && holder !== victim.nodeId ? holder : undefined;
  });
  await sleep(1_500);
  const report = await load.stop();

  t.ok((await client.ring()).epoch > epochBefore + 1, 'the client followed both ring changes');
  t.same(report.staleReads, [], 'no read right after an acknowledged send missed it');
  t.comment(
    `${report.acknowledged.length} sends acknowledged client-direct; ${report.failures.length} failed attempts (all retried)`,
  );
  await assertNothingLost(t, router, report);
});
