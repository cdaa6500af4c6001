/**
 * The heart of a resize scenario: the closed-loop load runs through the router while, after a
 * warm-up and the baseline window, the change is applied (POST /control/v1/changes, the one
 * `ringctl add` uses); the load goes on for the after window. Every request and acknowledged send
 * is recorded on one clock, with every node's counters at each window edge.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { ChangeResult, HttpControlPlaneClient } from '../../control-plane/index.js';
import {
  sumCounters,
  type AcknowledgedSend,
  type ApiClient,
  type LocalCluster,
  type NodeCounters,
} from '../../harness/index.js';
import type { SendMessageResponse } from '../../protocol/index.js';
import type { ChatWorkload } from '../lib/chat-workload.js';
import { callOperation } from '../lib/operation-call.js';
import { fixed } from '../lib/text-table.js';
import { describeProgress } from './resize-figures.js';
import type { ChangeRun, ReleaseStep, RequestRecord } from './resize-results.js';
import { settings, type ScenarioName } from './resize-settings.js';

export interface LoadAcrossChangeContext {
  scenario: ScenarioName;
  workload: ChatWorkload;
  cluster: LocalCluster;
  client: ApiClient;
  control: HttpControlPlaneClient;
  change: { action: string; nodeId: string; weight: number };
  readStats: () => Promise<Map<string, NodeCounters>>;
}

export async function runLoadAcrossChange(context: LoadAcrossChangeContext): Promise<ChangeRun> {
  const t0 = performance.now();
  const at = () => performance.now() - t0;
  const load = startLoad(context, at);
  const { readStats } = context;

  await sleep(settings.warmupS * 1_000);
  const measureStart = at();
  const statsStart = await readStats();
  await sleep(settings.beforeS * 1_000);
  const statsBefore = await readStats();
  const ringBefore = await context.cluster.ring();
  const changeStart = at();
  const applied = await applyChange(context, ringBefore.epoch, () => at() - changeStart);
  const changeEnd = at();
  const statsChanged = await readStats();
  console.error(
    `${context.scenario}: change ${applied.error === undefined ? `done at epoch ${applied.result?.epoch}` : `FAILED: ${applied.error}`} in ${fixed(changeEnd - changeStart, 0)} ms`,
  );
  await sleep(Math.min(settings.earlyS, settings.afterS) * 1_000);
  const statsEarly = await readStats();
  const earlyEnd = at();
  await sleep(Math.max(0, settings.afterS - settings.earlyS) * 1_000);
  const statsEnd = await readStats();
  const measureEnd = at();
  await load.stop();
  return {
    records: load.records,
    acknowledged: load.acknowledged,
    polls: load.polls,
    marks: { measureStart, changeStart, changeEnd, earlyEnd, measureEnd },
    stats: {
      start: statsStart,
      before: statsBefore,
      changed: statsChanged,
      early: statsEarly,
      end: statsEnd,
    },
    ringBefore,
    ...applied,
  };
}

/** --concurrency closed-loop workers on the workload, and a poller of the store reads. */
function startLoad(context: LoadAcrossChangeContext, at: () => number) {
  const records: RequestRecord[] = [];
  const acknowledged: AcknowledgedSend[] = [];
  const polls: { atMs: number; storeLoads: number }[] = [];
  let stopping = false;
  const workers = Array.from({ length: settings.concurrency }, async (_, index) => {
    const stream = context.workload.worker(index, `resize-${context.scenario}`);
    while (!stopping) {
      const operation = stream.next();
      const startedAt = at();
      const answer = await callOperation(context.client, operation, settings.pageSize);
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
        acknowledged.push({
          message: (answer.body as SendMessageResponse).message,
          issuedAtMs: startedAt,
          acknowledgedAtMs: endedAt,
        });
    }
  });
  const poller = (async () => {
    while (!stopping) {
      const stats = await context.readStats().catch(() => undefined);
      if (stats !== undefined)
        polls.push({ atMs: at(), storeLoads: sumCounters(stats.values()).storeLoads });
      await sleep(settings.bucketMs / 2);
    }
  })();
  return {
    records,
    acknowledged,
    polls,
    async stop() {
      stopping = true;
      await Promise.all([...workers, poller]);
    },
  };
}

/** Applies the change, noting each progress event and each node's release as they stream in. */
async function applyChange(
  context: LoadAcrossChangeContext,
  expectedEpoch: number,
  sinceChangeStart: () => number,
): Promise<Pick<ChangeRun, 'progress' | 'releaseSteps' | 'publishedAfterMs' | 'result' | 'error'>> {
  const progress: { atMs: number; event: string }[] = [];
  const releaseSteps: ReleaseStep[] = [];
  let lastEventAt = 0;
  let publishedAfterMs: number | undefined;
  let result: ChangeResult | undefined;
  let error: string | undefined;
  try {
    result = await context.control.applyChange(context.change, expectedEpoch, (event) => {
      const atMs = sinceChangeStart();
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
  } catch (failure) {
    error = (failure as Error).message;
  }
  return {
    progress,
    releaseSteps,
    ...(publishedAfterMs === undefined ? {} : { publishedAfterMs }),
    ...(result === undefined ? {} : { result }),
    ...(error === undefined ? {} : { error }),
  };
}
