import type { WatchResults } from '../watch/watch-results.js';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LatencySummary } from './latency-recorder.js';
import type { StoreCpuFigures } from './process-cpu.js';
import type { TargetPath, TargetStore } from './load-target-catalogue.js';
import type { BenchReport } from './result-files.js';

/**
 * The parts of each benchmark's result file that bench/report.ts reads. The benchmarks are
 * scripts (importing one would run it), so their result types are restated here, narrowed to the
 * fields the report uses; `readLatestResult` checks the envelope and the report checks each field
 * it reads, so a benchmark that changes its JSON fails the report loudly instead of printing NaN.
 */

export interface RingResultRow {
  algorithm: 'ringview' | 'hashring-plain' | 'jump' | 'rendezvous';
  slots: number;
  vnodesPerSlot?: number;
  balance: { maxOverMean: number; minOverMean: number; coefficientOfVariation: number };
  added: { movedShare: number; idealShare: number; excessShare: number };
  removed: { movedShare: number; idealShare: number; excessShare: number };
  lookup: { coldNs: number; hotNs: number; placementNs: number };
  verified?: { users: number; mismatches: number };
}

export interface RingResults {
  rows: RingResultRow[];
  noiseFloor: Record<string, number>;
}

/** Cassandra targets carry the Cassandra JVM's own CPU too (StoreCpuFigures). */
export interface LoadTargetResult extends StoreCpuFigures {
  target: string;
  description: string;
  /** Absent in results from before the stores were told apart (then: by the target's name). */
  store?: TargetStore;
  path?: TargetPath;
  measuredSeconds: number;
  throughputOpsPerSecond: number;
  byOperation: Record<string, LatencySummary & { opsPerSecond: number }>;
  cache?: { hits: number; misses: number; hitRatio: number | null };
  topology?: { nodes: number; standbys: number };
  /** CPU seconds of the system under test in the measured window (absent before it was measured). */
  cpuSeconds?: number;
  /** cpuSeconds ÷ measuredSeconds: cores the system under test kept busy. */
  cpuCores?: number;
  sendsPerCpuSecond?: number;
  /** The store's own counters over the window ÷ successful sends (see bench/load/load-results.ts). */
  storePerSend?: Record<string, number>;
  /** cpuSeconds ÷ successful operations, µs. */
  cpuUsPerOp?: number;
  prewarm?: { requests: number; errors: number; seconds: number };
  sharedCluster?: string[];
  cpuScope?: string;
  cpuProcesses?: number;
  cpuProcessesExited?: number;
  cpuNotMeasured?: string;
  loadGeneratorCpuSeconds?: number;
  skipped?: string;
}

/** The part of load.json's `auth` the report reads (bench/load/auth-cost.ts; absent in older runs). */
export interface LoadAuthResults {
  memberSigning: {
    get: { totalUs: number; signUs: number; verifyUs: number };
    send: { totalUs: number; bodyBytes: number };
    appTokenCheckUs: number;
  };
  signingShare?: {
    cpuUsPerRead: number;
    readsOnlyMix: boolean;
    signingUsPerRead: number;
    shareOfCpuPerRead: number;
  };
  appTokens?: {
    readOpsPerSecondRatio: number;
    conversations: { p50Ratio: number; p99Ratio: number };
    messages: { p50Ratio: number; p99Ratio: number };
    cpuPerReadRatio?: number;
    cacheHitRatio?: { router: number; routerAuth: number };
    errors: number;
  };
}

/** The part of load.json's `pageSizeCheck` the report reads (bench/load/page-size-check.ts). */
export interface LoadPageSizeRun {
  pageSize: number;
  opsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  cpuUsPerOp?: number;
  storeLoads: number;
  cacheMisses: number;
  errors: number;
}

export interface LoadPageSizeCheck {
  target: string;
  mailboxes: number;
  messagesPerConversation: number;
  small: LoadPageSizeRun;
  large: LoadPageSizeRun;
}

export interface LoadResults {
  targets: LoadTargetResult[];
  auth?: LoadAuthResults;
  pageSizeCheck?: LoadPageSizeCheck;
  /** The Cassandra the Cassandra targets ran on (bench/load/cassandra-keyspaces.ts). */
  cassandra?: {
    contactPoints: string[];
    localNode?: { reused: boolean; jit: string };
    /** Whose CPU the Cassandra targets' store figures are (absent in older results). */
    cpu?: { pids: number[]; scope: string } | { notMeasured: string };
  };
}

export interface MemoryResultRow {
  contentBytes: number;
  charset: string;
  users: number;
  conversations: number;
  messages: number;
  heapPerUserBytes: number;
  estimatePerUserBytes: number;
  heapPerMessageBytes: number;
  estimatePerMessageBytes: number;
  rawContentBytes: number;
  rawJsonBytes: number;
  heapOverJson: number;
  heapOverEstimate: number;
  messagesPerGiB: number;
}

export interface MemoryResults {
  rows: MemoryResultRow[];
}

export interface FailoverWindow {
  seconds: number;
  affected: LatencySummary;
  unaffected: LatencySummary;
}

export interface FailoverScenarioResult {
  scenario: string;
  victim: { nodeId: string; slots: string[] };
  outcome: string;
  firstAffectedSuccessAfterKillMs?: number;
  probeFirstSuccessAfterKillMs?: number;
  window: { beforeKill: FailoverWindow; outage: FailoverWindow; afterRecovery: FailoverWindow };
  /** Absent in results from before the pause scenario. */
  longestNoAckMs?: { affected: number; unaffected: number };
  verification: {
    acknowledged: number;
    lost: number;
    duplicated: number;
    copyMismatches: number;
    orderViolations: number;
  };
}

export interface FailoverResults {
  scenarios: FailoverScenarioResult[];
}

export interface RunAllResults {
  runs: { benchmark: string; args: string[]; seconds: number; exitCode: number | null }[];
}

/** The part of resize.json the report reads. */
export interface ResizeScenarioResult {
  scenario: string;
  change: { tookMs: number; publishedAfterMs: number };
  moved: {
    previewShare: number;
    ownerSample: { size: number; share: number; movedToNewNode: number };
  };
  handoff: {
    releasedUsers: number;
    warmUsers: number;
    warmBytes: number;
    warmUsersAdoptedByNewNode: number;
  };
  totals: { ok: number; errors: number };
  verification: { acknowledged: number; lost: number; duplicated: number };
}

export interface ResizeResults {
  scenarios: ResizeScenarioResult[];
  comparison?: {
    storeReadsFromChangeStartWarm: number;
    storeReadsFromChangeStartCold: number;
    p99AfterWarmMs: number;
    p99AfterColdMs: number;
    p99EarlyMovedWarmMs: number;
    p99EarlyMovedColdMs: number;
  };
}

export interface LatestResults {
  ring?: BenchReport<RingResults>;
  load?: BenchReport<LoadResults>;
  /** The load benchmark on a mix with sends (`--report-name sends`): what the capacity plan reads. */
  sends?: BenchReport<LoadResults>;
  memory?: BenchReport<MemoryResults>;
  failover?: BenchReport<FailoverResults>;
  resize?: BenchReport<ResizeResults>;
  watch?: BenchReport<WatchResults>;
  runAll?: BenchReport<RunAllResults>;
}

/** The latest run of each benchmark: `<name>.json` in the results directory (absent: undefined). */
export function readLatestResults(directory: string): LatestResults {
  return {
    ...optional('ring', readLatestResult<RingResults>(directory, 'ring')),
    ...optional('load', readLatestResult<LoadResults>(directory, 'load')),
    ...optional('sends', readLatestResult<LoadResults>(directory, 'sends')),
    ...optional('memory', readLatestResult<MemoryResults>(directory, 'memory')),
    ...optional('failover', readLatestResult<FailoverResults>(directory, 'failover')),
    ...optional('resize', readLatestResult<ResizeResults>(directory, 'resize')),
    ...optional('watch', readLatestResult<WatchResults>(directory, 'watch')),
    ...optional('runAll', readLatestResult<RunAllResults>(directory, 'run-all')),
  };
}

export function readLatestResult<Results>(
  directory: string,
  benchmark: string,
): BenchReport<Results> | undefined {
  const path = join(directory, `${benchmark}.json`);
  if (!existsSync(path)) return undefined;
  const report = JSON.parse(readFileSync(path, 'utf8')) as BenchReport<Results>;
  assert(
    report.benchmark === benchmark &&
      typeof report.startedAt === 'string' &&
      typeof report.finishedAt === 'string' &&
      typeof report.machine?.cores === 'number' &&
      typeof report.results === 'object' &&
      report.results !== null,
    `${path}: not a ${benchmark} result file (benchmark, startedAt, machine, results expected)`,
  );
  return report;
}

/** A figure the report is about to print: it must be a finite number, or the JSON changed shape. */
export function figure(value: number | null | undefined, what: string): number {
  assert(
    typeof value === 'number' && Number.isFinite(value),
    `result files: ${what} is ${String(value)}, expected a finite number (did a benchmark change its JSON?)`,
  );
  return value;
}

function optional<Key extends string, Value>(
  key: Key,
  value: Value | undefined,
): Partial<Record<Key, Value>> {
  return value === undefined ? {} : ({ [key]: value } as Record<Key, Value>);
}
