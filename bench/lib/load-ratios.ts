/**
 * Issue 11's "the read path pays for itself" ratios, and issue 13's cost of telemetry (router ÷
 * router-no-telemetry), computed from one load run's targets (never typed): the load benchmark
 * prints them and writes them to load.json, and the report computes them again from the same
 * figures. The goals are the issues'; nothing else here is a constant.
 */
import { TARGET_ALIASES } from './load-target-catalogue.js';

/** The figures of a target the ratios read (load.json's target results have them all). */
export interface RatioTarget {
  target: string;
  throughputOpsPerSecond: number;
  byOperation: Record<string, { p99Ms: number } | undefined>;
  cpuUsPerOp?: number;
  /** router-no-telemetry: router ÷ it in each start order (load-results.ts). */
  startOrderRatios?: { telemetryStartedFirst: number; telemetryStartedSecond: number };
  /** Windows of a target measured alternated with another (load/closed-loop-drive.ts). */
  alternatedWindows?: { opsPerSecond: number }[];
  skipped?: string;
}

/** The figures of the page-size check the ratios read. */
export interface RatioPageCheck {
  small: { pageSize: number; opsPerSecond: number; cpuUsPerOp?: number; storeLoads: number };
  large: { pageSize: number; opsPerSecond: number; cpuUsPerOp?: number; storeLoads: number };
}

export interface LoadRatio {
  /** What is compared, e.g. `router ÷ echo-proxy`. */
  name: string;
  /** ops/s, p99, CPU per read (ratios) or store loads (a count). */
  metric: 'ops/s' | 'p99' | 'CPU per read' | 'store loads';
  /** NaN when a side was not measured. */
  value: number;
  goal: { atLeast?: number; atMost?: number };
  /** Undefined when not measured. */
  met: boolean | undefined;
  /** What else the reader needs (the other measure of the same comparison). */
  detail?: string;
}

type Metric = 'ops/s' | 'p99';

const TARGET_RATIOS: {
  numerator: string;
  denominator: string;
  metric: Metric;
  goal: LoadRatio['goal'];
  /**
   * The same hop made by a trivial server on this machine, in the same run, for scale: a router
   * relays each read through one process as echo-proxy does (a node:http server relaying through
   * an undici pool to an echo of the same bytes). Not a hard bound (the router relays over member
   * links, not HTTP), but a goal far above it asks the router to beat a trivial proxy by that much.
   */
  ceilingTarget?: string;
}[] = [
  { numerator: 'router', denominator: 'echo-proxy', metric: 'ops/s', goal: { atLeast: 0.8 } },
  { numerator: 'router', denominator: 'echo-proxy', metric: 'p99', goal: { atMost: 2 } },
  {
    numerator: 'router-cassandra',
    denominator: 'baseline-cassandra',
    metric: 'ops/s',
    goal: { atLeast: 10 },
    ceilingTarget: 'echo-proxy',
  },
  {
    numerator: 'client-direct-cassandra',
    denominator: 'baseline-cassandra',
    metric: 'ops/s',
    goal: { atLeast: 15 },
  },
  { numerator: 'client-direct', denominator: 'direct', metric: 'ops/s', goal: { atLeast: 0.9 } },
  {
    numerator: 'client-direct-cassandra',
    denominator: 'direct-cassandra',
    metric: 'ops/s',
    goal: { atLeast: 0.9 },
  },
  { numerator: 'client-direct', denominator: 'baseline', metric: 'ops/s', goal: { atLeast: 1.5 } },
  // Issue 13: metrics and logging cost at most 5 % of the router's cached-read throughput.
  {
    numerator: 'router',
    denominator: 'router-no-telemetry',
    metric: 'ops/s',
    goal: { atLeast: 0.95 },
  },
];

/** The issue's page-size goal: pageSize 200 costs at most this many times the small page. */
const PAGE_COST_RATIO_MAX = 3;

export function loadRatios(
  targets: readonly RatioTarget[],
  pageCheck: RatioPageCheck | undefined,
): LoadRatio[] {
  const measured = new Map(
    targets
      .filter((target) => target.skipped === undefined)
      .map((target) => [TARGET_ALIASES[target.target] ?? target.target, target]),
  );
  const figure = (name: string, metric: Metric) => {
    const target = measured.get(name);
    if (target === undefined) return Number.NaN;
    return metric === 'ops/s'
      ? target.throughputOpsPerSecond
      : (target.byOperation.all?.p99Ms ?? Number.NaN);
  };
  const text = (value: number, metric: Metric) =>
    !Number.isFinite(value)
      ? 'n/a'
      : metric === 'ops/s'
        ? `${value.toFixed(0)} ops/s`
        : `${value.toFixed(1)} ms`;
  const ratios = TARGET_RATIOS.map(({ numerator, denominator, metric, goal, ceilingTarget }) => {
    const [top, bottom] = [figure(numerator, metric), figure(denominator, metric)];
    const ceiling =
      ceilingTarget === undefined ? undefined : figure(ceilingTarget, metric) / bottom;
    const ceilingText =
      ceiling === undefined
        ? ''
        : `; a trivial ${ceilingTarget} hop here: ${Number.isFinite(ceiling) ? `${ceiling.toFixed(2)}×` : 'n/a'}`;
    const spread =
      metric === 'ops/s'
        ? roundsText(measured.get(numerator), measured.get(denominator))
        : undefined;
    const orders = metric === 'ops/s' ? measured.get(denominator)?.startOrderRatios : undefined;
    if (orders !== undefined) {
      // Measured in both start orders: the geometric mean cancels the first-started cluster's bias.
      const balanced = Math.sqrt(orders.telemetryStartedFirst * orders.telemetryStartedSecond);
      return ratio(
        `${numerator} ÷ ${denominator}`,
        metric,
        balanced,
        goal,
        `order-balanced: √(${orders.telemetryStartedFirst.toFixed(3)} with ${numerator}'s cluster started first × ${orders.telemetryStartedSecond.toFixed(3)} started second); first order ${text(top, metric)} ÷ ${text(bottom, metric)}${spread === undefined ? '' : `, ${spread}`}`,
      );
    }
    return ratio(
      `${numerator} ÷ ${denominator}`,
      metric,
      top / bottom,
      goal,
      `${text(top, metric)} ÷ ${text(bottom, metric)}${spread === undefined ? '' : `; ${spread}`}${ceilingText}`,
    );
  });
  if (pageCheck !== undefined) {
    const { small, large } = pageCheck;
    const name = `pageSize ${large.pageSize} ÷ pageSize ${small.pageSize}`;
    ratios.push(
      ratio(
        name,
        'CPU per read',
        (large.cpuUsPerOp ?? Number.NaN) / (small.cpuUsPerOp ?? Number.NaN),
        { atMost: PAGE_COST_RATIO_MAX },
        `throughput ${(small.opsPerSecond / large.opsPerSecond).toFixed(2)}× lower`,
      ),
      ratio(
        `pageSize ${large.pageSize} from a warm cache`,
        'store loads',
        large.storeLoads,
        { atMost: 0 },
        `pageSize ${small.pageSize}: ${small.storeLoads}`,
      ),
    );
  }
  return ratios;
}

/**
 * Two targets measured in alternated windows: the ratio of each round's pair of windows (the same
 * round's windows ran back to back), as median and range, so a reader sees how far one round's
 * figure can stray from the total's. Undefined unless both sides have the same number of windows.
 */
function roundsText(
  numerator: RatioTarget | undefined,
  denominator: RatioTarget | undefined,
): string | undefined {
  const tops = numerator?.alternatedWindows;
  const bottoms = denominator?.alternatedWindows;
  if (tops === undefined || bottoms === undefined || tops.length !== bottoms.length)
    return undefined;
  const perRound = tops
    .map((top, index) => top.opsPerSecond / (bottoms[index]?.opsPerSecond ?? Number.NaN))
    .filter(Number.isFinite)
    .sort((a, b) => a - b);
  if (perRound.length === 0) return undefined;
  const middle = perRound.length / 2;
  const median =
    perRound.length % 2 === 1
      ? (perRound[Math.floor(middle)] ?? Number.NaN)
      : ((perRound[middle - 1] ?? Number.NaN) + (perRound[middle] ?? Number.NaN)) / 2;
  return `alternated in ${perRound.length} rounds: per-round ratio median ${median.toFixed(2)}×, ${(perRound[0] ?? Number.NaN).toFixed(2)}–${(perRound.at(-1) ?? Number.NaN).toFixed(2)}×`;
}

/** `≥ 0.8×`, `≤ 2×`, `= 0` */
export function goalText(ratio: LoadRatio): string {
  const unit = ratio.metric === 'store loads' ? '' : '×';
  if (ratio.goal.atMost === 0) return '= 0';
  if (ratio.goal.atLeast !== undefined) return `≥ ${ratio.goal.atLeast}${unit}`;
  return `≤ ${ratio.goal.atMost ?? Number.NaN}${unit}`;
}

/** `1.23×`, `0` store loads, or `n/a` when not measured. */
export function valueText(ratio: LoadRatio): string {
  if (!Number.isFinite(ratio.value)) return 'n/a';
  return ratio.metric === 'store loads' ? String(ratio.value) : `${ratio.value.toFixed(2)}×`;
}

/** `met`, `not met`, `not measured`. */
export function metText(ratio: LoadRatio): string {
  return ratio.met === undefined ? 'not measured' : ratio.met ? 'met' : 'not met';
}

function ratio(
  name: string,
  metric: LoadRatio['metric'],
  value: number,
  goal: LoadRatio['goal'],
  detail?: string,
): LoadRatio {
  const met = Number.isFinite(value)
    ? (goal.atLeast === undefined || value >= goal.atLeast) &&
      (goal.atMost === undefined || value <= goal.atMost)
    : undefined;
  return { name, metric, value, goal, met, ...(detail === undefined ? {} : { detail }) };
}
