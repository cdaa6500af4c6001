/**
 * The capacity plan for the design's targets, from the measured per-core figures of the Cassandra
 * targets (bench/lib/capacity-plan.ts): for each, the tier's cores (chatring's processes) and the
 * store's (the Cassandra JVM's measured CPU) apart and added up.
 */
import {
  figure,
  type LoadResults,
  type LoadTargetResult,
  type MemoryResultRow,
} from '../lib/bench-results.js';
import {
  averageSendsPerSecond,
  coresCharged,
  DESIGN_CAPACITY_TARGETS,
  planMemory,
  planThroughput,
  type PartPlan,
  type ThroughputPlan,
} from '../lib/capacity-plan.js';
import { binaryBytes, grouped, times } from '../lib/figure-format.js';
import { markdownTable } from '../lib/markdown-section.js';
import { type BenchReport } from '../lib/result-files.js';
import { fixed, percent } from '../lib/text-table.js';
import { targetLabel, targetSpec, type TargetPath } from '../lib/load-target-catalogue.js';
import { measuredTargets, mixText, readsPerSend, storeOf } from './load-section.js';
import { defaultVirtualNodes, results } from './report-context.js';

/**
 * The targets the plan is derived from, in this order: on Cassandra, the production store. The
 * router is the plan; the ring-aware client (when measured) the same tier without the router hop;
 * the stateless app (no cache) what the same sends would cost without chatring. The embedded
 * targets are left out: their sends are one SQLite file's commit rate, shared by every node
 * (bench/README.md, "For capacity planning").
 */
const PLAN_PATHS: readonly { path: TargetPath; tier: string }[] = [
  { path: 'router', tier: 'tier: router + nodes' },
  { path: 'client-direct', tier: 'tier: nodes (client not charged)' },
  { path: 'baseline', tier: 'tier: app server' },
];

export interface PlanInputs {
  load: BenchReport<LoadResults>;
  plans: { target: LoadTargetResult; plan: ThroughputPlan; tier: string }[];
  /** router on Cassandra's plan: the primary figure (the memory plan divides by its tier cores). */
  router: ThroughputPlan | undefined;
}

/** The result the plan reads: the write-mix run when there is one (`sends`), else `load`. */
function planResult(): BenchReport<LoadResults> | undefined {
  return results.sends ?? results.load;
}

/** The Cassandra targets that ran sends, in PLAN_PATHS order. */
function planTargets(load: BenchReport<LoadResults>): { target: LoadTargetResult; tier: string }[] {
  const withSends = measuredTargets(load).filter(
    (target) => storeOf(target) === 'cassandra' && (target.byOperation.send?.ok ?? 0) > 0,
  );
  return PLAN_PATHS.flatMap(({ path, tier }) => {
    const target = withSends.find(
      (candidate) => (candidate.path ?? targetSpec(candidate.target)?.path) === path,
    );
    return target === undefined ? [] : [{ target, tier }];
  });
}

export function throughputPlans(headroom: number): PlanInputs | undefined {
  const load = planResult();
  if (load === undefined) return undefined;
  const chosen = planTargets(load);
  if (chosen.length === 0) return undefined;
  const plans = chosen.map(({ target, tier }) => {
    const charged = coresCharged(target.cpuCores, load.machine.cores);
    return {
      target,
      tier,
      plan: planThroughput(
        {
          target: target.target,
          sendsPerSecond: figure(
            target.byOperation.send?.opsPerSecond,
            `load ${target.target} sends/s`,
          ),
          operationsPerSecond: target.throughputOpsPerSecond,
          tierCores: charged.cores,
          tierBasis: charged.basis,
          // Only a measured figure: the tier's fallback to every core does not apply to the store.
          storeCores: charged.basis === 'cpu-time' ? target.storeCpuCores : undefined,
        },
        DESIGN_CAPACITY_TARGETS,
        headroom,
      ),
    };
  });
  return {
    load,
    plans,
    router: plans.find(
      ({ target }) => (target.path ?? targetSpec(target.target)?.path) === 'router',
    )?.plan,
  };
}

/** The memory row the plan uses: ASCII at the smallest measured size ≥ the load bench's messages. */
export function memoryRowForPlan(): MemoryResultRow | undefined {
  const rows = results.memory?.results.rows ?? [];
  const size = Number(planResult()?.settings.contentBytes ?? 0);
  const ascii = rows
    .filter((row) => row.charset === 'ascii')
    .sort((a, b) => a.contentBytes - b.contentBytes);
  const pool = ascii.length > 0 ? ascii : [...rows].sort((a, b) => a.contentBytes - b.contentBytes);
  return pool.find((row) => row.contentBytes >= size) ?? pool.at(-1);
}

export function capacitySection(
  ringHeadroom: { maxOverMean: number; slots: number } | undefined,
): string {
  const t = DESIGN_CAPACITY_TARGETS;
  const average = averageSendsPerSecond(t);
  const headroom = ringHeadroom?.maxOverMean ?? 1;
  const inputs = throughputPlans(headroom);
  const lines = [
    `### Capacity plan: ${grouped(t.sendsPerDay / 1e9)} B sends a day`,
    `Targets (the design brief, the only constants here): ${grouped(t.sendsPerDay)} sends a day = ${grouped(average)} sends/s on average and ${grouped(t.peakSendsPerSecond)} sends/s at peak (${times(t.peakSendsPerSecond / average, 1)} the average); each send is ${grouped(t.mailboxCommitsPerSend)} mailbox commits (sender's and recipient's copy), so ${grouped(average * t.mailboxCommitsPerSend)} commits/s on average and ${grouped(t.peakSendsPerSecond * t.mailboxCommitsPerSend)} at peak.`,
  ];
  if (inputs === undefined) lines.push(noPlanText());
  else lines.push(...throughputPlanText(inputs, ringHeadroom));
  lines.push(memoryPlanText(inputs?.router));
  return lines.join('\n\n');
}

/** Why there is no throughput plan, and what to run for one. */
function noPlanText(): string {
  const load = planResult();
  if (load === undefined) return 'No load result: no throughput plan (`npm run bench:load`).';
  const sends = measuredTargets(load).some((target) => (target.byOperation.send?.ok ?? 0) > 0);
  if (!sends)
    return `No send throughput plan: the load run's mix (${mixText(load.settings.mix)}) has no sends — it compares the read path (issue 11) — and there is no sends result. For sends per core, run \`npm run bench -- --only sends\`.`;
  const cassandra = load.results.targets.filter((target) => storeOf(target) === 'cassandra');
  const skipped = cassandra.filter((target) => target.skipped !== undefined);
  return `No send throughput plan: the plan is derived from the Cassandra targets (the production store), and none of them ran sends in this result${skipped.length === 0 ? ' (none was in `--targets`)' : ` (${skipped.map((target) => `\`${target.target}\` ${target.skipped ?? ''}`).join('; ')})`}. The embedded-store figures in the sends table are one SQLite file's commit rate, not a plan.`;
}

/** The plan's explanation, its table and what the totals say. */
function throughputPlanText(
  inputs: PlanInputs,
  ringHeadroom: { maxOverMean: number; slots: number } | undefined,
): string[] {
  const t = DESIGN_CAPACITY_TARGETS;
  const average = averageSendsPerSecond(t);
  const headroom = ringHeadroom?.maxOverMean ?? 1;
  const { load, plans } = inputs;
  const s = load.settings;
  const cores = load.machine.cores;
  const names = (list: typeof plans) =>
    list.map(({ target }) => `\`${targetLabel(target.target)}\``).join(', ');
  const byMachine = plans.filter(({ plan }) => plan.tierBasis === 'machine');
  const noStore = plans.filter(({ plan }) => plan.store === undefined);
  const missingPaths = PLAN_PATHS.filter(
    ({ path }) =>
      !plans.some(({ target }) => (target.path ?? targetSpec(target.target)?.path) === path),
  ).map(({ path }) => `\`${path}-cassandra\``);
  const exited = plans.some(({ target }) => (target.cpuProcessesExited ?? 0) > 0);
  const cpu = load.results.cassandra?.cpu;
  const derivation = `**Derived from the Cassandra targets**, the production store: ${names(plans)}${missingPaths.length === 0 ? '' : ` (${missingPaths.join(', ')} did not run with sends in this result)`}. The router on Cassandra is the plan; the ring-aware client is the same tier without the router hop (the client's own CPU runs in the application and is not charged); the stateless app on Cassandra (no cache) is what the same sends cost without chatring. The embedded-store targets are left out: all their nodes commit to one SQLite file, so their send rate is that file's, not a deployment's (they are in the sends table above).`;
  const reads = readsPerSend(load);
  const mix = `**Mix:** \`${mixText(s.mix)}\`: ${reads > 0 ? `${fixed(reads, 2)} reads per send ride along on the same cores, so every figure is "sends per core with the measured reads riding along"` : 'sends only, no reads riding along'}. Measured with ${String(s.concurrency)} closed-loop workers, ${grouped(Number(s.users))} users (Zipf s=${String(s.zipfExponent)}), ${String(s.contacts)} contacts each, pageSize ${String(s.pageSize)}, ${String(s.contentBytes)}-byte messages, ${String(s.durationS)} s measured per target${s.prewarm === false ? '' : ' after a pre-warm of every mailbox'}.`;
  const parts = `**Two parts per target, measured over the same window.** The tier: the CPU seconds (user + system, \`/proc\`) of its own processes ÷ the window — for the cluster, the launcher and every process under it (router, ${String(s.nodes)} nodes, standby); for the stateless app, its server.${byMachine.length === 0 ? '' : ` ${names(byMachine)} has no measured CPU time (no \`/proc\`, or an older result), so its tier is charged with all ${grouped(cores)} of the machine's cores: that over-states the cores needed.`}${exited ? ' Some processes exited inside a window: their CPU is not counted, so those tier figures are over-stated per core.' : ''} The store: the Cassandra JVM's own CPU seconds over that window ÷ the window${cpu !== undefined && 'scope' in cpu ? ` (${cpu.scope})` : ''}, measured, not estimated; Cassandra's background work in the window (compaction, flushes, gossip, GC) is in it, charged to the target that ran then.${noStore.length === 0 ? '' : ` Not measured for ${names(noStore)}: ${[...new Set(noStore.map(({ target }) => target.storeCpuNotMeasured ?? 'a result from before Cassandra’s CPU was measured'))].join('; ')} — those rows have no store cores and no total.`} The load generator's CPU is charged to neither. On ${fixed(load.machine.loadAverage1m, 2)} load average for ${grouped(cores)} cores at the start, all of it ran on shared, contended cores: this CPU under this load, not a quiet core.`;
  const fullest =
    ringHeadroom === undefined
      ? 'No ring result at the default virtual nodes: no balance headroom applied.'
      : `**Fullest node.** With equal nodes every tier node must carry the fullest slot: at ${defaultVirtualNodes} vnodes on ${grouped(ringHeadroom.slots)} slots (the most measured) it holds ${times(ringHeadroom.maxOverMean, 3)} the mean, so the last column multiplies the tier's peak by that. The store's peak is not: Cassandra places partitions by its own token ring, whose balance is not measured here.`;
  const cell = (part: PartPlan | undefined, value: (part: PartPlan) => string) =>
    part === undefined ? 'not measured' : value(part);
  const rows = plans.flatMap(({ target, plan, tier }) => {
    const sends = grouped(target.byOperation.send?.opsPerSecond ?? Number.NaN, 1);
    const row = (label: string, part: PartPlan | undefined, used: (part: PartPlan) => string) => [
      targetLabel(target.target),
      sends,
      label,
      cell(part, used),
      cell(part, (p) => grouped(p.sendsPerSecondPerCore, 1)),
      cell(part, (p) => grouped(p.cores.average)),
      cell(part, (p) => grouped(p.cores.peak)),
      cell(part, (p) => grouped(p.cores.peakFullestNode)),
    ];
    return [
      row(tier, plan.tier, (p) =>
        plan.tierBasis === 'cpu-time' ? fixed(p.coresUsed, 2) : `${grouped(p.coresUsed)} (all)`,
      ),
      row('store: Cassandra', plan.store, (p) => fixed(p.coresUsed, 2)),
      ...(plan.total === undefined
        ? []
        : [row('tier + store', plan.total, (p) => fixed(p.coresUsed, 2))]),
    ];
  });
  const table = markdownTable(
    [
      'target',
      'sends/s measured',
      'part',
      'cores used in the window',
      'sends/s per core',
      `cores for ${grouped(average)} sends/s`,
      `cores for ${grouped(t.peakSendsPerSecond)} sends/s`,
      `peak, fullest node (tier × ${fixed(headroom, 3)})`,
    ],
    rows,
    ['left', 'right', 'left', 'right', 'right', 'right', 'right', 'right'],
  );
  return [derivation, mix, parts, fullest, table, ...totalsText(plans)];
}

/** One sentence on what the measured totals say: the store's share, and against the stateless app. */
function totalsText(plans: PlanInputs['plans']): string[] {
  const pathOf = (target: LoadTargetResult) => target.path ?? targetSpec(target.target)?.path;
  const router = plans.find(({ target }) => pathOf(target) === 'router');
  const baseline = plans.find(({ target }) => pathOf(target) === 'baseline');
  if (router?.plan.total === undefined || router.plan.store === undefined) return [];
  const peak = (plan: ThroughputPlan) => plan.total?.cores.peakFullestNode ?? Number.NaN;
  const storeUsPerSend = (target: LoadTargetResult) =>
    grouped(target.storeCpuUsPerSend ?? Number.NaN);
  return [
    `At peak on the fullest node, the router on Cassandra needs ${grouped(router.plan.tier.cores.peakFullestNode)} tier cores and ${grouped(router.plan.store.cores.peakFullestNode)} Cassandra cores, ${grouped(peak(router.plan))} in all; Cassandra is ${percent(router.plan.store.cores.peakFullestNode / peak(router.plan), 0)} of it (${storeUsPerSend(router.target)} µs of Cassandra CPU per send, reads riding along).${baseline?.plan.total === undefined ? '' : ` The stateless app on the same Cassandra needs ${grouped(peak(baseline.plan))} (${grouped(baseline.plan.tier.cores.peakFullestNode)} + ${grouped(baseline.plan.store?.cores.peakFullestNode ?? Number.NaN)}; ${storeUsPerSend(baseline.target)} µs of Cassandra CPU per send): chatring's total is ${times(peak(router.plan) / peak(baseline.plan))} of it.`}`,
  ];
}

export function memoryPlanText(router: ThroughputPlan | undefined): string {
  const t = DESIGN_CAPACITY_TARGETS;
  const memory = results.memory;
  const chosen = memoryRowForPlan();
  if (memory === undefined || chosen === undefined)
    return 'No memory result: no hot-set plan (`npm run bench:memory`).';
  const plan = planMemory(chosen, t);
  const loadSize = (results.sends ?? results.load)?.settings.contentBytes;
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
        : binaryBytes(sized.totalBytes / router.tier.cores.peakFullestNode),
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
          : `per tier core, ${grouped(router.tier.cores.peakFullestNode)} cores of router on Cassandra`,
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
