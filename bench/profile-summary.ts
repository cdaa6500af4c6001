/**
 * bench/profile-summary.ts — where the CPU went, per process, from `.cpuprofile` files:
 *
 *   node dist-bench/bench/profile-summary.js DIR_OR_FILE... [--top 25]
 *
 * For each profile: busy share of wall time, self time by origin (our layers, each package, Node's
 * internals, GC) and the top functions by self time, as shares of the busy time. Profiles come from
 * `chatring start --cpu-prof-dir DIR` (one per member) or `bench/load.js --cpu-prof-dir DIR`.
 */
import { readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { summariseCpuProfile, type SelfTime } from './lib/cpu-profile.js';
import { fixed, renderTable } from './lib/text-table.js';

const args = process.argv.slice(2);
const topAt = args.indexOf('--top');
const top = topAt < 0 ? 25 : Number(args.splice(topAt, 2)[1]);
if (args.length === 0 || !Number.isInteger(top) || top < 1) {
  console.error('usage: profile-summary.js DIR_OR_FILE... [--top N]');
  process.exit(2);
}

const files = args.flatMap((path) =>
  statSync(path).isDirectory()
    ? readdirSync(path)
        .filter((name) => name.endsWith('.cpuprofile'))
        .sort()
        .map((name) => join(path, name))
    : [path],
);
for (const file of files) {
  const summary = summariseCpuProfile(file);
  const busy = summary.busyMicros;
  const share = (entry: SelfTime) => fixed((100 * entry.micros) / Math.max(1, busy), 1);
  console.log(
    `\n## ${basename(file)}: busy ${fixed(busy / 1e6, 2)} s of ${fixed(summary.totalMicros / 1e6, 2)} s (${fixed((100 * busy) / Math.max(1, summary.totalMicros), 0)}%)\n`,
  );
  const notIdle = (entry: SelfTime) => entry.label !== '(idle)';
  console.log(
    renderTable(
      ['origin', '% of busy'],
      summary.origins
        .filter(notIdle)
        .slice(0, 12)
        .map((entry) => [entry.label, share(entry)]),
    ),
  );
  console.log('');
  console.log(
    renderTable(
      ['function (self time)', '% of busy'],
      summary.functions
        .filter(notIdle)
        .slice(0, top)
        .map((entry) => [entry.label, share(entry)]),
    ),
  );
}
