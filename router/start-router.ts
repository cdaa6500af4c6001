import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import {
  InProcessControlPlane,
  RedisControlPlane,
  RingChangeOrchestrator,
  initialRing,
  registerControlPlaneRoutes,
  registerRingChangeRoutes,
  type ControlPlane,
  type RingChangeTarget,
} from '../control-plane/index.js';
import { advertisedUrl, type RingConfig } from '../protocol/index.js';
import { RingView } from '../ring/index.js';
import {
  OwnerClient,
  createLogger,
  processSecurity,
  type HttpServerInstruments,
  type Logger,
} from '../transport/index.js';
import {
  createMetricsRegistry,
  ownerRetryMetrics,
  withMetricsTokens,
} from '../transport/metrics/index.js';
import { buildRouterServer } from './router-server.js';
import { registerRouterMetrics } from './router-metrics.js';
import {
  resolveRouterOptions,
  type GivenRouterOptions,
  type RouterOptions,
} from './router-options.js';

/** The member id routers sign with (the forwards to nodes, the ring-change calls). */
export const ROUTER_MEMBER_ID = 'router';

export interface RunningRouter {
  url: string;
  controlPlane: ControlPlane;
  close(): Promise<void>;
}

/**
 * A router: the public API, plus the control plane's HTTP face (nodes' heartbeats in local mode,
 * ringctl's status and changes in both). It follows every new ring by push: in-process from its
 * own control plane, or by Redis pub/sub when several routers share one.
 */
export async function startRouter(given: GivenRouterOptions): Promise<RunningRouter> {
  const options = resolveRouterOptions(given);
  const security = processSecurity(
    'startRouter',
    ROUTER_MEMBER_ID,
    options.host,
    options.credentials,
  );
  // Checked before anything starts (the metrics tokens too), so a wildcard host without an
  // advertised URL binds nothing.
  const access = withMetricsTokens(security.policy, options.metricsTokens, 'startRouter');
  advertisedUrl('startRouter', options.host, options.port, options.advertiseUrl);
  const logger =
    options.logLevel === 'silent'
      ? undefined
      : createLogger({ component: 'router', member: ROUTER_MEMBER_ID, level: options.logLevel });
  const metrics = options.metrics
    ? createMetricsRegistry({ component: 'router', member: ROUTER_MEMBER_ID })
    : undefined;
  const controlPlane = await openControlPlane(options);
  let ring = new RingView(await controlPlane.currentRing());
  // Set once the owner client exists: requests in flight to a node the new ring moved users away
  // from are abandoned and retried at the new owner.
  let ringMoved: (view: RingView) => void = () => undefined;
  const adopt = (next: RingConfig) => {
    if (next.epoch <= ring.epoch) return;
    ring = new RingView(next);
    logRing(logger, ring, 'ring adopted');
    ringMoved(ring);
  };
  logRing(logger, ring, 'ring loaded');
  controlPlane.subscribe(adopt);
  const orchestrator = new RingChangeOrchestrator(controlPlane, { signer: security.signer });
  const countRefresh =
    metrics === undefined
      ? undefined
      : registerRouterMetrics(metrics, { ring: () => ring, controlPlane });
  const refreshRing = async () => {
    try {
      adopt(await controlPlane.currentRing());
    } catch (error) {
      countRefresh?.('failed');
      throw error;
    }
    countRefresh?.('ok');
  };
  const owners = new OwnerClient(() => ring, refreshRing, {
    ...options.owners,
    signer: security.signer,
    ...(metrics === undefined ? {} : { onRetry: ownerRetryMetrics(metrics) }),
  });
  ringMoved = (view) => {
    const abandoned = owners.ringMoved(view);
    if (abandoned > 0)
      logger?.info({ epoch: view.epoch, abandoned }, 'requests to moved users asked again');
  };
  const instruments: HttpServerInstruments = {
    ...(logger === undefined ? {} : { logger }),
    ...(metrics === undefined ? {} : { metrics }),
  };
  const app = buildRouterServer({
    owners,
    ring: () => ring,
    access,
    signer: security.signer,
    http: options.http,
    instruments,
    extraRoutes: (server) => {
      registerControlPlaneRoutes(server, controlPlane);
      registerRingChangeRoutes(server, orchestrator);
    },
  });
  await app.listen({ host: options.host, port: options.port });
  const url = advertisedUrl(
    'startRouter',
    options.host,
    (app.server.address() as AddressInfo).port,
    options.advertiseUrl,
  );
  logger?.info({ url, controlPlane: options.controlPlane.kind }, 'router started');
  return {
    url,
    controlPlane,
    async close() {
      await app.close();
      await owners.close();
      await orchestrator.close();
      await controlPlane.close();
      logger?.info('router stopped');
      logger?.flush();
    },
  };
}

/** A ring the router routes by from now on: its epoch and who serves how many slots. */
function logRing(logger: Logger | undefined, ring: RingView, message: string): void {
  const { slots, standbys } = ring.config;
  logger?.info(
    {
      epoch: ring.epoch,
      slots: Object.fromEntries(slots.map(({ slot, nodeId }) => [slot, nodeId])),
      standbys,
    },
    message,
  );
}

async function openControlPlane(
  options: Readonly<RouterOptions>,
): Promise<ControlPlane & RingChangeTarget> {
  const timings = {
    leaseMs: options.leaseMs,
    heartbeatIntervalMs: options.heartbeatIntervalMs,
    startupGraceMs: options.startupGraceMs,
  };
  const seed = initialRing(options.initialNodeIds, undefined, options.initialStandbyIds);
  if (options.controlPlane.kind === 'redis') {
    return RedisControlPlane.open({
      redisUrl: options.controlPlane.redisUrl,
      ...options.controlPlane.connection,
      ...(options.controlPlane.keyPrefix === undefined
        ? {}
        : { keyPrefix: options.controlPlane.keyPrefix }),
      initialRing: seed,
      ...timings,
    });
  }
  return new InProcessControlPlane({
    ringFile: join(options.controlPlane.dataDir, 'ring.json'),
    initialRing: seed,
    ...timings,
  });
}
