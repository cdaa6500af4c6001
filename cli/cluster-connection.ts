import {
  HttpControlPlaneClient,
  RedisControlPlane,
  RingChangeOrchestrator,
  parseChange,
  type ChangePreview,
  type ChangeProgress,
  type ChangeResult,
  type ClusterStatus,
} from '../control-plane/index.js';
import { assertUserId } from '../protocol/index.js';
import { RingView } from '../ring/index.js';

export interface OwnerAnswer {
  userId: string;
  slot: string | undefined;
  nodeId: string;
  url: string;
  epoch: number;
}

/** How ringctl reaches a cluster: through one of its routers, or straight to its Redis control plane. */
export interface ClusterConnection {
  status(): Promise<ClusterStatus>;
  owner(userId: string): Promise<OwnerAnswer>;
  previewChange(change: unknown): Promise<ChangePreview>;
  applyChange(
    change: unknown,
    expectedEpoch: number | undefined,
    onProgress: (event: ChangeProgress) => void,
  ): Promise<ChangeResult>;
  close(): Promise<void>;
}

export async function connectToCluster(target: {
  routerUrl: string;
  redisUrl?: string | undefined;
}): Promise<ClusterConnection> {
  return target.redisUrl === undefined ? viaRouter(target.routerUrl) : viaRedis(target.redisUrl);
}

function viaRouter(routerUrl: string): ClusterConnection {
  const client = new HttpControlPlaneClient(routerUrl, 120_000);
  return {
    status: () => client.status(),
    async owner(userId) {
      const response = await fetch(
        `${routerUrl.replace(/\/$/, '')}/admin/v1/owner/${encodeURIComponent(userId)}`,
      );
      const body = (await response.json()) as Partial<OwnerAnswer> & {
        error?: { code: string; message: string };
      };
      if (body.error !== undefined) throw new Error(`${body.error.code}: ${body.error.message}`);
      return {
        userId,
        slot: body.slot,
        nodeId: body.nodeId ?? '',
        url: body.url ?? '',
        epoch: body.epoch ?? 0,
      };
    },
    previewChange: (change) => client.previewChange(change),
    applyChange: (change, expectedEpoch, onProgress) =>
      client.applyChange(change, expectedEpoch, onProgress),
    close: () => client.close(),
  };
}

/** ringctl as a control plane client of its own: no failure detector, no subscription. */
async function viaRedis(redisUrl: string): Promise<ClusterConnection> {
  const controlPlane = await RedisControlPlane.open({
    redisUrl,
    failureDetector: false,
    listenForRingChanges: false,
  });
  const orchestrator = new RingChangeOrchestrator(controlPlane);
  return {
    status: () => controlPlane.status(),
    async owner(userId) {
      assertUserId(userId);
      const ring = new RingView(await controlPlane.currentRing());
      const owner = ring.ownerOf(userId);
      if (owner === undefined) throw new Error(`OWNER_UNAVAILABLE: no node serves ${userId}`);
      return {
        userId,
        slot: ring.slotOf(userId),
        nodeId: owner.nodeId,
        url: owner.url,
        epoch: ring.epoch,
      };
    },
    previewChange: (change) => orchestrator.preview(parseChange(change)),
    applyChange: (change, expectedEpoch, onProgress) =>
      orchestrator.apply(parseChange(change), expectedEpoch, onProgress),
    async close() {
      await orchestrator.close();
      await controlPlane.close();
    },
  };
}
