/**
 * The targets the load runs against, each started for its run and always stopped: the router of a
 * local cluster, the same with app tokens required (router-auth), the same cluster's owners
 * directly, the no-cache baseline server, and the router on Cassandra (a keyspace of its own, only
 * when CASSANDRA_CONTACT_POINTS is set).
 */
import { randomBytes } from 'node:crypto';
import {
  ApiClient,
  cassandraFromEnvironment,
  openScratchKeyspace,
  type ApiResponse,
  type LocalCluster,
  type ScratchKeyspace,
} from '../../harness/index.js';
import { startBenchCluster } from '../lib/bench-cluster.js';
import { orderedPair } from '../../protocol/index.js';
import { RingView } from '../../ring/index.js';
import { openStore } from '../../store-adapter/index.js';
import type { ChatWorkload, PlannedOperation } from '../lib/chat-workload.js';
import { readClusterCounters } from '../lib/cluster-counters.js';
import { callOperation } from '../lib/operation-call.js';
import { seedWorkload } from '../lib/workload-seed.js';
import { startBaselineServer } from './baseline-server-process.js';
import { drive } from './closed-loop-drive.js';
import { emptyResult, type LoadTarget, type TargetResult } from './load-results.js';
import { settings } from './load-settings.js';

export async function runTarget(
  target: string,
  dataDir: string,
  workload: ChatWorkload,
): Promise<TargetResult> {
  switch (target) {
    case 'router':
    case 'router-auth':
    case 'direct':
      return runOnCluster(target, dataDir, workload);
    case 'cassandra':
      if (cassandraFromEnvironment() === undefined) {
        return {
          ...emptyResult(target, 'router on --store cassandra'),
          skipped: 'skipped (no CASSANDRA_CONTACT_POINTS; run npm run cassandra:start)',
        };
      }
      return runOnCassandra(dataDir, workload);
    default:
      return runOnBaseline(dataDir, workload);
  }
}

/**
 * The router target on Cassandra: a keyspace of its own for this run, seeded with the same data
 * set, and dropped afterwards.
 */
async function runOnCassandra(dataDir: string, workload: ChatWorkload): Promise<TargetResult> {
  let scratch: ScratchKeyspace | undefined;
  try {
    scratch = await openScratchKeyspace(
      cassandraFromEnvironment() ?? locationMissing(),
      'chatring_bench_load',
    );
    const seed = await seedWorkload(
      await openStore({ kind: 'cassandra', cassandra: scratch.storeOptions() }),
      workload,
      settings,
      64,
    );
    console.log(
      `cassandra: seeded keyspace ${scratch.keyspace}: ${seed.messages} messages (${seed.commits} commits) in ${seed.seconds.toFixed(1)} s`,
    );
    const result = await runOnCluster('cassandra', dataDir, workload, scratch.storeArgs());
    return { ...result, seedSeconds: seed.seconds };
  } catch (error) {
    return {
      ...emptyResult('cassandra', 'through the router, cluster on --store cassandra'),
      skipped: `failed: ${(error as Error).message.split('\n')[0]}`,
    };
  } finally {
    const keyspace = scratch?.keyspace;
    await scratch
      ?.drop()
      .catch((error: unknown) =>
        console.error(
          `cassandra: could not drop keyspace ${keyspace}: ${(error as Error).message}`,
        ),
      );
  }
}

function locationMissing(): never {
  throw new Error('CASSANDRA_CONTACT_POINTS is not set');
}

/**
 * Seeds, starts a cluster, warms it, drives the load through the router and straight to the
 * owners, and stops it: one function so the cluster's lifetime (start … finally stop) is visible
 * in one place.
 */
async function runOnCluster(
  target: string,
  dataDir: string,
  workload: ChatWorkload,
  storeArgs: string[] = [],
): Promise<TargetResult> {
  const description =
    target === 'direct'
      ? 'straight to the owning cache node (owner from RingView; sends to the owner of the lower id)'
      : target === 'cassandra'
        ? 'through the router, cluster on Cassandra (its own keyspace, seeded with the same data)'
        : target === 'router-auth'
          ? 'through the router of a local cluster with app tokens required (Bearer on every call)'
          : 'through the router of a local cluster';
  // router-auth: one app token for this run, given to the cluster (CHATRING_APP_TOKENS) and sent by
  // the load generator. Every other cluster target runs without app tokens, whatever this shell's
  // environment holds (an empty CHATRING_APP_TOKENS wins over CHATRING_APP_TOKENS_FILE), so
  // `router` is the baseline of router-auth. Member signatures are on in both: always.
  const appToken = target === 'router-auth' ? randomBytes(24).toString('base64url') : undefined;
  let cluster: LocalCluster;
  try {
    cluster = await startBenchCluster(dataDir, settings.nodes, settings.chatringEntry, {
      storeArgs,
      env: { CHATRING_APP_TOKENS: appToken ?? '' },
    });
  } catch (error) {
    if (target !== 'cassandra') throw error;
    return {
      ...emptyResult(target, description),
      skipped: `failed to start a cluster with --store cassandra: ${(error as Error).message.split('\n')[0]}`,
    };
  }
  try {
    const status = await cluster.status();
    if (target === 'router' || target === 'router-auth')
      await checkAppTokens(cluster.url, appToken, workload);
    const loadTarget =
      target === 'direct'
        ? await directTarget(cluster)
        : clientTarget(new ApiClient(cluster.url, clientOptions(appToken)));
    try {
      const measured = await drive(
        loadTarget,
        workload,
        target,
        async () => (await readClusterCounters(cluster)).total,
        {
          rootPid: cluster.launcherPid,
          scope:
            target === 'cassandra'
              ? 'launcher process tree (router, nodes, standby); not the Cassandra server'
              : 'launcher process tree (router, nodes, standby)',
        },
      );
      const { before, after } = measured.counters;
      const hits = (after?.cacheHits ?? 0) - (before?.cacheHits ?? 0);
      const misses = (after?.cacheMisses ?? 0) - (before?.cacheMisses ?? 0);
      return {
        ...measured.result,
        target,
        description,
        cache: {
          hits,
          misses,
          hitRatio: hits + misses === 0 ? Number.NaN : hits / (hits + misses),
          storeLoads: (after?.storeLoads ?? 0) - (before?.storeLoads ?? 0),
          cachedUsersAtEnd: after?.cachedUsers ?? 0,
          cachedBytesAtEnd: after?.cachedBytes ?? 0,
        },
        topology: {
          nodes: status.nodes.filter((node) => node.state === 'serving').length,
          standbys: status.standbys.length,
          slots: status.slots.map((slot) => `${slot.slot}→${slot.nodeId}`),
        },
      };
    } finally {
      await loadTarget.close();
    }
  } finally {
    await cluster.stop();
  }
}

async function runOnBaseline(dataDir: string, workload: ChatWorkload): Promise<TargetResult> {
  const server = await startBaselineServer(dataDir);
  try {
    const loadTarget = clientTarget(new ApiClient(server.url, clientOptions()));
    try {
      const measured = await drive(loadTarget, workload, 'baseline', async () => undefined, {
        rootPid: server.pid,
        scope: 'baseline server process tree',
      });
      return {
        ...measured.result,
        target: 'baseline',
        description: 'stateless app server on the same store, no cache',
      };
    } finally {
      await loadTarget.close();
    }
  } finally {
    await server.stop();
  }
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

function clientTarget(client: ApiClient): LoadTarget {
  return {
    call: (operation) => callOn(client, operation),
    close: () => client.close(),
  };
}

/** Straight to the owners: the ring is read once (it does not change during the run). */
async function directTarget(cluster: LocalCluster): Promise<LoadTarget> {
  const ring = new RingView(await cluster.ring());
  const clients = new Map<string, ApiClient>();
  const clientFor = (userId: string): ApiClient => {
    const owner = ring.ownerOf(userId);
    if (owner === undefined || owner.url === '')
      throw new Error(`no owner for ${userId} in ring epoch ${ring.epoch}`);
    let client = clients.get(owner.url);
    if (client === undefined) {
      client = new ApiClient(owner.url, clientOptions());
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
