/**
 * What every section of the report reads: its flags (parsed once, from process.argv), where the
 * README and the result files are, the latest result of each benchmark, and the section markers.
 */
import { isAbsolute, join } from 'node:path';
import { initialRing } from '../../control-plane/index.js';
import { repositoryRoot } from '../../harness/index.js';
import { BenchFlags } from '../lib/bench-args.js';
import { readLatestResults } from '../lib/bench-results.js';
import { resultsDirectory } from '../lib/result-files.js';

export const MARKERS = {
  start: '<!-- bench:performance:start -->',
  end: '<!-- bench:performance:end -->',
};

export const INSERT_BEFORE_LINE = '## Test';

export const BENCHMARKS = [
  'ring',
  'load',
  'sends',
  'memory',
  'failover',
  'resize',
  'watch',
] as const;

export type Benchmark = (typeof BENCHMARKS)[number];

/** Settings whose flag is not the kebab-case of the setting's name. */
export const FLAG_NAME_EXCEPTIONS: Record<string, string> = { zipfExponent: 'zipf-s' };

export const flags = BenchFlags.parse(
  'report',
  "rewrites README.md's Performance section from the latest bench/results/*.json",
  {
    readme: {
      description: 'Markdown file to update, relative to the repository',
      default: 'README.md',
    },
    results: { description: 'directory of result files (empty: bench/results)', default: '' },
    print: {
      description: 'print the section instead of writing it (true/false)',
      default: 'false',
    },
  },
);

export const root = repositoryRoot();

export const readmePath = resolveIn(root, flags.string('readme'));

export const resultsPath =
  flags.string('results') === '' ? resultsDirectory() : resolveIn(root, flags.string('results'));

export const results = readLatestResults(resultsPath);

export const defaultVirtualNodes = initialRing([]).virtualNodesPerWeight;

export function resolveIn(base: string, path: string): string {
  return isAbsolute(path) ? path : join(base, path);
}
