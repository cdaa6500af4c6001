/** The closed loop itself: workers, a warm-up, then the measured window (or alternated windows). */
import type { ChatWorkload, PlannedOperation } from '../lib/chat-workload.js';
import { LatencyRecorder } from '../lib/latency-recorder.js';
import {
  cpuBetween,
  snapshotTree,
  type ProcessTreeSnapshot,
  type StoreCpuFigures,
  type TreeCpuUsage,
} from '../lib/process-cpu.js';
import type { StoreCpuScope } from './cassandra-process.js';
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
 * The system under test whose CPU is counted: the process tree of `rootPid`; and, for a Cassandra
 * target, the Cassandra processes read apart over the same window (`store`: the store's own cores).
 */
export interface CpuScope {
  rootPid: number | undefined;
  scope: string;
  store?: StoreCpuScope;
}

/** One side of a drive: the target, its counters, its CPU. */
export interface DriveSide<Counters> {
  target: LoadTarget;
  plan: DrivePlan;
  readCounters: () => Promise<Counters | undefined>;
  cpu: CpuScope;
}

export interface DriveOutcome<Counters> {
  result: MeasuredWindow;
  counters: { before: Counters | undefined; after: Counters | undefined };
}

/**
 * Unmeasured seconds before each alternated window: the side that was idle gets its connections
 * and caches going again before its window opens (a switch is not part of what is compared).
 */
const ROUND_LEAD_IN_S = 0.5;

/**
 * Warm-up, then the measured window; counters are read just before and after it, and the CPU time
 * of the system under test (the process tree of `cpu.rootPid`) right at its edges.
 */
export async function drive<Counters>(
  target: LoadTarget,
  plan: DrivePlan,
  readCounters: () => Promise<Counters | undefined>,
  cpu: CpuScope,
): Promise<DriveOutcome<Counters>> {
  const side = new SideMeasure({ target, plan, readCounters, cpu });
  await side.run(plan.warmupS, false);
  await side.openCounters();
  await side.run(plan.durationS, true);
  return side.outcome();
}

/**
 * Two targets measured in alternated windows rather than one after the other: each gets its
 * warm-up, then `rounds` pairs of windows in ABBA order (A B, B A, A B, ...), each window
 * `plan.durationS / rounds` seconds after a short lead-in, so that whatever drifts while the two
 * run (the other processes on the box, the scheduler's placement of five processes on a few
 * cores, the page cache) falls on both alike; a ratio of two targets measured minutes apart on a
 * 2-core box swung by ±25 %. Each side's figures are the sum of its windows (latencies in one
 * histogram); `rounds` keeps each window's throughput, so a ratio can show its spread.
 */
export async function driveAlternated<Counters>(
  sides: readonly [DriveSide<Counters>, DriveSide<Counters>],
  rounds: number,
): Promise<[DriveOutcome<Counters>, DriveOutcome<Counters>]> {
  const measures = [new SideMeasure(sides[0]), new SideMeasure(sides[1])] as const;
  for (const measure of measures) await measure.run(measure.side.plan.warmupS, false);
  for (const measure of measures) await measure.openCounters();
  for (let round = 0; round < rounds; round += 1) {
    const order = round % 2 === 0 ? measures : ([measures[1], measures[0]] as const);
    for (const measure of order) {
      await measure.run(ROUND_LEAD_IN_S, false);
      await measure.run(measure.side.plan.durationS / rounds, true);
    }
  }
  return [await measures[0].outcome(), await measures[1].outcome()];
}

/** One side's workers and what its measured windows add up to. */
class SideMeasure<Counters> {
  readonly side: DriveSide<Counters>;
  readonly #workers: { next(): PlannedOperation }[];
  readonly #recorder = new LatencyRecorder();
  readonly #windows: { seconds: number; operations: number; cpuSeconds?: number }[] = [];
  #measuredSeconds = 0;
  #generatorCpuSeconds = 0;
  #usage: TreeCpuUsage | undefined;
  #cpuUnreadable = false;
  /** The store processes' CPU seconds over the measured windows (CpuScope.store). */
  #storeSeconds = 0;
  #storeUnreadable: string | undefined;
  #countersBefore: Counters | undefined;

  constructor(side: DriveSide<Counters>) {
    this.side = side;
    this.#workers = Array.from({ length: side.plan.concurrency }, (_, index) =>
      side.plan.stream(index),
    );
  }

  async openCounters(): Promise<void> {
    this.#countersBefore = await this.side.readCounters();
  }

  /** Drives the workers for `seconds`; a measured run records latencies, CPU and its window. */
  async run(seconds: number, measured: boolean): Promise<void> {
    if (seconds <= 0) return;
    const recorder = measured ? this.#recorder : undefined;
    const okBefore = measured ? this.#recorder.summary('all').ok : 0;
    const { rootPid } = this.side.cpu;
    const cpuBefore = measured && rootPid !== undefined ? snapshotTree(rootPid) : undefined;
    const storeBefore = measured ? snapshotStore(this.side.cpu.store) : undefined;
    const generatorBefore = process.cpuUsage();
    const started = performance.now();
    const end = started + seconds * 1_000;
    await Promise.all(
      this.#workers.map(async (worker) => {
        while (performance.now() < end) {
          const operation = worker.next();
          const sent = performance.now();
          const answer = await this.side.target.call(operation);
          const microseconds = (performance.now() - sent) * 1_000;
          if (recorder === undefined) continue;
          if (answer.errorCode === undefined) recorder.record(operation.kind, microseconds);
          else recorder.recordError(operation.kind, answer.errorCode);
        }
      }),
    );
    const elapsed = (performance.now() - started) / 1_000;
    if (!measured) return;
    const generator = process.cpuUsage(generatorBefore);
    const cpuAfter = rootPid === undefined ? undefined : snapshotTree(rootPid);
    const storeAfter = snapshotStore(this.side.cpu.store);
    const usage = cpuUsage(cpuBefore, cpuAfter);
    if (usage === undefined) this.#cpuUnreadable = true;
    else this.#usage = addUsage(this.#usage, usage);
    this.#addStoreWindow(storeBefore, storeAfter);
    this.#measuredSeconds += elapsed;
    this.#generatorCpuSeconds += (generator.user + generator.system) / 1e6;
    this.#windows.push({
      seconds: elapsed,
      operations: this.#recorder.summary('all').ok - okBefore,
      ...(usage === undefined ? {} : { cpuSeconds: usage.cpuSeconds }),
    });
  }

  /** One window of the store's processes: its CPU added, or why the target's figure is missing. */
  #addStoreWindow(
    before: ProcessTreeSnapshot | undefined,
    after: ProcessTreeSnapshot | undefined,
  ): void {
    const store = this.side.cpu.store;
    if (store === undefined || this.#storeUnreadable !== undefined) return;
    if ('notMeasured' in store) {
      this.#storeUnreadable = store.notMeasured;
      return;
    }
    const usage = cpuUsage(before, after);
    if (usage === undefined)
      this.#storeUnreadable = `Cassandra process ${store.pids.join(', ')} was gone at an edge of the window`;
    else if (usage.exited > 0 || usage.started > 0)
      this.#storeUnreadable = 'a Cassandra process exited or started inside the window';
    else this.#storeSeconds += usage.cpuSeconds;
  }

  /**
   * The store's CPU over the measured windows (Cassandra targets only): seconds, cores, µs per
   * operation and per send — its background work in the window (compaction, flushes, gossip)
   * included, charged to this target.
   */
  #storeFields(seconds: number, operations: number, sends: number): StoreCpuFigures {
    const store = this.side.cpu.store;
    if (store === undefined) return {};
    // Why there is no figure: Cassandra was not found as a local process, or it changed mid-window.
    if ('notMeasured' in store) return { storeCpuNotMeasured: store.notMeasured };
    if (this.#storeUnreadable !== undefined) return { storeCpuNotMeasured: this.#storeUnreadable };
    const cpuSeconds = this.#storeSeconds;
    return {
      storeCpuSeconds: cpuSeconds,
      storeCpuCores: cpuSeconds / seconds,
      ...(operations > 0 ? { storeCpuUsPerOp: (cpuSeconds * 1e6) / operations } : {}),
      ...(sends > 0 ? { storeCpuUsPerSend: (cpuSeconds * 1e6) / sends } : {}),
      storeCpuScope: store.scope,
    };
  }

  async outcome(): Promise<DriveOutcome<Counters>> {
    const after = await this.side.readCounters();
    const seconds = this.#measuredSeconds;
    const byOperation: TargetResult['byOperation'] = {};
    for (const kind of OPERATION_ORDER) {
      const summary = this.#recorder.summary(kind);
      byOperation[kind] = { ...summary, opsPerSecond: summary.ok / seconds };
    }
    const sends = byOperation.send?.ok ?? 0;
    const operations = byOperation.all?.ok ?? 0;
    const usage = this.#cpuUnreadable ? undefined : this.#usage;
    const { rootPid, scope } = this.side.cpu;
    const cpuFields: Partial<TargetResult> =
      usage === undefined
        ? {
            cpuNotMeasured:
              rootPid === undefined
                ? 'no pid for the system under test'
                : 'no /proc (Linux only) or the process was gone',
          }
        : {
            cpuSeconds: usage.cpuSeconds,
            cpuCores: usage.cpuSeconds / seconds,
            ...(operations > 0 ? { cpuUsPerOp: (usage.cpuSeconds * 1e6) / operations } : {}),
            ...(usage.cpuSeconds > 0 ? { sendsPerCpuSecond: sends / usage.cpuSeconds } : {}),
            cpuScope: scope,
            cpuProcesses: usage.processes,
            cpuProcessesStarted: usage.started,
            cpuProcessesExited: usage.exited,
            ...(operations > 0
              ? {
                  cpuUsPerOpByProcess: Object.fromEntries(
                    Object.entries(usage.byProcess).map(([label, cpuSeconds]) => [
                      label,
                      (cpuSeconds * 1e6) / operations,
                    ]),
                  ),
                }
              : {}),
          };
    return {
      result: {
        measuredSeconds: seconds,
        throughputOpsPerSecond: operations / seconds,
        byOperation,
        ...cpuFields,
        ...this.#storeFields(seconds, operations, sends),
        loadGeneratorCpuSeconds: this.#generatorCpuSeconds,
        ...(this.#windows.length > 1
          ? {
              alternatedWindows: this.#windows.map((window) => ({
                seconds: window.seconds,
                opsPerSecond: window.operations / window.seconds,
                ...(window.cpuSeconds === undefined || window.operations === 0
                  ? {}
                  : { cpuUsPerOp: (window.cpuSeconds * 1e6) / window.operations }),
              })),
            }
          : {}),
      },
      counters: { before: this.#countersBefore, after },
    };
  }
}

/** The store processes of `scope` as one snapshot (pid@start → sample); undefined if any is gone. */
function snapshotStore(scope: StoreCpuScope | undefined): ProcessTreeSnapshot | undefined {
  if (scope === undefined || 'notMeasured' in scope) return undefined;
  const snapshot: ProcessTreeSnapshot = new Map();
  for (const pid of scope.pids) {
    const tree = snapshotTree(pid);
    if (tree === undefined) return undefined;
    for (const [key, sample] of tree) snapshot.set(key, sample);
  }
  return snapshot;
}

function cpuUsage(
  before: ProcessTreeSnapshot | undefined,
  after: ProcessTreeSnapshot | undefined,
): TreeCpuUsage | undefined {
  return before === undefined || after === undefined ? undefined : cpuBetween(before, after);
}

/** Windows' CPU added up: processes as counted at the last window's end. */
function addUsage(sum: TreeCpuUsage | undefined, next: TreeCpuUsage): TreeCpuUsage {
  if (sum === undefined) return next;
  return {
    cpuSeconds: sum.cpuSeconds + next.cpuSeconds,
    processes: next.processes,
    exited: sum.exited + next.exited,
    started: sum.started + next.started,
    byProcess: Object.fromEntries(
      [...new Set([...Object.keys(sum.byProcess), ...Object.keys(next.byProcess)])].map((label) => [
        label,
        (sum.byProcess[label] ?? 0) + (next.byProcess[label] ?? 0),
      ]),
    ),
  };
}
