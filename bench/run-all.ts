/**
 * bench/run-all.ts — every benchmark in turn, each in its own process, with one profile of
 * settings: `short` (the default: a few minutes on 2 cores) or `long` (the figures to quote). Each
 * benchmark prints its own table and writes its own JSON; this writes bench/results/run-all.json
 * with what ran, how long it took and where the results are. It fails only if a benchmark crashed
 * or reported a broken invariant (or the report failed), never on a timing. Last, unless
 * `--report false`, it runs bench/report.ts, which rewrites README.md's Performance section from
 * the latest result files.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { BenchFlags } from './lib/bench-args.js';
import { DEFAULT_TARGETS } from './lib/load-target-catalogue.js';
import { machineLine } from './lib/machine.js';
import { resultsDirectory, startReport, writeReport } from './lib/result-files.js';
import { fixed, renderTable } from './lib/text-table.js';

type Profile = 'short' | 'long';

const BENCHMARKS = ['ring', 'load', 'sends', 'memory', 'failover', 'resize', 'watch'] as const;
type Benchmark = (typeof BENCHMARKS)[number];

/** The script each benchmark runs: `sends` is the load benchmark on a mix with sends. */
const SCRIPTS: Record<Benchmark, string> = {
  ring: 'ring',
  load: 'load',
  sends: 'load',
  memory: 'memory',
  failover: 'failover',
  resize: 'resize',
  watch: 'watch',
};

/**
 * The write mix (issue 12; the capacity plan's sends per core): router, direct and the stateless
 * app on both stores, and the ring-aware client on Cassandra, each on its own cluster or keyspace
 * (a send mix changes the data). The plan reads the Cassandra targets (the production store):
 * router, client-direct and the stateless app, each with Cassandra's own CPU measured apart.
 */
const SENDS_ARGS = [
  '--report-name',
  'sends',
  '--mix',
  'send:20,conversations:40,messages:40',
  '--targets',
  'router,direct,baseline,router-cassandra,client-direct-cassandra,direct-cassandra,baseline-cassandra',
  '--page-check-s',
  '0',
];

/**
 * The size of what load and sends drive, per profile: the seeded users, their contacts and
 * messages, the concurrency and the warm-up. Written once, so a profile's read and write figures
 * come from workloads of the same size; each run adds its own duration and mix.
 */
const LOAD_SIZING: Record<Profile, string[]> = {
  short: [
    '--warmup-s',
    '2',
    '--concurrency',
    '16',
    '--users',
    '2000',
    '--contacts',
    '3',
    '--seed-messages',
    '2',
  ],
  long: [
    '--warmup-s',
    '5',
    '--concurrency',
    '32',
    '--users',
    '10000',
    '--contacts',
    '4',
    '--seed-messages',
    '3',
  ],
};

/** load's read-only warm mix (issue 11's comparison). */
const READ_MIX_ARGS = ['--mix', 'conversations:50,messages:50'];

/**
 * Settings per profile. short: a few minutes in all on 2 cores, plus Cassandra's start when none
 * runs; long: ~15+ min, the figures to quote. load runs the read-only warm mix (issue 11's
 * comparison, its ratios from this one run); sends are measured with `load --mix send:…` apart.
 */
const PROFILES: Record<Profile, Record<Benchmark, string[]>> = {
  short: {
    ring: ['--users', '200000', '--lookup-ms', '150', '--verify-users', '5000'],
    load: ['--duration-s', '8', ...LOAD_SIZING.short, ...READ_MIX_ARGS, '--page-check-s', '4'],
    sends: ['--duration-s', '8', ...LOAD_SIZING.short, ...SENDS_ARGS],
    memory: ['--users', '500', '--messages', '100', '--conversations', '5'],
    failover: [
      '--before-kill-s',
      '3',
      '--after-recovery-s',
      '2',
      '--pairs',
      '16',
      '--workers',
      '6',
    ],
    resize: ['--users', '1500', '--before-s', '3', '--after-s', '5'],
    watch: ['--watchers', '1000,10000', '--idle-s', '2', '--send-s', '3', '--poll-s', '3'],
  },
  long: {
    ring: ['--users', '1000000', '--lookup-ms', '500'],
    load: ['--duration-s', '30', ...LOAD_SIZING.long, ...READ_MIX_ARGS, '--page-check-s', '10'],
    sends: ['--duration-s', '20', ...LOAD_SIZING.long, ...SENDS_ARGS],
    memory: ['--users', '2000', '--messages', '100', '--conversations', '5'],
    failover: [
      '--before-kill-s',
      '10',
      '--after-recovery-s',
      '10',
      '--pairs',
      '64',
      '--workers',
      '16',
    ],
    resize: [
      '--users',
      '5000',
      '--concurrency',
      '32',
      '--before-s',
      '10',
      '--after-s',
      '15',
      '--early-s',
      '2',
    ],
    watch: ['--watchers', '1000,10000', '--idle-s', '5', '--send-s', '10', '--poll-s', '5'],
  },
};

const flags = BenchFlags.parse('run-all', 'all benchmarks, short (default) or long', {
  profile: { description: 'short or long', default: 'short' },
  only: {
    description: `comma-separated subset of ${BENCHMARKS.join(',')}`,
    default: BENCHMARKS.join(','),
  },
  report: {
    description: "rewrite README.md's Performance section afterwards (true/false)",
    default: 'true',
  },
  auth: {
    description:
      "also run load's router-auth target (app tokens on; ~20-40 s more) for the cost of authentication (true/false)",
    default: 'false',
  },
});
const profile = flags.string('profile');
if (profile !== 'short' && profile !== 'long')
  throw new Error(`--profile must be short or long, got "${profile}"`);
const only = flags.string('only').split(',').filter(Boolean);
const updateReadme = flags.boolean('report');
const withAuth = flags.boolean('auth');
/**
 * load's targets with router-auth right before router (its baseline), for --auth true: not after
 * it, where it would split the cluster router, client-direct and direct share.
 */
const LOAD_TARGETS_WITH_AUTH = [
  '--targets',
  DEFAULT_TARGETS.flatMap((name) => (name === 'router' ? ['router-auth', name] : [name])).join(','),
];
for (const name of only)
  if (!(BENCHMARKS as readonly string[]).includes(name))
    throw new Error(`--only: unknown benchmark "${name}"`);

interface RunOutcome {
  benchmark: Benchmark;
  args: string[];
  seconds: number;
  exitCode: number | null;
  signal: string | null;
  resultFile: string;
}

const report = startReport<{ runs: RunOutcome[] }>(
  'run-all',
  { profile, only, auth: withAuth },
  'each benchmark compares against its own baseline in its own run; see its JSON',
);
console.log(`run-all (${profile}) — ${machineLine(report.machine)}\n`);
const runs: RunOutcome[] = [];
for (const benchmark of BENCHMARKS) {
  if (!only.includes(benchmark)) continue;
  const args = [
    ...PROFILES[profile][benchmark],
    ...(benchmark === 'load' && withAuth ? LOAD_TARGETS_WITH_AUTH : []),
  ];
  console.log(`\n===== ${benchmark} ${args.join(' ')} =====\n`);
  runs.push(await run(benchmark, args));
}

console.log('\n===== summary =====\n');
console.log(
  renderTable(
    ['benchmark', 'seconds', 'exit', 'result'],
    runs.map((outcome) => [
      outcome.benchmark,
      fixed(outcome.seconds, 1),
      outcome.signal ?? String(outcome.exitCode),
      outcome.resultFile,
    ]),
  ),
);
const total = runs.reduce((sum, outcome) => sum + outcome.seconds, 0);
console.log(`\ntotal ${fixed(total, 0)} s`);
const path = writeReport({ ...report, results: { runs } });
console.log(`wrote ${path}`);
if (runs.some((outcome) => outcome.exitCode !== 0)) process.exitCode = 1;
if (updateReadme) {
  console.log('\n===== report =====\n');
  const [exitCode, signal] = await runScript('report', []);
  if (exitCode !== 0) {
    console.log(`report failed (${signal ?? String(exitCode)}): README.md left as it was`);
    process.exitCode = 1;
  }
}

async function run(benchmark: Benchmark, args: string[]): Promise<RunOutcome> {
  const started = performance.now();
  const [exitCode, signal] = await runScript(SCRIPTS[benchmark], args);
  return {
    benchmark,
    args,
    seconds: (performance.now() - started) / 1_000,
    exitCode,
    signal,
    resultFile: join(resultsDirectory(), `${benchmark}.json`),
  };
}

/** Runs a compiled bench script beside this one in its own process; resolves with how it ended. */
async function runScript(name: string, args: string[]): Promise<[number | null, string | null]> {
  const entry = fileURLToPath(new URL(`./${name}.js`, import.meta.url));
  const child = spawn(process.execPath, [entry, ...args], { stdio: 'inherit' });
  const forward = () => child.kill('SIGTERM');
  process.once('SIGINT', forward);
  try {
    return await new Promise<[number | null, string | null]>((resolve) =>
      child.once('exit', (code, killedBy) => resolve([code, killedBy])),
    );
  } finally {
    process.off('SIGINT', forward);
  }
}
