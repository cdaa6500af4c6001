/**
 * bench/report.ts — the README's "Performance" section, generated from the latest result files.
 *
 * Reads `bench/results/<name>.json` of ring, load, memory and failover (the latest run of each)
 * and run-all.json, and rewrites README.md between the markers
 * `<!-- bench:performance:start -->` and `<!-- bench:performance:end -->` (added before `## Test`
 * on the first run): the key figures of each benchmark, the machine and its load average at the
 * time, the exact commands, and a capacity plan for the design's 10 B sends a day derived from the
 * measured per-core figures (arithmetic in bench/lib/capacity-plan.ts). Every number in the section
 * is computed here from the JSON; the only constants are the design's targets and the names of the
 * assumptions, and the section says which is which. Nothing outside the markers is touched.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { format, resolveConfig } from 'prettier';
import { replaceSection } from './lib/markdown-section.js';
import { capacitySection } from './report/capacity-section.js';
import { failoverSection } from './report/failover-section.js';
import { limitsSection } from './report/limits-section.js';
import { loadSection } from './report/load-section.js';
import { memorySection } from './report/memory-section.js';
import { provenanceSection } from './report/provenance-section.js';
import {
  BENCHMARKS,
  flags,
  INSERT_BEFORE_LINE,
  MARKERS,
  readmePath,
  results,
  resultsPath,
} from './report/report-context.js';
import { resizeSection } from './report/resize-section.js';
import { watchSection } from './report/watch-section.js';
import { ringHeadroomOf, ringSection } from './report/ring-section.js';

await main();

async function main(): Promise<void> {
  const present = BENCHMARKS.filter((name) => results[name] !== undefined);
  if (present.length === 0)
    throw new Error(`no result files in ${resultsPath}: run npm run bench first`);
  const ringHeadroom = ringHeadroomOf(results.ring);
  const sections = [
    '## Performance',
    provenanceSection(),
    ringSection(results.ring),
    loadSection(results.load),
    ...(results.sends === undefined
      ? []
      : [loadSection(results.sends, '### Sends: the write path, per store')]),
    memorySection(results.memory),
    failoverSection(results.failover),
    resizeSection(results.resize),
    watchSection(results.watch),
    capacitySection(ringHeadroom),
    limitsSection(ringHeadroom),
  ];
  const markdown = sections.join('\n\n');
  const config = (await resolveConfig(readmePath)) ?? {};
  const body = await format(markdown, { ...config, parser: 'markdown' });
  if (flags.boolean('print')) {
    console.log(body);
    return;
  }
  const before = readFileSync(readmePath, 'utf8');
  const after = replaceSection(before, MARKERS, body, INSERT_BEFORE_LINE);
  if (after !== before) writeFileSync(readmePath, after);
  console.log(
    `${after === before ? 'unchanged' : 'rewrote'} the Performance section of ${readmePath} from ${present.map((name) => `${name}.json`).join(', ')} in ${resultsPath}`,
  );
}

// ---------------------------------------------------------------------------------------------
// Provenance: when, on what, how loaded, with which commands.
