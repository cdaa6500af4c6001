/** The load section: per store, each target's throughput, latency and CPU; issue 11's ratios. */
import {
  figure,
  type LoadAuthResults,
  type LoadPageSizeCheck,
  type LoadResults,
  type LoadTargetResult,
} from '../lib/bench-results.js';
import { grouped, times } from '../lib/figure-format.js';
import { goalText, loadRatios, metText, valueText } from '../lib/load-ratios.js';
import {
  STORE_LABELS,
  targetLabel,
  targetSpec,
  type TargetStore,
} from '../lib/load-target-catalogue.js';
import { markdownTable } from '../lib/markdown-section.js';
import { type BenchReport } from '../lib/result-files.js';
import { fixed, percent } from '../lib/text-table.js';

const STORE_ORDER: TargetStore[] = ['embedded', 'cassandra', 'none'];

export function measuredTargets(report: BenchReport<LoadResults>): LoadTargetResult[] {
  return report.results.targets.filter((target) => target.skipped === undefined);
}

/** A target's store: recorded, or (older results) its name's. */
export function storeOf(target: LoadTargetResult): TargetStore {
  return target.store ?? targetSpec(target.target)?.store ?? 'embedded';
}

/** True when some target ran sends (the mix had them). */
export function hasSends(report: BenchReport<LoadResults>): boolean {
  return measuredTargets(report).some((target) => (target.byOperation.send?.ok ?? 0) > 0);
}

export function loadSection(
  report: BenchReport<LoadResults> | undefined,
  heading = '### Load: the read path, per store and against the physical limit',
): string {
  if (report === undefined) return '### Load\n\nNo load result yet: `npm run bench:load`.';
  const s = report.settings;
  const targets = measuredTargets(report);
  const sends = hasSends(report);
  const onCassandra = targets.some((target) => storeOf(target) === 'cassandra');
  const rows = STORE_ORDER.flatMap((store) => {
    const group = targets.filter((target) => storeOf(target) === store);
    const baseline = group.find((target) => (target.path ?? target.target).startsWith('baseline'));
    return group.map((target) => {
      const all = target.byOperation.all;
      const send = target.byOperation.send;
      return [
        STORE_LABELS[store],
        targetLabel(target.target),
        grouped(figure(target.throughputOpsPerSecond, `load ${target.target} ops/s`)),
        baseline === undefined
          ? '—'
          : times(target.throughputOpsPerSecond / baseline.throughputOpsPerSecond),
        fixed(all?.p50Ms ?? Number.NaN, 1),
        fixed(all?.p99Ms ?? Number.NaN, 1),
        grouped(target.cpuUsPerOp ?? Number.NaN),
        target.cpuCores === undefined ? 'not measured' : fixed(target.cpuCores, 2),
        ...(onCassandra
          ? [
              storeCpuCell(target, target.storeCpuUsPerOp, (value) => grouped(value)),
              storeCpuCell(target, target.storeCpuCores, (value) => fixed(value, 2)),
            ]
          : []),
        ...(sends
          ? [
              grouped(send?.opsPerSecond ?? Number.NaN),
              fixed(send?.p50Ms ?? Number.NaN, 1),
              fixed(send?.p99Ms ?? Number.NaN, 1),
            ]
          : []),
        target.cache === undefined
          ? '—'
          : target.cache.hitRatio === null
            ? 'n/a'
            : percent(target.cache.hitRatio, 1),
        grouped(all?.errors ?? 0),
      ];
    });
  });
  const skipped = report.results.targets
    .filter((target) => target.skipped !== undefined)
    .map((target) => `\`${target.target}\` ${target.skipped ?? ''}`);
  const prewarmed = targets.some((target) => target.prewarm !== undefined);
  const shared = targets.find((target) => (target.sharedCluster?.length ?? 0) > 1);
  return [
    heading,
    `${String(s.concurrency)} closed-loop workers, ${String(s.warmupS)} s warm-up then ${String(s.durationS)} s measured per target; ${grouped(Number(s.users))} users (Zipf s=${String(s.zipfExponent)}), ${String(s.contacts)} contacts each, mix ${mixText(s.mix)}${sends ? ` (${fixed(readsPerSend(report), 2)} reads per send)` : ' (reads only)'}, pageSize ${String(s.pageSize)}, ${String(s.contentBytes)}-byte messages; each cluster is ${String(s.nodes)} nodes plus a standby.${prewarmed ? ' Every mailbox is warm: before the warm-up a pre-warm pass reads every user’s conversation list and every one of its conversations (what the load reads, and the windows its sends write into), once.' : ''}${shared === undefined ? '' : ` With a read-only mix, ${shared.sharedCluster?.map((name) => `\`${name}\``).join(', ') ?? ''} (and their Cassandra counterparts) are measured one after the other on one cluster, started and pre-warmed once.`} \`echo\` answers each page’s bytes from memory (recorded from the seeded store in the product’s JSON shape) on a bare node:http server; \`echo-proxy\` is that echo behind one trivial undici proxy hop: what no tier on this machine can beat. Load generator, servers, nodes and Cassandra share this machine. Latency in ms; × stateless app = throughput over the same store’s baseline; CPU = CPU seconds (user + system, from \`/proc\`) of the system under test in the measured window — the launcher and every process under it (router, nodes, standby), or the server’s process tree (baseline, echo, proxy + echo) — per successful operation (µs/op) and ÷ the window (cores); the load generator is not counted${loadGeneratorText(targets)}. ${storeCpuText(report, onCassandra)} Cache hit = mailbox hits over hits + misses on the nodes (the echo’s page hits).`,
    markdownTable(
      [
        'store',
        'target',
        'ops/s',
        '× stateless app',
        'p50',
        'p99',
        'CPU µs/op',
        'CPU cores',
        ...(onCassandra ? ['Cassandra CPU µs/op', 'Cassandra cores'] : []),
        ...(sends ? ['sends/s', 'send p50', 'send p99'] : []),
        'cache hit',
        'errors',
      ],
      rows,
      [
        'left',
        'left',
        ...Array.from(
          { length: 8 + (sends ? 3 : 0) + (onCassandra ? 2 : 0) },
          () => 'right' as const,
        ),
      ],
    ),
    ...(skipped.length === 0 ? [] : [`Not measured: ${skipped.join('; ')}.`]),
    ...(sends ? [storeWorkText(targets)] : []),
    ratiosText(report),
    ...(report.results.pageSizeCheck === undefined
      ? []
      : [pageSizeText(report.results.pageSizeCheck)]),
    ...(report.results.auth === undefined
      ? []
      : [authText(report.results.auth, report.machine.loadAverage1m > report.machine.cores)]),
  ].join('\n\n');
}

/**
 * A Cassandra figure of a target: the value, `not measured` (older results, or no local JVM to
 * read), or `—` on the other stores (the embedded store runs inside the measured processes).
 */
function storeCpuCell(
  target: LoadTargetResult,
  value: number | undefined,
  format: (value: number) => string,
): string {
  if (storeOf(target) !== 'cassandra') return '—';
  return value === undefined ? 'not measured' : format(value);
}

/** What the load table's Cassandra columns are, and why one is missing. */
function storeCpuText(report: BenchReport<LoadResults>, onCassandra: boolean): string {
  const inProcess =
    'The embedded store (SQLite) runs inside the measured processes, so its CPU is in theirs.';
  if (!onCassandra) return inProcess;
  const cpu = report.results.cassandra?.cpu;
  const missing = measuredTargets(report).filter(
    (target) => storeOf(target) === 'cassandra' && target.storeCpuSeconds === undefined,
  );
  const reasons = [
    ...new Set(
      missing.map(
        (target) =>
          target.storeCpuNotMeasured ?? 'a result from before Cassandra’s CPU was measured',
      ),
    ),
  ];
  return `${inProcess} Cassandra’s own CPU is measured apart, never added to the system under test’s: the Cassandra columns are the user + system time of the Cassandra JVM (\`/proc/<pid>/stat\`${cpu !== undefined && 'scope' in cpu ? `; ${cpu.scope}` : ''}) over the same measured window, per successful operation and ÷ the window; its background work in that window (compaction, flushes, gossip, GC) is included and charged to the target that ran then.${reasons.length === 0 ? '' : ` Not measured for ${missing.map((target) => `\`${target.target}\``).join(', ')}: ${reasons.join('; ')}.`}`;
}

/**
 * What each send cost, counted: the CPU of the system under test per send (reads riding along),
 * Cassandra's own CPU per send (measured apart), and the store's own counters per send — requests and LWTs (Paxos rounds) on Cassandra,
 * transactions (one fsync each) on the embedded store — summed over the target's processes.
 */
function storeWorkText(targets: LoadTargetResult[]): string {
  const rows = targets
    .filter((target) => (target.byOperation.send?.ok ?? 0) > 0)
    .map((target) => {
      const per = target.storePerSend ?? {};
      const cell = (name: string) => (per[name] === undefined ? '—' : fixed(per[name], 2));
      return [
        STORE_LABELS[storeOf(target)],
        targetLabel(target.target),
        grouped(1e6 / (target.sendsPerCpuSecond ?? Number.NaN)),
        storeCpuCell(target, target.storeCpuUsPerSend, (value) => grouped(value)),
        cell('requests'),
        cell('lwts'),
        cell('serialReads'),
        cell('transactions'),
        cell('commits'),
        cell('idempotencyIndexReads'),
      ];
    });
  return [
    'Per send, counted (over the measured window ÷ successful sends; the mix’s reads ride along): CPU µs of the system under test; the Cassandra JVM’s own CPU µs (measured apart, its background work in the window included); the store’s own counters — Cassandra requests, LWTs (one Paxos round each) and SERIAL reads; embedded-store transactions (one fsync each) and mailbox commits; the nodes’ reads of the store’s idempotency index (the rest were proved new from memory; the baseline reads it for every copy and does not count it).',
    markdownTable(
      [
        'store',
        'target',
        'CPU µs per send',
        'Cassandra CPU µs per send',
        'requests',
        'LWTs',
        'SERIAL reads',
        'transactions (fsyncs)',
        'commits',
        'idempotency index reads',
      ],
      rows,
      ['left', 'left', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right'],
    ),
  ].join('\n\n');
}

/** `conversations:50,messages:50`: the mix's kinds with a weight. */
export function mixText(mix: unknown): string {
  const weights = Object.entries((mix ?? {}) as Record<string, number>).filter(
    ([, weight]) => weight > 0,
  );
  return weights.length === 0
    ? '?'
    : weights.map(([kind, weight]) => `${kind}:${String(weight)}`).join(',');
}

/** Issue 11's ratios with their goals, computed from the targets' figures. */
export function ratiosText(report: BenchReport<LoadResults>): string {
  const ratios = loadRatios(report.results.targets, report.results.pageSizeCheck);
  const met = ratios.filter((ratio) => ratio.met === true).length;
  const measured = ratios.filter((ratio) => ratio.met !== undefined).length;
  return [
    `**Does the read path pay for itself?** Issue 11’s goals, each computed from the figures above (same run): ${grouped(met)} of ${grouped(measured)} measured met${measured < ratios.length ? `, ${grouped(ratios.length - measured)} not measured` : ''}.${report.machine.loadAverage1m > report.machine.cores ? ' The machine was loaded: the ratios measure the neighbours too.' : ''}`,
    markdownTable(
      ['comparison', 'measure', 'value', 'goal', 'met', 'also'],
      ratios.map((ratio) => [
        ratio.name,
        ratio.metric,
        valueText(ratio),
        goalText(ratio),
        metText(ratio),
        ratio.detail ?? '',
      ]),
      ['left', 'left', 'right', 'right', 'left', 'left'],
    ),
  ].join('\n\n');
}

/** The page-size check, one paragraph. */
export function pageSizeText(check: LoadPageSizeCheck): string {
  const run = (r: LoadPageSizeCheck['small']) =>
    `pageSize ${r.pageSize}: ${grouped(figure(r.opsPerSecond, `load page size ${r.pageSize} ops/s`))} reads/s, p50/p99 ${fixed(r.p50Ms, 1)}/${fixed(r.p99Ms, 1)} ms, ${grouped(r.cpuUsPerOp ?? Number.NaN)} µs cluster CPU per read, ${grouped(r.storeLoads)} store loads and ${grouped(r.cacheMisses)} cache misses${r.errors === 0 ? '' : `, ${grouped(r.errors)} errors`}`;
  return `**Page size from a warm cache** (through \`${check.target}\`, the embedded cluster, after its window): ${grouped(check.mailboxes)} mailboxes whose conversation holds ${grouped(check.messagesPerConversation)} messages, each read once to load its window, then a closed loop on their first page, the two page sizes in alternated windows — ${run(check.small)}; ${run(check.large)} (store loads and cache misses: both page sizes' windows together).`;
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
