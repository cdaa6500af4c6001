/**
 * bench/load.ts — closed-loop load on the public API, through chatring and against a baseline.
 *
 * `--concurrency` workers each issue one request at a time (a closed loop: the next starts when
 * the last answered) for `--duration-s` after a `--warmup-s` warm-up. Users are Zipf-distributed
 * by activity; each user talks to `--contacts` partners; the operation mix is `--mix`. Latency goes
 * into HDR histograms (p50/p99/p99.9); throughput is successful calls per second; the cache hit
 * ratio is the change of the nodes' cacheHits/cacheMisses over the measured window.
 *
 * Every target starts from the same data (a seeded store, copied) and sees the same per-worker
 * operation streams:
 *   router    — through the router of a local cluster (`chatring start`, its own processes);
 *   direct    — the same cluster, each call sent straight to its owning node (computed with
 *               RingView from /control/v1/ring; a send goes to the owner of the lower user id);
 *   baseline  — a stateless app server reading and writing the same store with no cache
 *               (bench/baseline-app-server.ts, a child process);
 *   cassandra — the router target on `--store cassandra`, only when CASSANDRA_CONTACT_POINTS is set.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { orderedPair } from '../protocol/index.js';
import cassandra from 'cassandra-driver';
import { openStore } from '../store-adapter/index.js';
import { BenchFlags } from './lib/bench-args.js';
import { ChatClient, type ChatAnswer } from './lib/chat-client.js';
import {
  ChatWorkload,
  parseMix,
  type OperationKind,
  type PlannedOperation,
} from './lib/chat-workload.js';
import { ClusterProcess } from './lib/cluster-process.js';
import { cpuBetween, snapshotTree } from './lib/process-cpu.js';
import { LatencyRecorder, type LatencySummary } from './lib/latency-recorder.js';
import { machineLine } from './lib/machine.js';
import { startReport, writeReport } from './lib/result-files.js';
import { copyEmbeddedSeed, seedEmbeddedStore, seedWorkload } from './lib/workload-seed.js';
import { TemporaryDirectory } from './lib/temporary-directory.js';
import { fixed, percent, renderTable, type Cell } from './lib/text-table.js';
import { RingView } from '../ring/index.js';

const flags = BenchFlags.parse(
  'load',
  'closed-loop load through the router, straight to the owners, and against a no-cache baseline',
  {
    'duration-s': { description: 'measured seconds per target', default: '15' },
    'warmup-s': { description: 'unmeasured warm-up seconds per target', default: '3' },
    concurrency: { description: 'closed-loop workers (requests in flight)', default: '32' },
    users: { description: 'users in the data set', default: '10000' },
    contacts: {
      description: 'conversation partners per user (each pair seeded with history)',
      default: '4',
    },
    'seed-messages': {
      description: 'messages seeded per conversation before the run',
      default: '3',
    },
    mix: { description: 'operation weights', default: 'send:20,conversations:40,messages:40' },
    'zipf-s': { description: 'Zipf exponent of user activity', default: '1.0' },
    'content-bytes': { description: 'message size, bytes of ASCII', default: '100' },
    'page-size': { description: 'pageSize of conversations and messages reads', default: '20' },
    nodes: { description: 'cache nodes of the local cluster (plus 1 standby)', default: '3' },
    targets: {
      description: 'targets to run, in order',
      default: 'router,direct,baseline,cassandra',
    },
    'timeout-ms': { description: 'client deadline per request', default: '10000' },
    seed: { description: 'seed of users, contacts and operation streams', default: '1' },
    'chatring-entry': {
      description: 'compiled chatring CLI (default dist/cli/chatring.js)',
      default: '',
    },
    'keep-data': { description: 'keep the temporary data dirs (true/false)', default: 'false' },
  },
);
const settings = {
  durationS: flags.number('duration-s', 1, 3_600),
  warmupS: flags.number('warmup-s', 0, 600),
  concurrency: flags.integer('concurrency', 1, 4_096),
  users: flags.integer('users', 10, 5_000_000),
  contacts: flags.integer('contacts', 1, 1_000),
  seedMessages: flags.integer('seed-messages', 1, 10_000),
  mix: parseMix(flags.string('mix')),
  zipfExponent: flags.number('zipf-s', 0, 5),
  contentBytes: flags.integer('content-bytes', 1, 65_535),
  pageSize: flags.integer('page-size', 1, 200),
  nodes: flags.integer('nodes', 1, 64),
  targets: flags.string('targets').split(',').filter(Boolean),
  timeoutMs: flags.integer('timeout-ms', 100, 600_000),
  seed: flags.integer('seed', 0, 2 ** 31),
  chatringEntry: flags.string('chatring-entry'),
  keepData: flags.boolean('keep-data'),
};
const KNOWN_TARGETS = ['router', 'direct', 'baseline', 'cassandra'];
for (const target of settings.targets)
  if (!KNOWN_TARGETS.includes(target))
    throw new Error(`--targets: unknown target "${target}" (known: ${KNOWN_TARGETS.join(', ')})`);

/** The operations a target can run; never throws for a failed call. */
interface LoadTarget {
  call(operation: PlannedOperation): Promise<ChatAnswer>;
  close(): Promise<void>;
}

interface TargetResult {
  target: string;
  description: string;
  measuredSeconds: number;
  throughputOpsPerSecond: number;
  byOperation: Record<string, LatencySummary & { opsPerSecond: number }>;
  cache?: {
    hits: number;
    misses: number;
    hitRatio: number;
    storeLoads: number;
    cachedUsersAtEnd: number;
    cachedBytesAtEnd: number;
  };
  topology?: { nodes: number; standbys: number; slots: string[] };
  /**
   * CPU time (user + system) the system under test used in the measured window, from /proc: the
   * launcher's process tree (router, nodes, standby) or the baseline server's. Absent where there
   * is no /proc (cpuNotMeasured says why). The load generator is not part of it.
   */
  cpuSeconds?: number;
  /** cpuSeconds ÷ measuredSeconds: the cores the system under test kept busy on average. */
  cpuCores?: number;
  /** Successful sends ÷ cpuSeconds (reads of the mix ride along on the same CPU). */
  sendsPerCpuSecond?: number;
  /** What was measured, the processes counted at the end, and those that started or exited. */
  cpuScope?: string;
  cpuProcesses?: number;
  cpuProcessesStarted?: number;
  cpuProcessesExited?: number;
  cpuNotMeasured?: string;
  /** The benchmark process itself (load generator), excluded from cpuSeconds, for comparison. */
  loadGeneratorCpuSeconds?: number;
  /** Cassandra only: seconds to seed its keyspace. */
  seedSeconds?: number;
  skipped?: string;
}

const OPERATION_ORDER: (OperationKind | 'all')[] = ['send', 'conversations', 'messages', 'all'];

await main();

async function main(): Promise<void> {
  const report = startReport<{
    seed: { messages: number; commits: number; seconds: number; conversations: number };
    zipfTopShare: Record<string, number>;
    targets: TargetResult[];
  }>(
    'load',
    { ...settings, mix: { ...settings.mix } },
    'baseline target: a stateless app server on the same embedded store with no cache (bench/baseline-app-server.ts), run in the same invocation on a copy of the same seeded data',
  );
  console.log(`load benchmark — ${machineLine(report.machine)}`);
  console.log(
    `settings: ${settings.concurrency} workers, ${settings.warmupS}s warm-up + ${settings.durationS}s measured per target, ${settings.users} users (Zipf s=${settings.zipfExponent}), ${settings.contacts} contacts each, mix ${flags.string('mix')}, ${settings.contentBytes}-byte messages, ${settings.nodes} nodes + 1 standby, seed ${settings.seed}`,
  );
  const workload = new ChatWorkload({
    users: settings.users,
    contacts: settings.contacts,
    zipfExponent: settings.zipfExponent,
    mix: settings.mix,
    contentBytes: settings.contentBytes,
    seed: settings.seed,
  });
  const zipfTopShare = Object.fromEntries(
    [1, 10, 100, 1_000]
      .filter((top) => top <= settings.users)
      .map((top) => [`top${top}`, workload.shareOfTop(top)]),
  );
  console.log(
    `activity: the top 1/10/100 users issue ${Object.values(zipfTopShare)
      .slice(0, 3)
      .map((share) => percent(share, 1))
      .join(' / ')} of operations`,
  );

  const temporary = new TemporaryDirectory('chatring-bench-load-', settings.keepData);
  const root = temporary.path;
  const targets: TargetResult[] = [];
  try {
    const seed = await seedEmbeddedStore(join(root, 'seed'), workload, settings);
    console.log(
      `seeded ${seed.conversations} conversations, ${seed.messages} messages (${seed.commits} commits) in ${seed.seconds.toFixed(1)} s\n`,
    );
    for (const target of settings.targets) {
      const dataDir = join(root, target);
      copyEmbeddedSeed(join(root, 'seed'), dataDir);
      console.error(`running target ${target} ...`);
      const result = await runTarget(target, dataDir, workload);
      if (result.skipped !== undefined) console.log(`${target}: ${result.skipped}`);
      targets.push(result);
    }
    printResults(targets);
    report.notes.push(
      'Closed loop: throughput and latency trade against each other; compare targets at the same --concurrency.',
      'Everything (load generator, router, nodes, baseline) shares this machine; on few cores the cluster pays for its extra processes and hops.',
      'Every embedded target writes with SQLite synchronous=FULL to one file (the nodes of the cluster share it), so sends are bound by fsync and the single-writer lock. The local Cassandra of npm run cassandra:start runs without fsync (skip_sync): its send figures are not durability-equivalent.',
      'cache hit ratio: cacheHits / (cacheHits + cacheMisses) of all nodes over the measured window (mailbox loads; message windows are counted as store loads).',
      'cpu: utime + stime from /proc/<pid>/stat of the system under test (the launcher and every descendant: router, nodes, standby; or the baseline server) read at the start and end of the measured window; cpuCores = cpuSeconds / measured seconds. The load generator (this process) is excluded. A process that exits inside the window is not counted (its CPU leaves with it); one started inside it counts in full. Linux only; elsewhere "cpu: not measured".',
    );
    for (const note of report.notes) console.log(`note: ${note}`);
    const path = writeReport({ ...report, results: { seed, zipfTopShare, targets } });
    console.log(`\nwrote ${path}`);
  } finally {
    temporary.dispose();
  }
}

async function runTarget(
  target: string,
  dataDir: string,
  workload: ChatWorkload,
): Promise<TargetResult> {
  switch (target) {
    case 'router':
    case 'direct':
      return runOnCluster(target, dataDir, workload);
    case 'cassandra':
      if (
        process.env.CASSANDRA_CONTACT_POINTS === undefined ||
        process.env.CASSANDRA_CONTACT_POINTS === ''
      ) {
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
  const keyspace = `chatring_bench_${Date.now().toString(36)}_${process.pid}`.slice(0, 48);
  const contactPoints = process.env.CASSANDRA_CONTACT_POINTS ?? '';
  const localDataCenter = process.env.CHATRING_CASSANDRA_LOCAL_DATA_CENTER ?? 'datacenter1';
  const raw = { contactPoints, keyspace, localDataCenter };
  try {
    const seed = await seedWorkload(
      await openStore({ kind: 'cassandra', cassandra: raw }),
      workload,
      settings,
      64,
    );
    console.log(
      `cassandra: seeded keyspace ${keyspace}: ${seed.messages} messages (${seed.commits} commits) in ${seed.seconds.toFixed(1)} s`,
    );
    const result = await runOnCluster('cassandra', dataDir, workload, [
      '--store',
      'cassandra',
      '--cassandra-keyspace',
      keyspace,
      '--cassandra-local-data-center',
      localDataCenter,
    ]);
    return { ...result, seedSeconds: seed.seconds };
  } catch (error) {
    return {
      ...emptyResult('cassandra', 'through the router, cluster on --store cassandra'),
      skipped: `failed: ${(error as Error).message.split('\n')[0]}`,
    };
  } finally {
    await dropKeyspace(contactPoints, localDataCenter, keyspace).catch((error: unknown) =>
      console.error(`cassandra: could not drop keyspace ${keyspace}: ${(error as Error).message}`),
    );
  }
}

async function dropKeyspace(
  contactPoints: string,
  localDataCenter: string,
  keyspace: string,
): Promise<void> {
  const client = new cassandra.Client({
    contactPoints: contactPoints.split(',').map((point) => point.trim()),
    localDataCenter,
  });
  try {
    await client.connect();
    await client.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`);
  } finally {
    await client.shutdown();
  }
}

async function runOnCluster(
  target: string,
  dataDir: string,
  workload: ChatWorkload,
  extraArgs: string[] = [],
): Promise<TargetResult> {
  const description =
    target === 'direct'
      ? 'straight to the owning cache node (owner from RingView; sends to the owner of the lower id)'
      : target === 'cassandra'
        ? 'through the router, cluster on Cassandra (its own keyspace, seeded with the same data)'
        : 'through the router of a local cluster';
  let cluster: ClusterProcess;
  try {
    cluster = await ClusterProcess.start({
      dataDir,
      nodes: settings.nodes,
      standbys: 1,
      extraArgs,
      ...(settings.chatringEntry === '' ? {} : { entry: settings.chatringEntry }),
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
    const loadTarget =
      target === 'direct'
        ? await directTarget(cluster)
        : clientTarget(new ChatClient(cluster.routerUrl, clientOptions()));
    try {
      const measured = await drive(
        loadTarget,
        workload,
        target,
        async () => (await cluster.nodeCounters()).total,
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
    const loadTarget = clientTarget(new ChatClient(server.url, clientOptions()));
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

function clientOptions() {
  return { connections: settings.concurrency, timeoutMs: settings.timeoutMs };
}

function clientTarget(client: ChatClient): LoadTarget {
  return {
    call: (operation) => callOn(client, operation),
    close: () => client.close(),
  };
}

/** Straight to the owners: the ring is read once (it does not change during the run). */
async function directTarget(cluster: ClusterProcess): Promise<LoadTarget> {
  const ring = new RingView(await cluster.ring());
  const clients = new Map<string, ChatClient>();
  const clientFor = (userId: string): ChatClient => {
    const owner = ring.ownerOf(userId);
    if (owner === undefined || owner.url === '')
      throw new Error(`no owner for ${userId} in ring epoch ${ring.epoch}`);
    let client = clients.get(owner.url);
    if (client === undefined) {
      client = new ChatClient(owner.url, clientOptions());
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

function callOn(client: ChatClient, operation: PlannedOperation): Promise<ChatAnswer> {
  switch (operation.kind) {
    case 'send':
      return client.send(operation.request);
    case 'conversations':
      return client.conversations(operation.userId, settings.pageSize);
    case 'messages':
      return client.messages(operation.userId, operation.conversationId, settings.pageSize);
  }
}

/**
 * Warm-up, then the measured window; counters are read just before and after it, and the CPU time
 * of the system under test (the process tree of `cpu.rootPid`) right at its edges.
 */
async function drive<Counters>(
  target: LoadTarget,
  workload: ChatWorkload,
  label: string,
  readCounters: () => Promise<Counters | undefined>,
  cpu: { rootPid: number | undefined; scope: string },
): Promise<{
  result: Omit<TargetResult, 'target' | 'description'>;
  counters: { before: Counters | undefined; after: Counters | undefined };
}> {
  const workers = Array.from({ length: settings.concurrency }, (_, index) =>
    workload.worker(index, label),
  );
  const runPhase = async (seconds: number, recorder: LatencyRecorder | undefined) => {
    const started = performance.now();
    const end = started + seconds * 1_000;
    await Promise.all(
      workers.map(async (worker) => {
        while (performance.now() < end) {
          const operation = worker.next();
          const sent = performance.now();
          const answer = await target.call(operation);
          const microseconds = (performance.now() - sent) * 1_000;
          if (recorder === undefined) continue;
          if (answer.errorCode === undefined) recorder.record(operation.kind, microseconds);
          else recorder.recordError(operation.kind, answer.errorCode);
        }
      }),
    );
    return (performance.now() - started) / 1_000;
  };
  if (settings.warmupS > 0) await runPhase(settings.warmupS, undefined);
  const recorder = new LatencyRecorder();
  const before = await readCounters();
  const cpuBefore = cpu.rootPid === undefined ? undefined : snapshotTree(cpu.rootPid);
  const generatorBefore = process.cpuUsage();
  const measuredSeconds = await runPhase(settings.durationS, recorder);
  const generator = process.cpuUsage(generatorBefore);
  const cpuAfter = cpu.rootPid === undefined ? undefined : snapshotTree(cpu.rootPid);
  const after = await readCounters();
  const byOperation: TargetResult['byOperation'] = {};
  for (const kind of OPERATION_ORDER) {
    const summary = recorder.summary(kind);
    byOperation[kind] = { ...summary, opsPerSecond: summary.ok / measuredSeconds };
  }
  const sends = byOperation.send?.ok ?? 0;
  const usage =
    cpuBefore === undefined || cpuAfter === undefined ? undefined : cpuBetween(cpuBefore, cpuAfter);
  const cpuFields: Partial<TargetResult> =
    usage === undefined
      ? {
          cpuNotMeasured:
            cpu.rootPid === undefined
              ? 'no pid for the system under test'
              : 'no /proc (Linux only) or the process was gone',
        }
      : {
          cpuSeconds: usage.cpuSeconds,
          cpuCores: usage.cpuSeconds / measuredSeconds,
          ...(usage.cpuSeconds > 0 ? { sendsPerCpuSecond: sends / usage.cpuSeconds } : {}),
          cpuScope: cpu.scope,
          cpuProcesses: usage.processes,
          cpuProcessesStarted: usage.started,
          cpuProcessesExited: usage.exited,
        };
  return {
    result: {
      measuredSeconds,
      throughputOpsPerSecond: (byOperation.all?.ok ?? 0) / measuredSeconds,
      byOperation,
      ...cpuFields,
      loadGeneratorCpuSeconds: (generator.user + generator.system) / 1e6,
    },
    counters: { before, after },
  };
}

async function startBaselineServer(
  dataDir: string,
): Promise<{ url: string; pid: number | undefined; stop(): Promise<void> }> {
  const entry = fileURLToPath(new URL('./baseline-app-server.js', import.meta.url));
  const child: ChildProcess = spawn(
    process.execPath,
    [entry, '--data-dir', dataDir, '--port', '0'],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const url = await new Promise<string>((resolve, reject) => {
    let output = '';
    child.stdout?.setEncoding('utf8').on('data', (text: string) => {
      output += text;
      const match = /baseline listening on (\S+)/.exec(output);
      if (match?.[1] !== undefined) resolve(match[1]);
    });
    child.once('exit', (code) =>
      reject(new Error(`baseline server exited (${code}) before listening`)),
    );
  });
  return {
    url,
    pid: child.pid,
    async stop() {
      process.off('exit', killOnExit);
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

function emptyResult(target: string, description: string): TargetResult {
  return { target, description, measuredSeconds: 0, throughputOpsPerSecond: 0, byOperation: {} };
}

function printResults(results: TargetResult[]): void {
  const headers = [
    'target',
    'operation',
    'ok',
    'errors',
    'ops/s',
    'p50 ms',
    'p99 ms',
    'p99.9 ms',
    'max ms',
    'cache hit',
  ];
  const rows: Cell[][] = [];
  for (const result of results) {
    if (result.skipped !== undefined) continue;
    for (const kind of OPERATION_ORDER) {
      const summary = result.byOperation[kind];
      if (summary === undefined || summary.ok + summary.errors === 0) continue;
      rows.push([
        result.target,
        kind,
        summary.ok,
        summary.errors,
        fixed(summary.opsPerSecond, 0),
        fixed(summary.p50Ms, 2),
        fixed(summary.p99Ms, 2),
        fixed(summary.p999Ms, 2),
        fixed(summary.maxMs, 1),
        kind === 'all'
          ? result.cache === undefined
            ? 'n/a'
            : percent(result.cache.hitRatio, 1)
          : '',
      ]);
    }
  }
  console.log(renderTable(headers, rows));
  console.log('');
  for (const result of results) {
    if (result.skipped !== undefined) continue;
    const errors = result.byOperation.all?.errorsByCode ?? {};
    const errorText =
      Object.keys(errors).length === 0 ? 'no errors' : `errors ${JSON.stringify(errors)}`;
    const cacheText =
      result.cache === undefined
        ? 'no cache'
        : `cache ${result.cache.hits} hits / ${result.cache.misses} misses, ${result.cache.storeLoads} store loads, ${result.cache.cachedUsersAtEnd} users cached (${(result.cache.cachedBytesAtEnd / 2 ** 20).toFixed(1)} MiB est.)`;
    const cpuText =
      result.cpuSeconds === undefined || result.cpuCores === undefined
        ? `cpu: not measured (${result.cpuNotMeasured ?? 'unknown'})`
        : `cpu ${result.cpuSeconds.toFixed(2)} s = ${fixed(result.cpuCores, 2)} cores busy (${result.cpuScope ?? ''}, ${result.cpuProcesses ?? 0} processes${result.cpuProcessesExited ? `, ${result.cpuProcessesExited} exited uncounted` : ''}), ${fixed(result.sendsPerCpuSecond ?? Number.NaN, 1)} sends per CPU second; load generator ${fixed(result.loadGeneratorCpuSeconds ?? Number.NaN, 2)} s (excluded)`;
    console.log(
      `${result.target}: ${result.description}; ${fixed(result.throughputOpsPerSecond, 0)} ops/s over ${result.measuredSeconds.toFixed(1)} s; ${cacheText}; ${cpuText}; ${errorText}`,
    );
  }
  const baseline = results.find(
    (result) => result.target === 'baseline' && result.skipped === undefined,
  );
  if (baseline !== undefined) {
    for (const result of results) {
      if (result === baseline || result.skipped !== undefined) continue;
      const ratio = (kind: string, field: 'p50Ms' | 'p99Ms') =>
        (result.byOperation[kind]?.[field] ?? Number.NaN) /
        (baseline.byOperation[kind]?.[field] ?? Number.NaN);
      console.log(
        `${result.target} vs baseline: throughput ×${fixed(result.throughputOpsPerSecond / baseline.throughputOpsPerSecond, 2)}, p50 ×${fixed(ratio('all', 'p50Ms'), 2)}, p99 ×${fixed(ratio('all', 'p99Ms'), 2)} (reads: conversations p50 ×${fixed(ratio('conversations', 'p50Ms'), 2)}, messages p50 ×${fixed(ratio('messages', 'p50Ms'), 2)}; send p50 ×${fixed(ratio('send', 'p50Ms'), 2)})`,
      );
    }
  }
}
