/** The shapes of the watch benchmark's results (written to watch.json, read by the report). */
import type { WatchMode } from './watch-fleet.js';

export interface Percentiles {
  p50: number;
  p99: number;
  max: number;
}

/** A figure of the router's process and of the serving nodes' processes together. */
export interface ByRole {
  router: number;
  nodes: number;
}

export interface RunResult {
  /** The watcher count asked for (`--watchers`). */
  watchers: number;
  mode: WatchMode;
  /** Watches the nodes held (their `feed.watchers` stats) once all were issued. */
  heldWatchers: number;
  /** Why fewer watchers ran than asked for (router mode past the open-file limit), if so. */
  capped?: string;
  /**
   * Resident bytes (VmRSS) per held watch: all held minus before, ÷ watchers. "Before" is taken
   * after every watched user's mailbox was loaded (pinned), so this is the watch alone.
   */
  bytesPerWatcher: ByRole;
  /** V8 heap used (the members' `chatring_nodejs_heap_size_used_bytes`) per held watch, the same way. */
  heapBytesPerWatcher: ByRole;
  /** Resident bytes per user of pinning its cursor (its mailbox loaded into the owner's cache). */
  bytesPerPinnedUser: ByRole;
  /** The bench process's own bytes per held watch (heap after a forced GC, and resident). */
  clientBytesPerWatcher: { heap: number; resident: number };
  /** CPU ms a second with nothing sent: before the watches (users pinned) and with all held. */
  idleCpuMsPerS: { none: ByRole & { total: number }; held: ByRole & { total: number } };
  sent: number;
  /** Sends that failed (not counted anywhere else). */
  failedSends: number;
  /** Acknowledged messages that reached their recipient's watcher exactly once. */
  deliveredOnce: number;
  /** Acknowledged, never delivered (after the drain). */
  missed: number;
  /** Delivered more than once. */
  doubled: number;
  /** Delivered to a watcher of another user (must be 0). */
  wrongWatcher: number;
  /** Watch requests that failed (each retried after 200 ms from the same cursor). */
  failedWatchRequests: number;
  startToDeliveredMs: Percentiles;
  ackToDeliveredMs: Percentiles & { negative: number };
  /** CPU ms of the send window beyond the held-idle CPU, per delivered message (the send included). */
  cpuMsPerDelivered: ByRole & { total: number };
  /**
   * Computed, not measured: each held watch is answered empty and asked again every waitMs, so
   * W ÷ waitMs requests a second at the measured CPU per empty poll (router + nodes).
   */
  renewalCpuMsPerS?: number;
  polling?: PollingResult;
}

export interface PollingResult {
  /** The watch's median freshness the polls must match: its start → delivered p50 (router mode). */
  targetMs: number;
  /** Median latency of one poll through the router, measured unloaded before the polling run. */
  pollLatencyMs: number;
  /** The interval P with P/2 + poll latency = target (at least 1 ms). */
  intervalMs: number;
  /** W × 1000 / P: polls a second the users need. */
  neededRequestsPerS: number;
  /** Measured (this count only): what the pollers reached, their errors, latency and CPU. */
  measured?: {
    seconds: number;
    requestsPerS: number;
    errors: number;
    latencyP50Ms: number;
    /** Router + nodes CPU ms a second while polling (no watcher held, nothing sent). */
    cpuMsPerS: ByRole & { total: number };
  };
  /** Router + nodes CPU per poll beyond idle, µs: measured here, or taken from the measured count. */
  cpuUsPerRequest: number;
  /** Where cpuUsPerRequest comes from. */
  cpuSource: 'measured' | string;
  /** neededRequestsPerS × cpuUsPerRequest, CPU ms a second (1,000 = one core). */
  neededCpuMsPerS: number;
}

export interface WatchResults {
  runs: RunResult[];
}
