/**
 * bench/watch.ts — the change feed (issue 14): how soon a watcher hears of a message, what holding
 * watchers costs, and what polling would cost for the same freshness.
 *
 * For each watcher count (`--watchers`, e.g. 1,000 and 10,000) and each way of watching
 * (`--modes`: `router`, an HTTP long-poll per watcher held on its own connection to the router;
 * `direct`, one ring-aware client whose watches ride its one member link per node), a fresh local
 * cluster (`--store` embedded, or a keyspace of its own on Cassandra) gets one watcher per user,
 * each holding `GET /v1/users/:u/changes?cursor=…&waitMs=…` from a cursor pinned beforehand and
 * re-asking with each answer's cursor at once (bench/watch/watch-run.ts):
 *  - memory: resident and heap bytes of the router and the nodes before the watches (users pinned)
 *    and with all held (the nodes' `feed.watchers` say when), per held watch; this process's own;
 *  - idle: router and nodes CPU a second without and with the watches, nothing sent;
 *  - delivery: a separate client-direct client sends `--sends-per-s` for `--send-s` to random
 *    watched users: from each send's start and from its acknowledgement to the watcher's answer
 *    carrying it; exactly once, missed, doubled; CPU per delivered message;
 *  - the baseline, polling, in the same run (bench/watch/polling.ts): the interval that gives the
 *    watch's median freshness, the polls a second it takes, measured through the router for the
 *    first watcher count and scaled by its CPU per poll for the others.
 * Exits 1 if a message was missed, doubled or delivered to the wrong watcher.
 */
import { readFileSync } from 'node:fs';
import {
  TemporaryDirectory,
  locateCassandra,
  openScratchKeyspace,
  type CassandraLocation,
  type LocalCluster,
  type ScratchKeyspace,
} from '../harness/index.js';
import { startBenchCluster } from './lib/bench-cluster.js';
import { machineLine } from './lib/machine.js';
import { startReport, writeReport } from './lib/result-files.js';
import { pollingFrom } from './watch/polling.js';
import { NOTES, printRuns } from './watch/watch-output.js';
import { runOne } from './watch/watch-run.js';
import type { RunResult, WatchResults } from './watch/watch-results.js';
import { settings } from './watch/watch-settings.js';

/** Descriptors this process keeps for other things than router-mode watches (and the router too). */
const DESCRIPTOR_MARGIN = 1_000;

/** The Cassandra of `--store cassandra`, located (or started) once. */
let cassandra: Promise<CassandraLocation> | undefined;

await main();

async function main(): Promise<void> {
  const report = startReport<WatchResults>(
    'watch',
    { ...settings },
    'polling the same users through the router (the feed with their cursor, waitMs=0) at the interval that gives the same median freshness, in the same run',
  );
  console.log(`watch benchmark — ${machineLine(report.machine)}`);
  const descriptors = openFilesLimit();
  const runs: RunResult[] = [];
  let pollS = settings.pollS;
  for (const asked of settings.watchers)
    for (const mode of settings.modes) {
      // Router mode: one socket per watch here and one in the router, each process under the
      // same open-file limit (`ulimit -n`, inherited by the cluster).
      const routerRoom = descriptors - DESCRIPTOR_MARGIN;
      const watchers = mode === 'router' ? Math.min(asked, routerRoom) : asked;
      const capped =
        watchers < asked
          ? `router mode needs a descriptor per watch in this process and in the router; ulimit -n is ${descriptors}, so ${watchers} of ${asked} were held`
          : undefined;
      console.log(`\n--- ${watchers} watchers, ${mode} ---`);
      if (capped !== undefined) console.log(capped);
      const measurePolling = mode === 'router' ? pollS : 0;
      const result = await inFreshCluster(Math.max(...settings.watchers), (cluster) =>
        runOne(cluster, watchers, mode, measurePolling, capped),
      );
      if (result.polling !== undefined) pollS = 0;
      runs.push(result);
    }
  fillPolling(runs);
  printRuns(runs);
  report.notes.push(...NOTES);
  for (const run of runs) if (run.capped !== undefined) report.notes.push(run.capped);
  console.log('');
  for (const note of report.notes) console.log(`note: ${note}`);
  console.log(`\nwrote ${writeReport({ ...report, results: { runs } })}`);
  for (const run of runs)
    if (run.missed + run.doubled + run.wrongWatcher > 0) {
      console.log(
        `DELIVERY VIOLATED: ${run.watchers} ${run.mode}: ${run.missed} missed, ${run.doubled} doubled, ${run.wrongWatcher} to the wrong watcher`,
      );
      process.exitCode = 1;
    }
  // Client-direct watch calls left behind by the fleets' stop retry against their stopped
  // clusters until their deadline (watch-fleet.ts): do not wait for them.
  process.exit();
}

/**
 * Polling for every router row not measured (the measured row's latency and CPU per poll, the
 * row's own target), and every row's renewal CPU (W ÷ waitMs requests a second at that cost).
 */
function fillPolling(runs: RunResult[]): void {
  const measuredRun = runs.find((run) => run.polling?.measured !== undefined);
  const measured = measuredRun?.polling;
  if (measuredRun === undefined || measured === undefined) return;
  for (const run of runs) {
    const requestsPerS = (run.heldWatchers * 1_000) / settings.waitMs;
    run.renewalCpuMsPerS = (requestsPerS * measured.cpuUsPerRequest) / 1_000;
    if (run.mode === 'router' && run.polling === undefined)
      run.polling = pollingFrom(
        run.watchers,
        run.startToDeliveredMs.p50,
        measured,
        `from ${measuredRun.watchers}`,
      );
  }
}

/** A fresh cluster for one row (a keyspace of its own on Cassandra), stopped afterwards. */
async function inFreshCluster<T>(
  mostWatchers: number,
  run: (cluster: LocalCluster) => Promise<T>,
): Promise<T> {
  const temporary = new TemporaryDirectory('chatring-bench-watch-');
  let keyspace: ScratchKeyspace | undefined;
  let cluster: LocalCluster | undefined;
  try {
    if (settings.store === 'cassandra') {
      cassandra ??= locateCassandra();
      keyspace = await openScratchKeyspace(await cassandra, 'chatring_bench_watch');
    }
    cluster = await startBenchCluster(temporary.path, settings.nodes, settings.chatringEntry, {
      // Each router-mode watch holds an app connection (default connectionsMax 10,000).
      env: {
        CHATRING_HTTP_OPTIONS: JSON.stringify({
          connectionsMax: Math.max(10_000, mostWatchers + DESCRIPTOR_MARGIN),
        }),
      },
      ...(keyspace === undefined ? {} : { storeArgs: keyspace.storeArgs() }),
    });
    return await run(cluster);
  } finally {
    await cluster?.stop();
    await keyspace?.drop();
    temporary.dispose();
  }
}

/** This process's soft limit on open files (Linux /proc/self/limits; 1,048,576 if unknown). */
function openFilesLimit(): number {
  try {
    const line = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    return Number(line?.[1] ?? 1_048_576);
  } catch {
    return 1_048_576;
  }
}
