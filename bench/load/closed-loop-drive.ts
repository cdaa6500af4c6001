/** The closed loop itself: --concurrency workers, a warm-up, then the measured window. */
import type { ChatWorkload } from '../lib/chat-workload.js';
import { LatencyRecorder } from '../lib/latency-recorder.js';
import { cpuBetween, snapshotTree } from '../lib/process-cpu.js';
import type { LoadTarget, TargetResult } from './load-results.js';
import { OPERATION_ORDER, settings } from './load-settings.js';

/**
 * Warm-up, then the measured window; counters are read just before and after it, and the CPU time
 * of the system under test (the process tree of `cpu.rootPid`) right at its edges.
 */
export async function drive<Counters>(
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
