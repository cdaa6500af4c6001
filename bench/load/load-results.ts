/** The load benchmark's targets and results (written to load.json). */
import type { ApiResponse } from '../../harness/index.js';
import type { PlannedOperation } from '../lib/chat-workload.js';
import type { LatencySummary } from '../lib/latency-recorder.js';
import type { TargetPath, TargetSpec, TargetStore } from '../lib/load-target-catalogue.js';
import type { OperationPass } from '../lib/operation-call.js';
import type { StoreCpuFigures } from '../lib/process-cpu.js';

/** The operations a target can run; never throws for a failed call. */
export interface LoadTarget {
  call(operation: PlannedOperation): Promise<ApiResponse<unknown>>;
  close(): Promise<void>;
}

export interface TargetResult extends StoreCpuFigures {
  target: string;
  description: string;
  /** The store under the target (none: the echo targets) and how a request reaches it. */
  store: TargetStore;
  path: TargetPath;
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
  /** cpuSeconds ÷ successful operations, in µs: what one operation of the mix costs the target. */
  cpuUsPerOp?: number;
  /** Successful sends ÷ cpuSeconds (reads of the mix ride along on the same CPU). */
  sendsPerCpuSecond?: number;
  /**
   * The store's own counters over the measured window ÷ successful sends (requests, lwts,
   * serialReads on Cassandra; transactions = fsyncs, commits, lockBusy on the embedded store).
   */
  storePerSend?: Record<string, number>;
  /** What was measured, the processes counted at the end, and those that started or exited. */
  cpuScope?: string;
  cpuProcesses?: number;
  cpuProcessesStarted?: number;
  cpuProcessesExited?: number;
  /**
   * router-no-telemetry only: router ÷ router-no-telemetry throughput in each start order (the
   * order-balanced ratio is their geometric mean; load-targets.ts measureReversedOrder).
   */
  startOrderRatios?: { telemetryStartedFirst: number; telemetryStartedSecond: number };
  /** cpuUsPerOp split by process of the system under test (router, node-1, launcher, ...). */
  cpuUsPerOpByProcess?: Record<string, number>;
  cpuNotMeasured?: string;
  /**
   * Measured in alternated windows with another target (--alternate-rounds): each window's
   * throughput and CPU per operation, in the order run (the totals above add them up).
   */
  alternatedWindows?: { seconds: number; opsPerSecond: number; cpuUsPerOp?: number }[];
  /** The benchmark process itself (load generator), excluded from cpuSeconds, for comparison. */
  loadGeneratorCpuSeconds?: number;
  /**
   * The pass before the warm-up that read every user's conversation list and conversations once
   * (on a shared cluster: the first target's only).
   */
  prewarm?: OperationPass;
  /** The targets that ran one after the other on this target's cluster (read-only mix). */
  sharedCluster?: string[];
  /** The target this one was measured against in alternated windows (its own cluster beside). */
  alternatedWith?: string;
  /** Cassandra only: the keyspace, and seconds to seed it (absent when an earlier target seeded it). */
  keyspace?: string;
  seedSeconds?: number;
  skipped?: string;
}

/** A target that was not measured, with the reason. */
export function skippedResult(spec: TargetSpec, reason: string): TargetResult {
  return {
    ...describe(spec),
    measuredSeconds: 0,
    throughputOpsPerSecond: 0,
    byOperation: {},
    skipped: reason,
  };
}

/** The fields that name a target in its result. */
export function describe(
  spec: TargetSpec,
): Pick<TargetResult, 'target' | 'description' | 'store' | 'path'> {
  return { target: spec.name, description: spec.description, store: spec.store, path: spec.path };
}
