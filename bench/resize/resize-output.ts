/** The resize benchmark's tables: one per scenario, then warm against cold. */
import { fixed, latencyCells, percent, renderTable, type Cell } from '../lib/text-table.js';
import type { ScenarioResult, WindowFigures } from './resize-results.js';
import { settings, WINDOWS, type WindowName } from './resize-settings.js';

export function mib(bytes: number): string {
  return (bytes / 2 ** 20).toFixed(2);
}

/**
 * One scenario's printout, in reading order: the change, who moved, the windows, the series. It is
 * one print after another; split, the layout would only be scattered.
 */
export function printScenario(result: ScenarioResult): void {
  const { change, moved, handoff, windows, series, totals, verification } = result;
  if (change === undefined || moved === undefined || handoff === undefined || windows === undefined)
    return;
  console.log(
    `change: add ${change.nodeId} (weight ${change.weight}) ${change.error === undefined ? `done at epoch ${change.result?.epoch}` : `FAILED: ${change.error}`} in ${fixed(change.tookMs, 0)} ms${change.publishedAfterMs === undefined ? '' : ` (published after ${fixed(change.publishedAfterMs, 0)} ms)`}`,
  );
  for (const stall of change.stalledReleases)
    console.log(
      `  STALL ${stall}: the release waited out a user's lock (lock wait 5 s); that user moves cold, and the change and every moving user waited`,
    );
  for (const diagnosis of change.stallDiagnosis) {
    console.log(
      `    in flight through all of ${diagnosis.nodeId}'s release: ${diagnosis.requestsSpanning} requests, ${diagnosis.sendsSpanning} sends, ${diagnosis.crossNodeMovingSends} of them coordinated by a user moving off ${diagnosis.nodeId} with the peer user moving off a node released before it`,
    );
    for (const example of diagnosis.examples) console.log(`      ${example}`);
  }
  for (const step of change.progress)
    console.log(`  ${fixed(step.atMs, 0).padStart(6)} ms  ${step.event}`);
  const sample = moved.ownerSample;
  console.log(
    `users moved: preview ${percent(moved.previewShare, 1)} (of ${moved.previewSampleSize} ids); workload ${percent(moved.workloadShare, 1)} (${moved.workloadMoved} of ${moved.workloadUsers}, RingView); /admin/v1/owner sample ${percent(sample.share, 1)} (${sample.moved} of ${sample.size}, ${sample.movedToNewNode} to ${settings.addNode}; ${sample.ringMismatches} disagree with the ring, ${sample.lookupErrors} lookups failed)`,
  );
  console.log(
    `  users per node (sample): before ${JSON.stringify(sample.usersByNodeBefore)} → after ${JSON.stringify(sample.usersByNodeAfter)}`,
  );
  console.log(
    `handoff: ${handoff.releasedUsers} cached users released, ${handoff.warmUsers} handed over warm (${mib(handoff.warmBytes)} MiB est.), ${handoff.warmUsersAdoptedByNewNode} adopted by ${settings.addNode}`,
  );
  const headers = [
    'window',
    's',
    'users',
    'ok',
    'errors',
    'ops/s',
    'p50 ms',
    'p99 ms',
    'p99.9 ms',
    'max ms',
    'store reads (new node)',
    'misses (new node)',
  ];
  const rows: Cell[][] = [];
  for (const name of WINDOWS) {
    const window = windows[name];
    for (const [users, summary] of [
      ['all', window.all],
      ['moved', window.moved],
      ['other', window.other],
    ] as const) {
      rows.push([
        name,
        fixed(window.seconds, 2),
        users,
        ...latencyCells(summary),
        users === 'all' ? `${window.storeLoads.allNodes} (${window.storeLoads.newNode})` : '',
        users === 'all' ? `${window.cacheMisses.allNodes} (${window.cacheMisses.newNode})` : '',
      ]);
    }
  }
  console.log('');
  console.log(renderTable(headers, rows));
  if (series !== undefined) {
    console.log(
      `\nper ${settings.bucketMs} ms (t = seconds from the change start, by answer time):`,
    );
    console.log(
      renderTable(
        [
          't s',
          'ok',
          'errors',
          'p50 ms',
          'p99 ms',
          'max ms',
          'moved ok',
          'moved p99 ms',
          'store reads',
        ],
        series.map((point) => [
          fixed(point.fromS, 1),
          point.ok,
          point.errors,
          fixed(point.p50Ms, 2),
          fixed(point.p99Ms, 2),
          fixed(point.maxMs, 1),
          point.movedOk,
          fixed(point.movedP99Ms, 2),
          Number.isFinite(point.storeLoads) ? point.storeLoads : 'n/a',
        ]),
      ),
    );
  }
  if (totals !== undefined)
    console.log(
      `\nerrors: ${totals.errors} of ${totals.ok + totals.errors} requests${totals.errors === 0 ? '' : ` ${JSON.stringify(totals.errorsByCode)}`}`,
    );
  if (result.phaseSeconds !== undefined)
    console.log(
      `phases (s): ${Object.entries(result.phaseSeconds)
        .map(([phase, seconds]) => `${phase} ${seconds.toFixed(1)}`)
        .join(', ')}`,
    );
  if (verification !== undefined)
    console.log(
      `verification: ${verification.acknowledged} acknowledged sends (${verification.acknowledgedTouchingMoved} touching a moved user), ${verification.copiesRead} mailbox copies read back: lost ${verification.lost}, duplicated ${verification.duplicated}, copy mismatches ${verification.copyMismatches}, order violations ${verification.orderViolations}`,
    );
}

/**
 * Warm against cold: two tables, then the headline comparison (also returned). Long for the same
 * reason as printScenario: it is the layout.
 */
export function printComparison(scenarios: ScenarioResult[]): Record<string, number> | undefined {
  console.log('\n=== warm vs cold handoff ===\n');
  const early = `${settings.earlyS}s`;
  const movement: Cell[][] = [];
  const latency: Cell[][] = [];
  for (const result of scenarios) {
    const w = result.windows;
    if (result.skipped !== undefined || w === undefined) continue;
    const reads = (window: WindowFigures) =>
      `${window.storeLoads.allNodes} (${window.storeLoads.newNode})`;
    movement.push([
      result.scenario,
      `${percent(result.moved?.previewShare ?? Number.NaN, 1)} / ${percent(result.moved?.ownerSample.share ?? Number.NaN, 1)}`,
      result.handoff?.warmUsers ?? 0,
      mib(result.handoff?.warmBytes ?? 0),
      result.handoff?.warmUsersAdoptedByNewNode ?? 0,
      fixed(result.change?.tookMs ?? Number.NaN, 0),
      reads(w.before),
      reads(w.during),
      reads(w.early),
      reads(w.after),
      `${w.after.cacheMisses.allNodes} (${w.after.cacheMisses.newNode})`,
    ]);
    latency.push([
      result.scenario,
      `${fixed(w.before.all.p50Ms, 1)} / ${fixed(w.before.all.p99Ms, 1)} / ${fixed(w.before.all.p999Ms, 1)}`,
      `${fixed(w.during.all.p99Ms, 1)} / ${fixed(w.during.all.maxMs, 1)}`,
      `${fixed(w.early.moved.p50Ms, 1)} / ${fixed(w.early.moved.p99Ms, 1)}`,
      `${fixed(w.after.all.p50Ms, 1)} / ${fixed(w.after.all.p99Ms, 1)} / ${fixed(w.after.all.p999Ms, 1)}`,
      `${fixed(w.after.moved.p50Ms, 1)} / ${fixed(w.after.moved.p99Ms, 1)}`,
      result.totals?.errors ?? 0,
    ]);
  }
  console.log(
    renderTable(
      [
        'scenario',
        'moved preview / owner',
        'warm users',
        'warm MiB',
        'adopted',
        'change ms',
        'store reads before',
        'during',
        `first ${early}`,
        'after',
        'misses after',
      ],
      movement,
    ),
  );
  console.log('(store reads and misses: all nodes (the new node))\n');
  console.log(
    renderTable(
      [
        'scenario',
        'before p50/p99/p99.9',
        'during p99/max',
        `moved first ${early} p50/p99`,
        'after p50/p99/p99.9',
        'after moved p50/p99',
        'errors',
      ],
      latency,
    ),
  );
  console.log('(latency in ms)');
  for (const result of scenarios)
    if (result.skipped !== undefined)
      console.log(`${result.scenario}: skipped (${result.skipped})`);
  const ran = scenarios.filter((result) => result.skipped === undefined);
  const warm = ran.find((result) => result.scenario === 'warm')?.windows;
  const cold = ran.find((result) => result.scenario === 'cold')?.windows;
  if (warm === undefined || cold === undefined) return undefined;
  const readsFromChange = (w: Record<WindowName, WindowFigures>) =>
    w.during.storeLoads.allNodes + w.after.storeLoads.allNodes;
  const comparison = {
    storeReadsFromChangeStartWarm: readsFromChange(warm),
    storeReadsFromChangeStartCold: readsFromChange(cold),
    storeReadsSavedByWarm: readsFromChange(cold) - readsFromChange(warm),
    p99AfterWarmMs: warm.after.all.p99Ms,
    p99AfterColdMs: cold.after.all.p99Ms,
    p99AfterMovedWarmMs: warm.after.moved.p99Ms,
    p99AfterMovedColdMs: cold.after.moved.p99Ms,
    p99EarlyMovedWarmMs: warm.early.moved.p99Ms,
    p99EarlyMovedColdMs: cold.early.moved.p99Ms,
  };
  console.log(
    `\nwarm vs cold: store reads from the change start to the end ${comparison.storeReadsFromChangeStartWarm} vs ${comparison.storeReadsFromChangeStartCold} (warm handoff saved ${comparison.storeReadsSavedByWarm}); p99 after the move ${fixed(comparison.p99AfterWarmMs, 2)} vs ${fixed(comparison.p99AfterColdMs, 2)} ms; moved users' p99 in the first ${early} ${fixed(comparison.p99EarlyMovedWarmMs, 2)} vs ${fixed(comparison.p99EarlyMovedColdMs, 2)} ms, over the whole after window ${fixed(comparison.p99AfterMovedWarmMs, 2)} vs ${fixed(comparison.p99AfterMovedColdMs, 2)} ms`,
  );
  return comparison;
}
