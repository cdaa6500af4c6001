/**
 * bench/resize.ts — what adding a node under load costs: users moved, store reads caused, latency
 * before / during / after the move, and warm versus cold handoff.
 *
 * One store is seeded with every contact pair's history; each scenario gets a fresh copy and a
 * fresh local cluster (`chatring start`: `--nodes` nodes + 1 standby, embedded store, a temporary
 * data dir that is always removed). Every user's conversations and conversation windows are read
 * once so the nodes hold them in cache; then a closed-loop Zipf load (reads and sends, the same
 * workload as bench/load.ts) runs through the router. After a baseline window, `--add-node` (the
 * standby) is given a slot with the router's change endpoint (POST /control/v1/changes, the one
 * `ringctl add` uses, NDJSON progress), and the load goes on for `--after-s`.
 *
 * Reported per scenario: the share of users moved (the change's preview of a 20,000-id sample,
 * against the workload's own users looked up with GET /admin/v1/owner before and after), users
 * handed over warm and their bytes (the change result, and handoff.warmUsersAdopted on the new
 * node), store reads (service.storeLoads) and cache misses of every node and of the new node per
 * window, latency p50/p99/p99.9/max per window for all requests and for those touching a moved
 * user, errors, and how long the change took. Afterwards every acknowledged send is read back from
 * both mailbox copies (nothing lost or doubled across the resize).
 *
 * Scenarios: `warm` (the launcher's default warm handoff) and `cold` (`chatring start
 * --warm-handoff-bytes-max 0`: the old owners still release the moving users safely, but hand
 * nothing over, so the new owner loads every moved user from the store). The baseline in the same
 * run is the window before the change, and `cold` is the baseline for `warm`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';
import {
  HttpControlPlaneClient,
  type ChangePreview,
  type ChangeProgress,
  type ChangeResult,
} from '../control-plane/index.js';
import {
  conversationIdOf,
  orderedPair,
  type Message,
  type SendMessageResponse,
} from '../protocol/index.js';
import { BenchFlags } from './lib/bench-args.js';
import { ChatClient, type ChatAnswer } from './lib/chat-client.js';
import { ChatWorkload, parseMix, type PlannedOperation } from './lib/chat-workload.js';
import { ClusterProcess, getJson, type ClusterStatusView } from './lib/cluster-process.js';
import { LatencyRecorder, type LatencySummary } from './lib/latency-recorder.js';
import { machineLine } from './lib/machine.js';
import { startReport, writeReport } from './lib/result-files.js';
import { copyEmbeddedSeed, seedEmbeddedStore } from './lib/workload-seed.js';
import { TemporaryDirectory } from './lib/temporary-directory.js';
import { fixed, percent, renderTable, type Cell } from './lib/text-table.js';
import { RingView } from '../ring/index.js';

const flags = BenchFlags.parse(
  'resize',
  'under load, add a node: users moved, store reads caused, latency before/during/after, warm vs cold handoff',
  {
    nodes: {
      description: 'cache nodes serving slots before the change (plus 1 standby)',
      default: '2',
    },
    'add-node': { description: 'the standby given a new slot', default: 'standby-1' },
    weight: { description: 'weight of the new slot (1-100)', default: '1' },
    scenarios: {
      description:
        'warm (default warm handoff) and/or cold (chatring start --warm-handoff-bytes-max 0)',
      default: 'warm,cold',
    },
    users: { description: 'users in the data set (all warmed before the load)', default: '1500' },
    contacts: {
      description: 'conversation partners per user (each pair seeded with history)',
      default: '3',
    },
    'seed-messages': { description: 'messages seeded per conversation', default: '2' },
    concurrency: { description: 'closed-loop workers (requests in flight)', default: '16' },
    mix: { description: 'operation weights', default: 'send:20,conversations:40,messages:40' },
    'zipf-s': { description: 'Zipf exponent of user activity', default: '1.0' },
    'content-bytes': { description: 'message size, bytes of ASCII', default: '100' },
    'page-size': { description: 'pageSize of conversations and messages reads', default: '20' },
    'warmup-s': { description: 'unmeasured load before the baseline window', default: '1' },
    'before-s': { description: 'measured load before the change (the baseline)', default: '3' },
    'after-s': { description: 'measured load after the change completed', default: '5' },
    'early-s': {
      description: 'the first part of the after window, also reported alone (cold refill)',
      default: '1',
    },
    'bucket-ms': { description: 'width of the time series buckets', default: '1000' },
    'owner-sample': {
      description: 'users looked up with GET /admin/v1/owner before and after (0: none)',
      default: '2000',
    },
    verify: {
      description: 'read every acknowledged send back from both copies afterwards (true/false)',
      default: 'true',
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
  nodes: flags.integer('nodes', 1, 63),
  addNode: flags.string('add-node'),
  weight: flags.integer('weight', 1, 100),
  scenarios: flags.string('scenarios').split(',').filter(Boolean) as ScenarioName[],
  users: flags.integer('users', 10, 1_000_000),
  contacts: flags.integer('contacts', 1, 100),
  seedMessages: flags.integer('seed-messages', 1, 1_000),
  concurrency: flags.integer('concurrency', 1, 1_024),
  mix: parseMix(flags.string('mix')),
  zipfExponent: flags.number('zipf-s', 0, 5),
  contentBytes: flags.integer('content-bytes', 1, 65_535),
  pageSize: flags.integer('page-size', 1, 200),
  warmupS: flags.number('warmup-s', 0, 600),
  beforeS: flags.number('before-s', 0.5, 3_600),
  afterS: flags.number('after-s', 0.5, 3_600),
  earlyS: flags.number('early-s', 0.1, 3_600),
  bucketMs: flags.integer('bucket-ms', 100, 60_000),
  ownerSample: flags.integer('owner-sample', 0, 1_000_000),
  verify: flags.boolean('verify'),
  timeoutMs: flags.integer('timeout-ms', 100, 600_000),
  seed: flags.integer('seed', 0, 2 ** 31),
  chatringEntry: flags.string('chatring-entry'),
  keepData: flags.boolean('keep-data'),
};
for (const scenario of settings.scenarios)
  if (scenario !== 'warm' && scenario !== 'cold')
    throw new Error(`--scenarios: unknown "${scenario}" (warm, cold)`);

type ScenarioName = 'warm' | 'cold';

/** A node's release slower than this waited out a user lock (lockWaitTimeoutMs is 5 s). */
const RELEASE_STALL_MS = 4_000;

/** warm: the launcher's default (64 MiB of warm handoff per node and change). cold: none. */
const SCENARIO_ARGS: Record<ScenarioName, string[]> = {
  warm: [],
  cold: ['--warm-handoff-bytes-max', '0'],
};

/** before (the baseline), during the change, early (the first --early-s after it), after (all of it). */
type WindowName = 'before' | 'during' | 'early' | 'after';
const WINDOWS: WindowName[] = ['before', 'during', 'early', 'after'];

/** The counters of GET /internal/v1/stats this benchmark reads, per node. */
interface NodeStats {
  storeLoads: number;
  cacheHits: number;
  cacheMisses: number;
  cachedUsers: number;
  cachedBytes: number;
  releasedUsers: number;
  warmUsersSent: number;
  warmUsersReceived: number;
  warmUsersAdopted: number;
}
const STAT_KEYS: (keyof NodeStats)[] = [
  'storeLoads',
  'cacheHits',
  'cacheMisses',
  'cachedUsers',
  'cachedBytes',
  'releasedUsers',
  'warmUsersSent',
  'warmUsersReceived',
  'warmUsersAdopted',
];

interface RequestRecord {
  kind: PlannedOperation['kind'];
  /** The user read, or sender and recipient of a send. */
  users: string[];
  startedAt: number;
  endedAt: number;
  ok: boolean;
  errorCode?: string;
}

interface Acknowledged {
  message: Message;
}

interface WindowFigures {
  seconds: number;
  all: LatencySummary & { opsPerSecond: number };
  /** Requests that touch a user whose owner the change moved. */
  moved: LatencySummary & { opsPerSecond: number };
  /** The rest: requests whose users all kept their owner. */
  other: LatencySummary & { opsPerSecond: number };
  /** Deltas of service.storeLoads / cacheMisses / cacheHits over the window. */
  storeLoads: { allNodes: number; newNode: number; byNode: Record<string, number> };
  cacheMisses: { allNodes: number; newNode: number };
  cacheHits: { allNodes: number; newNode: number };
}

interface SeriesPoint {
  /** Bucket start, seconds relative to the start of the change. */
  fromS: number;
  ok: number;
  errors: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  movedOk: number;
  movedP99Ms: number;
  /** service.storeLoads of all nodes in the bucket (from counters polled every bucket). */
  storeLoads: number;
}

interface ScenarioResult {
  scenario: ScenarioName;
  launcherArgs: string[];
  skipped?: string;
  /** Wall time of each phase of the scenario, seconds. */
  phaseSeconds?: Record<string, number>;
  warmCaches?: {
    seconds: number;
    requests: number;
    errors: number;
    cachedUsers: number;
    cachedBytes: number;
  };
  change?: {
    action: string;
    nodeId: string;
    weight: number;
    /** POST /control/v1/changes to its result line. */
    tookMs: number;
    /** ms after the POST at which the ring was published (the new owner may serve from then). */
    publishedAfterMs?: number;
    preview: ChangePreview;
    result?: ChangeResult;
    error?: string;
    progress: { atMs: number; event: string }[];
    /** How long each node's release took (from the previous progress event), ms. */
    releaseSteps: {
      nodeId: string;
      /** ms after the POST at which this node's release began and ended (as the router reported). */
      fromMs: number;
      toMs: number;
      ms: number;
      warmUsers: number;
      releasedUsers: number;
    }[];
    /**
     * Releases longer than RELEASE_STALL_MS: about the node's 5 s lock-wait timeout, i.e. a user
     * whose lock the release could not take (it then moves cold).
     */
    stalledReleases: string[];
    /**
     * For each stalled release: the client requests in flight through all of it, and how many are
     * sends whose lower-id user (the coordinator) moved away from the stalled node while the
     * higher-id user (the peer copy) moved away from another node that had released earlier.
     */
    stallDiagnosis: {
      nodeId: string;
      requestsSpanning: number;
      sendsSpanning: number;
      crossNodeMovingSends: number;
      examples: string[];
    }[];
  };
  moved?: {
    previewShare: number;
    previewSampleSize: number;
    /** The workload's users whose owner differs between the ring before and after (RingView). */
    workloadShare: number;
    workloadMoved: number;
    workloadUsers: number;
    /** Users looked up with GET /admin/v1/owner before and after the change. */
    ownerSample: {
      size: number;
      moved: number;
      share: number;
      movedToNewNode: number;
      /** Answers that disagree with RingView over the published rings (0 expected). */
      ringMismatches: number;
      lookupErrors: number;
      usersByNodeBefore: Record<string, number>;
      usersByNodeAfter: Record<string, number>;
    };
  };
  handoff?: {
    releasedUsers: number;
    warmUsers: number;
    warmBytes: number;
    /** handoff.warmUsersAdopted of the new node over the run. */
    warmUsersAdoptedByNewNode: number;
    /** Users cached on all nodes just before the change (every user was warmed). */
    cachedUsersBeforeChange: number;
  };
  windows?: Record<WindowName, WindowFigures>;
  series?: SeriesPoint[];
  totals?: { ok: number; errors: number; errorsByCode: Record<string, number>; seconds: number };
  verification?: {
    acknowledged: number;
    acknowledgedTouchingMoved: number;
    lost: number;
    duplicated: number;
    copiesRead: number;
  };
}

await main();
// Everything is stopped and removed by now; ClusterProcess.stop() leaves its grace timer
// (sleep(graceMs), 15 s) pending, which would hold the process open that long for nothing.
setTimeout(() => process.exit(), 100).unref();

async function main(): Promise<void> {
  const report = startReport<{
    seed: { messages: number; commits: number; seconds: number; conversations: number };
    scenarios: ScenarioResult[];
    comparison?: Record<string, number>;
  }>(
    'resize',
    { ...settings, mix: { ...settings.mix } },
    'the window before the change, same load, same cluster, same run; and the cold scenario (no warm handoff) for the warm one',
  );
  console.log(`resize benchmark — ${machineLine(report.machine)}`);
  console.log(
    `settings: ${settings.nodes} nodes + 1 standby, add ${settings.addNode} (weight ${settings.weight}); ${settings.users} users (Zipf s=${settings.zipfExponent}), ${settings.contacts} contacts, ${settings.seedMessages} seed messages per pair; ${settings.concurrency} workers, mix ${flags.string('mix')}, ${settings.contentBytes}-byte messages, page ${settings.pageSize}; ${settings.warmupS}s warm-up + ${settings.beforeS}s before + change + ${settings.afterS}s after; scenarios ${settings.scenarios.join(', ')}; seed ${settings.seed}`,
  );
  const workload = new ChatWorkload({
    users: settings.users,
    contacts: settings.contacts,
    zipfExponent: settings.zipfExponent,
    mix: settings.mix,
    contentBytes: settings.contentBytes,
    seed: settings.seed,
  });
  const temporary = new TemporaryDirectory('chatring-bench-resize-', settings.keepData);
  const scenarios: ScenarioResult[] = [];
  try {
    const seedDir = join(temporary.path, 'seed');
    const seed = await seedEmbeddedStore(seedDir, workload, settings);
    console.log(
      `seeded ${seed.conversations} conversations, ${seed.messages} messages (${seed.commits} commits) in ${seed.seconds.toFixed(1)} s`,
    );
    for (const scenario of settings.scenarios) {
      console.log(
        `\n--- scenario ${scenario}: chatring start --nodes ${settings.nodes} --standbys 1 ${SCENARIO_ARGS[scenario].join(' ')} ---\n`,
      );
      const dataDir = join(temporary.path, scenario);
      copyEmbeddedSeed(seedDir, dataDir);
      const result = await runScenario(scenario, dataDir, workload);
      if (result.skipped === undefined) printScenario(result);
      scenarios.push(result);
    }
    const comparison = printComparison(scenarios);
    report.notes.push(
      'Windows: before = answered before the change started (the baseline); during = in flight at any moment while the change ran (POST /control/v1/changes until its result); after = issued after the change completed. "moved" requests touch a user whose owner the change moved (a read of that user, or a send with either user moved).',
      'Store reads are service.storeLoads of GET /internal/v1/stats: mailbox loads plus conversation-window and single-row loads. A send also asks the store for its clientMessageId; that read is not counted (it happens warm or cold).',
      'Warm bytes are the cache’s own estimate of the handed-over state (MailboxState.bytes), not bytes on the wire.',
      'cold = chatring start --warm-handoff-bytes-max 0: the release is just as safe (old owner stops, in-flight writes finish, then publish), but the new owner starts empty and loads each moved user from the store on first use.',
      'The embedded store is one local SQLite file (page cache warm), so a cold load here is cheap and its latency cost is within the run-to-run noise; on Cassandra each of these store reads is a network round trip (not measured here).',
    );
    report.notes.push(
      'Closed loop: a worker whose request waits on a moving user waits with it, so a slow change lowers the throughput of every window it overlaps, also for users that do not move.',
    );
    const stalls = scenarios.flatMap((result) =>
      (result.change?.stalledReleases ?? []).map((stall) => `${result.scenario}: ${stall}`),
    );
    if (stalls.length > 0)
      report.notes.push(
        `Stalled releases (${stalls.join('; ')}): a node's release waits for each moving user's lock; a send coordinated by a moving user whose peer copy belongs to a user another node has already released holds that lock while its peer call is refused until the new ring is published — which waits for this release. The cycle ends only when the release's lock wait (5 s) runs out; that user moves cold. It happens with or without warm handoff; change.stallDiagnosis lists the sends in flight through it. A product issue (cache-node/handoff.ts, peer delivery), not a benchmark artefact.`,
      );
    for (const note of report.notes) console.log(`note: ${note}`);
    const path = writeReport({
      ...report,
      results: { seed, scenarios, ...(comparison === undefined ? {} : { comparison }) },
    });
    console.log(`\nwrote ${path}`);
  } finally {
    temporary.dispose();
  }
  // Timings never fail a benchmark; errors seen by clients during a resize (docs/operations.md
  // promises none), a failed change, or a lost acknowledged send do.
  for (const result of scenarios) {
    if (result.skipped !== undefined) continue;
    const problems: string[] = [];
    if (result.change?.error !== undefined) problems.push(`change failed: ${result.change.error}`);
    if ((result.totals?.errors ?? 0) > 0)
      problems.push(
        `${result.totals?.errors} client errors ${JSON.stringify(result.totals?.errorsByCode)}`,
      );
    if ((result.verification?.lost ?? 0) + (result.verification?.duplicated ?? 0) > 0)
      problems.push(
        `${result.verification?.lost} acknowledged copies lost, ${result.verification?.duplicated} duplicated`,
      );
    if (problems.length > 0) {
      console.log(`RESIZE FAILED (${result.scenario}): ${problems.join('; ')}`);
      process.exitCode = 1;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Data

// ---------------------------------------------------------------------------------------------
// One scenario

async function runScenario(
  scenario: ScenarioName,
  dataDir: string,
  workload: ChatWorkload,
): Promise<ScenarioResult> {
  const launcherArgs = SCENARIO_ARGS[scenario];
  const started = performance.now();
  let cluster: ClusterProcess;
  try {
    cluster = await ClusterProcess.start({
      dataDir,
      nodes: settings.nodes,
      standbys: 1,
      extraArgs: launcherArgs,
      ...(settings.chatringEntry === '' ? {} : { entry: settings.chatringEntry }),
    });
  } catch (error) {
    // A launcher without the flag exits at once with commander's "unknown option" (in its log,
    // which may be flushed just after the exit is noticed).
    await sleep(200);
    const logPath = join(dataDir, 'cluster.log');
    const text = `${(error as Error).message}\n${existsSync(logPath) ? readFileSync(logPath, 'utf8') : ''}`;
    if (scenario === 'cold' && /unknown option.*warm-handoff-bytes-max/.test(text))
      return { scenario, launcherArgs, skipped: 'needs --warm-handoff-bytes-max' };
    throw error;
  }
  const startS = (performance.now() - started) / 1_000;
  let result: ScenarioResult;
  try {
    result = await measure(scenario, launcherArgs, cluster, workload);
  } finally {
    await cluster.stop();
  }
  const seconds = (performance.now() - started) / 1_000;
  result.phaseSeconds = { ...result.phaseSeconds, startCluster: startS, total: seconds };
  return result;
}

async function measure(
  scenario: ScenarioName,
  launcherArgs: string[],
  cluster: ClusterProcess,
  workload: ChatWorkload,
): Promise<ScenarioResult> {
  const status = await waitForStandby(cluster, settings.addNode, 30_000);
  const nodeUrls = Object.fromEntries(
    status.nodes.filter((node) => node.url !== '').map((node) => [node.nodeId, node.url]),
  );
  const readStats = () => readAllStats(nodeUrls);
  const client = new ChatClient(cluster.routerUrl, {
    connections: settings.concurrency + 2,
    timeoutMs: settings.timeoutMs,
  });
  const control = new HttpControlPlaneClient(cluster.routerUrl, 120_000);
  try {
    // 1. Warm every user's caches: the conversation list and each conversation the load reads.
    const warmCaches = await warmEveryUser(client, workload, readStats);
    console.error(
      `${scenario}: warmed ${warmCaches.cachedUsers} users (${mib(warmCaches.cachedBytes)} MiB est.) with ${warmCaches.requests} reads in ${warmCaches.seconds.toFixed(1)} s (${warmCaches.errors} errors)`,
    );
    const sample = ownerSampleOf(workload);
    const ownersBefore = await lookUpOwners(cluster.routerUrl, sample);
    const change = { action: 'add', nodeId: settings.addNode, weight: settings.weight };
    const preview = await control.previewChange(change);

    // 2. The load: warm-up, baseline window, the change, the window after.
    const t0 = performance.now();
    const at = () => performance.now() - t0;
    const records: RequestRecord[] = [];
    const acknowledged: Acknowledged[] = [];
    let stopping = false;
    const workers = Array.from({ length: settings.concurrency }, async (_, index) => {
      const stream = workload.worker(index, `resize-${scenario}`);
      while (!stopping) {
        const operation = stream.next();
        const startedAt = at();
        const answer = await call(client, operation);
        const endedAt = at();
        records.push({
          kind: operation.kind,
          users:
            operation.kind === 'send'
              ? [operation.request.senderId, operation.request.recipientId]
              : [operation.userId],
          startedAt,
          endedAt,
          ok: answer.errorCode === undefined,
          ...(answer.errorCode === undefined ? {} : { errorCode: answer.errorCode }),
        });
        if (operation.kind === 'send' && answer.errorCode === undefined)
          acknowledged.push({ message: (answer.body as SendMessageResponse).message });
      }
    });
    const polls: { atMs: number; storeLoads: number }[] = [];
    const poller = (async () => {
      while (!stopping) {
        const stats = await readStats().catch(() => undefined);
        if (stats !== undefined) polls.push({ atMs: at(), storeLoads: total(stats).storeLoads });
        await sleep(settings.bucketMs / 2);
      }
    })();

    await sleep(settings.warmupS * 1_000);
    const measureStart = at();
    const statsStart = await readStats();
    await sleep(settings.beforeS * 1_000);
    const statsBefore = await readStats();
    const ringBefore = await cluster.ring();
    const changeStart = at();
    const progress: { atMs: number; event: string }[] = [];
    const releaseSteps: NonNullable<ScenarioResult['change']>['releaseSteps'] = [];
    let lastEventAt = 0;
    let publishedAfterMs: number | undefined;
    let result: ChangeResult | undefined;
    let changeError: string | undefined;
    try {
      result = await control.applyChange(change, ringBefore.epoch, (event) => {
        const atMs = at() - changeStart;
        if (event.phase === 'published') publishedAfterMs = atMs;
        if (event.phase === 'released')
          releaseSteps.push({
            nodeId: event.nodeId,
            fromMs: lastEventAt,
            toMs: atMs,
            ms: atMs - lastEventAt,
            warmUsers: event.result?.warmUsers ?? 0,
            releasedUsers: event.result?.releasedUsers ?? 0,
          });
        lastEventAt = atMs;
        progress.push({ atMs, event: describeProgress(event) });
      });
    } catch (error) {
      changeError = (error as Error).message;
    }
    const changeEnd = at();
    const statsChanged = await readStats();
    console.error(
      `${scenario}: change ${changeError === undefined ? `done at epoch ${result?.epoch}` : `FAILED: ${changeError}`} in ${fixed(changeEnd - changeStart, 0)} ms`,
    );
    await sleep(Math.min(settings.earlyS, settings.afterS) * 1_000);
    const statsEarly = await readStats();
    const earlyEnd = at();
    await sleep(Math.max(0, settings.afterS - settings.earlyS) * 1_000);
    const statsEnd = await readStats();
    const measureEnd = at();
    stopping = true;
    await Promise.all([...workers, poller]);

    // 3. Who moved.
    const ringAfter = await cluster.ring();
    const [viewBefore, viewAfter] = [new RingView(ringBefore), new RingView(ringAfter)];
    const movedUsers = new Set(
      workload.userIds.filter(
        (userId) => viewBefore.ownerIdOf(userId) !== viewAfter.ownerIdOf(userId),
      ),
    );
    const ownersAfter = await lookUpOwners(cluster.routerUrl, sample);
    const ownerFigures = compareOwners(sample, ownersBefore, ownersAfter, viewBefore, viewAfter);

    const stallDiagnosis = releaseSteps
      .filter((step) => step.ms >= RELEASE_STALL_MS)
      .map((step) => {
        const [from, to] = [changeStart + step.fromMs, changeStart + step.toMs];
        const spanning = records.filter((entry) => entry.startedAt <= from && entry.endedAt >= to);
        const sends = spanning.filter((entry) => entry.kind === 'send');
        const released = new Set(
          releaseSteps.filter((other) => other.toMs <= step.fromMs).map((other) => other.nodeId),
        );
        const crossNode = sends.filter((entry) => {
          const [low = '', high = ''] = orderedPair(entry.users[0] ?? '', entry.users[1] ?? '');
          const highOwner = viewBefore.ownerIdOf(high) ?? '';
          return (
            viewBefore.ownerIdOf(low) === step.nodeId &&
            movedUsers.has(low) &&
            movedUsers.has(high) &&
            released.has(highOwner)
          );
        });
        return {
          nodeId: step.nodeId,
          requestsSpanning: spanning.length,
          sendsSpanning: sends.length,
          crossNodeMovingSends: crossNode.length,
          examples: crossNode.slice(0, 3).map((entry) => {
            const [low = '', high = ''] = orderedPair(entry.users[0] ?? '', entry.users[1] ?? '');
            return `send ${entry.users[0]}→${entry.users[1]}: coordinator ${low} (${viewBefore.ownerIdOf(low)}→${viewAfter.ownerIdOf(low)}), peer ${high} (${viewBefore.ownerIdOf(high)}→${viewAfter.ownerIdOf(high)}), ${fixed(entry.endedAt - entry.startedAt, 0)} ms, ${entry.ok ? 'ok' : entry.errorCode}`;
          }),
        };
      });

    // 4. Windows.
    const isMoved = (entry: RequestRecord) => entry.users.some((userId) => movedUsers.has(userId));
    const windowOf = (
      name: WindowName,
      seconds: number,
      from: Map<string, NodeStats>,
      to: Map<string, NodeStats>,
    ): WindowFigures => {
      const belongs: Record<WindowName, (entry: RequestRecord) => boolean> = {
        before: (entry) => entry.startedAt >= measureStart && entry.endedAt < changeStart,
        during: (entry) => entry.endedAt >= changeStart && entry.startedAt < changeEnd,
        early: (entry) => entry.startedAt >= changeEnd && entry.startedAt < earlyEnd,
        after: (entry) => entry.startedAt >= changeEnd && entry.startedAt < measureEnd,
      };
      const entries = records.filter(belongs[name]);
      const delta = (key: keyof NodeStats, nodeId?: string) =>
        nodeId === undefined
          ? total(to)[key] - total(from)[key]
          : (to.get(nodeId)?.[key] ?? 0) - (from.get(nodeId)?.[key] ?? 0);
      return {
        seconds,
        all: summarize(entries, seconds),
        moved: summarize(entries.filter(isMoved), seconds),
        other: summarize(
          entries.filter((entry) => !isMoved(entry)),
          seconds,
        ),
        storeLoads: {
          allNodes: delta('storeLoads'),
          newNode: delta('storeLoads', settings.addNode),
          byNode: Object.fromEntries(
            Object.keys(nodeUrls).map((nodeId) => [nodeId, delta('storeLoads', nodeId)]),
          ),
        },
        cacheMisses: {
          allNodes: delta('cacheMisses'),
          newNode: delta('cacheMisses', settings.addNode),
        },
        cacheHits: { allNodes: delta('cacheHits'), newNode: delta('cacheHits', settings.addNode) },
      };
    };
    const windows: Record<WindowName, WindowFigures> = {
      before: windowOf('before', (changeStart - measureStart) / 1_000, statsStart, statsBefore),
      during: windowOf('during', (changeEnd - changeStart) / 1_000, statsBefore, statsChanged),
      early: windowOf('early', (earlyEnd - changeEnd) / 1_000, statsChanged, statsEarly),
      after: windowOf('after', (measureEnd - changeEnd) / 1_000, statsChanged, statsEnd),
    };
    const measured = records.filter(
      (entry) => entry.startedAt >= measureStart && entry.startedAt < measureEnd,
    );
    const errorsByCode: Record<string, number> = {};
    for (const entry of measured)
      if (!entry.ok)
        errorsByCode[entry.errorCode ?? 'UNKNOWN'] =
          (errorsByCode[entry.errorCode ?? 'UNKNOWN'] ?? 0) + 1;
    const series = seriesOf(measured, isMoved, polls, measureStart, measureEnd, changeStart);

    // 5. Nothing lost across the move.
    const verifyStarted = performance.now();
    const verification = settings.verify
      ? await verify(client, acknowledged, movedUsers)
      : undefined;
    const verifyS = (performance.now() - verifyStarted) / 1_000;

    const newNodeEnd = statsEnd.get(settings.addNode);
    const newNodeStart = statsStart.get(settings.addNode);
    return {
      scenario,
      launcherArgs,
      phaseSeconds: {
        warmCaches: warmCaches.seconds,
        load: (measureEnd - measureStart) / 1_000 + settings.warmupS,
        verify: verifyS,
      },
      warmCaches,
      change: {
        ...change,
        tookMs: changeEnd - changeStart,
        ...(publishedAfterMs === undefined ? {} : { publishedAfterMs }),
        preview,
        ...(result === undefined ? {} : { result }),
        ...(changeError === undefined ? {} : { error: changeError }),
        progress,
        releaseSteps,
        stalledReleases: releaseSteps
          .filter((step) => step.ms >= RELEASE_STALL_MS)
          .map(
            (step) =>
              `${step.nodeId}: release took ${fixed(step.ms, 0)} ms (${step.warmUsers} of ${step.releasedUsers} users warm)`,
          ),
        stallDiagnosis,
      },
      moved: {
        previewShare: preview.movedShare,
        previewSampleSize: preview.sampleSize,
        workloadShare: movedUsers.size / workload.userIds.length,
        workloadMoved: movedUsers.size,
        workloadUsers: workload.userIds.length,
        ownerSample: ownerFigures,
      },
      handoff: {
        releasedUsers: result?.releasedUsers ?? 0,
        warmUsers: result?.warmUsers ?? 0,
        warmBytes: result?.warmBytes ?? 0,
        warmUsersAdoptedByNewNode:
          (newNodeEnd?.warmUsersAdopted ?? 0) - (newNodeStart?.warmUsersAdopted ?? 0),
        cachedUsersBeforeChange: total(statsBefore).cachedUsers,
      },
      windows,
      series,
      totals: {
        ok: measured.filter((entry) => entry.ok).length,
        errors: measured.filter((entry) => !entry.ok).length,
        errorsByCode,
        seconds: (measureEnd - measureStart) / 1_000,
      },
      ...(verification === undefined ? {} : { verification }),
    };
  } finally {
    await client.close();
    await control.close();
  }
}

/** `chatring start` reports ready once the slots are served; a standby may register a moment later. */
async function waitForStandby(
  cluster: ClusterProcess,
  nodeId: string,
  timeoutMs: number,
): Promise<ClusterStatusView> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const status = await cluster.status();
    const node = status.nodes.find((candidate) => candidate.nodeId === nodeId);
    if (node !== undefined && node.state === 'standby' && node.url !== '') return status;
    if (performance.now() > deadline)
      throw new Error(
        `--add-node ${nodeId} is not a registered standby after ${timeoutMs} ms (nodes: ${status.nodes.map((candidate) => `${candidate.nodeId}:${candidate.state}`).join(', ')})`,
      );
    await sleep(100);
  }
}

function call(client: ChatClient, operation: PlannedOperation): Promise<ChatAnswer> {
  switch (operation.kind) {
    case 'send':
      return client.send(operation.request, true);
    case 'conversations':
      return client.conversations(operation.userId, settings.pageSize);
    case 'messages':
      return client.messages(operation.userId, operation.conversationId, settings.pageSize);
  }
}

/** Reads every user's conversation list and each conversation the load will read (its contacts). */
async function warmEveryUser(
  client: ChatClient,
  workload: ChatWorkload,
  readStats: () => Promise<Map<string, NodeStats>>,
): Promise<NonNullable<ScenarioResult['warmCaches']>> {
  const started = performance.now();
  let requests = 0;
  let errors = 0;
  await forEachLimit(workload.userIds, settings.concurrency, async (userId) => {
    const answers = [await client.conversations(userId, settings.pageSize)];
    for (const contact of workload.contactsOf.get(userId) ?? [])
      answers.push(
        await client.messages(userId, conversationIdOf(userId, contact), settings.pageSize),
      );
    requests += answers.length;
    errors += answers.filter((answer) => answer.errorCode !== undefined).length;
  });
  const stats = total(await readStats());
  return {
    seconds: (performance.now() - started) / 1_000,
    requests,
    errors,
    cachedUsers: stats.cachedUsers,
    cachedBytes: stats.cachedBytes,
  };
}

/** Every `step`-th user of the workload, up to --owner-sample of them. */
function ownerSampleOf(workload: ChatWorkload): string[] {
  const count = Math.min(settings.ownerSample, workload.userIds.length);
  if (count === 0) return [];
  const step = workload.userIds.length / count;
  return Array.from(
    { length: count },
    (_, index) => workload.userIds[Math.floor(index * step)] ?? '',
  );
}

/** GET /admin/v1/owner/:userId on the router for each user; undefined where it failed. */
async function lookUpOwners(routerUrl: string, users: string[]): Promise<Map<string, string>> {
  const owners = new Map<string, string>();
  const pool = new Pool(routerUrl, { connections: 8 });
  try {
    await forEachLimit(users, 8, async (userId) => {
      try {
        const response = await pool.request({
          method: 'GET',
          path: `/admin/v1/owner/${encodeURIComponent(userId)}`,
          headersTimeout: 5_000,
          bodyTimeout: 5_000,
        });
        const body = (await response.body.json()) as { nodeId?: string };
        if (response.statusCode === 200 && typeof body.nodeId === 'string')
          owners.set(userId, body.nodeId);
      } catch {
        // counted as a lookup error
      }
    });
  } finally {
    await pool.close();
  }
  return owners;
}

function compareOwners(
  sample: string[],
  before: Map<string, string>,
  after: Map<string, string>,
  viewBefore: RingView,
  viewAfter: RingView,
): NonNullable<ScenarioResult['moved']>['ownerSample'] {
  let moved = 0;
  let movedToNewNode = 0;
  let ringMismatches = 0;
  let lookupErrors = 0;
  const usersByNodeBefore: Record<string, number> = {};
  const usersByNodeAfter: Record<string, number> = {};
  for (const userId of sample) {
    const from = before.get(userId);
    const to = after.get(userId);
    if (from === undefined || to === undefined) {
      lookupErrors += 1;
      continue;
    }
    usersByNodeBefore[from] = (usersByNodeBefore[from] ?? 0) + 1;
    usersByNodeAfter[to] = (usersByNodeAfter[to] ?? 0) + 1;
    if (from !== viewBefore.ownerIdOf(userId) || to !== viewAfter.ownerIdOf(userId))
      ringMismatches += 1;
    if (from !== to) {
      moved += 1;
      if (to === settings.addNode) movedToNewNode += 1;
    }
  }
  const answered = sample.length - lookupErrors;
  return {
    size: sample.length,
    moved,
    share: answered === 0 ? Number.NaN : moved / answered,
    movedToNewNode,
    ringMismatches,
    lookupErrors,
    usersByNodeBefore,
    usersByNodeAfter,
  };
}

/** Reads every acknowledged send back from both mailbox copies: lost and doubled copies. */
async function verify(
  client: ChatClient,
  acknowledged: Acknowledged[],
  movedUsers: Set<string>,
): Promise<NonNullable<ScenarioResult['verification']>> {
  const expected = new Map<string, Message[]>(); // `${reader}|${conversationId}` → acks
  for (const { message } of acknowledged)
    for (const reader of [message.senderId, message.recipientId]) {
      const key = `${reader}|${message.conversationId}`;
      expected.set(key, [...(expected.get(key) ?? []), message]);
    }
  let lost = 0;
  let duplicated = 0;
  await forEachLimit([...expected.entries()], settings.concurrency, async ([key, messages]) => {
    const [reader = '', conversationId = ''] = key.split('|');
    const copy = await readAll(client, reader, conversationId);
    const byId = new Map<string, number>();
    const byClientId = new Set<string>();
    for (const message of copy) {
      byId.set(message.messageId, (byId.get(message.messageId) ?? 0) + 1);
      const clientKey = `${message.senderId}|${message.clientMessageId}`;
      if (byClientId.has(clientKey)) duplicated += 1;
      byClientId.add(clientKey);
    }
    for (const message of messages) if (!byId.has(message.messageId)) lost += 1;
  });
  return {
    acknowledged: acknowledged.length,
    acknowledgedTouchingMoved: acknowledged.filter(
      ({ message }) => movedUsers.has(message.senderId) || movedUsers.has(message.recipientId),
    ).length,
    lost,
    duplicated,
    copiesRead: expected.size,
  };
}

async function readAll(
  client: ChatClient,
  reader: string,
  conversationId: string,
): Promise<Message[]> {
  const pageSize = 200;
  const messages: Message[] = [];
  for (let page = 0; page * pageSize <= 10_000 - pageSize; page += 1) {
    const answer = await client.messages(reader, conversationId, pageSize, page, true);
    if (answer.errorCode !== undefined)
      throw new Error(`reading ${conversationId} as ${reader} failed: ${answer.errorCode}`);
    const batch = (answer.body as { messages: Message[] }).messages;
    messages.push(...batch);
    if (batch.length < pageSize) break;
  }
  return messages;
}

// ---------------------------------------------------------------------------------------------
// Counters and figures

async function readAllStats(nodeUrls: Record<string, string>): Promise<Map<string, NodeStats>> {
  const stats = new Map<string, NodeStats>();
  await Promise.all(
    Object.entries(nodeUrls).map(async ([nodeId, url]) => {
      const document = await getJson<Record<string, Record<string, unknown> | undefined>>(
        `${url}/internal/v1/stats`,
      );
      const number = (value: unknown) =>
        typeof value === 'number' && Number.isFinite(value) ? value : 0;
      const service = document.service ?? {};
      const handoff = document.handoff ?? {};
      const cache = document.cache ?? {};
      stats.set(nodeId, {
        storeLoads: number(service.storeLoads),
        cacheHits: number(service.cacheHits),
        cacheMisses: number(service.cacheMisses),
        cachedUsers: number(cache.users),
        cachedBytes: number(cache.bytes),
        releasedUsers: number(handoff.releasedUsers),
        warmUsersSent: number(handoff.warmUsersSent),
        warmUsersReceived: number(handoff.warmUsersReceived),
        warmUsersAdopted: number(handoff.warmUsersAdopted),
      });
    }),
  );
  return stats;
}

function total(stats: Map<string, NodeStats>): NodeStats {
  const sum = Object.fromEntries(STAT_KEYS.map((key) => [key, 0])) as unknown as NodeStats;
  for (const node of stats.values()) for (const key of STAT_KEYS) sum[key] += node[key];
  return sum;
}

function summarize(
  entries: RequestRecord[],
  seconds: number,
): LatencySummary & { opsPerSecond: number } {
  const recorder = new LatencyRecorder();
  for (const entry of entries) {
    if (entry.ok) recorder.record(entry.kind, (entry.endedAt - entry.startedAt) * 1_000);
    else recorder.recordError(entry.kind, entry.errorCode ?? 'UNKNOWN');
  }
  const summary = recorder.summary('all');
  // A percentile is the top of its HDR bucket (3 significant digits): never above the real max.
  const capped = (value: number) => Math.min(value, summary.maxMs);
  return {
    ...summary,
    p50Ms: capped(summary.p50Ms),
    p99Ms: capped(summary.p99Ms),
    p999Ms: capped(summary.p999Ms),
    opsPerSecond: seconds > 0 ? summary.ok / seconds : Number.NaN,
  };
}

function seriesOf(
  entries: RequestRecord[],
  isMoved: (entry: RequestRecord) => boolean,
  polls: { atMs: number; storeLoads: number }[],
  measureStart: number,
  measureEnd: number,
  changeStart: number,
): SeriesPoint[] {
  const width = settings.bucketMs;
  // Buckets aligned on the change start; only whole buckets inside the measured span.
  const first = Math.ceil((measureStart - changeStart) / width);
  const last = Math.floor((measureEnd - changeStart) / width);
  const loadsAt = (atMs: number) => {
    // The last poll at or before atMs (counters are cumulative).
    let value: number | undefined;
    for (const poll of polls) if (poll.atMs <= atMs) value = poll.storeLoads;
    return value;
  };
  const points: SeriesPoint[] = [];
  for (let index = first; index < last; index += 1) {
    const from = changeStart + index * width;
    const to = from + width;
    const inBucket = entries.filter((entry) => entry.endedAt >= from && entry.endedAt < to);
    const all = summarize(inBucket, width / 1_000);
    const moved = summarize(inBucket.filter(isMoved), width / 1_000);
    const [loadsFrom, loadsTo] = [loadsAt(from), loadsAt(to)];
    points.push({
      fromS: (index * width) / 1_000,
      ok: all.ok,
      errors: all.errors,
      p50Ms: all.p50Ms,
      p99Ms: all.p99Ms,
      maxMs: all.maxMs,
      movedOk: moved.ok,
      movedP99Ms: moved.p99Ms,
      storeLoads:
        loadsFrom === undefined || loadsTo === undefined ? Number.NaN : loadsTo - loadsFrom,
    });
  }
  return points;
}

function describeProgress(event: ChangeProgress): string {
  switch (event.phase) {
    case 'planned':
      return `planned epoch ${event.preview.epochAfter}: ${percent(event.preview.movedShare, 1)} of users will move`;
    case 'released':
      return `${event.done}/${event.total} released ${event.nodeId}${event.result === null ? '' : `: ${event.result.releasedUsers} cached users released, ${event.result.warmUsers} warm (${event.result.warmBytes} bytes)`}`;
    case 'published':
      return `published epoch ${event.epoch}`;
  }
}

// ---------------------------------------------------------------------------------------------
// Output

function mib(bytes: number): string {
  return (bytes / 2 ** 20).toFixed(2);
}

function printScenario(result: ScenarioResult): void {
  const { change, moved, handoff, windows, series, totals, verification } = result;
  if (change === undefined || moved === undefined || handoff === undefined || windows === undefined)
    return;
  console.log(
    `change: add ${change.nodeId} (weight ${change.weight}) ${change.error === undefined ? `done at epoch ${change.result?.epoch}` : `FAILED: ${change.error}`} in ${fixed(change.tookMs, 0)} ms${change.publishedAfterMs === undefined ? '' : ` (published after ${fixed(change.publishedAfterMs, 0)} ms)`}`,
  );
  for (const stall of change.stalledReleases)
    console.log(
      `  STALL ${stall}: the release waited out a user's lock (lock wait 5 s); that user moves cold, and the change and every moving user waited`,
    );
  for (const diagnosis of change.stallDiagnosis) {
    console.log(
      `    in flight through all of ${diagnosis.nodeId}'s release: ${diagnosis.requestsSpanning} requests, ${diagnosis.sendsSpanning} sends, ${diagnosis.crossNodeMovingSends} of them coordinated by a user moving off ${diagnosis.nodeId} with the peer user moving off a node released before it`,
    );
    for (const example of diagnosis.examples) console.log(`      ${example}`);
  }
  for (const step of change.progress)
    console.log(`  ${fixed(step.atMs, 0).padStart(6)} ms  ${step.event}`);
  const sample = moved.ownerSample;
  console.log(
    `users moved: preview ${percent(moved.previewShare, 1)} (of ${moved.previewSampleSize} ids); workload ${percent(moved.workloadShare, 1)} (${moved.workloadMoved} of ${moved.workloadUsers}, RingView); /admin/v1/owner sample ${percent(sample.share, 1)} (${sample.moved} of ${sample.size}, ${sample.movedToNewNode} to ${settings.addNode}; ${sample.ringMismatches} disagree with the ring, ${sample.lookupErrors} lookups failed)`,
  );
  console.log(
    `  users per node (sample): before ${JSON.stringify(sample.usersByNodeBefore)} → after ${JSON.stringify(sample.usersByNodeAfter)}`,
  );
  console.log(
    `handoff: ${handoff.releasedUsers} cached users released, ${handoff.warmUsers} handed over warm (${mib(handoff.warmBytes)} MiB est.), ${handoff.warmUsersAdoptedByNewNode} adopted by ${settings.addNode}`,
  );
  const headers = [
    'window',
    's',
    'users',
    'ok',
    'errors',
    'ops/s',
    'p50 ms',
    'p99 ms',
    'p99.9 ms',
    'max ms',
    'store reads (new node)',
    'misses (new node)',
  ];
  const rows: Cell[][] = [];
  for (const name of WINDOWS) {
    const window = windows[name];
    for (const [users, summary] of [
      ['all', window.all],
      ['moved', window.moved],
      ['other', window.other],
    ] as const) {
      rows.push([
        name,
        fixed(window.seconds, 2),
        users,
        summary.ok,
        summary.errors,
        fixed(summary.opsPerSecond, 0),
        fixed(summary.p50Ms, 2),
        fixed(summary.p99Ms, 2),
        fixed(summary.p999Ms, 2),
        fixed(summary.maxMs, 1),
        users === 'all' ? `${window.storeLoads.allNodes} (${window.storeLoads.newNode})` : '',
        users === 'all' ? `${window.cacheMisses.allNodes} (${window.cacheMisses.newNode})` : '',
      ]);
    }
  }
  console.log('');
  console.log(renderTable(headers, rows));
  if (series !== undefined) {
    console.log(
      `\nper ${settings.bucketMs} ms (t = seconds from the change start, by answer time):`,
    );
    console.log(
      renderTable(
        [
          't s',
          'ok',
          'errors',
          'p50 ms',
          'p99 ms',
          'max ms',
          'moved ok',
          'moved p99 ms',
          'store reads',
        ],
        series.map((point) => [
          fixed(point.fromS, 1),
          point.ok,
          point.errors,
          fixed(point.p50Ms, 2),
          fixed(point.p99Ms, 2),
          fixed(point.maxMs, 1),
          point.movedOk,
          fixed(point.movedP99Ms, 2),
          Number.isFinite(point.storeLoads) ? point.storeLoads : 'n/a',
        ]),
      ),
    );
  }
  if (totals !== undefined)
    console.log(
      `\nerrors: ${totals.errors} of ${totals.ok + totals.errors} requests${totals.errors === 0 ? '' : ` ${JSON.stringify(totals.errorsByCode)}`}`,
    );
  if (result.phaseSeconds !== undefined)
    console.log(
      `phases (s): ${Object.entries(result.phaseSeconds)
        .map(([phase, seconds]) => `${phase} ${seconds.toFixed(1)}`)
        .join(', ')}`,
    );
  if (verification !== undefined)
    console.log(
      `verification: ${verification.acknowledged} acknowledged sends (${verification.acknowledgedTouchingMoved} touching a moved user), ${verification.copiesRead} mailbox copies read back: lost ${verification.lost}, duplicated ${verification.duplicated}`,
    );
}

function printComparison(scenarios: ScenarioResult[]): Record<string, number> | undefined {
  console.log('\n=== warm vs cold handoff ===\n');
  const early = `${settings.earlyS}s`;
  const movement: Cell[][] = [];
  const latency: Cell[][] = [];
  for (const result of scenarios) {
    const w = result.windows;
    if (result.skipped !== undefined || w === undefined) continue;
    const reads = (window: WindowFigures) =>
      `${window.storeLoads.allNodes} (${window.storeLoads.newNode})`;
    movement.push([
      result.scenario,
      `${percent(result.moved?.previewShare ?? Number.NaN, 1)} / ${percent(result.moved?.ownerSample.share ?? Number.NaN, 1)}`,
      result.handoff?.warmUsers ?? 0,
      mib(result.handoff?.warmBytes ?? 0),
      result.handoff?.warmUsersAdoptedByNewNode ?? 0,
      fixed(result.change?.tookMs ?? Number.NaN, 0),
      reads(w.before),
      reads(w.during),
      reads(w.early),
      reads(w.after),
      `${w.after.cacheMisses.allNodes} (${w.after.cacheMisses.newNode})`,
    ]);
    latency.push([
      result.scenario,
      `${fixed(w.before.all.p50Ms, 1)} / ${fixed(w.before.all.p99Ms, 1)} / ${fixed(w.before.all.p999Ms, 1)}`,
      `${fixed(w.during.all.p99Ms, 1)} / ${fixed(w.during.all.maxMs, 1)}`,
      `${fixed(w.early.moved.p50Ms, 1)} / ${fixed(w.early.moved.p99Ms, 1)}`,
      `${fixed(w.after.all.p50Ms, 1)} / ${fixed(w.after.all.p99Ms, 1)} / ${fixed(w.after.all.p999Ms, 1)}`,
      `${fixed(w.after.moved.p50Ms, 1)} / ${fixed(w.after.moved.p99Ms, 1)}`,
      result.totals?.errors ?? 0,
    ]);
  }
  console.log(
    renderTable(
      [
        'scenario',
        'moved preview / owner',
        'warm users',
        'warm MiB',
        'adopted',
        'change ms',
        'store reads before',
        'during',
        `first ${early}`,
        'after',
        'misses after',
      ],
      movement,
    ),
  );
  console.log('(store reads and misses: all nodes (the new node))\n');
  console.log(
    renderTable(
      [
        'scenario',
        'before p50/p99/p99.9',
        'during p99/max',
        `moved first ${early} p50/p99`,
        'after p50/p99/p99.9',
        'after moved p50/p99',
        'errors',
      ],
      latency,
    ),
  );
  console.log('(latency in ms)');
  for (const result of scenarios)
    if (result.skipped !== undefined)
      console.log(`${result.scenario}: skipped (${result.skipped})`);
  const ran = scenarios.filter((result) => result.skipped === undefined);
  const warm = ran.find((result) => result.scenario === 'warm')?.windows;
  const cold = ran.find((result) => result.scenario === 'cold')?.windows;
  if (warm === undefined || cold === undefined) return undefined;
  const readsFromChange = (w: Record<WindowName, WindowFigures>) =>
    w.during.storeLoads.allNodes + w.after.storeLoads.allNodes;
  const comparison = {
    storeReadsFromChangeStartWarm: readsFromChange(warm),
    storeReadsFromChangeStartCold: readsFromChange(cold),
    storeReadsSavedByWarm: readsFromChange(cold) - readsFromChange(warm),
    p99AfterWarmMs: warm.after.all.p99Ms,
    p99AfterColdMs: cold.after.all.p99Ms,
    p99AfterMovedWarmMs: warm.after.moved.p99Ms,
    p99AfterMovedColdMs: cold.after.moved.p99Ms,
    p99EarlyMovedWarmMs: warm.early.moved.p99Ms,
    p99EarlyMovedColdMs: cold.early.moved.p99Ms,
  };
  console.log(
    `\nwarm vs cold: store reads from the change start to the end ${comparison.storeReadsFromChangeStartWarm} vs ${comparison.storeReadsFromChangeStartCold} (warm handoff saved ${comparison.storeReadsSavedByWarm}); p99 after the move ${fixed(comparison.p99AfterWarmMs, 2)} vs ${fixed(comparison.p99AfterColdMs, 2)} ms; moved users' p99 in the first ${early} ${fixed(comparison.p99EarlyMovedWarmMs, 2)} vs ${fixed(comparison.p99EarlyMovedColdMs, 2)} ms, over the whole after window ${fixed(comparison.p99AfterMovedWarmMs, 2)} vs ${fixed(comparison.p99AfterMovedColdMs, 2)} ms`,
  );
  return comparison;
}

async function forEachLimit<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const item = items[next] as T;
        next += 1;
        await work(item);
      }
    }),
  );
}
