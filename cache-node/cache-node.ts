import type { AddressInfo } from 'node:net';
import {
  DEFAULT_CONTROL_PLANE_TIMINGS,
  connectControlPlane,
  type ControlPlaneAddress,
} from '../control-plane/index.js';
import {
  ANY_RULE,
  BOOLEAN_RULE,
  HEARTBEAT_INTERVAL_MS_MAX,
  HEARTBEAT_INTERVAL_MS_MIN,
  LISTEN_PORT_MAX,
  SYSTEM_CLOCK,
  USER_ID_PATTERN,
  checkOption,
  advertisedUrl,
  integerRule,
  requireOption,
  resolveOptions,
  type Clock,
  type GivenOptions,
  type OptionRule,
  type OptionRules,
} from '../protocol/index.js';
import {
  LOG_LEVEL_RULE,
  LogThrottle,
  OwnerClient,
  PeerClient,
  createLogger,
  httpServerLoad,
  processSecurity,
  type Credentials,
  type HttpServerInstruments,
  type HttpServerOptions,
  type Logger,
  type LogLevel,
} from '../transport/index.js';
import { createMetricsRegistry, withMetricsTokens } from '../transport/metrics/index.js';
import {
  openStore,
  type MailboxStore,
  type StoreFigures,
  type StoreOptions,
} from '../store-adapter/index.js';
import { MailboxCache, type MailboxCacheOptions } from './mailbox-cache.js';
import { MailboxService, type MailboxServiceOptions } from './mailbox-service.js';
import { LeaseRenewals } from './lease-renewals.js';
import { buildNodeServer } from './node-server.js';
import { Ownership } from './ownership.js';
import { PeerDelivery } from './peer-delivery.js';
import { Handoff, type HandoffOptions } from './handoff.js';
import { UserLockTable, type UserLockTableOptions } from './user-lock-table.js';
import type { Failpoints } from './failpoints.js';
import { NodeProbes } from './node-metrics.js';

/** A node's options once filled and checked (`resolveCacheNodeOptions`). */
export interface ResolvedCacheNodeOptions {
  /** This node's id (1-64 characters of [A-Za-z0-9_-]). No default. */
  nodeId: string;
  /**
   * Listen address.
   * @default '127.0.0.1'
   */
  host: string;
  /**
   * Listen port; 0 picks a free one.
   * @default 0
   */
  port: number;
  /**
   * The URL the ring gives for this node (http(s)://host:port): where routers, peers and
   * ring-aware clients connect. Undefined: `http://host:port` of where it listens (refused for a
   * wildcard host such as 0.0.0.0).
   * @default undefined
   */
  advertiseUrl: string | undefined;
  /** The control plane: the router hosting it (local mode), or Redis. No default. */
  controlPlane: ControlPlaneAddress;
  /** The store (checked by `openStore`). No default. */
  store: StoreOptions;
  /** The cluster secret and, beyond loopback, app and operator tokens. No default. */
  credentials: Credentials;
  /**
   * How often the lease is renewed.
   * @default DEFAULT_CONTROL_PLANE_TIMINGS.heartbeatIntervalMs (500)
   */
  heartbeatIntervalMs: number;
  /** MailboxCache's options (it checks them). @default {} */
  cache: Partial<MailboxCacheOptions>;
  /** UserLockTable's options (it checks them). @default {} */
  locks: Partial<UserLockTableOptions>;
  /** MailboxService's options (it checks them). @default {} */
  service: Partial<MailboxServiceOptions>;
  /** Handoff's options (it checks them). @default {} */
  handoff: Partial<HandoffOptions>;
  /** The HTTP server's bounds (createHttpServer checks them). @default {} */
  http: GivenOptions<HttpServerOptions>;
  /** Failures a test asks for (off unless given). @default undefined */
  failpoints: Failpoints | undefined;
  /**
   * Structured JSON logs on stdout at this level (transport/logging); `silent` logs nothing and
   * costs nothing. `chatring node` defaults to info.
   * @default 'silent'
   */
  logLevel: LogLevel;
  /**
   * Prometheus metrics at `GET /metrics` (transport/metrics, node-metrics.ts); false: no
   * registry, no request hook, no store or lock timing, no route.
   * @default true
   */
  metrics: boolean;
  /**
   * Bearer tokens `GET /metrics` then requires (plain or `sha256:<hex>`; the operator token and
   * member signatures are taken too); undefined: it is open (docs/security.md).
   * @default undefined
   */
  metricsTokens: readonly string[] | undefined;
  /**
   * Time: lease renewals, warm-state expiry, message timestamps.
   * @default SYSTEM_CLOCK
   */
  clock: Clock;
}

type RequiredCacheNodeOptions = 'nodeId' | 'controlPlane' | 'store' | 'credentials';

/** What `startCacheNode` takes: everything but the node id, control plane and store may be left out. */
export type CacheNodeOptions = GivenOptions<
  Omit<ResolvedCacheNodeOptions, RequiredCacheNodeOptions>
> &
  Pick<ResolvedCacheNodeOptions, RequiredCacheNodeOptions>;

export const DEFAULT_CACHE_NODE_OPTIONS: Readonly<
  Omit<ResolvedCacheNodeOptions, RequiredCacheNodeOptions>
> = Object.freeze({
  host: '127.0.0.1',
  port: 0,
  advertiseUrl: undefined,
  heartbeatIntervalMs: DEFAULT_CONTROL_PLANE_TIMINGS.heartbeatIntervalMs,
  cache: Object.freeze({}),
  locks: Object.freeze({}),
  service: Object.freeze({}),
  handoff: Object.freeze({}),
  http: Object.freeze({}),
  failpoints: undefined,
  logLevel: 'silent',
  metrics: true,
  metricsTokens: undefined,
  clock: SYSTEM_CLOCK,
});

const COMPONENT = 'startCacheNode';

const NODE_ID_RULE: OptionRule = {
  kind: 'string',
  pattern: USER_ID_PATTERN,
  describe: '1-64 characters of [A-Za-z0-9_-]',
};

const CACHE_NODE_RULES: OptionRules<Omit<ResolvedCacheNodeOptions, RequiredCacheNodeOptions>> = {
  host: { kind: 'string', pattern: /^\S+$/, describe: 'a host name or address' },
  port: integerRule(0, LISTEN_PORT_MAX),
  advertiseUrl: { kind: 'string', describe: 'an http(s)://host:port URL' },
  heartbeatIntervalMs: integerRule(HEARTBEAT_INTERVAL_MS_MIN, HEARTBEAT_INTERVAL_MS_MAX),
  // Checked where they are used: each component's constructor.
  cache: ANY_RULE,
  locks: ANY_RULE,
  service: ANY_RULE,
  handoff: ANY_RULE,
  http: ANY_RULE,
  failpoints: ANY_RULE,
  logLevel: LOG_LEVEL_RULE,
  metrics: BOOLEAN_RULE,
  metricsTokens: ANY_RULE, // checked by TokenSet when the node starts
  clock: ANY_RULE, // checked below: an object with the Clock's three functions
};

/** A control-plane call may take two heartbeats, but never less than this (a slow Redis round trip). */
const CONTROL_PLANE_TIMEOUT_MS_MIN = 1_000;

/** Warm batches go to one new owner at a time: a few connections per peer are plenty. */
const HANDOFF_CONNECTIONS_PER_PEER = 4;

export interface RunningCacheNode {
  url: string;
  service: MailboxService;
  ownership: Ownership;
  close(): Promise<void>;
}

/** Fills and checks a node's options; throws INVALID_OPTION naming the first bad one. */
export function resolveCacheNodeOptions(
  given: CacheNodeOptions,
): Readonly<ResolvedCacheNodeOptions> {
  // The control plane and the store are checked where they are opened (connectControlPlane, openStore).
  // The credentials are checked by processSecurity when the node starts.
  const { nodeId, controlPlane, store, credentials, ...rest } = given;
  checkOption(COMPONENT, 'nodeId', nodeId, NODE_ID_RULE);
  const options = resolveOptions(COMPONENT, DEFAULT_CACHE_NODE_OPTIONS, rest, CACHE_NODE_RULES);
  const clock = options.clock as Partial<Record<keyof Clock, unknown>> | null;
  requireOption(
    typeof clock === 'object' &&
      clock !== null &&
      typeof clock.monotonicNow === 'function' &&
      typeof clock.wallNow === 'function' &&
      typeof clock.sleep === 'function',
    COMPONENT,
    'clock',
    'must have monotonicNow, wallNow and sleep functions',
  );
  return Object.freeze({ ...options, nodeId, controlPlane, store, credentials });
}

/** Starts a cache node: store, indices, HTTP server, and the lease-renewal loop. */
export async function startCacheNode(given: CacheNodeOptions): Promise<RunningCacheNode> {
  const options = resolveCacheNodeOptions(given);
  const { nodeId, clock } = options;
  const { signer, policy } = processSecurity(COMPONENT, nodeId, options.host, options.credentials);
  const access = withMetricsTokens(policy, options.metricsTokens, COMPONENT);
  const logger =
    options.logLevel === 'silent'
      ? undefined
      : createLogger({ component: 'node', member: nodeId, level: options.logLevel });
  const probes = options.metrics
    ? new NodeProbes(createMetricsRegistry({ component: 'node', member: nodeId }), clock)
    : undefined;
  const openedStore: MailboxStore = await openStore(
    options.store,
    options.failpoints?.storeHooks(options.store.kind),
  );
  const store = probes?.measureStore(openedStore) ?? openedStore;
  const controlPlane = await connectControlPlane(
    options.controlPlane,
    Math.max(CONTROL_PLANE_TIMEOUT_MS_MIN, options.heartbeatIntervalMs * 2),
    signer,
  );
  const ownership = new Ownership({ nodeId, monotonicNow: () => clock.monotonicNow() });
  const refreshRing = async () => ownership.updateRing(await controlPlane.currentRing());
  const unsubscribe = controlPlane.subscribe((ring) => ownership.updateRing(ring));
  const owners = new OwnerClient(
    () => ownership.ring,
    refreshRing,
    { signer, ...(probes && { onRetry: probes.onRetry }) },
    clock,
  );
  const { locks, cache, service } = buildDataPath(
    options,
    store,
    ownership,
    owners,
    logger,
    probes,
  );
  ownership.onLeaseRegained(() => cache.clear());
  if (logger !== undefined) logRingAdoptions(ownership, nodeId, logger);

  const handoffPeers = new PeerClient('warm handoff', {
    connectionsPerPeer: HANDOFF_CONNECTIONS_PER_PEER,
    signer,
  });
  const handoff = new Handoff(
    {
      nodeId,
      ownership,
      cache,
      locks,
      peers: probes?.countWarmBatches(handoffPeers) ?? handoffPeers,
      clock,
      ...(logger && { logger }),
    },
    options.handoff,
  );
  ownership.onRingAdopted((ring) => {
    service.evictWhere((userId) => ring.ownerIdOf(userId) !== nodeId);
    service.releaseUnservedWatchers();
    // Deliveries in flight to a node that no longer owns their recipient go to the new owner.
    owners.ringMoved(ring);
  });
  ownership.onReleaseBegun(() => service.releaseUnservedWatchers());
  const renewals = new LeaseRenewals(
    probes?.observeHeartbeats(controlPlane) ?? controlPlane,
    ownership,
    {
      clock,
      heartbeatIntervalMs: options.heartbeatIntervalMs,
      ...(logger && { logger }),
    },
  );
  probes?.register({ service, cache, locks, handoff, renewals, ownership, store });
  const instruments: HttpServerInstruments = {
    ...(logger && { logger }),
    ...(probes && { metrics: probes.registry }),
  };
  const app = buildNodeServer({
    access,
    http: options.http,
    instruments,
    handoff,
    adoptRing: (ring) => ownership.updateRing(ring),
    service,
    epoch: () => ownership.epoch,
    refreshRing,
    stats: () => ({
      nodeId,
      epoch: ownership.epoch,
      slots: ownership.ownedSlots(),
      leaseRemainingMs: Math.round(ownership.leaseRemainingMs()),
      lease: renewals.stats,
      cache: cache.stats(),
      emptyMailboxes: cache.emptyStats(),
      http: httpServerLoad(app),
      service: service.stats,
      feed: service.feedStats,
      handoff: handoff.stats,
      pendingRepairs: service.pendingRepairs,
      store: store.kind,
      // The store's own figures, when it keeps any, by kind (StoreStats): counters only grow
      // (requests, LWTs, transactions, ...: a window's work is after - before), gauges are read
      // as they stand (queued commits, the largest batch).
      ...storeStatsFields(store),
    }),
  });
  // Checked before listening, so a wildcard host without an advertised URL binds nothing.
  advertisedUrl(COMPONENT, options.host, options.port, options.advertiseUrl);
  await app.listen({ host: options.host, port: options.port });
  const url = advertisedUrl(
    COMPONENT,
    options.host,
    (app.server.address() as AddressInfo).port,
    options.advertiseUrl,
  );
  await renewals.start({ nodeId, url, pid: process.pid });
  logger?.info({ url, store: store.kind }, 'node started');

  return {
    url,
    service,
    ownership,
    async close() {
      await app.close();
      service.close();
      unsubscribe();
      await renewals.stop();
      await Promise.all([owners.close(), controlPlane.close(), handoffPeers.close()]);
      await store.close();
      logger?.info('node stopped');
      logger?.flush();
    },
  };
}

/**
 * The store's figures as /internal/v1/stats carries them, one field per kind so a reader never
 * needs the names to know which it may difference or add up; {} each when the store keeps none.
 */
function storeStatsFields(store: MailboxStore): {
  storeCounters: StoreFigures;
  storeGauges: StoreFigures;
} {
  const stats = store.stats?.();
  return { storeCounters: stats?.counters ?? {}, storeGauges: stats?.gauges ?? {} };
}

/** The data path: lock table, cache, service, and delivery of the other copy (in-process when this
 * node owns both users, else through the owner client). */
function buildDataPath(
  options: Readonly<ResolvedCacheNodeOptions>,
  store: MailboxStore,
  ownership: Ownership,
  owners: OwnerClient,
  logger: Logger | undefined,
  probes: NodeProbes | undefined,
): { locks: UserLockTable; cache: MailboxCache; service: MailboxService } {
  const locks = new UserLockTable(options.locks, probes?.lockObserver);
  const cache = new MailboxCache(options.cache, (userId) => locks.isBusy(userId));
  const delivery = new PeerDelivery(
    (userId) => ownership.ring?.ownerIdOf(userId) === options.nodeId,
    owners,
    ownership,
  );
  const service = new MailboxService(
    {
      store,
      locks,
      cache,
      ownership,
      delivery,
      now: () => options.clock.wallNow(),
      ...(options.failpoints === undefined ? {} : { failpoints: options.failpoints }),
      ...(logger && { storeErrors: new LogThrottle(logger) }),
    },
    options.service,
  );
  delivery.attach(service);
  return { locks, cache, service };
}

/**
 * Each ring this node adopts, once: its epoch and the slots it gained and lost (a gained slot's
 * users load from the store or arrive warm; a lost one's are dropped from the cache).
 */
function logRingAdoptions(ownership: Ownership, nodeId: string, logger: Logger): void {
  let held = new Set<string>();
  ownership.onRingAdopted((ring) => {
    const now = new Set(ring.slotsOf(nodeId));
    const adopted = [...now].filter((slot) => !held.has(slot));
    const released = [...held].filter((slot) => !now.has(slot));
    held = now;
    logger.info({ epoch: ring.epoch, slots: [...now], adopted, released }, 'ring adopted');
  });
}
