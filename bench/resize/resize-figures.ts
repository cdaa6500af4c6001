/** The resize benchmark's figures, computed from a ChangeRun: windows, time series, stalls. */
import type { ChangeProgress } from '../../control-plane/index.js';
import { sumCounters, type NodeCounters } from '../../harness/index.js';
import { orderedPair } from '../../protocol/index.js';
import type { RingView } from '../../ring/index.js';
import { LatencyRecorder, type LatencySummary } from '../lib/latency-recorder.js';
import { fixed, percent } from '../lib/text-table.js';
import type {
  ChangeRun,
  RequestRecord,
  ScenarioResult,
  SeriesPoint,
  WindowFigures,
} from './resize-results.js';
import { RELEASE_STALL_MS, settings, type WindowName } from './resize-settings.js';

export function summarize(
  entries: RequestRecord[],
  seconds: number,
): LatencySummary & { opsPerSecond: number } {
  const recorder = new LatencyRecorder();
  for (const entry of entries) {
    if (entry.ok) recorder.record(entry.kind, (entry.endedAt - entry.startedAt) * 1_000);
    else recorder.recordError(entry.kind, entry.errorCode ?? 'UNKNOWN');
  }
  const summary = recorder.summary('all');
  // A percentile is the top of its HDR bucket (3 significant digits): never above the real max.
  const capped = (value: number) => Math.min(value, summary.maxMs);
  return {
    ...summary,
    p50Ms: capped(summary.p50Ms),
    p99Ms: capped(summary.p99Ms),
    p999Ms: capped(summary.p999Ms),
    opsPerSecond: seconds > 0 ? summary.ok / seconds : Number.NaN,
  };
}

export function seriesOf(
  entries: RequestRecord[],
  isMoved: (entry: RequestRecord) => boolean,
  polls: { atMs: number; storeLoads: number }[],
  measureStart: number,
  measureEnd: number,
  changeStart: number,
): SeriesPoint[] {
  const width = settings.bucketMs;
  // Buckets aligned on the change start; only whole buckets inside the measured span.
  const first = Math.ceil((measureStart - changeStart) / width);
  const last = Math.floor((measureEnd - changeStart) / width);
  const loadsAt = (atMs: number) => {
    // The last poll at or before atMs (counters are cumulative).
    let value: number | undefined;
    for (const poll of polls) if (poll.atMs <= atMs) value = poll.storeLoads;
    return value;
  };
  const points: SeriesPoint[] = [];
  for (let index = first; index < last; index += 1) {
    const from = changeStart + index * width;
    const to = from + width;
    const inBucket = entries.filter((entry) => entry.endedAt >= from && entry.endedAt < to);
    const all = summarize(inBucket, width / 1_000);
    const moved = summarize(inBucket.filter(isMoved), width / 1_000);
    const [loadsFrom, loadsTo] = [loadsAt(from), loadsAt(to)];
    points.push({
      fromS: (index * width) / 1_000,
      ok: all.ok,
      errors: all.errors,
      p50Ms: all.p50Ms,
      p99Ms: all.p99Ms,
      maxMs: all.maxMs,
      movedOk: moved.ok,
      movedP99Ms: moved.p99Ms,
      storeLoads:
        loadsFrom === undefined || loadsTo === undefined ? Number.NaN : loadsTo - loadsFrom,
    });
  }
  return points;
}

export function describeProgress(event: ChangeProgress): string {
  switch (event.phase) {
    case 'planned':
      return `planned epoch ${event.preview.epochAfter}: ${percent(event.preview.movedShare, 1)} of users will move`;
    case 'released':
      return `${event.done}/${event.total} released ${event.nodeId}${event.result === null ? '' : `: ${event.result.releasedUsers} cached users released, ${event.result.warmUsers} warm (${event.result.warmBytes} bytes)`}`;
    case 'published':
      return `published epoch ${event.epoch}`;
  }
}

/**
 * The four windows: before = answered before the change started (the baseline); during = in flight
 * at any moment while it ran; early = issued in the first --early-s after it; after = issued after
 * it. Each with latency (all requests, those touching a moved user, the rest) and counter deltas.
 */
export function windowsOf(
  run: ChangeRun,
  isMoved: (entry: RequestRecord) => boolean,
  nodeIds: string[],
): Record<WindowName, WindowFigures> {
  const { measureStart, changeStart, changeEnd, earlyEnd, measureEnd } = run.marks;
  const belongs: Record<WindowName, (entry: RequestRecord) => boolean> = {
    before: (entry) => entry.startedAt >= measureStart && entry.endedAt < changeStart,
    during: (entry) => entry.endedAt >= changeStart && entry.startedAt < changeEnd,
    early: (entry) => entry.startedAt >= changeEnd && entry.startedAt < earlyEnd,
    after: (entry) => entry.startedAt >= changeEnd && entry.startedAt < measureEnd,
  };
  const windowOf = (
    name: WindowName,
    seconds: number,
    from: Map<string, NodeCounters>,
    to: Map<string, NodeCounters>,
  ): WindowFigures => {
    const entries = run.records.filter(belongs[name]);
    const delta = (key: keyof NodeCounters, nodeId?: string) =>
      nodeId === undefined
        ? sumCounters(to.values())[key] - sumCounters(from.values())[key]
        : (to.get(nodeId)?.[key] ?? 0) - (from.get(nodeId)?.[key] ?? 0);
    return {
      seconds,
      all: summarize(entries, seconds),
      moved: summarize(entries.filter(isMoved), seconds),
      other: summarize(
        entries.filter((entry) => !isMoved(entry)),
        seconds,
      ),
      storeLoads: {
        allNodes: delta('storeLoads'),
        newNode: delta('storeLoads', settings.addNode),
        byNode: Object.fromEntries(nodeIds.map((nodeId) => [nodeId, delta('storeLoads', nodeId)])),
      },
      cacheMisses: {
        allNodes: delta('cacheMisses'),
        newNode: delta('cacheMisses', settings.addNode),
      },
      cacheHits: { allNodes: delta('cacheHits'), newNode: delta('cacheHits', settings.addNode) },
    };
  };
  const { start, before, changed, early, end } = run.stats;
  return {
    before: windowOf('before', (changeStart - measureStart) / 1_000, start, before),
    during: windowOf('during', (changeEnd - changeStart) / 1_000, before, changed),
    early: windowOf('early', (earlyEnd - changeEnd) / 1_000, changed, early),
    after: windowOf('after', (measureEnd - changeEnd) / 1_000, changed, end),
  };
}

/**
 * For each release slower than RELEASE_STALL_MS: the requests in flight through all of it, and the
 * sends among them coordinated by a user moving off the stalled node whose peer (the higher id)
 * moved off a node released before it — the lock cycle that makes a release wait out its lock wait.
 */
export function stallDiagnosisOf(
  run: ChangeRun,
  movedUsers: Set<string>,
  viewBefore: RingView,
  viewAfter: RingView,
): NonNullable<ScenarioResult['change']>['stallDiagnosis'] {
  const { changeStart } = run.marks;
  return run.releaseSteps
    .filter((step) => step.ms >= RELEASE_STALL_MS)
    .map((step) => {
      const [from, to] = [changeStart + step.fromMs, changeStart + step.toMs];
      const spanning = run.records.filter(
        (entry) => entry.startedAt <= from && entry.endedAt >= to,
      );
      const sends = spanning.filter((entry) => entry.kind === 'send');
      const released = new Set(
        run.releaseSteps.filter((other) => other.toMs <= step.fromMs).map((other) => other.nodeId),
      );
      const crossNode = sends.filter((entry) => {
        const [low = '', high = ''] = orderedPair(entry.users[0] ?? '', entry.users[1] ?? '');
        const highOwner = viewBefore.ownerIdOf(high) ?? '';
        return (
          viewBefore.ownerIdOf(low) === step.nodeId &&
          movedUsers.has(low) &&
          movedUsers.has(high) &&
          released.has(highOwner)
        );
      });
      return {
        nodeId: step.nodeId,
        requestsSpanning: spanning.length,
        sendsSpanning: sends.length,
        crossNodeMovingSends: crossNode.length,
        examples: crossNode.slice(0, 3).map((entry) => {
          const [low = '', high = ''] = orderedPair(entry.users[0] ?? '', entry.users[1] ?? '');
          return `send ${entry.users[0]}→${entry.users[1]}: coordinator ${low} (${viewBefore.ownerIdOf(low)}→${viewAfter.ownerIdOf(low)}), peer ${high} (${viewBefore.ownerIdOf(high)}→${viewAfter.ownerIdOf(high)}), ${fixed(entry.endedAt - entry.startedAt, 0)} ms, ${entry.ok ? 'ok' : entry.errorCode}`;
        }),
      };
    });
}

/** Failed requests by error code. */
export function errorsByCodeOf(entries: RequestRecord[]): Record<string, number> {
  const errorsByCode: Record<string, number> = {};
  for (const entry of entries)
    if (!entry.ok)
      errorsByCode[entry.errorCode ?? 'UNKNOWN'] =
        (errorsByCode[entry.errorCode ?? 'UNKNOWN'] ?? 0) + 1;
  return errorsByCode;
}
