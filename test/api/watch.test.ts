/**
 * The change feed on a real local cluster: watches held for both participants of several
 * conversations — through the router (router-mode clients, HTTP long-polls) and straight to the
 * owners (ring-aware clients, over member links) — while another client sends; every watcher
 * receives every message of its conversations exactly once, in the order the sends were
 * acknowledged. Then the same under load across `ringctl add` and a kill -9 of a watched user's
 * owner: nothing missed or doubled. Also the door's checks (through the router and on a node),
 * an answer that waits its waitMs and no longer, and a watcher woken within its wait.
 */
import t, { type Test } from 'tap';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  ChatringClient,
  conversationIdOf,
  type ChangesResponse,
  type Message,
} from '../../client/index.js';
import { ApiClient, eventually, uniqueUser } from '../../harness/index.js';
import { bootCluster, type TestCluster } from '../helpers/local-cluster.js';
import { ringctl } from '../helpers/ringctl.js';

/** A watch of one user's mailbox, recording every message it is shown. */
interface Watch {
  user: string;
  seen: Message[];
  versions: number[];
  failure: unknown;
  stop(): Promise<void>;
}

function startWatch(client: ChatringClient, user: string, cursor: string): Watch {
  const controller = new AbortController();
  const watch: Watch = {
    user,
    seen: [],
    versions: [],
    failure: undefined,
    stop: async () => {
      controller.abort();
      await running;
    },
  };
  const running = (async () => {
    try {
      for await (const answer of client.watch(user, {
        cursor,
        waitMs: 5_000,
        pageSize: 50,
        signal: controller.signal,
      })) {
        for (const change of answer.changes) {
          watch.versions.push(change.version);
          if (change.message !== undefined) watch.seen.push(change.message);
        }
      }
    } catch (error) {
      watch.failure = error;
    }
  })();
  return watch;
}

/** Sends in each conversation one message at a time (alternating who sends) until stopped. */
function startSenders(client: ChatringClient, pairs: [string, string][], perPair: number) {
  const acknowledged = new Map<string, Message[]>(); // by conversation, in ack order
  const failures: unknown[] = [];
  let stopping = false;
  const done = Promise.all(
    pairs.map(async ([a, b], pairIndex) => {
      const conversation = conversationIdOf(a, b);
      acknowledged.set(conversation, []);
      for (let index = 0; index < perPair && !stopping; index += 1) {
        const [senderId, recipientId] = index % 2 === 0 ? [a, b] : [b, a];
        try {
          const sent = await client.send({
            senderId,
            recipientId,
            content: `pair${pairIndex}-m${index}`,
          });
          acknowledged.get(conversation)?.push(sent.message);
        } catch (error) {
          failures.push(error);
        }
      }
    }),
  );
  return {
    acknowledged,
    failures,
    async stop() {
      stopping = true;
      await done;
    },
    done,
  };
}

/**
 * Each watcher saw each acknowledged message of its conversations exactly once, in ack order, and
 * nothing twice at all (a send whose ack was lost may be shown, once).
 */
function checkWatches(t: Test, watches: Watch[], acknowledged: Map<string, Message[]>): void {
  for (const watch of watches) {
    t.equal(watch.failure, undefined, `${watch.user}: the watch never failed`);
    const ids = watch.seen.map((message) => message.messageId);
    t.equal(new Set(ids).size, ids.length, `${watch.user}: no message shown twice`);
    t.same(
      watch.versions,
      [...watch.versions].sort((a, b) => a - b),
      `${watch.user}: versions ascend`,
    );
    t.equal(new Set(watch.versions).size, watch.versions.length, `${watch.user}: no version twice`);
    for (const [conversation, messages] of acknowledged) {
      if (!conversation.split('~').includes(watch.user)) continue;
      const shown = new Set(ids);
      const missing = messages.filter((message) => !shown.has(message.messageId));
      t.same(missing, [], `${watch.user} saw every acknowledged message of ${conversation}`);
      const acked = new Set(messages.map((message) => message.messageId));
      const order = watch.seen
        .filter((message) => acked.has(message.messageId))
        .map((message) => message.messageId);
      t.same(
        order,
        messages.map((message) => message.messageId),
        `${watch.user}: ${conversation} in ack order`,
      );
    }
  }
}

async function caughtUp(watches: Watch[], acknowledged: Map<string, Message[]>): Promise<void> {
  await eventually(
    'every watcher to catch up',
    async () =>
      watches.every((watch) => {
        const shown = new Set(watch.seen.map((message) => message.messageId));
        return [...acknowledged]
          .filter(([conversation]) => conversation.split('~').includes(watch.user))
          .every(([, messages]) => messages.every((message) => shown.has(message.messageId)));
      })
        ? true
        : undefined,
    30_000,
  );
}

/** Users in pairs, each pair a conversation; every user of a pair is watched. */
function pairsOf(count: number, prefix: string): [string, string][] {
  return Array.from({ length: count }, (_, index) => [
    uniqueUser(`${prefix}${index}a`),
    uniqueUser(`${prefix}${index}b`),
  ]);
}

async function watchAll(clients: ChatringClient[], pairs: [string, string][]): Promise<Watch[]> {
  const watches: Watch[] = [];
  let index = 0;
  for (const user of pairs.flat()) {
    const client = clients[index++ % clients.length] as ChatringClient;
    // From now: the cursor is fetched first, so the watch starts at a known version.
    const { cursor } = await client.changes(user);
    watches.push(startWatch(client, user, cursor));
  }
  return watches;
}

t.test('watchers see every message once, in order, through the router and direct', async (t) => {
  const cluster = await bootCluster(t, { nodes: 3, standbys: 0 });
  const viaRouter = new ChatringClient({ routerUrls: [cluster.url], mode: 'router' });
  const direct = new ChatringClient({ routerUrls: [cluster.url] });
  const sender = new ChatringClient({ routerUrls: [cluster.url] });
  t.teardown(() => Promise.all([viaRouter.close(), direct.close(), sender.close()]));

  const pairs = pairsOf(4, 'w');
  const watches = await watchAll([viaRouter, direct], pairs);
  await sleep(200);
  const senders = startSenders(sender, pairs, 15);
  await senders.done;
  t.same(senders.failures, [], 'every send acknowledged');
  await caughtUp(watches, senders.acknowledged);
  await Promise.all(watches.map((watch) => watch.stop()));
  checkWatches(t, watches, senders.acknowledged);
  for (const watch of watches) t.equal(watch.seen.length, 15, `${watch.user}: 15 messages`);
});

t.test('the door: bad queries refused alike by the router and a node; waitMs kept', async (t) => {
  const cluster = await bootCluster(t, { nodes: 2, standbys: 0 });
  const router = new ApiClient(cluster.url);
  t.teardown(() => router.close());
  const owner = new ApiClient((await cluster.ownerOf('doorkeeper')).url);
  t.teardown(() => owner.close());
  const get = (api: ApiClient, query: string) =>
    api.call('GET', `/v1/users/doorkeeper/changes${query}`);
  for (const [query, code] of [
    ['?waitMs=30001', 'INVALID_QUERY'],
    ['?waitMs=-5', 'INVALID_QUERY'],
    ['?since=1', 'INVALID_QUERY'],
    ['?cursor=bogus', 'INVALID_CURSOR'],
  ] as const) {
    for (const [where, api] of [
      ['router', router],
      ['node', owner],
    ] as const) {
      const answer = await get(api, query);
      t.equal(answer.status, 400, `${where} ${query}`);
      t.equal(answer.errorCode, code, `${where} ${query}`);
    }
  }
  const bad = await router.call('GET', '/v1/users/no%20spaces/changes');
  t.equal(bad.errorCode, 'INVALID_USER_ID');

  const first = await get(router, '');
  t.equal(first.status, 200);
  const { cursor } = first.body as ChangesResponse;
  const startedAt = performance.now();
  const quiet = await get(router, `?cursor=${cursor}&waitMs=400`);
  const heldMs = performance.now() - startedAt;
  t.equal(quiet.status, 200);
  t.same(quiet.body, { changes: [], cursor }, 'empty, the same cursor');
  t.ok(heldMs >= 390 && heldMs < 5_000, `held its waitMs (${Math.round(heldMs)} ms)`);

  const woken = get(router, `?cursor=${cursor}&waitMs=20000`);
  await sleep(200);
  const sendAt = performance.now();
  const sent = await router.send('doorkeeper', 'visitor', 'knock', 'knock-1');
  const answer = await woken;
  t.ok(performance.now() - sendAt < 5_000, 'woken by the send, long before its waitMs');
  t.same(
    (answer.body as ChangesResponse).changes.map((change) => change.message),
    [sent.body.message],
  );
});

t.test(
  'watchers across ringctl add and a kill -9 of an owner: nothing missed or doubled',
  async (t) => {
    const cluster: TestCluster = await bootCluster(t, {
      nodes: 2,
      standbys: 2,
      restartMembers: false,
      leaseMs: 1_500,
      heartbeatIntervalMs: 250,
    });
    const viaRouter = new ChatringClient({ routerUrls: [cluster.url], mode: 'router' });
    const direct = new ChatringClient({ routerUrls: [cluster.url], ringRefreshIntervalMs: 50 });
    const sender = new ChatringClient({ routerUrls: [cluster.url], ringRefreshIntervalMs: 50 });
    t.teardown(() => Promise.all([viaRouter.close(), direct.close(), sender.close()]));

    const pairs = pairsOf(6, 'r');
    const watches = await watchAll([viaRouter, direct], pairs);
    const senders = startSenders(sender, pairs, 1_000_000);
    await sleep(1_000);
    const added = await ringctl(['--router', cluster.url, '--json', 'add', 'standby-1']);
    t.equal(added.code, 0, `add: ${added.stderr}`);
    await sleep(1_500);
    // Kill the owner of a watched user: its watches and its users' sends move to the standby.
    const victim = await cluster.ownerOf(pairs[0]?.[0] ?? '');
    process.kill(await cluster.pidOf(victim.nodeId), 'SIGKILL');
    await eventually('the standby to take the dead node’s slot', async () => {
      const holder = (await cluster.status()).slots.find((s) => s.slot === victim.slot)?.nodeId;
      return holder !== undefined && holder !== victim.nodeId ? holder : undefined;
    });
    await sleep(1_500);
    await senders.stop();
    const total = [...senders.acknowledged.values()].reduce((sum, list) => sum + list.length, 0);
    t.ok(total > 50, `${total} sends acknowledged across the changes`);
    t.comment(`${senders.failures.length} sends failed past the client's deadline`);
    await caughtUp(watches, senders.acknowledged);
    await Promise.all(watches.map((watch) => watch.stop()));
    checkWatches(t, watches, senders.acknowledged);
  },
);
