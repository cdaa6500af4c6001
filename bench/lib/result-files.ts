import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { repositoryRoot } from '../../harness/index.js';
import { describeMachine, type MachineInfo } from './machine.js';

/**
 * Where results go: `bench/results/` of the repository (git-ignored), found from the repository
 * root (the benchmarks run compiled from dist-bench/).
 */
export function resultsDirectory(): string {
  return resolve(
    process.env.CHATRING_BENCH_RESULTS_DIR ?? join(repositoryRoot(), 'bench', 'results'),
  );
}

/** The envelope every result file shares. */
export interface BenchReport<Results> {
  benchmark: string;
  startedAt: string;
  finishedAt: string;
  machine: MachineInfo;
  settings: Record<string, unknown>;
  /** What the figures are compared against in this same run. */
  baseline: string;
  results: Results;
  notes: string[];
}

export function startReport<Results>(
  benchmark: string,
  settings: Record<string, unknown>,
  baseline: string,
): Omit<BenchReport<Results>, 'results' | 'finishedAt'> {
  return {
    benchmark,
    startedAt: new Date().toISOString(),
    machine: describeMachine(),
    settings,
    baseline,
    notes: [],
  };
}

/** Writes `<name>.json` (the latest run) and `<name>-<timestamp>.json` (kept); returns the first path. */
export function writeReport<Results>(report: Omit<BenchReport<Results>, 'finishedAt'>): string {
  const directory = resultsDirectory();
  mkdirSync(directory, { recursive: true });
  const complete: BenchReport<Results> = { ...report, finishedAt: new Date().toISOString() };
  const text = `${JSON.stringify(complete, null, 2)}\n`;
  const stamp = complete.startedAt.replaceAll(':', '-').replace(/\.\d+Z$/, 'Z');
  const latest = join(directory, `${report.benchmark}.json`);
  writeFileSync(latest, text);
  writeFileSync(join(directory, `${report.benchmark}-${stamp}.json`), text);
  return latest;
}

export function writeResultFile(name: string, contents: string): string {
  const directory = resultsDirectory();
  mkdirSync(directory, { recursive: true });
  const path = join(directory, name);
  writeFileSync(path, contents);
  return path;
}
