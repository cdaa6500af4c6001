/**
 * The lease-renewal loop against a scripted control plane (a pure unit: no I/O): a renewal makes the
 * node serve; a lease no longer than the renewal interval is refused (INVALID_OPTION in the stats)
 * and the node does not serve — one millisecond longer is taken.
 */
import t from 'tap';
import type { HeartbeatReply, NodeInfo, RingConfig } from '../../protocol/index.js';
import { SYSTEM_CLOCK } from '../../protocol/index.js';
import { LeaseRenewals } from '../../cache-node/lease-renewals.js';
import { Ownership } from '../../cache-node/ownership.js';
import { RingView } from '../../ring/index.js';

const HEARTBEAT_INTERVAL_MS = 500;
const ring: RingConfig = {
  epoch: 2,
  virtualNodesPerWeight: 10,
  slots: [{ slot: 'slot-0', nodeId: 'node-a', weight: 1 }],
  standbys: [],
  nodes: { 'node-a': { nodeId: 'node-a', url: 'http://127.0.0.1:1' } },
};
const node: NodeInfo = { nodeId: 'node-a', url: 'http://127.0.0.1:1' };

async function renewWithLease(leaseMs: number) {
  const ownership = new Ownership({ nodeId: 'node-a', leaseMs: 3_000 });
  const controlPlane = {
    heartbeat: async (): Promise<HeartbeatReply> => ({ ring, leaseMs }),
  };
  // A clock whose sleep never ends keeps the loop at its first renewal.
  const clock = { ...SYSTEM_CLOCK, sleep: () => new Promise<void>(() => undefined) };
  const renewals = new LeaseRenewals(controlPlane, ownership, {
    clock,
    heartbeatIntervalMs: HEARTBEAT_INTERVAL_MS,
  });
  await renewals.start(node);
  const userId = Array.from({ length: 100 }, (_, i) => `u${i}`).find(
    (id) => new RingView(ring).slotOf(id) === 'slot-0',
  );
  return { renewals, ownership, userId: userId ?? 'u0' };
}

t.test('a lease longer than the renewal interval is taken: the node serves', async (t) => {
  const { renewals, ownership, userId } = await renewWithLease(HEARTBEAT_INTERVAL_MS + 1);
  t.doesNotThrow(() => ownership.assertServing(userId));
  t.equal(renewals.stats.renewalsFailed, 0);
});

t.test('a lease no longer than the renewal interval is refused, naming the flag', async (t) => {
  const { renewals, ownership, userId } = await renewWithLease(HEARTBEAT_INTERVAL_MS);
  t.throws(() => ownership.assertServing(userId), { code: 'OWNER_UNAVAILABLE' });
  t.ok(renewals.stats.renewalsFailed >= 1);
  t.match(renewals.stats.lastRenewalFailure, /--heartbeat-interval-ms/);
});
