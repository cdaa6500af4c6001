/** The shapes of the resize benchmark's records and results (written to resize.json). */
import type { ChangePreview, ChangeResult } from '../../control-plane/index.js';
import type { AcknowledgedSend, NodeCounters } from '../../harness/index.js';
import type { RingConfig } from '../../protocol/index.js';
import type { PlannedOperation } from '../lib/chat-workload.js';
import type { LatencySummary } from '../lib/latency-recorder.js';
import type { ScenarioName, WindowName } from './resize-settings.js';

export interface RequestRecord {
  kind: PlannedOperation['kind'];
  /** The user read, or sender and recipient of a send. */
  users: string[];
  startedAt: number;
  endedAt: number;
  ok: boolean;
  errorCode?: string;
}

export interface WindowFigures {
  seconds: number;
  all: LatencySummary & { opsPerSecond: number };
  /** Requests that touch a user whose owner the change moved. */
  moved: LatencySummary & { opsPerSecond: number };
  /** The rest: requests whose users all kept their owner. */
  other: LatencySummary & { opsPerSecond: number };
  /** Deltas of service.storeLoads / cacheMisses / cacheHits over the window. */
  storeLoads: { allNodes: number; newNode: number; byNode: Record<string, number> };
  cacheMisses: { allNodes: number; newNode: number };
  cacheHits: { allNodes: number; newNode: number };
}

export interface SeriesPoint {
  /** Bucket start, seconds relative to the start of the change. */
  fromS: number;
  ok: number;
  errors: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  movedOk: number;
  movedP99Ms: number;
  /** service.storeLoads of all nodes in the bucket (from counters polled every bucket). */
  storeLoads: number;
}

export interface ScenarioResult {
  scenario: ScenarioName;
  launcherArgs: string[];
  skipped?: string;
  /** Wall time of each phase of the scenario, seconds. */
  phaseSeconds?: Record<string, number>;
  warmCaches?: {
    seconds: number;
    requests: number;
    errors: number;
    cachedUsers: number;
    cachedBytes: number;
  };
  change?: {
    action: string;
    nodeId: string;
    weight: number;
    /** POST /control/v1/changes to its result line. */
    tookMs: number;
    /** ms after the POST at which the ring was published (the new owner may serve from then). */
    publishedAfterMs?: number;
    preview: ChangePreview;
    result?: ChangeResult;
    error?: string;
    progress: { atMs: number; event: string }[];
    /** How long each node's release took (from the previous progress event), ms. */
    releaseSteps: ReleaseStep[];
    /**
     * Releases longer than RELEASE_STALL_MS: about the node's 5 s lock-wait timeout, i.e. a user
     * whose lock the release could not take (it then moves cold).
     */
    stalledReleases: string[];
    /**
     * For each stalled release: the client requests in flight through all of it, and how many are
     * sends whose lower-id user (the coordinator) moved away from the stalled node while the
     * higher-id user (the peer copy) moved away from another node that had released earlier.
     */
    stallDiagnosis: {
      nodeId: string;
      requestsSpanning: number;
      sendsSpanning: number;
      crossNodeMovingSends: number;
      examples: string[];
    }[];
  };
  moved?: {
    previewShare: number;
    previewSampleSize: number;
    /** The workload's users whose owner differs between the ring before and after (RingView). */
    workloadShare: number;
    workloadMoved: number;
    workloadUsers: number;
    /** Users looked up with GET /admin/v1/owner before and after the change. */
    ownerSample: {
      size: number;
      moved: number;
      share: number;
      movedToNewNode: number;
      /** Answers that disagree with RingView over the published rings (0 expected). */
      ringMismatches: number;
      lookupErrors: number;
      usersByNodeBefore: Record<string, number>;
      usersByNodeAfter: Record<string, number>;
    };
  };
  handoff?: {
    releasedUsers: number;
    warmUsers: number;
    warmBytes: number;
    /** handoff.warmUsersAdopted of the new node over the run. */
    warmUsersAdoptedByNewNode: number;
    /** Users cached on all nodes just before the change (every user was warmed). */
    cachedUsersBeforeChange: number;
  };
  windows?: Record<WindowName, WindowFigures>;
  series?: SeriesPoint[];
  totals?: { ok: number; errors: number; errorsByCode: Record<string, number>; seconds: number };
  verification?: {
    acknowledged: number;
    acknowledgedTouchingMoved: number;
    lost: number;
    duplicated: number;
    copyMismatches: number;
    orderViolations: number;
    copiesRead: number;
  };
}

/** One node's release during the change, as the router's progress reported it. */
export interface ReleaseStep {
  nodeId: string;
  /** ms after the POST at which this node's release began and ended (as the router reported). */
  fromMs: number;
  toMs: number;
  ms: number;
  warmUsers: number;
  releasedUsers: number;
}

/** What the load saw while the change ran (load-across-change.ts): the material of every figure. */
export interface ChangeRun {
  records: RequestRecord[];
  acknowledged: AcknowledgedSend[];
  /** storeLoads of all nodes, polled every half bucket. */
  polls: { atMs: number; storeLoads: number }[];
  /** Instants on the run's clock (ms): the windows' edges. */
  marks: {
    measureStart: number;
    changeStart: number;
    changeEnd: number;
    earlyEnd: number;
    measureEnd: number;
  };
  /** Every node's counters at each edge. */
  stats: Record<'start' | 'before' | 'changed' | 'early' | 'end', Map<string, NodeCounters>>;
  ringBefore: RingConfig;
  progress: { atMs: number; event: string }[];
  releaseSteps: ReleaseStep[];
  publishedAfterMs?: number;
  result?: ChangeResult;
  error?: string;
}
