/** The closed loop itself: workers, a warm-up, then the measured window. */
import type { ChatWorkload, PlannedOperation } from '../lib/chat-workload.js';
import { LatencyRecorder } from '../lib/latency-recorder.js';
import { cpuBetween, snapshotTree } from '../lib/process-cpu.js';
import type { LoadTarget, TargetResult } from './load-results.js';
import { OPERATION_ORDER, settings } from './load-settings.js';

/** What one closed loop runs: how many workers, how long, and each worker's operations. */
export interface DrivePlan {
  concurrency: number;
  warmupS: number;
  durationS: number;
  stream(index: number): { next(): PlannedOperation };
}

/** The load's own plan: --concurrency workers replaying the workload's per-worker streams. */
export function workloadPlan(workload: ChatWorkload, label: string): DrivePlan {
  return {
    concurrency: settings.concurrency,
    warmupS: settings.warmupS,
    durationS: settings.durationS,
    stream: (index) => workload.worker(index, label),
  };
}

/** The figures of one measured window (a TargetResult without what names the target). */
export type MeasuredWindow = Omit<TargetResult, 'target' | 'description' | 'store' | 'path'>;

/**
 * Warm-up, then the measured window; counters are read just before and after it, and the CPU time
 * of the system under test (the process tree of `cpu.rootPid`) right at its edges.
 */
export async function drive<Counters>(
  target: LoadTarget,
  plan: DrivePlan,
  readCounters: () => Promise<Counters | undefined>,
  cpu: { rootPid: number | undefined; scope: string },
): Promise<{
  result: MeasuredWindow;
  counters: { before: Counters | undefined; after: Counters | undefined };
}> {
  const workers = Array.from({ length: plan.concurrency }, (_, index) => plan.stream(index));
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
  if (plan.warmupS > 0) await runPhase(plan.warmupS, undefined);
  const recorder = new LatencyRecorder();
  const before = await readCounters();
  const cpuBefore = cpu.rootPid === undefined ? undefined : snapshotTree(cpu.rootPid);
  const generatorBefore = process.cpuUsage();
  const measuredSeconds = await runPhase(plan.durationS, recorder);
  const generator = process.cpuUsage(generatorBefore);
  const cpuAfter = cpu.rootPid === undefined ? undefined : snapshotTree(cpu.rootPid);
  const after = await readCounters();
  const byOperation: TargetResult['byOperation'] = {};
  for (const kind of OPERATION_ORDER) {
    const summary = recorder.summary(kind);
    byOperation[kind] = { ...summary, opsPerSecond: summary.ok / measuredSeconds };
  }
  const sends = byOperation.send?.ok ?? 0;
  const operations = byOperation.all?.ok ?? 0;
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
          ...(operations > 0 ? { cpuUsPerOp: (usage.cpuSeconds * 1e6) / operations } : {}),
          ...(usage.cpuSeconds > 0 ? { sendsPerCpuSecond: sends / usage.cpuSeconds } : {}),
          cpuScope: cpu.scope,
          cpuProcesses: usage.processes,
          cpuProcessesStarted: usage.started,
          cpuProcessesExited: usage.exited,
        };
  return {
    result: {
      measuredSeconds,
      throughputOpsPerSecond: operations / measuredSeconds,
      byOperation,
      ...cpuFields,
      loadGeneratorCpuSeconds: (generator.user + generator.system) / 1e6,
    },
    counters: { before, after },
  };
}
