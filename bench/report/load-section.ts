/** The load section: each target's throughput, latency and CPU against the baseline. */
import {
  figure,
  type LoadAuthResults,
  type LoadResults,
  type LoadTargetResult,
} from '../lib/bench-results.js';
import { grouped, times } from '../lib/figure-format.js';
import { markdownTable } from '../lib/markdown-section.js';
import { type BenchReport } from '../lib/result-files.js';
import { fixed, percent } from '../lib/text-table.js';
import { settingText } from './provenance-section.js';

export const TARGET_LABELS: Record<string, string> = {
  router: 'router (chatring)',
  'router-auth': 'router, app tokens on',
  direct: 'direct to owner',
  baseline: 'baseline: no cache',
  cassandra: 'router on Cassandra',
};

export function measuredTargets(report: BenchReport<LoadResults>): LoadTargetResult[] {
  return report.results.targets.filter((target) => target.skipped === undefined);
}

export function loadSection(report: BenchReport<LoadResults> | undefined): string {
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
    ...(report.results.auth === undefined
      ? []
      : [authText(report.results.auth, report.machine.loadAverage1m > report.machine.cores)]),
  ].join('\n\n');
}

/** One paragraph: what authentication costs a cached read (issue 10's target: at most 5 %). */
export function authText(auth: LoadAuthResults, loaded: boolean): string {
  const signing = auth.memberSigning;
  const change = (ratio: number) =>
    Number.isFinite(ratio) ? `${ratio >= 1 ? '+' : '−'}${percent(Math.abs(ratio - 1), 1)}` : 'n/a';
  const tokens = auth.appTokens;
  const tokenText =
    tokens === undefined
      ? 'app tokens were not measured in this run (`--targets router,router-auth`)'
      : `with app tokens required (\`router-auth\` over \`router\`, same run, data and operation streams) read throughput ${times(figure(tokens.readOpsPerSecondRatio, 'load auth read ops/s ratio'), 3)} (${change(tokens.readOpsPerSecondRatio)})${tokens.cpuPerReadRatio === undefined ? '' : `, cluster CPU per read ${times(tokens.cpuPerReadRatio, 3)}`}, p50/p99 ${times(tokens.conversations.p50Ratio)}/${times(tokens.conversations.p99Ratio)} on conversations and ${times(tokens.messages.p50Ratio)}/${times(tokens.messages.p99Ratio)} on messages${tokens.cacheHitRatio === undefined ? '' : `, at cache hit ratios of ${percent(tokens.cacheHitRatio.router, 1)} and ${percent(tokens.cacheHitRatio.routerAuth, 1)}`} (one run each: ${loaded ? 'on this loaded machine the ratio measures the neighbours as much as the token check' : 'a few percent either way is within run-to-run noise'})`;
  const share = auth.signingShare;
  const signingText = `member signatures (always on, so measured apart): ${fixed(figure(signing.get.totalUs, 'load auth signing µs'), 1)} µs to sign and verify a forwarded read (${fixed(signing.send.totalUs, 1)} µs with a ${grouped(signing.send.bodyBytes)}-byte send body)${
    share === undefined
      ? ''
      : `, ${percent(share.shareOfCpuPerRead, 1)} of the router target's ${fixed(share.cpuUsPerRead, 0)} µs cluster CPU per read${share.readsOnlyMix ? " (the cluster's background work charged to the reads: a lower bound)" : " (the sends' CPU and the cluster's background work charged to the reads: a lower bound)"}`
  }; the app-token check itself measures ${fixed(signing.appTokenCheckUs, 1)} µs`;
  return `Authentication on cached reads: ${tokenText}; ${signingText}.`;
}

/** The load generator's own CPU cores in the measured windows, when recorded. */
export function loadGeneratorText(targets: LoadTargetResult[]): string {
  const cores = targets
    .filter((target) => target.loadGeneratorCpuSeconds !== undefined && target.measuredSeconds > 0)
    .map((target) => (target.loadGeneratorCpuSeconds ?? 0) / target.measuredSeconds);
  if (cores.length === 0) return '';
  return ` (it kept ${fixed(Math.min(...cores), 2)}–${fixed(Math.max(...cores), 2)} cores busy itself)`;
}

export function readsPerSend(report: BenchReport<LoadResults>): number {
  const mix = report.settings.mix as Record<string, number> | undefined;
  const send = mix?.send ?? Number.NaN;
  return ((mix?.conversations ?? 0) + (mix?.messages ?? 0)) / send;
}

// ---------------------------------------------------------------------------------------------
// memory
