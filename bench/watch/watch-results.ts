/** The shapes of the watch benchmark's results (written to watch.json, read by the report). */
import type { WatchMode } from './watch-fleet.js';

export interface RunResult {
  watchers: number;
  mode: WatchMode;
  heldWatchers: number;
  bytesPerWatcher: { router: number; nodes: number };
  /** Router + nodes (+ launcher) CPU a second with no watcher and nothing sent. */
  idleBaselineCpuMsPerS: number;
  /** The same with every watcher held, nothing sent. */
  idleCpuMsPerS: number;
  sent: number;
  delivered: number;
  missed: number;
  doubled: number;
  failedWatchRequests: number;
  startToDeliveredMs: Percentiles;
  ackToDeliveredMs: Percentiles & { negative: number };
  cpuMsPerDelivered: number;
  polling?: PollingResult;
}

export interface Percentiles {
  p50: number;
  p99: number;
  max: number;
}

export interface PollingResult {
  /** The poll interval that gives the watch's median freshness. */
  intervalMs: number;
  /** Polls a second the watchers would need at that interval. */
  neededRequestsPerS: number;
  /** What the polling run achieved (on this 2-core box the pollers themselves compete for CPU). */
  achievedRequestsPerS: number | undefined;
  /** Router + nodes CPU per poll, measured in the polling run. */
  cpuMsPerRequest: number;
  /** neededRequestsPerS × cpuMsPerRequest: the CPU that freshness would cost, ms a second. */
  neededCpuMsPerS: number;
}

export interface WatchResults {
  runs: RunResult[];
}
