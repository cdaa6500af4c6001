/**
 * One failover scenario: a fresh local cluster (always stopped), a light load, `kill -9` of the
 * victim, then the recovery measured and every acknowledged send checked.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { ApiClient, TemporaryDirectory, type LocalCluster } from '../../harness/index.js';
import { startBenchCluster } from '../lib/bench-cluster.js';
import { RingView } from '../../ring/index.js';
import { LatencyRecorder, type LatencySummary } from '../lib/latency-recorder.js';
import { describeStatus, outcomeOf } from './cluster-outcome.js';
import { RunClock, startFailoverLoad, startProber, startStatusPoller } from './failover-load.js';
import { choosePairs } from './failover-pairs.js';
import type {
  FailoverResults,
  RequestRecord,
  StatusEvent,
  WindowFigures,
} from './failover-results.js';
import {
  SCENARIO_ARGS,
  SCENARIO_SIGNAL,
  settings,
  type ScenarioName,
} from './failover-settings.js';
import { verify } from './failover-verification.js';

export async function runInFreshCluster(scenario: ScenarioName): Promise<FailoverResults> {
  const temporary = new TemporaryDirectory(
    `chatring-bench-failover-${scenario}-`,
    settings.keepData,
  );
  const dataDir = temporary.path;
  let cluster: LocalCluster | undefined;
  try {
    cluster = await startBenchCluster(dataDir, settings.nodes, settings.chatringEntry, {
      extraArgs: [
        ...SCENARIO_ARGS[scenario],
        ...(settings.leaseMs === undefined ? [] : ['--lease-ms', String(settings.leaseMs)]),
      ],
    });
    return await runScenario(cluster, SCENARIO_SIGNAL[scenario]);
  } finally {
    await cluster?.stop();
    temporary.dispose();
  }
}

/**
 * The scenario's script: load, kill, wait for recovery, a little more load, then the figures. It
 * stays whole so the script reads top to bottom; the load, poller and probe live in failover-load.ts.
 */
async function runScenario(
  cluster: LocalCluster,
  signal: NodeJS.Signals,
): Promise<FailoverResults> {
  const statusBefore = await cluster.status();
  const victimNode = statusBefore.nodes.find((node) => node.nodeId === settings.victim);
  if (victimNode?.pid === undefined || victimNode.slots.length === 0) {
    throw new Error(
      `--victim ${settings.victim} is not a serving node with a pid (nodes: ${statusBefore.nodes.map((node) => `${node.nodeId}:${node.state}`).join(', ')})`,
    );
  }
  const victim = {
    nodeId: victimNode.nodeId,
    pid: victimNode.pid,
    slots: [...victimNode.slots],
    url: victimNode.url,
  };
  const ring = new RingView(await cluster.ring());
  const pairs = choosePairs(ring, victim.nodeId);
  const client = new ApiClient(cluster.url, {
    connections: settings.workers + 2,
    timeoutMs: settings.timeoutMs,
    keepAliveTimeoutMs: 30_000,
  });
  const probeUser =
    pairs
      .flatMap((pair) => [pair.low, pair.high])
      .find((user) => ring.ownerIdOf(user) === victim.nodeId) ?? '';

  const clock = new RunClock();
  const load = startFailoverLoad(client, pairs, clock);
  const timeline: StatusEvent[] = [];
  const describedBefore = describeStatus(statusBefore, victim.nodeId);
  timeline.push({ atMs: 0, epoch: statusBefore.epoch, text: `before: ${describedBefore}` });

  await sleep(settings.beforeKillS * 1_000);
  clock.killAt = clock.at();
  const killAt = clock.killAt;
  process.kill(victim.pid, signal);
  const what = signal === 'SIGKILL' ? 'kill -9' : `kill -${signal.replace('SIG', '')}`;
  console.error(`${what} ${victim.nodeId} (pid ${victim.pid}) at ${(killAt / 1_000).toFixed(2)} s`);
  timeline.push({
    atMs: 0,
    epoch: statusBefore.epoch,
    text: `${what} ${victim.nodeId} (pid ${victim.pid})`,
  });
  const poller = startStatusPoller(cluster, victim.nodeId, clock, timeline, describedBefore);
  const probe = startProber(client, probeUser, clock, load.records);

  const firstAffected = await firstAffectedSuccess(load.records, clock, probe);
  const recoveredAt = clock.at();
  if (signal === 'SIGSTOP') {
    // The old owner wakes with a lapsed lease and a stale cache, under load: it must refuse
    // until it learns it lost its slot (the verification below reads every mailbox back).
    process.kill(victim.pid, 'SIGCONT');
    const continuedAt = clock.at() - killAt;
    timeline.push({
      atMs: continuedAt,
      epoch: (await cluster.status()).epoch,
      text: `kill -CONT ${victim.nodeId} (pid ${victim.pid})`,
    });
  }
  await sleep(settings.afterRecoveryS * 1_000);
  await Promise.all([load.stop(), poller.stop(), probe.stop()]);
  const endedAt = clock.at();

  const statusAfter = await cluster.status();
  const verification = await verify(client, pairs, load.acknowledged, load.unacknowledged);
  await client.close();

  // Before: answered before the kill. Outage: in flight at any moment between the kill and the
  // recovery. After: issued after the recovery.
  const windowOf = (seconds: number, belongs: (entry: RequestRecord) => boolean): WindowFigures => {
    const inWindow = load.records.filter((entry) => entry.kind !== 'probe' && belongs(entry));
    return {
      seconds,
      affected: summarize(inWindow.filter((entry) => entry.affected)),
      unaffected: summarize(inWindow.filter((entry) => !entry.affected)),
    };
  };
  const probeFirstSuccess = probe.firstSuccessAfterKillMs();
  const longestNoAckMs = (affected: boolean): number =>
    longestGapMs(
      load.records.filter((entry) => entry.kind !== 'probe' && entry.affected === affected),
      killAt,
      recoveredAt,
    );
  return {
    victim,
    ...outcomeOf(statusBefore, statusAfter, victim),
    timeline,
    ...(firstAffected === undefined ? {} : { firstAffectedSuccessAfterKillMs: firstAffected }),
    ...(probeFirstSuccess === undefined ? {} : { probeFirstSuccessAfterKillMs: probeFirstSuccess }),
    window: {
      beforeKill: windowOf(killAt / 1_000, (entry) => entry.endedAt < killAt),
      outage: windowOf(
        (recoveredAt - killAt) / 1_000,
        (entry) => entry.endedAt >= killAt && entry.startedAt < recoveredAt,
      ),
      afterRecovery: windowOf(
        (endedAt - recoveredAt) / 1_000,
        (entry) => entry.startedAt >= recoveredAt,
      ),
    },
    longestNoAckMs: { affected: longestNoAckMs(true), unaffected: longestNoAckMs(false) },
    verification,
  };
}

/**
 * The longest stretch from the kill through the recovery (and until the next answer after it) in
 * which none of `records` was answered successfully: what a user of that kind waited at worst.
 */
function longestGapMs(records: RequestRecord[], from: number, until: number): number {
  const answers = records
    .filter((entry) => entry.ok && entry.endedAt >= from)
    .map((entry) => entry.endedAt)
    .sort((a, b) => a - b);
  let longest = 0;
  let previous = from;
  for (const at of answers) {
    longest = Math.max(longest, at - previous);
    previous = at;
    if (at > until) break;
  }
  return longest;
}

/**
 * Waits (up to --max-outage-s) for the first success of an affected request issued after the kill,
 * and for the probe's; the former's ms after the kill, undefined if it never came.
 */
async function firstAffectedSuccess(
  records: RequestRecord[],
  clock: RunClock,
  probe: { firstSuccessAfterKillMs(): number | undefined },
): Promise<number | undefined> {
  const deadline = clock.killAt + settings.maxOutageS * 1_000;
  while (clock.at() < deadline) {
    const success = records.find(
      (entry) =>
        entry.affected && entry.ok && entry.kind !== 'probe' && entry.startedAt >= clock.killAt,
    );
    if (success !== undefined && probe.firstSuccessAfterKillMs() !== undefined)
      return success.endedAt - clock.killAt;
    await sleep(20);
  }
  return undefined;
}

function summarize(entries: RequestRecord[]): LatencySummary {
  const recorder = new LatencyRecorder();
  for (const entry of entries) {
    if (entry.ok) recorder.record('all', (entry.endedAt - entry.startedAt) * 1_000);
    else recorder.recordError('all', entry.errorCode ?? 'UNKNOWN');
  }
  return recorder.summary('all');
}
