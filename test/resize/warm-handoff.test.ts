/**
 * Warm handoff: when a node is added, the hot users that move to it arrive with their cached state,
 * so their first requests there cause no store read (counted on the new owner). Users that were
 * not cached still load from the store correctly.
 */
import t from 'tap';
import { conversationIdOf } from '../../protocol/index.js';
import { ApiClient, uniqueUser } from '../../harness/index.js';
import { bootCluster } from '../helpers/local-cluster.js';
import { ringctl } from '../helpers/ringctl.js';

interface NodeStats {
  service: { storeLoads: number; cacheMisses: number };
  handoff: { warmUsersAdopted: number };
}

t.test('moved hot users are served by the new owner without a store read', async (t) => {
  const cluster = await bootCluster(t, { nodes: 2, standbys: 1 });
  const api = new ApiClient(cluster.url);
  t.teardown(() => api.close());
  const stats = async (nodeId: string): Promise<NodeStats> => {
    const node = (await cluster.status()).nodes.find((n) => n.nodeId === nodeId);
    return (await (await fetch(`${node?.url}/internal/v1/stats`)).json()) as NodeStats;
  };

  const users = Array.from({ length: 60 }, () => [uniqueUser('hot'), uniqueUser('peer')] as const);
  for (const [user, peer] of users) {
    await api.send(peer, user, `hello ${user}`);
    await api.conversations(user);
    await api.messages(user, conversationIdOf(user, peer)); // conversation list and window now cached
  }
  const cold = uniqueUser('cold');
  await api.send(users[0]?.[1] ?? '', cold, 'never read'); // cold's mailbox written, not read... but cached by the write

  const result = await ringctl(['--router', cluster.url, '--json', 'add', 'standby-1']);
  t.equal(result.code, 0, result.stderr);
  const change = JSON.parse(result.stdout) as {
    warmUsers: number;
    warmUsersFailed: number;
    warmFailure: string;
  };
  t.comment(result.stdout);
  t.ok(change.warmUsers > 0, `state handed over warm for ${change.warmUsers} users`);
  t.equal(change.warmUsersFailed, 0, 'every warm batch was taken');
  t.equal(change.warmFailure, '');

  const moved = [];
  for (const [user, peer] of users)
    if ((await cluster.ownerOf(user)).nodeId === 'standby-1') moved.push([user, peer] as const);
  t.ok(moved.length > 5, `some hot users moved to the new node (${moved.length})`);
  const before = await stats('standby-1');
  t.ok(
    before.handoff.warmUsersAdopted >= moved.length,
    'the new owner adopted their state when the ring was published',
  );
  for (const [user, peer] of moved) {
    const list = await api.conversations(user);
    t.equal(list.body.conversations[0]?.snippet, `hello ${user}`);
    const messages = await api.messages(user, conversationIdOf(user, peer));
    t.equal(messages.body.messages.length, 1);
  }
  const after = await stats('standby-1');
  t.equal(
    after.service.storeLoads,
    before.service.storeLoads,
    'no store read for any moved hot user',
  );
  t.equal(after.service.cacheMisses, before.service.cacheMisses, 'no cache miss either');

  const stranger = uniqueUser('stranger');
  await api.send(stranger, cold, 'a user nobody cached before the move still works');
  t.equal((await api.conversations(cold)).body.conversations.length, 2);
});
