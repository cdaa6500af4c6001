/** The load benchmark's table, one block per store, each target against its store's baseline. */
import { goalText, metText, valueText, type LoadRatio } from '../lib/load-ratios.js';
import { STORE_LABELS, type TargetStore } from '../lib/load-target-catalogue.js';
import { fixed, latencyCells, percent, renderTable, type Cell } from '../lib/text-table.js';
import type { AuthFigures } from './auth-cost.js';
import type { TargetResult } from './load-results.js';
import { OPERATION_ORDER } from './load-settings.js';
import type { PageSizeCheck } from './page-size-check.js';

/** The order of the store blocks: each store's four paths, then the physical limits. */
export const STORE_ORDER: TargetStore[] = ['embedded', 'cassandra', 'none'];

/** Measured targets grouped by store (STORE_ORDER), each group in run order. */
export function byStore<T extends { store?: TargetStore; skipped?: string }>(
  results: readonly T[],
): { store: TargetStore; targets: T[] }[] {
  return STORE_ORDER.map((store) => ({
    store,
    targets: results.filter(
      (result) => result.skipped === undefined && (result.store ?? 'embedded') === store,
    ),
  })).filter((group) => group.targets.length > 0);
}

/**
 * Prints the table and the ratios against each store's baseline. One function: the columns and
 * the ratio lines are one layout, read top to bottom like the output.
 */
export function printResults(results: TargetResult[]): void {
  const headers = [
    'store',
    'target',
    'operation',
    'ok',
    'errors',
    'ops/s',
    'p50 ms',
    'p99 ms',
    'p99.9 ms',
    'max ms',
    'CPU µs/op',
    'Cassandra CPU µs/op',
    'cache hit',
  ];
  const rows: Cell[][] = [];
  for (const { store, targets } of byStore(results)) {
    for (const result of targets) {
      for (const kind of OPERATION_ORDER) {
        const summary = result.byOperation[kind];
        if (summary === undefined || summary.ok + summary.errors === 0) continue;
        rows.push([
          STORE_LABELS[store],
          result.target,
          kind,
          ...latencyCells(summary),
          kind === 'all' ? fixed(result.cpuUsPerOp ?? Number.NaN, 0) : '',
          kind === 'all' && store === 'cassandra'
            ? result.storeCpuUsPerOp === undefined
              ? 'not measured'
              : fixed(result.storeCpuUsPerOp, 0)
            : '',
          kind === 'all'
            ? result.cache === undefined
              ? 'n/a'
              : percent(result.cache.hitRatio, 1)
            : '',
        ]);
      }
    }
  }
  console.log(renderTable(headers, rows));
  console.log('');
  for (const result of results) {
    if (result.skipped !== undefined) {
      console.log(`${result.target}: ${result.skipped}`);
      continue;
    }
    const errors = result.byOperation.all?.errorsByCode ?? {};
    const errorText =
      Object.keys(errors).length === 0 ? 'no errors' : `errors ${JSON.stringify(errors)}`;
    const cacheText =
      result.cache === undefined
        ? 'no cache'
        : `cache ${result.cache.hits} hits / ${result.cache.misses} misses, ${result.cache.storeLoads} store loads, ${result.cache.cachedUsersAtEnd} users cached (${(result.cache.cachedBytesAtEnd / 2 ** 20).toFixed(1)} MiB est.)`;
    const prewarmText =
      result.prewarm === undefined
        ? result.sharedCluster === undefined
          ? 'no pre-warm'
          : `pre-warmed for ${result.sharedCluster[0] ?? ''}`
        : `pre-warm ${result.prewarm.requests} reads in ${result.prewarm.seconds.toFixed(1)} s${result.prewarm.retried === 0 ? '' : ` (${result.prewarm.retried} sent again)`}${result.prewarm.errors === 0 ? '' : ` (${result.prewarm.errors} still failed: those mailboxes may be cold)`}`;
    const cpuText =
      result.cpuSeconds === undefined || result.cpuCores === undefined
        ? `cpu: not measured (${result.cpuNotMeasured ?? 'unknown'})`
        : `cpu ${result.cpuSeconds.toFixed(2)} s = ${fixed(result.cpuCores, 2)} cores busy = ${fixed(result.cpuUsPerOp ?? Number.NaN, 0)} µs per op (${result.cpuScope ?? ''}, ${result.cpuProcesses ?? 0} processes${result.cpuProcessesExited ? `, ${result.cpuProcessesExited} exited uncounted` : ''}${byProcessText(result.cpuUsPerOpByProcess)})${result.byOperation.send?.ok ? `, ${fixed(result.sendsPerCpuSecond ?? Number.NaN, 1)} sends per CPU second` : ''}; load generator ${fixed(result.loadGeneratorCpuSeconds ?? Number.NaN, 2)} s (excluded)`;
    const storeText =
      result.storePerSend === undefined
        ? ''
        : `; store per send: ${Object.entries(result.storePerSend)
            .map(([name, value]) => `${name} ${fixed(value, 2)}`)
            .join(', ')}`;
    console.log(
      `${result.target}: ${result.description}; ${fixed(result.throughputOpsPerSecond, 0)} ops/s over ${result.measuredSeconds.toFixed(1)} s; ${prewarmText}; ${cacheText}; ${cpuText}${storeCpuText(result)}; ${errorText}${storeText}`,
    );
  }
  for (const { targets } of byStore(results)) {
    const baseline = targets.find((result) => result.path === 'baseline');
    if (baseline === undefined) continue;
    for (const result of targets) {
      if (result === baseline) continue;
      const ratio = (kind: string, field: 'p50Ms' | 'p99Ms') =>
        (result.byOperation[kind]?.[field] ?? Number.NaN) /
        (baseline.byOperation[kind]?.[field] ?? Number.NaN);
      console.log(
        `${result.target} vs ${baseline.target}: throughput ×${fixed(result.throughputOpsPerSecond / baseline.throughputOpsPerSecond, 2)}, p50 ×${fixed(ratio('all', 'p50Ms'), 2)}, p99 ×${fixed(ratio('all', 'p99Ms'), 2)}, CPU per op ×${fixed((result.cpuUsPerOp ?? Number.NaN) / (baseline.cpuUsPerOp ?? Number.NaN), 2)}${withStoreCpuRatio(result, baseline)} (reads: conversations p50 ×${fixed(ratio('conversations', 'p50Ms'), 2)}, messages p50 ×${fixed(ratio('messages', 'p50Ms'), 2)}${result.byOperation.send?.ok ? `; send p50 ×${fixed(ratio('send', 'p50Ms'), 2)}` : ''})`,
      );
    }
  }
}

/** The page-size check's two windows, one line each. */
export function printPageSizeCheck(check: PageSizeCheck | undefined): void {
  console.log('');
  if (check === undefined) {
    console.log('page-size check: not run (needs the router target and --page-check-s > 0)');
    return;
  }
  console.log(
    `page-size check on ${check.target} (${check.mailboxes} mailboxes of ${check.conversations} conversations × ${check.messagesPerConversation} messages, warmed with ${check.warm.requests} reads${check.warm.errors === 0 ? '' : `, ${check.warm.errors} errors`}; the page sizes in alternated windows, store loads of both together):`,
  );
  for (const run of [check.small, check.large])
    console.log(
      `  pageSize ${run.pageSize}: ${fixed(run.opsPerSecond, 0)} reads/s over ${run.measuredSeconds.toFixed(1)} s, p50 ${fixed(run.p50Ms, 2)} ms, p99 ${fixed(run.p99Ms, 2)} ms, ${fixed(run.cpuUsPerOp ?? Number.NaN, 0)} µs cluster CPU per read, ${run.storeLoads} store loads, ${run.cacheMisses} cache misses${run.errors === 0 ? '' : `, ${run.errors} errors`}`,
    );
}

/** Issue 11's ratios, one line each, with the goal and whether it was met. */
export function printRatios(ratios: readonly LoadRatio[]): void {
  console.log('');
  console.log('issue 11 ratios (computed from the figures above):');
  for (const ratio of ratios)
    console.log(
      `  ${ratio.name}, ${ratio.metric}: ${valueText(ratio)} (goal ${goalText(ratio)}: ${metText(ratio)})${ratio.detail === undefined ? '' : `; ${ratio.detail}`}`,
    );
}

/**
 * The cost of authentication on cached reads: router-auth over router (app tokens) and the
 * member-signing micro-benchmark over router's CPU per read.
 */
export function printAuthFigures(auth: AuthFigures): void {
  const signing = auth.memberSigning;
  const change = (ratio: number) =>
    Number.isFinite(ratio) ? `${ratio >= 1 ? '+' : '−'}${percent(Math.abs(ratio - 1), 1)}` : 'n/a';
  console.log('');
  const tokens = auth.appTokens;
  if (tokens === undefined) {
    console.log('app tokens: not measured (run --targets router,router-auth)');
  } else {
    const kind = (name: string, ratio: typeof tokens.conversations) =>
      `${name} ops/s ×${fixed(ratio.opsPerSecondRatio, 3)}, p50 ×${fixed(ratio.p50Ratio, 3)}, p99 ×${fixed(ratio.p99Ratio, 3)}`;
    console.log(
      `app tokens (router-auth ÷ router, cached reads): read throughput ×${fixed(tokens.readOpsPerSecondRatio, 3)} (${change(tokens.readOpsPerSecondRatio)})${tokens.cpuPerReadRatio === undefined ? '' : `, cluster CPU per read ×${fixed(tokens.cpuPerReadRatio, 3)} (${change(tokens.cpuPerReadRatio)})`}; ${kind('conversations', tokens.conversations)}; ${kind('messages', tokens.messages)}; cache hit ${percent(tokens.cacheHitRatio.router, 1)} / ${percent(tokens.cacheHitRatio.routerAuth, 1)}${tokens.cacheHitRatio.router < 0.9 || tokens.cacheHitRatio.routerAuth < 0.9 ? ' (below 90 %: many reads were store loads, not cached reads; warm up longer or use fewer --users)' : ''}${tokens.errors > 0 ? `; router-auth had ${tokens.errors} errors` : ''}`,
    );
  }
  console.log(
    `member signing (always on): ${fixed(signing.get.totalUs, 2)} µs per forwarded GET (sign ${fixed(signing.get.signUs, 2)} + verify ${fixed(signing.get.verifyUs, 2)}), ${fixed(signing.send.totalUs, 2)} µs per POST of ${signing.send.bodyBytes} bytes; app-token check ${fixed(signing.appTokenCheckUs, 2)} µs (median of ${signing.samples} batches of ${signing.requestsPerSample}, wall time in the load generator)`,
  );
  const share = auth.signingShare;
  if (share === undefined) {
    console.log(
      'member signing share: not computed (router target not run, or its CPU not measured)',
    );
    return;
  }
  console.log(
    `member signing share: one sign + one verify per cached read = ${fixed(share.signingUsPerRead, 2)} µs of ${fixed(share.cpuUsPerRead, 1)} µs cluster CPU per read on router (${share.cpuSeconds.toFixed(2)} CPU s ÷ ${share.reads} reads${share.readsOnlyMix ? '' : ", sends' CPU included"}, background work included: an upper bound) = ${percent(share.shareOfCpuPerRead, 2)} (a lower bound${share.readsOnlyMix ? '' : "; --mix conversations:50,messages:50 leaves only the background in a read's CPU"})${share.readsOnlyMix ? '' : `; per request of the mix ${fixed(share.cpuUsPerRequest, 1)} µs`}; the app-token check alone would be ${percent(share.appTokenCheckShareOfCpuPerRead, 2)} of a read's CPU`,
  );
}

/** `, with Cassandra's CPU ×0.40` when both targets' Cassandra CPU per op was measured. */
function withStoreCpuRatio(result: TargetResult, baseline: TargetResult): string {
  const total = (target: TargetResult) =>
    target.storeCpuUsPerOp === undefined
      ? Number.NaN
      : (target.cpuUsPerOp ?? Number.NaN) + target.storeCpuUsPerOp;
  const ratio = total(result) / total(baseline);
  return Number.isFinite(ratio) ? `, with Cassandra's CPU ×${fixed(ratio, 2)}` : '';
}

/**
 * `; Cassandra cpu 1.20 s = 0.30 cores = 800 µs per op, 4000 µs per send (…)` for a Cassandra
 * target, or why it was not measured; nothing for the other stores.
 */
function storeCpuText(result: TargetResult): string {
  if (result.store !== 'cassandra') return '';
  if (result.storeCpuSeconds === undefined || result.storeCpuCores === undefined)
    return `; Cassandra cpu: not measured (${result.storeCpuNotMeasured ?? 'unknown'})`;
  return `; Cassandra cpu ${result.storeCpuSeconds.toFixed(2)} s = ${fixed(result.storeCpuCores, 2)} cores busy = ${fixed(result.storeCpuUsPerOp ?? Number.NaN, 0)} µs per op${result.storeCpuUsPerSend === undefined ? '' : `, ${fixed(result.storeCpuUsPerSend, 0)} µs per send`} (${result.storeCpuScope ?? ''}; its background work in the window included)`;
}

/** `: router 80, node-1 31, ...` µs per op by process, when a tree has more than one. */
function byProcessText(byProcess: Record<string, number> | undefined): string {
  const entries = Object.entries(byProcess ?? {}).sort(([a], [b]) => a.localeCompare(b));
  if (entries.length < 2) return '';
  return `: ${entries.map(([label, us]) => `${label} ${us.toFixed(0)}`).join(', ')} µs`;
}
