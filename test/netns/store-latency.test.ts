/**
 * Latency on the store link (a WAN-like 50 ms each way between the cache nodes and Apache
 * Cassandra): the tier gets slower and must stay exactly as correct. ARCHITECTURE.md
 * ("Partitions") says every timed step (the lease, the store's deadlines) is sized far above such
 * a round trip, so nothing may time out, fail over or reorder because of it.
 *
 * The latency is `tc netem` on the nodes' hosts where the kernel has netem; where it has not (this
 * project's CI kernel), the store's forwarder in the test process holds every chunk 50 ms, both
 * ways (tcp-forwarder.ts `delayMs`). The test says which it used. Checked:
 * - the latency really applies: a send's median time grows by at least 50 ms (a send makes several
 *   sequential store round trips, each now 100 ms longer; a delay that did not apply fails this);
 * - under it, a steady load through the router (users on both nodes, pairs within and across
 *   nodes) runs, without a single failed request until node-1 is SIGKILLed; then the standby takes
 *   its slot: every failed attempt was retryable, every pair is served again after the failover, every acknowledged send was read
 *   back at once by both participants (no stale read), and at the end both mailboxes hold every
 *   acknowledged message once, in order (nothing lost, doubled or reordered).
 */
import t from 'tap';
import { setTimeout as sleep } from 'node:timers/promises';
import { ApiClient, eventually, type AcknowledgedSend } from '../../harness/index.js';
import { assertNothingLost } from '../helpers/assert-nothing-lost.js';
import { startMultiHostCluster } from '../helpers/multi-host-cluster.js';
import { networkNamespacesUnavailable } from '../helpers/network-namespaces.js';
import { isRetryableCode } from '../helpers/retryable.js';
import { startSteadyLoad } from '../helpers/steady-load.js';

const DELAY_MS = 50;
/** Sends timed before and after the delay is set (one warm-up send first). */
const TIMED_SENDS = 7;

const unavailable = networkNamespacesUnavailable();
if (unavailable !== undefined) t.plan(0, `skipped: ${unavailable}`);
else
  t.test('latency on the store link: slower, still correct through a failover', async (t) => {
    const cluster = await startMultiHostCluster(t, 'netns_store_latency');
    const { network } = cluster;
    const api = new ApiClient(cluster.routerUrl, { bearerToken: cluster.appToken });
    t.teardown(() => api.close());
    const [a1 = '', a2 = '', a3 = '', a4 = ''] = await cluster.usersOwnedBy('node-1', 4, 'n1');
    const [b1 = '', b2 = '', b3 = '', b4 = '', p1 = '', p2 = ''] = await cluster.usersOwnedBy(
      'node-2',
      6,
      'n2',
    );

    // A send's time, median of TIMED_SENDS, between two users of node-2 (which is not killed).
    const timed: AcknowledgedSend[] = [];
    const medianSendMs = async (label: string) => {
      const times: number[] = [];
      for (let i = 0; i <= TIMED_SENDS; i += 1) {
        const issuedAtMs = Date.now();
        const startedAt = performance.now();
        const response = await api.send(p1, p2, `${label} ${i}`);
        const ms = performance.now() - startedAt;
        if (response.status !== 201)
          throw new Error(`timed send answered ${response.status} ${response.errorCode}`);
        timed.push({ message: response.body.message, issuedAtMs, acknowledgedAtMs: Date.now() });
        if (i > 0) times.push(ms); // the first one warms the users' state up
      }
      times.sort((x, y) => x - y);
      return Math.round(times[Math.floor(times.length / 2)] ?? 0);
    };
    const before = await medianSendMs('before the delay');

    const latencyHosts = ['node-1', 'node-2', 'standby-1'].map((name) => network.host(name));
    let netem = true;
    for (const host of latencyHosts) {
      netem = network.addLatency(host, DELAY_MS);
      if (!netem) break;
    }
    if (netem) {
      t.comment(`latency: tc netem ${DELAY_MS} ms on every node host (all their traffic)`);
    } else {
      latencyHosts.forEach((host) => network.removeLatency(host));
      cluster.store.delayMs = DELAY_MS;
      t.comment(
        `latency: this kernel has no netem (addLatency answered false), so the store's forwarder ` +
          `delays every chunk ${DELAY_MS} ms each way`,
      );
    }
    const after = await medianSendMs('under the delay');
    t.comment(`send median: ${before} ms before the delay, ${after} ms under it`);
    t.ok(after - before >= DELAY_MS, `the delay applies: sends are ≥ ${DELAY_MS} ms slower`);

    const load = startSteadyLoad(api, 4, [
      [a1, a2], // both on node-1
      [b1, b2], // both on node-2
      [a3, b3], // across
      [b4, a4], // across, the other way
    ]);
    await sleep(3_000);
    const beforeKill = load.report.acknowledged.length;
    const node1 = cluster.member('node-1');
    const killedAtMs = Date.now();
    const killedAt = performance.now();
    await node1.kill();
    const promoted = await eventually('the standby to take node-1 slot', async () => {
      const status = await cluster.status();
      return status.slots.some((slot) => slot.nodeId === 'standby-1') ? status : undefined;
    });
    const promotedAt = performance.now();
    t.notOk(
      promoted.slots.some((slot) => slot.nodeId === 'node-1'),
      'node-1 holds no slot any more',
    );
    t.equal((await cluster.ownerOf(a1)).nodeId, 'standby-1', "node-1's users moved to the standby");
    const promotedAtMs = Date.now();
    await eventually(
      'every pair to be served after the failover',
      async () =>
        [...load.report.successesAt.values()].every((times) =>
          times.some((at) => at > promotedAtMs + 1_000),
        ) || undefined,
      20_000,
    );
    const report = await load.stop();
    t.comment(
      `standby took the slot ${Math.round(promotedAt - killedAt)} ms after the kill; ` +
        `${beforeKill} sends acknowledged before it, ${report.acknowledged.length} in all; ` +
        `${report.failures.length} attempts failed and were retried ` +
        `(${[...new Set(report.failures.map((f) => `${f.status} ${f.code}`))].join(', ') || 'none'})`,
    );
    t.ok(beforeKill > 0, 'the load ran under the delay before the kill');
    t.same(
      report.failures.filter((failure) => failure.at < killedAtMs),
      [],
      'the delay alone made no request fail (every timed step is far above the round trip)',
    );
    t.same(
      report.failures.filter((failure) => !isRetryableCode(failure.code)),
      [],
      'every failed attempt had a retryable code',
    );
    t.same(report.staleReads, [], 'every acknowledged send was read back at once');
    await assertNothingLost(t, api, {
      ...report,
      acknowledged: [...report.acknowledged, ...timed],
      pairs: [...report.pairs, [p1, p2]],
    });
    cluster.store.delayMs = 0;
  });
