/** The resize section: users moved, store reads and latency, warm against cold handoff. */
import { type ResizeResults } from '../lib/bench-results.js';
import { grouped } from '../lib/figure-format.js';
import { markdownTable } from '../lib/markdown-section.js';
import { type BenchReport } from '../lib/result-files.js';
import { fixed, percent } from '../lib/text-table.js';

export function resizeSection(report: BenchReport<ResizeResults> | undefined): string {
  if (report === undefined) return '### Resize\n\nNo resize result yet: `npm run bench:resize`.';
  const s = report.settings;
  const rows = report.results.scenarios.map((run) => [
    run.scenario,
    `${percent(run.moved.previewShare)} / ${percent(run.moved.ownerSample.share)}`,
    grouped(run.handoff.warmUsers),
    grouped(run.change.tookMs),
    grouped(run.totals.errors),
    `${grouped(run.verification.lost)} / ${grouped(run.verification.duplicated)} of ${grouped(run.verification.acknowledged)}`,
  ]);
  const c = report.results.comparison;
  const comparison =
    c === undefined
      ? ''
      : `Store reads from the change to the end: warm ${grouped(c.storeReadsFromChangeStartWarm)}, cold ${grouped(c.storeReadsFromChangeStartCold)}. p99 after the move: warm ${fixed(c.p99AfterWarmMs, 1)} ms, cold ${fixed(c.p99AfterColdMs, 1)} ms; moved users in the first second: warm ${fixed(c.p99EarlyMovedWarmMs, 1)} ms, cold ${fixed(c.p99EarlyMovedColdMs, 1)} ms.`;
  return [
    '### Resize: add a node under load, warm against cold handoff',
    `${String(s.nodes)} nodes plus a standby, ${String(s.users)} users (Zipf), ${String(s.concurrency)} workers; every user cached, then \`${String(s.addNode)}\` gets a slot while the load runs (${String(s.beforeS)} s before, ${String(s.afterS)} s after). warm: the old owners hand cached state over; cold: \`--warm-handoff-bytes-max 0\`. Moved: the change's preview / owner lookups before and after.`,
    markdownTable(
      [
        'handoff',
        'users moved (preview / measured)',
        'handed over warm',
        'change ms',
        'errors',
        'lost / duplicated',
      ],
      rows,
      ['left', 'right', 'right', 'right', 'right', 'right'],
    ),
    comparison,
  ]
    .filter((part) => part !== '')
    .join('\n\n');
}

// ---------------------------------------------------------------------------------------------
// capacity plan
