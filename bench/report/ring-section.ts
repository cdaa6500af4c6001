/** The ring section: balance and movement, and the headroom the capacity plan takes from it. */
import { figure, type RingResultRow, type RingResults } from '../lib/bench-results.js';
import { grouped, times } from '../lib/figure-format.js';
import { markdownTable } from '../lib/markdown-section.js';
import { type BenchReport } from '../lib/result-files.js';
import { fixed, percent } from '../lib/text-table.js';
import { defaultVirtualNodes } from './report-context.js';

export const ALGORITHM_LABELS: Record<RingResultRow['algorithm'], string> = {
  ringview: '`RingView` (chatring)',
  'hashring-plain': '`hashring` defaults (baseline)',
  jump: 'jump consistent hash',
  rendezvous: 'rendezvous (HRW)',
};

export function ringSection(report: BenchReport<RingResults> | undefined): string {
  if (report === undefined) return '### Ring\n\nNo ring result yet: `npm run bench:ring`.';
  const rows = report.results.rows;
  const slotCounts = [...new Set(rows.map((row) => row.slots))].sort((a, b) => a - b);
  const users = figure(report.settings.users as number, 'ring settings.users');
  const body: string[][] = [];
  for (const slots of slotCounts) {
    const ofN = rows.filter((row) => row.slots === slots);
    const chosen = [
      ofN.find((row) => row.algorithm === 'ringview' && row.vnodesPerSlot === defaultVirtualNodes),
      ...ofN.filter((row) => row.algorithm !== 'ringview'),
    ];
    for (const row of chosen) {
      if (row === undefined) continue;
      body.push([
        String(slots),
        ALGORITHM_LABELS[row.algorithm],
        row.vnodesPerSlot === undefined ? '—' : fixed(row.vnodesPerSlot, 0),
        times(figure(row.balance.maxOverMean, 'ring maxOverMean'), 3),
        times(figure(row.balance.minOverMean, 'ring minOverMean'), 3),
        `${percent(row.added.movedShare)} (${percent(row.added.idealShare)})`,
        `${percent(row.removed.movedShare)} (${percent(row.removed.idealShare)})`,
        percent(row.added.excessShare + row.removed.excessShare),
        `${fixed(row.lookup.hotNs, 0)} / ${fixed(row.lookup.coldNs, 0)}`,
      ]);
    }
  }
  const byVnodes = slotCounts
    .map((slots) => {
      const steps = rows
        .filter((row) => row.algorithm === 'ringview' && row.slots === slots)
        .sort((a, b) => (a.vnodesPerSlot ?? 0) - (b.vnodesPerSlot ?? 0))
        .map(
          (row) =>
            `${fixed(row.vnodesPerSlot ?? Number.NaN, 0)} → ${times(row.balance.maxOverMean, 3)}`,
        );
      return `N=${slots}: ${steps.join(', ')}`;
    })
    .join('; ');
  const checked = rows.reduce((sum, row) => sum + (row.verified?.users ?? 0), 0);
  const mismatches = rows.reduce((sum, row) => sum + (row.verified?.mismatches ?? 0), 0);
  const hasDefault = rows.some(
    (row) => row.algorithm === 'ringview' && row.vnodesPerSlot === defaultVirtualNodes,
  );
  return [
    '### Ring: balance and movement',
    `${grouped(users)} synthetic users on N slots. \`RingView\` at ${defaultVirtualNodes} virtual nodes per weight, the default of new rings (\`initialRing\`)${hasDefault ? '' : ' — **not measured in this run**, so its rows are missing'}, against the baseline (\`new HashRing(names)\` with hashring's defaults) and two references. Fullest/emptiest: users on that slot over the mean (1.000× is perfect). Moved: share of all users whose slot changes when a slot is added or removed, ideal in brackets; needlessly: moved although neither their old nor their new slot changed.`,
    markdownTable(
      [
        'N',
        'placement',
        'vnodes/slot',
        'fullest ÷ mean',
        'emptiest ÷ mean',
        'add a slot: moved (ideal)',
        'remove a slot: moved (ideal)',
        'moved needlessly',
        'lookup ns hot / cold',
      ],
      body,
      ['right', 'left', 'right', 'right', 'right', 'right', 'right', 'right', 'right'],
    ),
    `\`RingView\`'s fullest slot by virtual nodes per slot — ${byVnodes}. Placements checked against \`RingView.slotOf\` itself: ${grouped(checked)}, mismatches ${grouped(mismatches)}. Lookup: hot = a small set of users kept in hashring's LRU cache, cold = all users cycled (cache misses).`,
  ].join('\n\n');
}

/** max/mean of RingView at the default vnodes on the most slots measured, with that N. */
export function ringHeadroomOf(
  report: BenchReport<RingResults> | undefined,
): { maxOverMean: number; slots: number } | undefined {
  const candidates = (report?.results.rows ?? []).filter(
    (row) => row.algorithm === 'ringview' && row.vnodesPerSlot === defaultVirtualNodes,
  );
  const widest = candidates.sort((a, b) => b.slots - a.slots)[0];
  return widest === undefined
    ? undefined
    : { maxOverMean: figure(widest.balance.maxOverMean, 'ring maxOverMean'), slots: widest.slots };
}

// ---------------------------------------------------------------------------------------------
// load
