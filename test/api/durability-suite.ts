/**
 * Nothing acknowledged is lost: a whole cluster stopped (SIGTERM, like Ctrl-C) and started again
 * on the same data dir serves every message; a node killed with SIGKILL is started again by the
 * launcher and serves its users from the store.
 */
import type { Test } from 'tap';
import { conversationIdOf, type Message } from '../../protocol/index.js';
import { ApiClient, eventually, uniqueUser } from '../../harness/index.js';
import type { BootCluster } from '../helpers/cluster-stores.js';

export async function durabilitySuite(t: Test, boot: BootCluster): Promise<void> {
  t.test('a restart on the same data dir serves every message sent before', async (t) => {
    const first = await boot(t);
    const api = new ApiClient(first.url);
    const pairs = Array.from({ length: 12 }, () => [uniqueUser('s'), uniqueUser('r')] as const);
    const acked: Message[] = [];
    for (const [sender, recipient] of pairs) {
      for (let i = 0; i < 5; i += 1)
        acked.push((await api.send(sender, recipient, `before restart ${i}`)).body.message);
    }
    await api.close();
    await first.stop();

    const second = await boot(t, { dataDir: first.dataDir });
    const again = new ApiClient(second.url);
    t.teardown(() => again.close());
    for (const [sender, recipient] of pairs) {
      const conversationId = conversationIdOf(sender, recipient);
      const expected = acked.filter((m) => m.conversationId === conversationId).reverse();
      for (const owner of [sender, recipient]) {
        const response = await again.messages(owner, conversationId);
        t.same(response.body.messages, expected, `${owner}: all five, in order, unchanged`);
      }
    }
    const [firstSender, firstRecipient] = pairs[0] ?? ['', ''];
    const next = await again.send(firstSender, firstRecipient, 'after restart');
    t.equal(next.status, 201, 'and it takes new messages');
    t.ok(next.body.message.sentAt > (acked[4]?.sentAt ?? 0), 'ordered after the old ones');
  });

  t.test('a node killed with SIGKILL comes back and serves its users from the store', async (t) => {
    const cluster = await boot(t, { standbys: 0 });
    const api = new ApiClient(cluster.url);
    t.teardown(() => api.close());
    const [alice, bob] = [uniqueUser('alice'), uniqueUser('bob')];
    const sent = [];
    for (let i = 0; i < 10; i += 1)
      sent.push((await api.send(alice, bob, `m${i}`)).body.message.messageId);
    const owner = await cluster.ownerOf(alice);
    const pid = await cluster.pidOf(owner.nodeId);
    process.kill(pid, 'SIGKILL');
    await eventually('a new process for the node', async () =>
      (await cluster.pidOf(owner.nodeId)) !== pid ? true : undefined,
    );
    // The router retries through the restart (every call is idempotent), so this read just waits.
    const messages = await api.messages(alice, conversationIdOf(alice, bob));
    t.equal(messages.status, 200);
    t.same(
      messages.body.messages.map((m) => m.messageId),
      sent.reverse(),
      'every message, from the store',
    );
    const after = await api.send(bob, alice, 'still here?');
    t.equal(after.status, 201);
  });
}
