/**
 * The targets the load runs against, each started for its run and always stopped: a local
 * cluster (through its router, the same with app tokens required or with metrics and logging off,
 * through the ring-aware client, or straight to its owners), the no-cache baseline server, and the echo and echo-proxy servers;
 * the cluster and baseline targets on the embedded store and on Cassandra (a keyspace of the
 * bench's own, see cassandra-keyspaces.ts).
 */
import { randomBytes } from 'node:crypto';
import { join, resolve } from 'node:path';
import {
  ApiClient,
  readNodeStats,
  type ApiResponse,
  type LocalCluster,
  type NodeCounters,
  type ScratchKeyspace,
} from '../../harness/index.js';
import { orderedPair } from '../../protocol/index.js';
import { RingView } from '../../ring/index.js';
import { startBenchCluster } from '../lib/bench-cluster.js';
import type { ChatWorkload, PlannedOperation } from '../lib/chat-workload.js';
import { readClusterCounters } from '../lib/cluster-counters.js';
import type { TargetPath, TargetSpec } from '../lib/load-target-catalogue.js';
import { callOperation, runOperations, type OperationPass } from '../lib/operation-call.js';
import type { BenchCassandra } from './cassandra-keyspaces.js';
import type { StoreCpuScope } from './cassandra-process.js';
import { clientDirectTarget } from './client-direct-target.js';
import {
  drive,
  driveAlternated,
  workloadPlan,
  type CpuScope,
  type DriveOutcome,
} from './closed-loop-drive.js';
import { describe, skippedResult, type LoadTarget, type TargetResult } from './load-results.js';
import { settings } from './load-settings.js';
import { checkPageSizes, type PageSizeCheck } from './page-size-check.js';
import { startServerProcess } from './server-process.js';

/** Rounds of retries of the pre-warm reads that failed (a node slow to answer on a loaded box). */
const PREWARM_RETRIES = 2;

export interface TargetRun {
  result: TargetResult;
  /** The page-size check, run after the embedded router target's window. */
  pageSizeCheck?: PageSizeCheck;
}

/**
 * The paths that can share one cluster (router-auth cannot: its cluster requires tokens; nor can
 * router-no-telemetry: its processes run without metrics and logs).
 */
const SHARED_CLUSTER_PATHS: readonly TargetPath[] = ['router', 'client-direct', 'direct'];

/**
 * The targets in run order, in sessions: with a read-only mix (the data never changes),
 * consecutive router, client-direct and direct targets of one store share a cluster, started and
 * pre-warmed once, each then measured in turn on the same processes and the same cached state;
 * every other target (and every target when the mix has sends) runs alone on fresh data. With
 * --alternate-rounds, router-no-telemetry right before router joins router's session: the two are
 * measured in alternated windows (runOnCluster).
 */
export function sessionsOf(specs: readonly TargetSpec[]): TargetSpec[][] {
  const sessions: TargetSpec[][] = [];
  const shares = (spec: TargetSpec) =>
    settings.mix.send === 0 && SHARED_CLUSTER_PATHS.includes(spec.path);
  for (const spec of specs) {
    const last = sessions.at(-1);
    const previous = last?.at(-1);
    if (
      last !== undefined &&
      previous !== undefined &&
      ((shares(spec) && shares(previous) && previous.store === spec.store) ||
        (last.length === 1 && isAlternatedPair(previous, spec)))
    )
      last.push(spec);
    else sessions.push([spec]);
  }
  return sessions;
}

/**
 * Runs one session (sessionsOf). A Cassandra target that cannot run (no Cassandra, a failed seed
 * or cluster) is reported skipped with the reason; any other failure throws.
 */
export async function runSession(
  session: readonly TargetSpec[],
  dataDirFor: (spec: TargetSpec) => string,
  workload: ChatWorkload,
  cassandra: BenchCassandra,
): Promise<TargetRun[]> {
  if (session[0]?.store !== 'cassandra') return runOn(session, dataDirFor, workload);
  try {
    const keyspace = await cassandra.keyspaceFor();
    try {
      const runs = await runOn(session, dataDirFor, workload, {
        scratch: keyspace.scratch,
        cpu: await cassandra.storeCpu(),
      });
      return runs.map((run, index) => ({
        ...run,
        result: {
          ...run.result,
          keyspace: keyspace.scratch.keyspace,
          ...(keyspace.seed === undefined || index > 0
            ? {}
            : { seedSeconds: keyspace.seed.seconds }),
        },
      }));
    } finally {
      await keyspace.release();
    }
  } catch (error) {
    const reason = `failed: ${(error as Error).message.split('\n')[0]}`;
    return session.map((spec) => ({ result: skippedResult(spec, reason) }));
  }
}

async function runOn(
  specs: readonly TargetSpec[],
  dataDirFor: (spec: TargetSpec) => string,
  workload: ChatWorkload,
  cassandra?: { scratch: ScratchKeyspace; cpu: StoreCpuScope },
): Promise<TargetRun[]> {
  const [spec] = specs;
  switch (spec?.path) {
    case undefined:
      return [];
    case 'echo':
    case 'echo-proxy':
      return [
        await runOnServer(spec, workload, 'echo-server.js', [
          '--mode',
          spec.path === 'echo' ? 'echo' : 'proxy',
          '--data-dir',
          dataDirFor(spec),
          '--connections',
          String(settings.concurrency),
        ]),
      ];
    case 'baseline':
      return [
        await runOnServer(
          spec,
          workload,
          'baseline-app-server.js',
          cassandra === undefined
            ? ['--data-dir', dataDirFor(spec)]
            : [
                '--store',
                'cassandra',
                '--cassandra-options',
                JSON.stringify(cassandra.scratch.storeOptions()),
              ],
          cassandra?.cpu,
        ),
      ];
    default:
      return runOnCluster(specs, dataDirFor, workload, {
        args: cassandra?.scratch.storeArgs() ?? [],
        cpu: cassandra?.cpu,
      });
  }
}

/**
 * The store a cluster runs on: its `chatring start` flags (none: the embedded store in the data
 * dir) and, on Cassandra, the Cassandra processes whose CPU each window reads apart.
 */
interface ClusterStore {
  args: string[];
  cpu: StoreCpuScope | undefined;
}

/** A started, pre-warmed cluster and what reads its counters and CPU. */
interface TargetCluster {
  cluster: LocalCluster;
  status: Awaited<ReturnType<LocalCluster['status']>>;
  appToken: string | undefined;
  readCounters: () => Promise<NodeCounters>;
  readAllCounters: () => Promise<{ nodes: NodeCounters; store: Record<string, number> }>;
  cpu: CpuScope;
  prewarm: OperationPass | undefined;
}

/**
 * Starts a cluster for `specs` (which share it), pre-warms it, drives the load of each target in
 * turn (through the router, the client or straight to the owners), and stops it: one function so
 * the cluster's lifetime (start … finally stop) is visible in one place. A session that begins
 * router-no-telemetry, router (sessionsOf, --alternate-rounds) measures those two in alternated
 * windows, with the no-telemetry cluster running beside this one for that long.
 */
async function runOnCluster(
  specs: readonly TargetSpec[],
  dataDirFor: (spec: TargetSpec) => string,
  workload: ChatWorkload,
  store: ClusterStore,
): Promise<TargetRun[]> {
  const alternated = isAlternatedPair(specs[0], specs[1]) ? specs[0] : undefined;
  const shared = alternated === undefined ? specs : specs.slice(1);
  const first = shared[0];
  if (first === undefined) return [];
  const started = await startTargetCluster(shared, dataDirFor(first), workload, store);
  try {
    const runs: TargetRun[] = [];
    let firstOutcome: ClusterOutcome | undefined;
    if (alternated !== undefined) {
      const outcomes = await measureAlternated(
        alternated,
        first,
        started,
        dataDirFor,
        workload,
        store,
      );
      firstOutcome = outcomes.shared;
      const reversed = await measureReversedOrder(alternated, first, dataDirFor, workload, store);
      outcomes.companion.result.startOrderRatios = {
        telemetryStartedFirst: outcomes.pairRatio,
        telemetryStartedSecond: reversed,
      };
      runs.push(outcomes.companion);
    }
    for (const [index, spec] of shared.entries()) {
      if (index > 0) console.error(`running target ${spec.name} on the same cluster ...`);
      const loadTarget = await loadTargetOn(spec, started);
      try {
        const outcome =
          index === 0 && firstOutcome !== undefined
            ? firstOutcome
            : await drive(
                loadTarget,
                workloadPlan(workload, spec.name),
                started.readAllCounters,
                started.cpu,
              );
        const pageSizeCheck =
          spec.name === 'router' && settings.pageCheckS > 0
            ? await checkPageSizes(spec.name, loadTarget, started.readCounters, started.cpu)
            : undefined;
        runs.push({
          result: clusterResult(spec, outcome, started, {
            withPrewarm: index === 0,
            sharedWith: shared,
          }),
          ...(pageSizeCheck === undefined ? {} : { pageSizeCheck }),
        });
      } finally {
        await loadTarget.close();
      }
    }
    return runs;
  } finally {
    await started.cluster.stop();
  }
}

type ClusterOutcome = DriveOutcome<{ nodes: NodeCounters; store: Record<string, number> }>;

/** router-no-telemetry then router, both through their routers: measured alternated. */
function isAlternatedPair(first: TargetSpec | undefined, second: TargetSpec | undefined): boolean {
  return (
    settings.alternateRounds > 0 &&
    first?.path === 'router-no-telemetry' &&
    second?.path === 'router' &&
    first.store === second.store
  );
}

/**
 * `companion` (router-no-telemetry) on a cluster of its own, started beside `started` (router's)
 * and measured with it in alternated windows (driveAlternated); the companion's cluster is
 * stopped before the shared cluster's other targets run.
 */
async function measureAlternated(
  companion: TargetSpec,
  spec: TargetSpec,
  started: TargetCluster,
  dataDirFor: (spec: TargetSpec) => string,
  workload: ChatWorkload,
  store: ClusterStore,
): Promise<{ companion: TargetRun; shared: ClusterOutcome; pairRatio: number }> {
  console.error(
    `running targets ${companion.name} and ${spec.name} in ${settings.alternateRounds} alternated rounds ...`,
  );
  const other = await startTargetCluster([companion], dataDirFor(companion), workload, store);
  try {
    const [otherOutcome, outcome] = await drivePair(companion, other, spec, started, workload);
    return {
      companion: {
        result: clusterResult(companion, otherOutcome, other, {
          withPrewarm: true,
          sharedWith: [companion],
          alternatedWith: spec.name,
        }),
      },
      shared: outcome,
      pairRatio: throughputRatio(outcome, otherOutcome),
    };
  } finally {
    await other.cluster.stop();
  }
}

/**
 * The same pair again in the other start order: a fresh no-telemetry cluster started first, then a
 * fresh telemetry one, measured alternated as before, both stopped after. The cluster started
 * first runs measurably slower on the 2-core box (an A/A run, both without telemetry: the first
 * 1–7 % slower; the pair flipped: telemetry *faster* by 4–24 %), so one order charges that bias to
 * one side: the ratio router ÷ router-no-telemetry is reported as the geometric mean of the two
 * orders, in which the bias cancels (load-ratios.ts). Returns this order's router ÷ no-telemetry
 * throughput.
 */
async function measureReversedOrder(
  companion: TargetSpec,
  spec: TargetSpec,
  dataDirFor: (spec: TargetSpec) => string,
  workload: ChatWorkload,
  store: ClusterStore,
): Promise<number> {
  const reversed = (target: TargetSpec): TargetSpec => ({
    ...target,
    name: `${target.name}-reversed`,
  });
  console.error(
    `running targets ${companion.name} and ${spec.name} again, ${companion.name}'s cluster started first ...`,
  );
  const first = await startTargetCluster(
    [companion],
    dataDirFor(reversed(companion)),
    workload,
    store,
    '-reversed',
  );
  try {
    const second = await startTargetCluster(
      [spec],
      dataDirFor(reversed(spec)),
      workload,
      store,
      '-reversed',
    );
    try {
      const [companionOutcome, outcome] = await drivePair(companion, first, spec, second, workload);
      return throughputRatio(outcome, companionOutcome);
    } finally {
      await second.cluster.stop();
    }
  } finally {
    await first.cluster.stop();
  }
}

/**
 * `companion` on `companionCluster` and `spec` on `cluster`, driven in alternated windows
 * (driveAlternated, --alternate-rounds); their load targets are closed after.
 */
async function drivePair(
  companion: TargetSpec,
  companionCluster: TargetCluster,
  spec: TargetSpec,
  cluster: TargetCluster,
  workload: ChatWorkload,
): Promise<[ClusterOutcome, ClusterOutcome]> {
  const companionTarget = await loadTargetOn(companion, companionCluster);
  const target = await loadTargetOn(spec, cluster);
  try {
    return await driveAlternated(
      [
        {
          target: companionTarget,
          plan: workloadPlan(workload, companion.name),
          readCounters: companionCluster.readAllCounters,
          cpu: companionCluster.cpu,
        },
        {
          target,
          plan: workloadPlan(workload, spec.name),
          readCounters: cluster.readAllCounters,
          cpu: cluster.cpu,
        },
      ],
      settings.alternateRounds,
    );
  } finally {
    await Promise.all([companionTarget.close(), target.close()]);
  }
}

/** One outcome's throughput ÷ another's (NaN when the other did nothing). */
function throughputRatio(top: ClusterOutcome, bottom: ClusterOutcome): number {
  return top.result.throughputOpsPerSecond / (bottom.result.throughputOpsPerSecond || Number.NaN);
}

/**
 * A local cluster for `specs` (the targets that will share it; they decide app tokens and
 * telemetry), checked to be what they need, and pre-warmed once, straight to the owners: the
 * cheapest path to the same caches (each target's warm-up then warms its own connections).
 */
async function startTargetCluster(
  specs: readonly TargetSpec[],
  dataDir: string,
  workload: ChatWorkload,
  store: ClusterStore,
  profileTag = '',
): Promise<TargetCluster> {
  // router-auth: one app token for this run, given to the cluster (CHATRING_APP_TOKENS) and sent by
  // the load generator. Every other cluster target runs without app tokens, whatever this shell's
  // environment holds (an empty CHATRING_APP_TOKENS wins over CHATRING_APP_TOKENS_FILE), so
  // `router` is the baseline of router-auth. Member signatures are on in both: always.
  const appToken = specs.some((spec) => spec.path === 'router-auth')
    ? randomBytes(24).toString('base64url')
    : undefined;
  // router-no-telemetry: the same cluster with metrics off and logs silent, so router ÷ it is what
  // telemetry costs. Every other cluster target runs with both at the members' defaults, whatever
  // this shell's environment says.
  const telemetry = !specs.some((spec) => spec.path === 'router-no-telemetry');
  const storeKind = specs[0]?.store ?? 'embedded';
  const profileDir =
    settings.cpuProfDir === ''
      ? undefined
      : join(settings.cpuProfDir, `${storeKind}${telemetry ? '' : '-no-telemetry'}${profileTag}`);
  const cluster = await startBenchCluster(dataDir, settings.nodes, settings.chatringEntry, {
    storeArgs: store.args,
    env: {
      CHATRING_APP_TOKENS: appToken ?? '',
      CHATRING_METRICS: String(telemetry),
      CHATRING_LOG_LEVEL: telemetry ? 'info' : 'silent',
    },
    ...(profileDir === undefined ? {} : { extraArgs: ['--cpu-prof-dir', resolve(profileDir)] }),
  });
  try {
    const status = await cluster.status();
    if (specs.some((spec) => spec.path.startsWith('router')))
      await checkAppTokens(cluster.url, appToken, workload);
    await checkTelemetry(cluster.url, telemetry);
    const warmer = await directTarget(cluster, appToken);
    const prewarm = await prewarmThrough(warmer, workload, specs[0]?.name ?? '').finally(() =>
      warmer.close(),
    );
    return {
      cluster,
      status,
      appToken,
      readCounters: async () => (await readClusterCounters(cluster)).total,
      // The nodes' counters and their stores' (requests, LWTs, transactions) in one read.
      readAllCounters: async () => {
        const { total, store: storeCounters } = await readClusterCounters(cluster);
        // The nodes' reads of the store's idempotency index ride with the store's own counters,
        // so they come out per send too (issue 12: 0 for warm sends inside the window).
        return {
          nodes: total,
          store: { ...storeCounters, idempotencyIndexReads: total.idempotencyStoreReads },
        };
      },
      cpu: {
        rootPid: cluster.launcherPid,
        scope:
          storeKind === 'cassandra'
            ? 'launcher process tree (router, nodes, standby); the Cassandra server apart'
            : 'launcher process tree (router, nodes, standby)',
        ...(store.cpu === undefined ? {} : { store: store.cpu }),
      },
      prewarm,
    };
  } catch (error) {
    await cluster.stop();
    throw error;
  }
}

/** How a target reaches its cluster: the router, the ring-aware client, or straight to owners. */
async function loadTargetOn(spec: TargetSpec, started: TargetCluster): Promise<LoadTarget> {
  if (spec.path === 'direct') return directTarget(started.cluster);
  if (spec.path === 'client-direct') return clientDirectTarget(started.cluster.url);
  return clientTarget(new ApiClient(started.cluster.url, clientOptions(started.appToken)));
}

/** A cluster target's result: its window with the cache, store work and topology around it. */
function clusterResult(
  spec: TargetSpec,
  outcome: ClusterOutcome,
  started: TargetCluster,
  context: { withPrewarm: boolean; sharedWith: readonly TargetSpec[]; alternatedWith?: string },
): TargetResult {
  const { result, counters } = outcome;
  return {
    ...describe(spec),
    ...result,
    ...(started.prewarm === undefined || !context.withPrewarm ? {} : { prewarm: started.prewarm }),
    ...(context.sharedWith.length > 1
      ? { sharedCluster: context.sharedWith.map((shared) => shared.name) }
      : {}),
    ...(context.alternatedWith === undefined ? {} : { alternatedWith: context.alternatedWith }),
    cache: cacheFigures(counters.before?.nodes, counters.after?.nodes),
    ...storeWork(result, counters.before?.store, counters.after?.store),
    topology: {
      nodes: started.status.nodes.filter((node) => node.state === 'serving').length,
      standbys: started.status.standbys.length,
      slots: started.status.slots.map((slot) => `${slot.slot}→${slot.nodeId}`),
    },
  };
}

/**
 * A bench server (baseline, echo, echo-proxy) as a child process, always stopped; `storeCpu`: the
 * Cassandra processes a Cassandra baseline's windows read apart.
 */
async function runOnServer(
  spec: TargetSpec,
  workload: ChatWorkload,
  entry: string,
  args: string[],
  storeCpu?: StoreCpuScope,
): Promise<TargetRun> {
  const server = await startServerProcess(entry, spec.path, args);
  try {
    const loadTarget = clientTarget(new ApiClient(server.url, clientOptions()));
    try {
      // The echo servers count their page misses like a node (GET /internal/v1/stats).
      // The echo records its pages on the pre-warm pass; the baseline has no cache to warm (its
      // store's data, small here, stays in memory either way).
      const isEcho = spec.store === 'none';
      const prewarm = isEcho ? await prewarmThrough(loadTarget, workload, spec.name) : undefined;
      const { result, counters } = await drive(
        loadTarget,
        workloadPlan(workload, spec.name),
        async () => {
          const stats = await readNodeStats(server.url);
          return isEcho ? { nodes: stats.counters, store: {} } : { store: stats.storeCounters };
        },
        {
          rootPid: server.pid,
          scope: spec.path === 'echo-proxy' ? 'proxy and echo processes' : 'server process tree',
          ...(storeCpu === undefined ? {} : { store: storeCpu }),
        },
      );
      return {
        result: {
          ...describe(spec),
          ...result,
          ...(prewarm === undefined ? {} : { prewarm }),
          ...(isEcho
            ? { cache: cacheFigures(counters.before?.nodes, counters.after?.nodes) }
            : storeWork(result, counters.before?.store, counters.after?.store)),
        },
      };
    } finally {
      await loadTarget.close();
    }
  } finally {
    await server.stop();
  }
}

/**
 * The pre-warm pass: every user's conversation list and every one of its conversations, once,
 * through `loadTarget` (a failed read again, up to PREWARM_RETRIES times), unless --prewarm false
 * (then undefined).
 */
async function prewarmThrough(
  loadTarget: LoadTarget,
  workload: ChatWorkload,
  label: string,
): Promise<OperationPass | undefined> {
  if (!settings.prewarm) return undefined;
  const pass = await runOperations(
    workload.warmingOperations(),
    settings.concurrency,
    (operation) => loadTarget.call(operation),
    PREWARM_RETRIES,
  );
  console.error(
    `${label}: pre-warm read ${pass.requests} pages in ${pass.seconds.toFixed(1)} s${pass.retried === 0 ? '' : `, ${pass.retried} sent again`}${pass.errors === 0 ? '' : `, ${pass.errors} still failed ${JSON.stringify(pass.errorsByCode)}`}`,
  );
  return pass;
}

function cacheFigures(
  before: NodeCounters | undefined,
  after: NodeCounters | undefined,
): NonNullable<TargetResult['cache']> {
  const hits = (after?.cacheHits ?? 0) - (before?.cacheHits ?? 0);
  const misses = (after?.cacheMisses ?? 0) - (before?.cacheMisses ?? 0);
  return {
    hits,
    misses,
    hitRatio: hits + misses === 0 ? Number.NaN : hits / (hits + misses),
    storeLoads: (after?.storeLoads ?? 0) - (before?.storeLoads ?? 0),
    cachedUsersAtEnd: after?.cachedUsers ?? 0,
    cachedBytesAtEnd: after?.cachedBytes ?? 0,
  };
}

/**
 * What the store did per successful send over the measured window, from the stores' own counters
 * (MailboxStore.stats, summed over the target's processes): requests and LWTs (Paxos rounds) on
 * Cassandra, transactions (one fsync each) on the embedded store. Counted, not estimated; the
 * reads of the mix are included, so it is "per send, with the reads riding along". Only counters
 * arrive here (a node's `storeCounters`; its gauges, which a difference would make nonsense of,
 * are reported apart as `storeGauges` and not read).
 */
function storeWork(
  result: Pick<TargetResult, 'byOperation'>,
  before: Record<string, number> | undefined,
  after: Record<string, number> | undefined,
): Pick<TargetResult, 'storePerSend'> {
  const sends = result.byOperation.send?.ok ?? 0;
  if (sends === 0 || after === undefined) return {};
  const perSend = Object.fromEntries(
    Object.entries(after).map(([name, value]) => [name, (value - (before?.[name] ?? 0)) / sends]),
  );
  return Object.keys(perSend).length === 0 ? {} : { storePerSend: perSend };
}

/** Bodies are not parsed: the load only counts answers (see ApiClientOptions). */
function clientOptions(bearerToken?: string) {
  return {
    connections: settings.concurrency,
    timeoutMs: settings.timeoutMs,
    keepAliveTimeoutMs: 30_000,
    parseSuccessBodies: false,
    ...(bearerToken === undefined ? {} : { bearerToken }),
  };
}

/**
 * The router-auth / router ratio means something only if router-auth's router really checks the
 * token and router's does not: before the load, a read without a token must be refused (401) by
 * router-auth and served by router, and the same read with the token served by router-auth. Both
 * targets make the same one read of the same user, so their caches start alike.
 */
async function checkAppTokens(
  url: string,
  token: string | undefined,
  workload: ChatWorkload,
): Promise<void> {
  const userId = workload.byRank[0] ?? '';
  const anonymous = new ApiClient(url, { ...clientOptions(), connections: 1 });
  const bearer = new ApiClient(url, { ...clientOptions(token), connections: 1 });
  try {
    const withoutToken = await anonymous.conversations(userId, { pageSize: settings.pageSize });
    if (token === undefined) {
      if (withoutToken.errorCode !== undefined)
        throw new Error(
          `router: a read without an app token failed (${withoutToken.status} ${withoutToken.errorCode}): the cluster requires app tokens, so it is no baseline for router-auth`,
        );
      return;
    }
    if (withoutToken.status !== 401)
      throw new Error(
        `router-auth: a read without the app token answered ${withoutToken.status} ${withoutToken.errorCode ?? ''}, not 401: the cluster did not take CHATRING_APP_TOKENS`,
      );
    const withToken = await bearer.conversations(userId, { pageSize: settings.pageSize });
    if (withToken.errorCode !== undefined)
      throw new Error(
        `router-auth: a read with the app token failed: ${withToken.status} ${withToken.errorCode}`,
      );
  } finally {
    await Promise.all([anonymous.close(), bearer.close()]);
  }
}

/**
 * router ÷ router-no-telemetry means something only if the one serves metrics and the other does
 * not: before the load, the router's `GET /metrics` must answer 200 with telemetry on and 404 off.
 */
async function checkTelemetry(url: string, telemetry: boolean): Promise<void> {
  const client = new ApiClient(url, { ...clientOptions(), connections: 1 });
  try {
    const { status } = await client.call('GET', '/metrics');
    if (status !== (telemetry ? 200 : 404))
      throw new Error(
        `the router's /metrics answered ${status} with telemetry ${telemetry ? 'on' : 'off'} (expected ${telemetry ? 200 : 404}): CHATRING_METRICS was not taken`,
      );
  } finally {
    await client.close();
  }
}

function clientTarget(client: ApiClient): LoadTarget {
  return {
    call: (operation) => callOn(client, operation),
    close: () => client.close(),
  };
}

/** Straight to the owners: the ring is read once (it does not change during the run). */
async function directTarget(cluster: LocalCluster, appToken?: string): Promise<LoadTarget> {
  const ring = new RingView(await cluster.ring());
  const clients = new Map<string, ApiClient>();
  const clientFor = (userId: string): ApiClient => {
    const owner = ring.ownerOf(userId);
    if (owner === undefined || owner.url === '')
      throw new Error(`no owner for ${userId} in ring epoch ${ring.epoch}`);
    let client = clients.get(owner.url);
    if (client === undefined) {
      client = new ApiClient(owner.url, clientOptions(appToken));
      clients.set(owner.url, client);
    }
    return client;
  };
  return {
    call: (operation) => {
      const userId =
        operation.kind === 'send'
          ? orderedPair(operation.request.senderId, operation.request.recipientId)[0]
          : operation.userId;
      return callOn(clientFor(userId), operation);
    },
    close: async () => {
      await Promise.all([...clients.values()].map((client) => client.close()));
    },
  };
}

function callOn(client: ApiClient, operation: PlannedOperation): Promise<ApiResponse<unknown>> {
  return callOperation(client, operation, settings.pageSize);
}
