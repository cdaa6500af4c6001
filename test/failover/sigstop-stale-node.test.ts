/**
 * A paused primary (SIGSTOP) is replaced; a message is written through the new owner; then the old
 * process resumes (SIGCONT). Asked directly, it serves nothing from its stale cache and accepts no
 * write, from the first request after it wakes, and the router keeps routing to the new owner.
 */
import t from 'tap';
import { conversationIdOf } from '../../protocol/index.js';
import { ApiClient, eventually, uniqueUser } from '../../harness/index.js';
import { bootCluster } from '../helpers/local-cluster.js';

t.test(
  'a node woken from SIGSTOP after its slot moved answers nothing stale and accepts nothing',
  async (t) => {
    const cluster = await bootCluster(t, {
      nodes: 3,
      standbys: 1,
      restartMembers: false,
      leaseMs: 1_500,
      heartbeatIntervalMs: 250,
    });
    const api = new ApiClient(cluster.url);
    t.teardown(() => api.close());
    const [alice, bob] = [uniqueUser('alice'), uniqueUser('bob')];
    const conversationId = conversationIdOf(alice, bob);
    await api.send(alice, bob, 'before the pause');
    await api.messages(alice, conversationId); // alice's mailbox and window are now cached on her owner

    const old = await cluster.ownerOf(alice);
    const pid = await cluster.pidOf(old.nodeId);
    const stale = new ApiClient(old.url);
    t.teardown(() => stale.close());
    process.kill(pid, 'SIGSTOP');
    let resumed = false;
    t.teardown(() => {
      if (!resumed) process.kill(pid, 'SIGCONT');
    });

    await eventually('the slot to move to the standby', async () =>
      (await cluster.ownerOf(alice)).nodeId !== old.nodeId ? true : undefined,
    );
    const fresh = await api.send(bob, alice, 'written through the new owner');
    t.equal(fresh.status, 201);

    process.kill(pid, 'SIGCONT');
    resumed = true;
    // The very first requests after waking: the lease it holds was renewed before the pause.
    const [read, list, write] = await Promise.all([
      stale.messages(alice, conversationId),
      stale.conversations(alice),
      stale.send(alice, bob, 'to the stale node', 'stale-write'),
    ]);
    for (const [name, response] of [
      ['messages', read],
      ['conversations', list],
      ['send', write],
    ] as const) {
      t.ok([421, 503].includes(response.status), `${name}: refused with ${response.status}`);
      const code = (response.body as { error?: { code?: string } }).error?.code;
      t.ok(code === 'NOT_OWNER' || code === 'OWNER_UNAVAILABLE', `${name}: ${code}`);
    }
    const later = await eventually('the old node to learn the new ring', async () => {
      const response = await stale.messages(alice, conversationId);
      return response.status === 421 ? response : undefined;
    });
    t.equal(
      (later.body as unknown as { error: { code: string } }).error.code,
      'NOT_OWNER',
      'after renewing it knows it lost the slot',
    );

    const truth = await api.messages(alice, conversationId);
    t.same(
      truth.body.messages.map((m) => m.content),
      ['written through the new owner', 'before the pause'],
      'the router serves the new owner',
    );
    const bobSide = await api.messages(bob, conversationId);
    t.notOk(
      bobSide.body.messages.some((m) => m.clientMessageId === 'stale-write'),
      'the refused write was not stored',
    );
    const status = await cluster.status();
    t.ok(
      status.standbys.includes(old.nodeId) || !status.slots.some((s) => s.nodeId === old.nodeId),
      'the old node holds no slot',
    );
  },
);
