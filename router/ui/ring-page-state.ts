import type { ClusterStatus, NodeStatus, RingConfig } from '../../protocol/index.js';
import { knownNodeIds } from '../../ring/index.js';
import type { HandoffFigures, NodeReport } from './node-report.js';
import type { NodeRateFigures } from './node-rates.js';
import type { WatchedChange } from './ring-change-watch.js';

/** What `GET /ui/state` answers: everything the ring page shows, one document per refresh. */
export interface RingPageState {
  /** Wall-clock ms when the router assembled it. */
  generatedAtMs: number;
  epoch: number;
  /** `in-process` or `redis`; null when the control plane did not answer. */
  backend: string | null;
  leaseMs: number | null;
  heartbeatIntervalMs: number | null;
  /** '' when the control plane answered; else why not (the page then shows the router's ring). */
  controlPlaneProblem: string;
  /** In ring order. */
  slots: { slot: string; nodeId: string; weight: number }[];
  standbys: string[];
  nodes: RingPageNode[];
  /** Changes under way (operator changes, failovers, a ring reaching the nodes), then recent ones. */
  changes: ChangeLine[];
}

export interface RingPageNode {
  nodeId: string;
  url: string;
  pid: number | null;
  /** The control plane's judgement; `unknown` when it did not answer. */
  state: NodeStatus['state'] | 'unknown';
  /** A change under way is taking its slot away (`ringctl remove`). */
  draining: boolean;
  slots: string[];
  /** Since its last heartbeat reached the control plane. */
  leaseAgeMs: number | null;
  /** Whether it answered its stats; null when it was not asked (no URL yet). */
  reachable: boolean | null;
  /** Why it did not answer, or why its metrics are missing; '' when nothing is. */
  problem: string;
  /** The ring epoch the node routes by. */
  epoch: number | null;
  /** How long it may still serve by its own clock. */
  leaseRemainingMs: number | null;
  requestsPerSecond: number | null;
  hitRatio: number | null;
  hitRatioScope: 'recent' | 'since start' | null;
  cachedUsers: number | null;
  cachedBytes: number | null;
  cacheBytesBudget: number | null;
  /** cachedBytes ÷ cacheBytesBudget. */
  cacheFill: number | null;
  pendingRepairs: number | null;
  handoff: HandoffFigures | null;
}

export interface ChangeLine {
  kind: 'operator' | 'failover' | 'propagation' | 'finished';
  summary: string;
  /** 0..1; null when there is nothing to measure. */
  progress: number | null;
}

/** What a refresh learned about one node. */
export type NodeReading =
  { ok: true; report: NodeReport; rates: NodeRateFigures } | { ok: false; problem: string };

export interface RingPageInput {
  nowWallMs: number;
  /** The control plane's status; undefined when it did not answer (see statusProblem). */
  status: ClusterStatus | undefined;
  statusProblem: string;
  /** The ring this router routes by (the fallback when the control plane does not answer). */
  ring: RingConfig | undefined;
  readings: ReadonlyMap<string, NodeReading>;
  running: readonly WatchedChange[];
  finished: readonly WatchedChange[];
}

/** How long a finished operator change stays on the page. */
export const FINISHED_CHANGE_SHOWN_MS = 60_000;
/**
 * A serving node silent for longer than two heartbeats and a third of its lease is shown as a
 * failover in the making. Two heartbeats alone flag a busy machine's late renewals (seen on a
 * loaded 2-core box); a third of the lease is still well before the node stops serving (at
 * four fifths) and the control plane gives its slot away (at the lease).
 */
const SILENT_HEARTBEATS = 2;
const SILENT_LEASE_SHARE = 1 / 3;

/** The page's document from what one refresh gathered. Pure. */
export function ringPageStateOf(input: RingPageInput): RingPageState {
  const { status, ring } = input;
  const draining = new Set(
    input.running.filter((change) => change.action === 'remove').map((change) => change.nodeId),
  );
  const nodes = (status?.nodes ?? nodesOfRing(ring)).map((node) =>
    pageNodeOf(node, input.readings.get(node.nodeId), draining.has(node.nodeId)),
  );
  const epoch = Math.max(status?.epoch ?? 0, ring?.epoch ?? 0);
  return {
    generatedAtMs: input.nowWallMs,
    epoch,
    backend: status?.backend ?? null,
    leaseMs: status?.leaseMs ?? null,
    heartbeatIntervalMs: status?.heartbeatIntervalMs ?? null,
    controlPlaneProblem: status === undefined ? input.statusProblem || 'no answer' : '',
    slots: (status?.slots ?? ring?.slots ?? []).map(({ slot, nodeId, weight }) => ({
      slot,
      nodeId,
      weight,
    })),
    standbys: [...(status?.standbys ?? ring?.standbys ?? [])],
    nodes,
    changes: [
      ...input.running.map(runningLine),
      ...(status === undefined ? [] : failoverLines(status)),
      ...propagationLines(epoch, nodes),
      ...input.finished
        .filter((change) => input.nowWallMs - (change.endedAtMs ?? 0) < FINISHED_CHANGE_SHOWN_MS)
        .map(finishedLine),
    ],
  };
}

/** Without the control plane: the ring's own members, their state unknown. */
function nodesOfRing(ring: RingConfig | undefined): (Omit<NodeStatus, 'state'> & {
  state: RingPageNode['state'];
})[] {
  if (ring === undefined) return [];
  return knownNodeIds(ring).map((nodeId) => ({
    nodeId,
    url: ring.nodes[nodeId]?.url ?? '',
    state: 'unknown',
    slots: ring.slots.filter((a) => a.nodeId === nodeId).map((a) => a.slot),
  }));
}

function pageNodeOf(
  node: Omit<NodeStatus, 'state'> & { state: RingPageNode['state'] },
  reading: NodeReading | undefined,
  draining: boolean,
): RingPageNode {
  const report = reading?.ok === true ? reading.report : undefined;
  const rates = reading?.ok === true ? reading.rates : undefined;
  const budget = report?.cacheBytesBudget;
  return {
    nodeId: node.nodeId,
    url: node.url,
    pid: node.pid ?? null,
    state: node.state,
    draining,
    slots: [...node.slots],
    leaseAgeMs: node.leaseAgeMs ?? null,
    reachable: reading === undefined ? null : reading.ok,
    problem:
      reading === undefined ? '' : reading.ok ? reading.report.metricsProblem : reading.problem,
    epoch: report?.epoch ?? null,
    leaseRemainingMs: report?.leaseRemainingMs ?? null,
    requestsPerSecond: rates?.requestsPerSecond ?? null,
    hitRatio: rates?.hitRatio ?? null,
    hitRatioScope: rates?.hitRatioScope ?? null,
    cachedUsers: report?.cachedUsers ?? null,
    cachedBytes: report?.cachedBytes ?? null,
    cacheBytesBudget: budget ?? null,
    cacheFill:
      report === undefined || budget === undefined || budget <= 0
        ? null
        : report.cachedBytes / budget,
    pendingRepairs: report?.pendingRepairs ?? null,
    handoff: report === undefined ? null : { ...report.handoff },
  };
}

function runningLine(change: WatchedChange): ChangeLine {
  const name = `${change.action} ${change.nodeId}`;
  switch (change.phase) {
    case 'planned':
      return {
        kind: 'operator',
        summary: `${name}: planned, ${percent(change.movedShare)} of users move; releasing them`,
        progress: 0.1,
      };
    case 'releasing': {
      const { done, total } = change.released ?? { done: 0, total: 0 };
      return {
        kind: 'operator',
        summary: `${name}: ${done} of ${total} nodes released their moving users (${percent(change.movedShare)} of users move)`,
        progress: 0.1 + (0.8 * done) / Math.max(1, total),
      };
    }
    case 'published':
      return {
        kind: 'operator',
        summary: `${name}: published epoch ${change.epoch ?? '?'}; pushing it to the nodes`,
        progress: 0.95,
      };
    default:
      return {
        kind: 'operator',
        summary: `${name}: waiting for the change before it`,
        progress: 0,
      };
  }
}

function finishedLine(change: WatchedChange): ChangeLine {
  const name = `${change.action} ${change.nodeId}`;
  const seconds = (((change.endedAtMs ?? change.startedAtMs) - change.startedAtMs) / 1_000).toFixed(
    1,
  );
  return change.failure === undefined
    ? {
        kind: 'finished',
        summary: `${name}: done at epoch ${change.epoch ?? '?'} in ${seconds} s`,
        progress: 1,
      }
    : { kind: 'finished', summary: `${name}: not done: ${change.failure}`, progress: null };
}

/**
 * Slots whose node stopped renewing its lease: the failover the control plane will make, as
 * planFailover makes it (slots in ring order take the live standbys in pool order; with none left
 * a slot leaves the ring, unless it is the last).
 */
function failoverLines(status: ClusterStatus): ChangeLine[] {
  const byId = new Map(status.nodes.map((node) => [node.nodeId, node]));
  const silentAfterMs = Math.max(
    SILENT_HEARTBEATS * status.heartbeatIntervalMs,
    SILENT_LEASE_SHARE * status.leaseMs,
  );
  const standbys = status.standbys.filter((id) => byId.get(id)?.state === 'standby');
  let slotsLeft = status.slots.length;
  const lines: ChangeLine[] = [];
  for (const { slot, nodeId } of status.slots) {
    const node = byId.get(nodeId);
    const ageMs = node?.leaseAgeMs;
    if (node === undefined || ageMs === undefined) continue;
    if (node.state !== 'dead' && ageMs <= silentAfterMs) continue;
    const standby = standbys.shift();
    const outcome =
      standby !== undefined
        ? `${standby} takes ${slot}`
        : slotsLeft > 1
          ? `${slot} leaves the ring, its users spread over the others`
          : `${slot} stays: it is the last slot`;
    if (standby === undefined && slotsLeft > 1) slotsLeft -= 1;
    lines.push({
      kind: 'failover',
      summary:
        node.state === 'dead'
          ? `${nodeId}'s lease ran out: ${outcome} at the control plane's next check`
          : `${nodeId} silent for ${seconds(ageMs)} of its ${seconds(status.leaseMs)} lease: ${outcome} when it runs out`,
      progress: Math.min(1, ageMs / status.leaseMs),
    });
  }
  return lines;
}

/** A new ring on its way to the nodes that answered: how many route by it yet. */
function propagationLines(epoch: number, nodes: readonly RingPageNode[]): ChangeLine[] {
  const answering = nodes.filter((node) => node.reachable === true && node.epoch !== null);
  const current = answering.filter((node) => (node.epoch ?? 0) >= epoch).length;
  if (answering.length === 0 || current === answering.length) return [];
  return [
    {
      kind: 'propagation',
      summary: `epoch ${epoch} reaching the nodes: ${current} of ${answering.length} route by it`,
      progress: current / answering.length,
    },
  ];
}

function percent(share: number | undefined): string {
  return share === undefined ? '?' : `${(share * 100).toFixed(1)}%`;
}

function seconds(ms: number): string {
  return `${(ms / 1_000).toFixed(1)} s`;
}
