import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import {
  InProcessControlPlane,
  RingChangeOrchestrator,
  registerRingChangeRoutes,
  initialRing,
  registerControlPlaneRoutes,
  type ControlPlaneTimings,
} from '../control-plane/index.js';
import { RingView } from '../protocol/index.js';
import { OwnerClient, type OwnerClientOptions } from './owner-client.js';
import { buildRouterServer } from './router-server.js';

export interface LocalRouterOptions extends Partial<ControlPlaneTimings> {
  host: string;
  port: number;
  /** Where the ring is kept (ring.json). */
  dataDir: string;
  /** Node ids that serve the slots of a brand-new ring (ignored once ring.json exists). */
  initialNodeIds: string[];
  owners?: Partial<OwnerClientOptions>;
}

export interface RunningRouter {
  url: string;
  controlPlane: InProcessControlPlane;
  close(): Promise<void>;
}

/**
 * A router hosting the in-process control plane (the single-host default): nodes heartbeat to it
 * over HTTP, and it learns every new ring in-process the moment it is made.
 */
export async function startLocalRouter(options: LocalRouterOptions): Promise<RunningRouter> {
  const controlPlane = new InProcessControlPlane({
    ringFile: join(options.dataDir, 'ring.json'),
    initialRing: initialRing(options.initialNodeIds),
    ...(options.leaseMs === undefined ? {} : { leaseMs: options.leaseMs }),
    ...(options.heartbeatIntervalMs === undefined
      ? {}
      : { heartbeatIntervalMs: options.heartbeatIntervalMs }),
  });
  let ring = new RingView(await controlPlane.currentRing());
  controlPlane.subscribe((next) => {
    if (next.epoch > ring.epoch) ring = new RingView(next);
  });
  const orchestrator = new RingChangeOrchestrator(controlPlane);
  const owners = new OwnerClient(
    () => ring,
    async () => undefined,
    options.owners,
  );
  const app = buildRouterServer({
    owners,
    ring: () => ring,
    extraRoutes: (server) => {
      registerControlPlaneRoutes(server, controlPlane);
      registerRingChangeRoutes(server, orchestrator);
    },
  });
  await app.listen({ host: options.host, port: options.port });
  const url = `http://${options.host}:${(app.server.address() as AddressInfo).port}`;
  return {
    url,
    controlPlane,
    async close() {
      await app.close();
      await owners.close();
      await orchestrator.close();
      await controlPlane.close();
    },
  };
}
