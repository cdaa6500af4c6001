/**
 * One resize scenario: a fresh local cluster on a copy of the seeded store, started with the
 * scenario's launcher flags, measured (resize-figures.ts), checked for lost or doubled sends
 * (harness/history-check.ts), and always stopped.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { HttpControlPlaneClient } from '../../control-plane/index.js';
import {
  ApiClient,
  countViolations,
  findHistoryViolations,
  readMailboxCopies,
  sumCounters,
  type AcknowledgedSend,
  type LocalCluster,
} from '../../harness/index.js';
import { CLUSTER_LOG_NAME, startBenchCluster } from '../lib/bench-cluster.js';
import { RingView } from '../../ring/index.js';
import type { ChatWorkload } from '../lib/chat-workload.js';
import { readCountersByNode } from '../lib/cluster-counters.js';
import { fixed } from '../lib/text-table.js';
import { waitForStandby, warmEveryUser } from './cache-warming.js';
import { runLoadAcrossChange } from './load-across-change.js';
import { compareOwners, lookUpOwners, ownerSampleOf } from './owner-movement.js';
import { errorsByCodeOf, seriesOf, stallDiagnosisOf, windowsOf } from './resize-figures.js';
import { mib } from './resize-output.js';
import type { RequestRecord, ScenarioResult } from './resize-results.js';
import { RELEASE_STALL_MS, SCENARIO_ARGS, settings, type ScenarioName } from './resize-settings.js';

export async function runScenario(
  scenario: ScenarioName,
  dataDir: string,
  workload: ChatWorkload,
): Promise<ScenarioResult> {
  const launcherArgs = SCENARIO_ARGS[scenario];
  const started = performance.now();
  let cluster: LocalCluster;
  try {
    cluster = await startBenchCluster(dataDir, settings.nodes, settings.chatringEntry, {
      extraArgs: launcherArgs,
    });
  } catch (error) {
    // A launcher without the flag exits at once with commander's "unknown option" (in its log,
    // which may be flushed just after the exit is noticed).
    await sleep(200);
    const logPath = join(dataDir, CLUSTER_LOG_NAME);
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

/**
 * One scenario on a started cluster: warm every user, run the load across the change, judge it.
 * Long only for the result it assembles; each step is a call into its own module.
 */
async function measure(
  scenario: ScenarioName,
  launcherArgs: string[],
  cluster: LocalCluster,
  workload: ChatWorkload,
): Promise<ScenarioResult> {
  const status = await waitForStandby(cluster, settings.addNode, 30_000);
  const nodeUrls = Object.fromEntries(
    status.nodes.filter((node) => node.url !== '').map((node) => [node.nodeId, node.url]),
  );
  const readStats = () => readCountersByNode(nodeUrls);
  const client = new ApiClient(cluster.url, {
    connections: settings.concurrency + 2,
    timeoutMs: settings.timeoutMs,
    keepAliveTimeoutMs: 30_000,
  });
  const control = new HttpControlPlaneClient(cluster.url, {
    timeoutMs: 120_000,
    signer: cluster.signer,
  });
  try {
    // 1. Warm every user's caches: the conversation list and each conversation the load reads.
    const warmCaches = await warmEveryUser(client, workload, readStats);
    console.error(
      `${scenario}: warmed ${warmCaches.cachedUsers} users (${mib(warmCaches.cachedBytes)} MiB est.) with ${warmCaches.requests} reads in ${warmCaches.seconds.toFixed(1)} s (${warmCaches.errors} errors)`,
    );
    const sample = ownerSampleOf(workload);
    const ownersBefore = await lookUpOwners(cluster, sample);
    const change = { action: 'add', nodeId: settings.addNode, weight: settings.weight };
    const preview = await control.previewChange(change);

    // 2. The load: warm-up, baseline window, the change, the window after.
    const run = await runLoadAcrossChange({
      scenario,
      workload,
      cluster,
      client,
      control,
      change,
      readStats,
    });
    const { measureStart, changeStart, changeEnd, measureEnd } = run.marks;

    // 3. Who moved.
    const viewBefore = new RingView(run.ringBefore);
    const viewAfter = new RingView(await cluster.ring());
    const movedUsers = new Set(
      workload.userIds.filter(
        (userId) => viewBefore.ownerIdOf(userId) !== viewAfter.ownerIdOf(userId),
      ),
    );
    const ownersAfter = await lookUpOwners(cluster, sample);
    const ownerFigures = compareOwners(sample, ownersBefore, ownersAfter, viewBefore, viewAfter);

    // 4. Windows.
    const isMoved = (entry: RequestRecord) => entry.users.some((userId) => movedUsers.has(userId));
    const windows = windowsOf(run, isMoved, Object.keys(nodeUrls));
    const measured = run.records.filter(
      (entry) => entry.startedAt >= measureStart && entry.startedAt < measureEnd,
    );
    const series = seriesOf(measured, isMoved, run.polls, measureStart, measureEnd, changeStart);

    // 5. Nothing lost across the move.
    const verifyStarted = performance.now();
    const verification = settings.verify
      ? await verify(client, run.acknowledged, movedUsers)
      : undefined;
    const verifyS = (performance.now() - verifyStarted) / 1_000;

    const newNodeEnd = run.stats.end.get(settings.addNode);
    const newNodeStart = run.stats.start.get(settings.addNode);
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
        ...(run.publishedAfterMs === undefined ? {} : { publishedAfterMs: run.publishedAfterMs }),
        preview,
        ...(run.result === undefined ? {} : { result: run.result }),
        ...(run.error === undefined ? {} : { error: run.error }),
        progress: run.progress,
        releaseSteps: run.releaseSteps,
        stalledReleases: run.releaseSteps
          .filter((step) => step.ms >= RELEASE_STALL_MS)
          .map(
            (step) =>
              `${step.nodeId}: release took ${fixed(step.ms, 0)} ms (${step.warmUsers} of ${step.releasedUsers} users warm)`,
          ),
        stallDiagnosis: stallDiagnosisOf(run, movedUsers, viewBefore, viewAfter),
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
        releasedUsers: run.result?.releasedUsers ?? 0,
        warmUsers: run.result?.warmUsers ?? 0,
        warmBytes: run.result?.warmBytes ?? 0,
        warmUsersAdoptedByNewNode:
          (newNodeEnd?.warmUsersAdopted ?? 0) - (newNodeStart?.warmUsersAdopted ?? 0),
        cachedUsersBeforeChange: sumCounters(run.stats.before.values()).cachedUsers,
      },
      windows,
      series,
      totals: {
        ok: measured.filter((entry) => entry.ok).length,
        errors: measured.filter((entry) => !entry.ok).length,
        errorsByCode: errorsByCodeOf(measured),
        seconds: (measureEnd - measureStart) / 1_000,
      },
      ...(verification === undefined ? {} : { verification }),
    };
  } finally {
    await client.close();
    await control.close();
  }
}

/** Reads every acknowledged send back from both mailbox copies (harness/history-check.ts). */
async function verify(
  client: ApiClient,
  acknowledged: AcknowledgedSend[],
  movedUsers: Set<string>,
): Promise<NonNullable<ScenarioResult['verification']>> {
  const copies = await readMailboxCopies(client, acknowledged, [], settings.concurrency);
  const counts = countViolations(findHistoryViolations(acknowledged, copies));
  return {
    acknowledged: acknowledged.length,
    acknowledgedTouchingMoved: acknowledged.filter(
      ({ message }) => movedUsers.has(message.senderId) || movedUsers.has(message.recipientId),
    ).length,
    lost: counts.lost,
    duplicated: counts.duplicated,
    copyMismatches: counts['copy-mismatch'],
    orderViolations: counts['out-of-order'],
    copiesRead: copies.length,
  };
}
