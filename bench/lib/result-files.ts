import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeMachine, type MachineInfo } from './machine.js';

/**
 * Where results go: `bench/results/` of the repository (git-ignored). The benchmarks run compiled
 * from another folder (dist-bench/), so the repository root is found by walking up to chatring's
 * package.json rather than assumed relative to this file.
 */
export function repositoryRoot(): string {
  let directory = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = join(directory, 'package.json');
    if (
      existsSync(manifest) &&
      (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'chatring'
    )
      return directory;
    const parent = dirname(directory);
    if (parent === directory) return process.cwd();
    directory = parent;
  }
}

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
