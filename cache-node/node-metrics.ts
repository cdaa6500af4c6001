import type { ChangeFeedStats } from './change-feed.js';
import { Counter, Histogram, type Registry } from 'prom-client';
import type { ControlPlaneLink } from '../control-plane/index.js';
import { HANDOFF_PATHS, type Clock } from '../protocol/index.js';
import type { PeerClient, PeerRequest } from '../transport/index.js';
import {
  METRIC_PREFIX,
  collectedCounter,
  collectedGauge,
  ownerRetryMetrics,
  type OwnerRetryReason,
  HotPathHistogram,
} from '../transport/metrics/index.js';
import type { MailboxStore } from '../store-adapter/index.js';
import type { HandoffStats } from './handoff.js';
import type { LeaseRenewalStats } from './lease-renewals.js';
import type { MailboxCache } from './mailbox-cache.js';
import type { MailboxServiceStats } from './mailbox-loader.js';
import {
  MeasuredStore,
  STORE_OPERATIONS,
  type StoreCallObserver,
  type StoreOperation,
} from './measured-store.js';
import type { UserLockObserver, UserLockStats } from './user-lock-table.js';

const P = METRIC_PREFIX;

/**
 * Lock waits, seconds: most queue behind one write (a store commit, a few ms); the last bucket
 * below the 5 s wait timeout shows users close to USER_BUSY.
 */
export const LOCK_WAIT_BUCKETS_SECONDS: readonly number[] = Object.freeze([
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
]);

/** Store calls, seconds: SQLite answers reads in microseconds, Cassandra LWTs in tens of ms. */
export const STORE_CALL_BUCKETS_SECONDS: readonly number[] = Object.freeze([
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
]);

/** What a node's metrics read when scraped: the figures its components already keep. */
export interface NodeMetricSources {
  service: {
    readonly stats: MailboxServiceStats;
    readonly pendingRepairs: number;
    readonly feedStats: Readonly<ChangeFeedStats>;
  };
  cache: Pick<MailboxCache, 'stats' | 'emptyStats' | 'options' | 'usersByRecency' | 'peek'>;
  locks: { readonly stats: UserLockStats; readonly busyUsers: number };
  handoff: { readonly stats: HandoffStats };
  renewals: { readonly stats: LeaseRenewalStats };
  ownership: { readonly epoch: number; leaseRemainingMs(): number; ownedSlots(): string[] };
  /** Ms since the last heartbeat the control plane answered was sent; undefined before one. */
  leaseAgeMs: () => number | undefined;
  /** Warm batches this node posted to new owners (the failed ones are in handoff.stats). */
  warmBatchesSent: () => number;
  store: Pick<MailboxStore, 'stats'>;
}

/**
 * A cache node's own metrics (the HTTP ones are createHttpServer's). Everything the node already
 * counts for `/internal/v1/stats` is read from there when Prometheus scrapes, so nothing is counted
 * twice and the hot path pays nothing: cache hits, misses and loads; cached users, messages and
 * bytes against the budget; evictions; lock waits and refusals; lease left and its age; epoch and
 * slots; handoff users and batches; the repair queue; the store's own figures. No label is ever a
 * user id: labels are fixed words (an operation, a reason, a kind).
 */
export function registerNodeMetrics(registry: Registry, sources: NodeMetricSources): void {
  registerCacheMetrics(registry, sources);
  registerLockMetrics(registry, sources.locks);
  registerLeaseMetrics(registry, sources);
  registerHandoffMetrics(registry, sources);
  registerStoreFigures(registry, sources.store);
  registerFeedMetrics(registry, sources.service.feedStats);
  collectedGauge(registry, {
    name: `${P}repair_queue_depth`,
    help: "Half-sent messages waiting for their coordinator's copy (the repair queue, running ones included).",
    read: () => sources.service.pendingRepairs,
  });
}

/** The change feed: held requests now, and how each held one was answered. */
function registerFeedMetrics(registry: Registry, feed: Readonly<ChangeFeedStats>): void {
  collectedGauge(registry, {
    name: `${P}feed_watchers`,
    help: 'Change-feed requests held now, waiting for a change to their user (bounded by watchersPerNodeMax).',
    read: () => feed.watchers,
  });
  collectedCounter(registry, {
    name: `${P}feed_held_answers_total`,
    help: 'Held change-feed requests answered, by why: commit (a change woke it), empty (its waitMs passed), released (its user left this node, or the node stops), refused (past a watcher bound, never held).',
    labelNames: ['outcome'] as const,
    read: () => [
      { labels: { outcome: 'commit' }, value: feed.wokenByCommit },
      { labels: { outcome: 'empty' }, value: feed.answeredEmpty },
      { labels: { outcome: 'released' }, value: feed.released },
      { labels: { outcome: 'refused' }, value: feed.watchersRefused },
    ],
  });
  collectedCounter(registry, {
    name: `${P}feed_store_replays_total`,
    help: "Change-feed answers replayed from the store's change log (the cursor was older than the owner's memory reaches).",
    read: () => feed.storeReplays,
  });
}

function registerCacheMetrics(registry: Registry, sources: NodeMetricSources): void {
  const { service, cache } = sources;
  collectedCounter(registry, {
    name: `${P}cache_hits_total`,
    help: "Reads and writes that found the user's mailbox cached.",
    read: () => service.stats.cacheHits,
  });
  collectedCounter(registry, {
    name: `${P}cache_misses_total`,
    help: "Reads and writes that loaded the user's mailbox from the store.",
    read: () => service.stats.cacheMisses,
  });
  collectedCounter(registry, {
    name: `${P}cache_loads_total`,
    help: 'Loads from the store into the cache: mailboxes on a miss, rows, and pages below a cached window.',
    read: () => service.stats.storeLoads,
  });
  collectedCounter(registry, {
    name: `${P}idempotency_checks_total`,
    help: "Writes' idempotency checks, by what answered: memory (the owner's keys proved the clientMessageId new) or store (its index was read).",
    labelNames: ['answered_by'] as const,
    read: () => [
      { labels: { answered_by: 'memory' }, value: service.stats.idempotencyFromMemory },
      { labels: { answered_by: 'store' }, value: service.stats.idempotencyStoreReads },
    ],
  });
  collectedGauge(registry, {
    name: `${P}cache_users`,
    help: 'Users whose mailbox is cached, by LRU: mailboxes (charged to the byte budget) and empty ones (their own count).',
    labelNames: ['lru'] as const,
    read: () => {
      const all = cache.stats().users;
      const empty = cache.emptyStats().users;
      return [
        { labels: { lru: 'mailboxes' }, value: all - empty },
        { labels: { lru: 'empty' }, value: empty },
      ];
    },
  });
  collectedGauge(registry, {
    name: `${P}cache_messages`,
    help: 'Messages held in cached conversation windows (counted when scraped: a walk over cached conversations).',
    read: () => cachedMessages(cache),
  });
  collectedGauge(registry, {
    name: `${P}cache_bytes`,
    help: 'Estimated bytes of the cached mailboxes (what cacheBytesMax budgets).',
    read: () => cache.stats().bytes,
  });
  collectedGauge(registry, {
    name: `${P}cache_bytes_budget`,
    help: 'The cache byte budget (--cache-bytes-max): least recently used users are evicted past it.',
    read: () => cache.options.cacheBytesMax,
  });
  collectedGauge(registry, {
    name: `${P}cache_empty_mailboxes_budget`,
    help: 'Empty mailboxes kept at most (emptyMailboxesMax).',
    read: () => cache.options.emptyMailboxesMax,
  });
  collectedCounter(registry, {
    name: `${P}cache_evictions_total`,
    help: 'Users evicted past the budget, by LRU (mailboxes: the byte budget; empty: the count).',
    labelNames: ['lru'] as const,
    read: () => {
      const all = cache.stats().evictions;
      const empty = cache.emptyStats().evictions;
      return [
        { labels: { lru: 'mailboxes' }, value: all - empty },
        { labels: { lru: 'empty' }, value: empty },
      ];
    },
  });
}

/**
 * Messages in every cached window: O(cached users + conversations), run once per scrape (a 256 MiB
 * cache holds about 100,000 users: a few milliseconds every scrape interval).
 */
function cachedMessages(cache: NodeMetricSources['cache']): number {
  let messages = 0;
  for (const userId of cache.usersByRecency()) {
    const state = cache.peek(userId);
    if (state === undefined) continue;
    for (const conversation of state.conversations.values())
      messages += conversation.window?.messages.length ?? 0;
  }
  return messages;
}

function registerLockMetrics(registry: Registry, locks: NodeMetricSources['locks']): void {
  collectedCounter(registry, {
    name: `${P}user_lock_acquisitions_total`,
    help: "Per-user locks taken (every write and every cold load holds its user's lock).",
    read: () => locks.stats.acquired,
  });
  collectedCounter(registry, {
    name: `${P}user_lock_waits_total`,
    help: 'Lock requests that found the lock held and queued (chatring_user_lock_wait_seconds times them).',
    read: () => locks.stats.waited,
  });
  collectedCounter(registry, {
    name: `${P}user_lock_refusals_total`,
    help: 'Lock requests refused with USER_BUSY, by reason: waiters_full (waitersMax already queued) or timeout (waited lockWaitTimeoutMs).',
    labelNames: ['reason'] as const,
    read: () => [
      { labels: { reason: 'waiters_full' }, value: locks.stats.refusedWaitersFull },
      { labels: { reason: 'timeout' }, value: locks.stats.refusedWaitTimeout },
    ],
  });
  collectedGauge(registry, {
    name: `${P}user_locks_busy`,
    help: 'Users whose lock is held or waited for now.',
    read: () => locks.busyUsers,
  });
}

function registerLeaseMetrics(registry: Registry, sources: NodeMetricSources): void {
  const { ownership } = sources;
  collectedGauge(registry, {
    name: `${P}lease_remaining_seconds`,
    help: 'Seconds this node may still serve on its lease (negative: lapsed, it refuses); 0 before its first lease.',
    read: () => ownership.leaseRemainingMs() / 1_000,
  });
  collectedGauge(registry, {
    name: `${P}lease_age_seconds`,
    help: 'Seconds since the last heartbeat the control plane answered was sent; 0 before the first.',
    read: () => (sources.leaseAgeMs() ?? 0) / 1_000,
  });
  collectedCounter(registry, {
    name: `${P}lease_renewals_failed_total`,
    help: 'Heartbeats that did not renew the lease (control plane unreachable, refused, or a bad lease).',
    read: () => sources.renewals.stats.renewalsFailed,
  });
  collectedGauge(registry, {
    name: `${P}ring_epoch`,
    help: 'The epoch of the ring this process routes or serves by.',
    read: () => ownership.epoch,
  });
  collectedGauge(registry, {
    name: `${P}node_slots`,
    help: 'Ring slots this node serves (0: a standby).',
    read: () => ownership.ownedSlots().length,
  });
}

function registerHandoffMetrics(registry: Registry, sources: NodeMetricSources): void {
  const { stats } = sources.handoff;
  collectedCounter(registry, {
    name: `${P}handoff_users_total`,
    help: 'Users moved by ring changes, by event: released (given away), warm_sent, warm_received, warm_adopted (cached on adopting the ring), warm_failed (their batch did not arrive: they moved cold).',
    labelNames: ['event'] as const,
    read: () => [
      { labels: { event: 'released' }, value: stats.releasedUsers },
      { labels: { event: 'warm_sent' }, value: stats.warmUsersSent },
      { labels: { event: 'warm_received' }, value: stats.warmUsersReceived },
      { labels: { event: 'warm_adopted' }, value: stats.warmUsersAdopted },
      { labels: { event: 'warm_failed' }, value: stats.warmUsersFailed },
    ],
  });
  collectedCounter(registry, {
    name: `${P}handoff_warm_batches_total`,
    help: 'Warm-handoff batches this node posted to new owners, by outcome (received batches and their bytes: chatring_http_requests_total and chatring_http_request_body_bytes_total on route /internal/v1/handoff/warm).',
    labelNames: ['outcome'] as const,
    read: () => {
      const failed = stats.warmBatchesFailed;
      return [
        { labels: { outcome: 'sent' }, value: Math.max(0, sources.warmBatchesSent() - failed) },
        { labels: { outcome: 'failed' }, value: failed },
      ];
    },
  });
}

/** The store's own figures (MailboxStore.stats: EmbeddedStoreCounters, CassandraStoreCounters). */
function registerStoreFigures(registry: Registry, store: Pick<MailboxStore, 'stats'>): void {
  collectedCounter(registry, {
    name: `${P}store_figure_total`,
    help: "The store's own counters by name (embedded: commits, transactions, lockWaits, ...; Cassandra: requests, lwts, ...; see docs).",
    labelNames: ['figure'] as const,
    read: () => figureSamples(store.stats?.().counters),
  });
  collectedGauge(registry, {
    name: `${P}store_figure`,
    help: "The store's own gauges by name (embedded: queued, batchSizeMax).",
    labelNames: ['figure'] as const,
    read: () => figureSamples(store.stats?.().gauges),
  });
}

function figureSamples(
  figures: Readonly<Record<string, number>> | undefined,
): { labels: { figure: string }; value: number }[] {
  return Object.entries(figures ?? {}).map(([figure, value]) => ({ labels: { figure }, value }));
}

/** Store call latency by operation, and failures by operation and catalogue code. */
export function storeCallMetrics(registry: Registry): StoreCallObserver {
  // Every send and every cache load makes store calls: observed without prom-client's label hashing.
  const duration = new HotPathHistogram(registry, {
    name: `${P}store_call_duration_seconds`,
    help: 'Time of each store call, by operation (failed calls included).',
    labelNames: ['operation'] as const,
    buckets: STORE_CALL_BUCKETS_SECONDS,
  });
  const errors = new Counter({
    name: `${P}store_call_errors_total`,
    help: 'Store calls that failed, by operation and catalogue code (STORE_VERSION_CONFLICT: another writer moved the mailbox; STORE_UNAVAILABLE: the store is down; INTERNAL: anything else).',
    labelNames: ['operation', 'code'] as const,
    registers: [registry],
  });
  const observers = new Map<StoreOperation, (seconds: number) => void>();
  for (const operation of STORE_OPERATIONS) {
    const child = duration.child({ operation });
    observers.set(operation, (seconds) => child.observe(seconds));
  }
  return {
    observe(operation, seconds, errorCode) {
      observers.get(operation)?.(seconds);
      if (errorCode !== undefined) errors.inc({ operation, code: errorCode });
    },
  };
}

/** The lock-wait histogram (the counts are the table's own stats). */
export function lockWaitMetrics(registry: Registry, monotonicNow: () => number): UserLockObserver {
  const waits = new Histogram({
    name: `${P}user_lock_wait_seconds`,
    help: 'How long lock requests that queued waited, by outcome: acquired, or timeout (USER_BUSY).',
    labelNames: ['outcome'] as const,
    buckets: [...LOCK_WAIT_BUCKETS_SECONDS],
    registers: [registry],
  });
  const acquired = waits.labels({ outcome: 'acquired' });
  const timedOut = waits.labels({ outcome: 'timeout' });
  return {
    monotonicNow,
    waited(waitMs, gotLock) {
      (gotLock ? acquired : timedOut).observe(waitMs / 1_000);
    },
  };
}

/** The figures registerNodeMetrics reads that the node's components keep (NodeProbes adds the rest). */
export type NodeComponentSources = Omit<NodeMetricSources, 'leaseAgeMs' | 'warmBatchesSent'>;

/**
 * A node's metrics, wired in: the registry's instruments for the parts that measure as they go
 * (store calls, lock waits, retries to other owners), wrappers that observe what the node's own
 * classes do not count (heartbeats answered, for the lease's age; warm batches posted), and,
 * once the components exist, the collect-at-scrape metrics over their figures (`register`).
 */
export class NodeProbes {
  readonly registry: Registry;
  readonly lockObserver: UserLockObserver;
  readonly onRetry: (reason: OwnerRetryReason) => void;
  readonly #storeObserver: StoreCallObserver;
  readonly #clock: Clock;
  #lastAnsweredHeartbeatSentAt: number | undefined;
  #warmBatchesSent = 0;

  constructor(registry: Registry, clock: Clock) {
    this.registry = registry;
    this.#clock = clock;
    this.lockObserver = lockWaitMetrics(registry, () => clock.monotonicNow());
    this.#storeObserver = storeCallMetrics(registry);
    this.onRetry = ownerRetryMetrics(registry);
  }

  /** The store, every call timed by operation (MeasuredStore). */
  measureStore(store: MailboxStore): MailboxStore {
    return new MeasuredStore(store, this.#storeObserver);
  }

  /** The control plane as LeaseRenewals sees it, noting when each answered heartbeat was sent. */
  observeHeartbeats(
    link: Pick<ControlPlaneLink, 'heartbeat'>,
  ): Pick<ControlPlaneLink, 'heartbeat'> {
    return {
      heartbeat: async (node) => {
        const sentAt = this.#clock.monotonicNow();
        const reply = await link.heartbeat(node);
        this.#lastAnsweredHeartbeatSentAt = Math.max(
          this.#lastAnsweredHeartbeatSentAt ?? sentAt,
          sentAt,
        );
        return reply;
      },
    };
  }

  /** The handoff's peer client, counting the warm batches it posts (failed ones included). */
  countWarmBatches(peers: Pick<PeerClient, 'call'>): Pick<PeerClient, 'call'> {
    return {
      call: <T>(baseUrl: string, request: PeerRequest): Promise<T> => {
        if (request.path === HANDOFF_PATHS.warm) this.#warmBatchesSent += 1;
        return peers.call<T>(baseUrl, request);
      },
    };
  }

  /** The collect-at-scrape metrics over the node's components (registerNodeMetrics). */
  register(sources: NodeComponentSources): void {
    registerNodeMetrics(this.registry, {
      ...sources,
      leaseAgeMs: () =>
        this.#lastAnsweredHeartbeatSentAt === undefined
          ? undefined
          : this.#clock.monotonicNow() - this.#lastAnsweredHeartbeatSentAt,
      warmBatchesSent: () => this.#warmBatchesSent,
    });
  }
}
