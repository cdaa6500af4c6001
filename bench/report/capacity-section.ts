/** The capacity plan for the design's targets, from the measured per-core figures (bench/lib/capacity-plan.ts). */
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
  type ThroughputPlan,
} from '../lib/capacity-plan.js';
import { binaryBytes, grouped, times } from '../lib/figure-format.js';
import { markdownTable } from '../lib/markdown-section.js';
import { type BenchReport } from '../lib/result-files.js';
import { fixed } from '../lib/text-table.js';
import { targetLabel } from '../lib/load-target-catalogue.js';
import { measuredTargets, mixText, readsPerSend } from './load-section.js';
import { defaultVirtualNodes, results } from './report-context.js';

export interface PlanInputs {
  load: BenchReport<LoadResults>;
  plans: { target: LoadTargetResult; plan: ThroughputPlan }[];
  router: ThroughputPlan | undefined;
}

export function throughputPlans(headroom: number): PlanInputs | undefined {
  // The write-mix run when there is one (`sends`); the read-path run has no sends.
  const load = results.sends ?? results.load;
  if (load === undefined) return undefined;
  // Only targets that ran sends: the plan is sends per core (the echo targets serve reads only).
  const withSends = measuredTargets(load).filter(
    (target) => (target.byOperation.send?.ok ?? 0) > 0,
  );
  if (withSends.length === 0) return undefined;
  const plans = withSends.map((target) => {
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
export function memoryRowForPlan(): MemoryResultRow | undefined {
  const rows = results.memory?.results.rows ?? [];
  const size = Number((results.sends ?? results.load)?.settings.contentBytes ?? 0);
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
  if (inputs === undefined) {
    lines.push(
      results.load === undefined
        ? 'No load result: no throughput plan (`npm run bench:load`).'
        : `No send throughput plan: the load run's mix (${mixText(results.load.settings.mix)}) has no sends — it compares the read path (issue 11) — and there is no sends result. For sends per core, run \`npm run bench -- --only sends\`.`,
    );
  } else {
    const { load, plans } = inputs;
    const cores = load.machine.cores;
    const byCpu = plans.filter(({ plan }) => plan.coresBasis === 'cpu-time');
    const byMachine = plans.filter(({ plan }) => plan.coresBasis === 'machine');
    const names = (list: typeof plans) =>
      list.map(({ target }) => targetLabel(target.target)).join(', ');
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
          targetLabel(target.target),
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
