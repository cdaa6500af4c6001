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
import { isAbsolute, join } from 'node:path';
import { format, resolveConfig } from 'prettier';
import { initialRing } from '../control-plane/index.js';
import { BenchFlags } from './lib/bench-args.js';
import {
  figure,
  readLatestResults,
  type FailoverResults,
  type LoadResults,
  type LoadTargetResult,
  type MemoryResultRow,
  type MemoryResults,
  type RingResultRow,
  type RingResults,
  type ResizeResults,
} from './lib/bench-results.js';
import {
  averageSendsPerSecond,
  coresCharged,
  DESIGN_CAPACITY_TARGETS,
  planMemory,
  planThroughput,
  type ThroughputPlan,
} from './lib/capacity-plan.js';
import { binaryBytes, grouped, times, utcTime } from './lib/figure-format.js';
import { markdownTable, replaceSection } from './lib/markdown-section.js';
import { repositoryRoot, resultsDirectory, type BenchReport } from './lib/result-files.js';
import { fixed, percent } from './lib/text-table.js';

const MARKERS = {
  start: '<!-- bench:performance:start -->',
  end: '<!-- bench:performance:end -->',
};
const INSERT_BEFORE_LINE = '## Test';
const BENCHMARKS = ['ring', 'load', 'memory', 'failover', 'resize'] as const;
type Benchmark = (typeof BENCHMARKS)[number];
/** Settings whose flag is not the kebab-case of the setting's name. */
const FLAG_NAME_EXCEPTIONS: Record<string, string> = { zipfExponent: 'zipf-s' };

const flags = BenchFlags.parse(
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
const root = repositoryRoot();
const readmePath = resolveIn(root, flags.string('readme'));
const resultsPath =
  flags.string('results') === '' ? resultsDirectory() : resolveIn(root, flags.string('results'));
const results = readLatestResults(resultsPath);
const defaultVirtualNodes = initialRing([]).virtualNodesPerWeight;

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
    memorySection(results.memory),
    failoverSection(results.failover),
    resizeSection(results.resize),
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

function provenanceSection(): string {
  const reports = BENCHMARKS.flatMap((name) => {
    const report = results[name];
    return report === undefined ? [] : [{ name, report: report as BenchReport<unknown> }];
  });
  const first = reports.map(({ report }) => report.startedAt).sort()[0] ?? '';
  const last =
    reports
      .map(({ report }) => report.finishedAt)
      .sort()
      .at(-1) ?? '';
  const machines = new Set(reports.map(({ report }) => machineText(report)));
  const loads = reports.map(({ report }) => report.machine.loadAverage1m / report.machine.cores);
  const loaded = reports.filter(
    ({ report }) => report.machine.loadAverage1m > report.machine.cores,
  );
  const profile = String(results.runAll?.settings.profile ?? 'short');
  const fromRunAll = reports.filter(({ name, report }) => ranInRunAll(name, report));

  const lines = [
    '_Generated by `bench/report.ts` from the latest `bench/results/*.json`: every figure in this section is computed from those files, none is typed by hand. Change the report, not this text._',
    `Figures from runs between ${utcTime(first)} and ${utcTime(last)}, on ${[...machines].join('; ')}.`,
  ];
  const commands: string[] = [];
  if (fromRunAll.length > 0)
    commands.push(
      `${profile === 'long' ? 'npm run bench:long' : 'npm run bench'}    # node dist-bench/bench/run-all.js --profile ${profile}, which ran:`,
    );
  for (const { name, report } of reports) {
    const viaRunAll = ranInRunAll(name, report);
    commands.push(
      `node dist-bench/bench/${name}.js ${argumentsOf(name, report).join(' ')}${viaRunAll ? '' : `    # separately, ${utcTime(report.startedAt)}`}`.trimEnd(),
    );
  }
  commands.push('npm run bench:report   # this section (run-all runs it at the end)');
  lines.push(['```sh', ...commands, '```'].join('\n'));
  lines.push(
    markdownTable(
      ['benchmark', 'started', 'cores', '1-min load average', 'load per core'],
      reports.map(({ name, report }) => [
        name,
        utcTime(report.startedAt),
        String(report.machine.cores),
        fixed(report.machine.loadAverage1m, 2),
        fixed(report.machine.loadAverage1m / report.machine.cores, 2),
      ]),
      ['left', 'left', 'right', 'right', 'right'],
    ),
  );
  if (loaded.length > 0) {
    const loadRange = `${fixed(Math.min(...loaded.map(({ report }) => report.machine.loadAverage1m)), 2)}–${fixed(Math.max(...loaded.map(({ report }) => report.machine.loadAverage1m)), 2)}`;
    const perCoreRange = `${fixed(Math.min(...loads), 1)}–${fixed(Math.max(...loads), 1)}`;
    lines.push(
      `> **The machine was loaded.** When ${loaded.length === reports.length ? 'each benchmark' : loaded.map(({ name }) => name).join(', ')} started, the 1-minute load average was ${loadRange}, ${perCoreRange} runnable tasks per core: other work shared the CPU, so every timing here measures it as much as chatring. Read throughputs as lower bounds and latencies as upper bounds for this CPU.${profile === 'short' ? ' These are short-profile runs, for checking; bench/README.md asks for `npm run bench:long` on a quiet machine for figures to quote.' : ''}`,
    );
  } else {
    lines.push(
      `The machine was quiet: the 1-minute load average stayed at or below the core count (at most ${fixed(Math.max(...loads), 2)} per core) when each benchmark started.`,
    );
  }
  return lines.join('\n\n');
}

function machineText(report: BenchReport<unknown>): string {
  const m = report.machine;
  return `${m.cpuModel}, ${m.cores} cores, ${binaryBytes(m.totalMemoryBytes)}, Node ${m.nodeVersion}, ${m.platform} ${m.arch}`;
}

/** The benchmark's result was written by the latest run-all (inside its time span, exit 0). */
function ranInRunAll(name: Benchmark, report: BenchReport<unknown>): boolean {
  const runAll = results.runAll;
  if (runAll === undefined) return false;
  const run = runAll.results.runs.find((candidate) => candidate.benchmark === name);
  return (
    run !== undefined &&
    run.exitCode === 0 &&
    report.startedAt >= runAll.startedAt &&
    report.finishedAt <= runAll.finishedAt
  );
}

/**
 * The flags a result came from: run-all's own argument list when run-all produced it, otherwise
 * every recorded setting turned back into its flag (the benchmarks record all of them).
 */
function argumentsOf(name: Benchmark, report: BenchReport<unknown>): string[] {
  const run = results.runAll?.results.runs.find((candidate) => candidate.benchmark === name);
  if (run !== undefined && ranInRunAll(name, report)) return run.args;
  const args: string[] = [];
  for (const [key, value] of Object.entries(report.settings)) {
    const text = settingText(value);
    if (text === undefined || text === '') continue;
    const flag = FLAG_NAME_EXCEPTIONS[key] ?? key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
    args.push(`--${flag}`, /^[\w.,:/-]+$/.test(text) ? text : `'${text}'`);
  }
  return args;
}

function settingText(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (Array.isArray(value)) return value.join(',');
  if (typeof value === 'object')
    return Object.entries(value as Record<string, unknown>)
      .map(([key, weight]) => `${key}:${String(weight)}`)
      .join(',');
  return String(value);
}

// ---------------------------------------------------------------------------------------------
// ring

const ALGORITHM_LABELS: Record<RingResultRow['algorithm'], string> = {
  ringview: '`RingView` (chatring)',
  'hashring-plain': '`hashring` defaults (baseline)',
  jump: 'jump consistent hash',
  rendezvous: 'rendezvous (HRW)',
};

function ringSection(report: BenchReport<RingResults> | undefined): string {
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
function ringHeadroomOf(
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

const TARGET_LABELS: Record<string, string> = {
  router: 'router (chatring)',
  direct: 'direct to owner',
  baseline: 'baseline: no cache',
  cassandra: 'router on Cassandra',
};

function measuredTargets(report: BenchReport<LoadResults>): LoadTargetResult[] {
  return report.results.targets.filter((target) => target.skipped === undefined);
}

function loadSection(report: BenchReport<LoadResults> | undefined): string {
  if (report === undefined) return '### Load\n\nNo load result yet: `npm run bench:load`.';
  const s = report.settings;
  const targets = measuredTargets(report);
  const baseline = targets.find((target) => target.target === 'baseline');
  const rows = targets.map((target) => {
    const all = target.byOperation.all;
    const send = target.byOperation.send;
    const errors = target.byOperation.all?.errors ?? 0;
    return [
      TARGET_LABELS[target.target] ?? target.target,
      grouped(figure(target.throughputOpsPerSecond, `load ${target.target} ops/s`)),
      baseline === undefined
        ? 'n/a'
        : times(target.throughputOpsPerSecond / baseline.throughputOpsPerSecond),
      fixed(all?.p50Ms ?? Number.NaN, 1),
      fixed(all?.p99Ms ?? Number.NaN, 1),
      grouped(send?.opsPerSecond ?? Number.NaN),
      fixed(send?.p50Ms ?? Number.NaN, 1),
      fixed(send?.p99Ms ?? Number.NaN, 1),
      target.cache === undefined
        ? '—'
        : target.cache.hitRatio === null
          ? 'n/a'
          : percent(target.cache.hitRatio, 1),
      target.cpuCores === undefined ? 'not measured' : fixed(target.cpuCores, 2),
      grouped(errors),
    ];
  });
  const skipped = report.results.targets
    .filter((target) => target.skipped !== undefined)
    .map((target) => `\`${target.target}\` ${target.skipped ?? ''}`);
  return [
    '### Load: closed loop on the public API',
    `${String(s.concurrency)} closed-loop workers, ${String(s.warmupS)} s warm-up then ${String(s.durationS)} s measured per target; ${grouped(Number(s.users))} users (Zipf s=${String(s.zipfExponent)}), ${String(s.contacts)} contacts each, mix ${settingText(s.mix) ?? '?'} (${fixed(readsPerSend(report), 2)} reads per send), ${String(s.contentBytes)}-byte messages; the cluster is ${String(s.nodes)} nodes plus a standby on the embedded store, and load generator, router, nodes and baseline all share this machine. Latency in ms; cache hit = mailbox hits over hits + misses on the nodes; CPU cores = CPU seconds (user + system, from \`/proc\`) of the system under test in the measured window ÷ the window — the launcher and every process under it (router, nodes, standby) for the cluster targets, the server process for the baseline; the load generator is not counted${loadGeneratorText(targets)}.`,
    markdownTable(
      [
        'target',
        'ops/s',
        '× baseline',
        'p50',
        'p99',
        'sends/s',
        'send p50',
        'send p99',
        'cache hit',
        'CPU cores',
        'errors',
      ],
      rows,
      [
        'left',
        'right',
        'right',
        'right',
        'right',
        'right',
        'right',
        'right',
        'right',
        'right',
        'right',
      ],
    ),
    ...(skipped.length === 0 ? [] : [`Not measured: ${skipped.join('; ')}.`]),
  ].join('\n\n');
}

/** The load generator's own CPU cores in the measured windows, when recorded. */
function loadGeneratorText(targets: LoadTargetResult[]): string {
  const cores = targets
    .filter((target) => target.loadGeneratorCpuSeconds !== undefined && target.measuredSeconds > 0)
    .map((target) => (target.loadGeneratorCpuSeconds ?? 0) / target.measuredSeconds);
  if (cores.length === 0) return '';
  return ` (it kept ${fixed(Math.min(...cores), 2)}–${fixed(Math.max(...cores), 2)} cores busy itself)`;
}

function readsPerSend(report: BenchReport<LoadResults>): number {
  const mix = report.settings.mix as Record<string, number> | undefined;
  const send = mix?.send ?? Number.NaN;
  return ((mix?.conversations ?? 0) + (mix?.messages ?? 0)) / send;
}

// ---------------------------------------------------------------------------------------------
// memory

function memorySection(report: BenchReport<MemoryResults> | undefined): string {
  if (report === undefined) return '### Memory\n\nNo memory result yet: `npm run bench:memory`.';
  const rows = report.results.rows;
  const first = rows[0];
  const perUser = first === undefined ? 0 : first.messages / first.users;
  return [
    '### Memory: heap per cached message and user',
    `A real \`MailboxCache\` filled in one process: ${grouped(first?.users ?? Number.NaN)} users × ${grouped(first?.conversations ?? Number.NaN)} conversations × ${grouped(perUser)} messages, heap measured after full GCs, against the payload (content bytes, the message as JSON) and the cache's own byte estimate (what \`--cache-bytes-max\` budgets).`,
    markdownTable(
      [
        'content',
        'charset',
        'heap per message',
        'JSON per message',
        'heap ÷ JSON',
        'heap per user',
        'heap ÷ cache estimate',
        'messages per GiB',
      ],
      rows.map((row) => [
        `${grouped(row.contentBytes)} B`,
        row.charset,
        `${grouped(figure(row.heapPerMessageBytes, 'memory heapPerMessageBytes'))} B`,
        `${grouped(row.rawJsonBytes)} B`,
        times(row.heapOverJson),
        `${grouped(figure(row.heapPerUserBytes, 'memory heapPerUserBytes'))} B`,
        times(row.heapOverEstimate),
        grouped(row.messagesPerGiB),
      ]),
      ['right', 'left', 'right', 'right', 'right', 'right', 'right', 'right'],
    ),
  ].join('\n\n');
}

// ---------------------------------------------------------------------------------------------
// failover

function failoverSection(report: BenchReport<FailoverResults> | undefined): string {
  if (report === undefined)
    return '### Failover\n\nNo failover result yet: `npm run bench:failover`.';
  const s = report.settings;
  const scenarios = report.results.scenarios;
  const acknowledged = scenarios.reduce((sum, run) => sum + run.verification.acknowledged, 0);
  const lost = scenarios.reduce((sum, run) => sum + run.verification.lost, 0);
  const rows = scenarios.map((run) => {
    const windows = [run.window.beforeKill, run.window.outage, run.window.afterRecovery];
    const errors = windows.reduce(
      (sum, window) => sum + window.affected.errors + window.unaffected.errors,
      0,
    );
    const v = run.verification;
    return [
      run.scenario,
      run.outcome,
      run.firstAffectedSuccessAfterKillMs === undefined
        ? 'never'
        : grouped(run.firstAffectedSuccessAfterKillMs),
      run.probeFirstSuccessAfterKillMs === undefined
        ? 'never'
        : grouped(run.probeFirstSuccessAfterKillMs),
      grouped(run.window.outage.affected.p50Ms),
      `${fixed(run.window.beforeKill.unaffected.p99Ms, 0)} → ${fixed(run.window.outage.unaffected.p99Ms, 0)}`,
      grouped(errors),
      grouped(v.acknowledged),
      grouped(v.lost),
      `${grouped(v.duplicated)} / ${grouped(v.copyMismatches)} / ${grouped(v.orderViolations)}`,
    ];
  });
  const victim = scenarios[0]?.victim;
  return [
    '### Failover: kill -9 of an owner under load',
    `${String(s.nodes)} nodes plus a standby, ${String(s.workers)} workers (${String(s.thinkMs)} ms think time) on ${String(s.pairs)} conversations; \`${victim?.nodeId ?? '?'}\` (owner of ${victim?.slots.join(', ') ?? '?'}) killed with SIGKILL after ${String(s.beforeKillS)} s. restart: the launcher restarts it; promotion: it stays dead and the standby takes its slot after the lease. Recovery = ms from the kill to the first successful request for a victim-owned user (load / probe); the router retries inside its budget, so the outage shows as latency, not errors. Afterwards every conversation is read back by both participants.`,
    markdownTable(
      [
        'scenario',
        'outcome',
        'recovery ms (load)',
        'recovery ms (probe)',
        'affected p50 in outage, ms',
        'unaffected p99 before → outage, ms',
        'errors',
        'acknowledged',
        'lost',
        'duplicated / copies differ / out of order',
      ],
      rows,
      ['left', 'left', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right'],
    ),
    `Acknowledged sends lost: ${grouped(lost)} of ${grouped(acknowledged)}${lost === 0 ? '' : ' — **an invariant violation**'}.`,
  ].join('\n\n');
}

function resizeSection(report: BenchReport<ResizeResults> | undefined): string {
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

interface PlanInputs {
  load: BenchReport<LoadResults>;
  plans: { target: LoadTargetResult; plan: ThroughputPlan }[];
  router: ThroughputPlan | undefined;
}

function throughputPlans(headroom: number): PlanInputs | undefined {
  const load = results.load;
  if (load === undefined) return undefined;
  const plans = measuredTargets(load).map((target) => {
    const charged = coresCharged(target.cpuCores, load.machine.cores);
    return {
      target,
      plan: planThroughput(
        {
          target: target.target,
          sendsPerSecond: figure(
            target.byOperation.send?.opsPerSecond,
            `load ${target.target} sends/s`,
          ),
          operationsPerSecond: target.throughputOpsPerSecond,
          coresCharged: charged.cores,
          coresBasis: charged.basis,
        },
        DESIGN_CAPACITY_TARGETS,
        headroom,
      ),
    };
  });
  return { load, plans, router: plans.find(({ target }) => target.target === 'router')?.plan };
}

/** The memory row the plan uses: ASCII at the smallest measured size ≥ the load bench's messages. */
function memoryRowForPlan(): MemoryResultRow | undefined {
  const rows = results.memory?.results.rows ?? [];
  const size = Number(results.load?.settings.contentBytes ?? 0);
  const ascii = rows
    .filter((row) => row.charset === 'ascii')
    .sort((a, b) => a.contentBytes - b.contentBytes);
  const pool = ascii.length > 0 ? ascii : [...rows].sort((a, b) => a.contentBytes - b.contentBytes);
  return pool.find((row) => row.contentBytes >= size) ?? pool.at(-1);
}

function capacitySection(ringHeadroom: { maxOverMean: number; slots: number } | undefined): string {
  const t = DESIGN_CAPACITY_TARGETS;
  const average = averageSendsPerSecond(t);
  const headroom = ringHeadroom?.maxOverMean ?? 1;
  const inputs = throughputPlans(headroom);
  const lines = [
    `### Capacity plan: ${grouped(t.sendsPerDay / 1e9)} B sends a day`,
    `Targets (the design brief, the only constants here): ${grouped(t.sendsPerDay)} sends a day = ${grouped(average)} sends/s on average and ${grouped(t.peakSendsPerSecond)} sends/s at peak (${times(t.peakSendsPerSecond / average, 1)} the average); each send is ${grouped(t.mailboxCommitsPerSend)} mailbox commits (sender's and recipient's copy), so ${grouped(average * t.mailboxCommitsPerSend)} commits/s on average and ${grouped(t.peakSendsPerSecond * t.mailboxCommitsPerSend)} at peak.`,
  ];
  if (inputs === undefined) {
    lines.push('No load result: no throughput plan (`npm run bench:load`).');
  } else {
    const { load, plans } = inputs;
    const cores = load.machine.cores;
    const byCpu = plans.filter(({ plan }) => plan.coresBasis === 'cpu-time');
    const byMachine = plans.filter(({ plan }) => plan.coresBasis === 'machine');
    const names = (list: typeof plans) =>
      list.map(({ target }) => TARGET_LABELS[target.target] ?? target.target).join(', ');
    const basisText = [
      byCpu.length === 0
        ? ''
        : `${byMachine.length === 0 ? 'Each target' : names(byCpu)} is charged with the cores it actually used: the CPU seconds (user + system) of its own processes over the measured window ÷ the window (the load table's CPU cores) — for the cluster, the launcher and every process under it (router, ${String(load.settings.nodes)} nodes, standby); for the baseline, its server. The load generator's CPU is not charged.${byCpu.some(({ target }) => (target.cpuProcessesExited ?? 0) > 0) ? ' Some processes exited inside the window: their CPU is not counted, so those figures are over-stated per core.' : ''} On ${fixed(load.machine.loadAverage1m, 2)} load average for ${grouped(cores)} cores at the start, that CPU time was spent on shared, contended cores, so it is this CPU under this load, not a quiet core.`,
      byMachine.length === 0
        ? ''
        : `${byCpu.length === 0 ? 'Each target' : names(byMachine)} has no measured CPU time (no \`/proc\`, or an older result), so it is charged with all ${grouped(cores)} of the machine's cores, although the load generator and other work (load average ${fixed(load.machine.loadAverage1m, 2)} at the start) used some of them: that under-states the per-core figure, i.e. over-states the cores needed.`,
    ]
      .filter((part) => part !== '')
      .join(' ');
    lines.push(
      `**Per-core send throughput** = sends/s measured in the load bench ÷ cores charged. ${basisText} The sends ran in the mix, with ${fixed(readsPerSend(load), 2)} reads per send on the same cores, so the figure is "sends per core with the measured reads riding along". ${ringHeadroom === undefined ? 'No ring result at the default virtual nodes: no balance headroom applied.' : `With equal nodes every node must carry the fullest slot: at ${defaultVirtualNodes} vnodes on ${grouped(ringHeadroom.slots)} slots (the most measured) it holds ${times(ringHeadroom.maxOverMean, 3)} the mean, the last column's headroom.`}`,
    );
    lines.push(
      markdownTable(
        [
          'target',
          'sends/s measured',
          'cores charged',
          'sends/s per core',
          'commits/s per core',
          `cores for ${grouped(average)} sends/s`,
          `cores for ${grouped(t.peakSendsPerSecond)} sends/s`,
          `peak × ${fixed(headroom, 3)} headroom`,
        ],
        plans.map(({ target, plan }) => [
          TARGET_LABELS[target.target] ?? target.target,
          grouped(target.byOperation.send?.opsPerSecond ?? Number.NaN, 1),
          plan.coresBasis === 'cpu-time'
            ? `${fixed(plan.coresCharged, 2)} used`
            : `${grouped(plan.coresCharged)} (all)`,
          grouped(plan.sendsPerSecondPerCore, 1),
          grouped(plan.mailboxCommitsPerSecondPerCore, 1),
          grouped(plan.coresForAverage),
          grouped(plan.coresForPeak),
          grouped(plan.coresForPeakWithRingHeadroom),
        ]),
        ['left', 'right', 'right', 'right', 'right', 'right', 'right', 'right'],
      ),
    );
  }
  lines.push(memoryPlanText(inputs?.router));
  return lines.join('\n\n');
}

function memoryPlanText(router: ThroughputPlan | undefined): string {
  const t = DESIGN_CAPACITY_TARGETS;
  const memory = results.memory;
  const chosen = memoryRowForPlan();
  if (memory === undefined || chosen === undefined)
    return 'No memory result: no hot-set plan (`npm run bench:memory`).';
  const plan = planMemory(chosen, t);
  const loadSize = results.load?.settings.contentBytes;
  const sizes = [...memory.results.rows]
    .filter((row) => row.charset === chosen.charset)
    .sort((a, b) => a.contentBytes - b.contentBytes);
  const rows = sizes.map((row) => {
    const sized = planMemory(row, t);
    return [
      `${grouped(row.contentBytes)} B ${row.charset}${row === chosen ? ' (plan)' : ''}`,
      `${grouped(row.heapPerMessageBytes)} B`,
      binaryBytes(sized.messageBytes),
      binaryBytes(sized.mailboxBytes),
      binaryBytes(sized.totalBytes),
      router === undefined
        ? 'n/a'
        : binaryBytes(sized.totalBytes / router.coresForPeakWithRingHeadroom),
    ];
  });
  const worst = [...memory.results.rows].sort((a, b) => b.heapOverEstimate - a.heapOverEstimate)[0];
  return [
    `**Memory for the hot set.** Working-set assumption: the cache holds every message sent in the last ${t.hotMessageDays === 1 ? 'day' : `${grouped(t.hotMessageDays)} days`} in both mailboxes (${grouped(plan.hotMessageCopies)} message copies, ${grouped(plan.hotMessageCopiesPerUser, 1)} per user), plus one cached mailbox for each of the design's ${grouped(t.users)} users, all counted as active in a day (an upper bound). Heap per message and per user (with ${grouped(chosen.conversations)} conversations) come from the memory bench; the plan row is ${chosen.charset} at ${loadSize === undefined ? 'the smallest measured size (no load result to match)' : `the smallest measured size not below the load bench's ${String(loadSize)}-byte messages`}.`,
    markdownTable(
      [
        'content',
        'heap per message',
        'message copies',
        'mailboxes',
        'hot set',
        router === undefined
          ? 'per core at peak'
          : `per core, ${grouped(router.coresForPeakWithRingHeadroom)} router cores`,
      ],
      rows,
      ['left', 'right', 'right', 'right', 'right', 'right'],
    ),
    worst === undefined
      ? ''
      : `The cache budgets by its own estimate; the real heap is up to ${times(worst.heapOverEstimate)} of it (${grouped(worst.contentBytes)} B ${worst.charset}), so a node's heap can exceed \`--cache-bytes-max\` by that factor before V8's own overhead.`,
  ]
    .filter((part) => part !== '')
    .join('\n\n');
}

// ---------------------------------------------------------------------------------------------
// what the figures do not support

function limitsSection(ringHeadroom: { maxOverMean: number; slots: number } | undefined): string {
  const load = results.load;
  const bullets: string[] = [];
  if (load !== undefined) {
    const router = measuredTargets(load).find((target) => target.target === 'router');
    const cassandra = measuredTargets(load).find((target) => target.target === 'cassandra');
    const sends = router?.byOperation.send?.opsPerSecond;
    bullets.push(
      `**Send throughput here is a store figure, not a cache-tier one.** On the embedded store all ${String(load.settings.nodes)} nodes of the local cluster commit to one SQLite file: one writer at a time, \`synchronous=FULL\`, an fsync per commit.${sends === undefined ? '' : ` The ${grouped(sends, 1)} sends/s (${grouped(sends * DESIGN_CAPACITY_TARGETS.mailboxCommitsPerSend, 1)} commits/s) through the router are that file's commit rate shared by the nodes.`} It does not grow with nodes or cores, so the cores above are what this configuration would need, not a forecast for chatring on Cassandra, where each user's partition lives on its own replicas and writes spread over the store's nodes. ${cassandra === undefined ? 'No Cassandra target ran (CASSANDRA_CONTACT_POINTS unset).' : `The Cassandra target (${grouped(cassandra.byOperation.send?.opsPerSecond ?? Number.NaN, 1)} sends/s) ran one local Cassandra on the same cores without fsync (\`skip_sync\`): neither durability-equivalent nor a cluster figure.`} The plan also leaves out the store's own cores and disks.`,
    );
    bullets.push(
      `**${load.machine.loadAverage1m > load.machine.cores ? 'A loaded' : 'One'} ${grouped(load.machine.cores)}-core box.** The load figures come from ${load.machine.cpuModel} with ${grouped(load.machine.cores)} cores and a 1-minute load average of ${fixed(load.machine.loadAverage1m, 2)} (${fixed(load.machine.loadAverage1m / load.machine.cores, 1)} per core) at the start, shared by the load generator, router, ${String(load.settings.nodes)} nodes, the standby and other work. ${measuredTargets(load).every((target) => target.cpuCores !== undefined) ? 'The per-core figures divide by the CPU time each target itself used, so the load generator is not charged; but that time ran on shared cores (contention, cache and frequency effects), so they describe this CPU under this load' : 'Where CPU time was not measured, each target is charged with every core: those per-core figures are lower bounds for this CPU and the core counts upper bounds'}; they say nothing about a quiet server-class host.`,
    );
    bullets.push(
      `**Scaling is extrapolated, not measured.** The load bench ran ${String(load.settings.nodes)} nodes on one host for ${String(load.settings.durationS)} s per target; the plan assumes sends/s grow linearly with cores to the thousands.${ringHeadroom === undefined ? '' : ` Ring balance was measured up to ${grouped(ringHeadroom.slots)} slots; a fleet of thousands of cores has far more slots, and the fullest slot's headroom at that size is not measured.`}`,
    );
  }
  const shortRun = BENCHMARKS.some((name) => {
    const report = results[name];
    return (
      report !== undefined &&
      ranInRunAll(name, report) &&
      results.runAll?.settings.profile === 'short'
    );
  });
  if (shortRun)
    bullets.push(
      `**Short profile.**${load === undefined ? '' : ` ${String(load.settings.durationS)} s per target and ${grouped(Number(load.settings.users))} users in the load bench.`} Warm-up and noise weigh heavily. Quote \`npm run bench:long\` from a quiet machine (bench/README.md).`,
    );
  bullets.push(
    '**Memory is the heap of the cached objects** in one process: it leaves out V8 and GC headroom, the process baseline, sockets and buffers. The working set (one day of messages, every user active) is an assumption, not a measurement of real traffic.',
    '**Failover** is one SIGKILL of one node process on one host, with the launcher defaults; network partitions, slow disks and control-plane outages are not measured here.',
  );
  return [
    '### What these figures do not support',
    bullets.map((bullet) => `- ${bullet}`).join('\n'),
  ].join('\n\n');
}

function resolveIn(base: string, path: string): string {
  return isAbsolute(path) ? path : join(base, path);
}

// Last, so that every module-level constant above is initialised before it runs.
await main();
