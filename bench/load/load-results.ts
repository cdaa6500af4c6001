/** The load benchmark's targets and results (written to load.json). */
import type { ApiResponse } from '../../harness/index.js';
import type { PlannedOperation } from '../lib/chat-workload.js';
import type { LatencySummary } from '../lib/latency-recorder.js';

/** The operations a target can run; never throws for a failed call. */
export interface LoadTarget {
  call(operation: PlannedOperation): Promise<ApiResponse<unknown>>;
  close(): Promise<void>;
}

export interface TargetResult {
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

export function emptyResult(target: string, description: string): TargetResult {
  return { target, description, measuredSeconds: 0, throughputOpsPerSecond: 0, byOperation: {} };
}
