import { setTimeout as sleep } from 'node:timers/promises';
import { performance } from 'node:perf_hooks';
import type { AddressInfo } from 'node:net';
import { connectControlPlane, type ControlPlaneAddress } from '../control-plane/index.js';
import { OwnerClient } from '../transport/index.js';
import { openStore, type MailboxStore, type StoreOptions } from '../store-adapter/index.js';
import { MailboxCache, type MailboxCacheOptions } from './mailbox-cache.js';
import { MailboxService, type MailboxServiceOptions } from './mailbox-service.js';
import { buildNodeServer } from './node-server.js';
import { Ownership } from './ownership.js';
import { PeerDelivery } from './peer-delivery.js';
import { Handoff, type HandoffOptions } from './handoff.js';
import { UserLockTable, type UserLockTableOptions } from './user-lock-table.js';
import type { Failpoints } from './failpoints.js';

export interface CacheNodeOptions {
  nodeId: string;
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** The control plane: the router hosting it (local mode), or Redis. */
  controlPlane: ControlPlaneAddress;
  store: StoreOptions;
  /**
   * How often the lease is renewed.
   * @default 500
   */
  heartbeatIntervalMs: number;
  cache?: Partial<MailboxCacheOptions>;
  locks?: Partial<UserLockTableOptions>;
  service?: Partial<MailboxServiceOptions>;
  failpoints?: Failpoints | undefined;
  handoff?: Partial<HandoffOptions>;
}

export interface RunningCacheNode {
  url: string;
  service: MailboxService;
  ownership: Ownership;
  close(): Promise<void>;
}

/** Starts a cache node: store, indices, HTTP server, and the lease-renewal loop. */
export async function startCacheNode(options: CacheNodeOptions): Promise<RunningCacheNode> {
  const store: MailboxStore = await openStore(options.store);
  const controlPlane = await connectControlPlane(
    options.controlPlane,
    Math.max(1_000, options.heartbeatIntervalMs * 2),
  );
  const ownership = new Ownership({
    nodeId: options.nodeId,
    leaseMs: 0,
    leaseSafetyMs: Number.POSITIVE_INFINITY,
    monotonicNow: () => performance.now(),
  });
  const refreshRing = async () => ownership.updateRing(await controlPlane.currentRing());
  const unsubscribe = controlPlane.subscribe((ring) => ownership.updateRing(ring));
  const locks = new UserLockTable(options.locks);
  const cache = new MailboxCache(options.cache ?? {}, (userId) => locks.isBusy(userId));
  const peers = new OwnerClient(() => ownership.ring, refreshRing);
  const delivery = new PeerDelivery(
    (userId) => ownership.ring?.ownerIdOf(userId) === options.nodeId,
    peers,
    ownership,
  );
  const service = new MailboxService(
    {
      store,
      locks,
      cache,
      ownership,
      delivery,
      now: () => Date.now(),
      ...(options.failpoints === undefined ? {} : { failpoints: options.failpoints }),
    },
    options.service,
  );
  delivery.attach(service);

  ownership.onLeaseRegained(() => cache.clear());

  const handoff = new Handoff(options.nodeId, ownership, cache, locks, options.handoff);
  ownership.onRingAdopted((ring) =>
    service.evictWhere((userId) => ring.ownerIdOf(userId) !== options.nodeId),
  );
  const app = buildNodeServer({
    handoff,
    adoptRing: (ring) => ownership.updateRing(ring),
    service,
    epoch: () => ownership.epoch,
    refreshRing,
    stats: () => ({
      nodeId: options.nodeId,
      epoch: ownership.epoch,
      slots: ownership.ownedSlots(),
      leaseRemainingMs: Math.round(ownership.leaseRemainingMs()),
      cache: cache.stats(),
      service: service.stats,
      handoff: handoff.stats,
      pendingRepairs: service.pendingRepairs,
      store: store.kind,
    }),
  });
  await app.listen({ host: options.host, port: options.port });
  const url = `http://${options.host}:${(app.server.address() as AddressInfo).port}`;

  let stopping = false;
  const renewOnce = async () => {
    const sentAt = performance.now();
    const reply = await controlPlane.heartbeat({ nodeId: options.nodeId, url, pid: process.pid });
    ownership.renewed(sentAt, reply.ring, reply.leaseMs);
  };
  const renewLoop = (async () => {
    while (!stopping) {
      await renewOnce().catch(() => undefined); // a failed renewal just lets the lease run down
      await sleep(options.heartbeatIntervalMs);
    }
  })();
  await renewOnce().catch(() => undefined);

  return {
    url,
    service,
    ownership,
    async close() {
      stopping = true;
      await app.close();
      service.close();
      unsubscribe();
      await renewLoop;
      await Promise.all([peers.close(), controlPlane.close(), handoff.close()]);
      await store.close();
    },
  };
}
