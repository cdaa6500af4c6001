/**
 * `chatring start` on the embedded store runs the file's commit server in the launcher: every
 * node's commits go through it (none takes the file's write lock itself), its socket is the
 * owner's alone and gone after a stop; `--commit-server false` leaves each node writing the file.
 * A node killed with SIGKILL under it loses nothing acknowledged (the durability suite, which runs
 * on these defaults, covers the rest).
 */
import t from 'tap';
import { existsSync, statSync } from 'node:fs';
import { ApiClient, readNodeStats, sumStoreCounters, uniqueUser } from '../../harness/index.js';
import { conversationIdOf } from '../../protocol/index.js';
import { bootCluster, type TestCluster } from '../helpers/local-cluster.js';
import { commitServerSocketPath } from '../../cli/local-cluster.js';

async function storeCounters(cluster: TestCluster): Promise<Record<string, number>> {
  const status = await cluster.status();
  const stats = await Promise.all(
    status.nodes.map((node) => readNodeStats(node.url, 5_000, cluster.signer)),
  );
  return sumStoreCounters(stats.map((node) => node.storeCounters));
}

async function sendSome(cluster: TestCluster, count: number) {
  const api = new ApiClient(cluster.url);
  try {
    const pairs = Array.from({ length: count }, () => [uniqueUser('s'), uniqueUser('r')] as const);
    const sent = await Promise.all(pairs.map(([from, to]) => api.send(from, to, 'through it')));
    for (const response of sent)
      if (response.status !== 201)
        throw new Error(`send failed: ${response.status} ${JSON.stringify(response.body)}`);
    for (const [from, to] of pairs) {
      const read = await api.messages(to, conversationIdOf(from, to));
      if (read.body.messages.length !== 1) throw new Error('a message went missing');
    }
  } finally {
    await api.close();
  }
}

t.test('every node commits through the launcher’s commit server', async (t) => {
  const cluster = await bootCluster(t);
  const socket = commitServerSocketPath(cluster.dataDir);
  t.equal(statSync(socket).mode & 0o777, 0o600, 'the socket is the owner’s alone');
  await sendSome(cluster, 20);
  const counters = await storeCounters(cluster);
  t.equal(counters.commits, 40, 'two commits per send');
  t.equal(counters.commitsViaServer, counters.commits, 'all of them through the server');
  t.equal(counters.lockBusy, 0, 'no node found the write lock held');
  t.ok(
    (counters.transactions ?? 0) > 0 && (counters.transactions ?? 0) <= 40,
    `${counters.transactions} transactions for 40 commits (the nodes' shares)`,
  );
  await cluster.stop();
  t.notOk(existsSync(socket), 'the socket is removed at a stop');
});

t.test('--commit-server false: each node writes the file itself', async (t) => {
  const cluster = await bootCluster(t, { extraArgs: ['--commit-server', 'false'] });
  t.notOk(existsSync(commitServerSocketPath(cluster.dataDir)), 'no server, no socket');
  await sendSome(cluster, 10);
  const counters = await storeCounters(cluster);
  t.equal(counters.commits, 20);
  t.equal(counters.commitsViaServer, 0);
});

t.test('a bad --commit-server value is refused, naming the flag', async (t) => {
  await t.rejects(bootCluster(t, { extraArgs: ['--commit-server', 'maybe'] }), /--commit-server/);
});
