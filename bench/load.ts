/**
 * bench/load.ts — closed-loop load on the public API, through chatring and against a baseline.
 *
 * `--concurrency` workers each issue one request at a time (a closed loop: the next starts when
 * the last answered) for `--duration-s` after a `--warmup-s` warm-up. Users are Zipf-distributed
 * by activity; each user talks to `--contacts` partners; the operation mix is `--mix`. Latency goes
 * into HDR histograms (p50/p99/p99.9); throughput is successful calls per second; the cache hit
 * ratio is the change of the nodes' cacheHits/cacheMisses over the measured window.
 *
 * Every target starts from the same data (a seeded store, copied) and sees the same per-worker
 * operation streams:
 *   router    — through the router of a local cluster (`chatring start`, its own processes);
 *   router-auth — the same with app tokens required (CHATRING_APP_TOKENS, a Bearer on every call):
 *               router-auth ÷ router on the reads is the cost of the app-token check;
 *   direct    — the same cluster, each call sent straight to its owning node (computed with
 *               RingView from /control/v1/ring; a send goes to the owner of the lower user id);
 *   baseline  — a stateless app server reading and writing the same store with no cache
 *               (bench/baseline-app-server.ts, a child process);
 *   cassandra — the router target on `--store cassandra`, only when CASSANDRA_CONTACT_POINTS is set.
 *
 * Member signatures are always on, so no target shows their cost: a micro-benchmark of signing and
 * verifying one request (load/auth-cost.ts) runs first and is set against router's CPU per read.
 */
import { join } from 'node:path';
import { TemporaryDirectory } from '../harness/index.js';
import { ChatWorkload } from './lib/chat-workload.js';
import { machineLine } from './lib/machine.js';
import { startReport, writeReport } from './lib/result-files.js';
import { percent } from './lib/text-table.js';
import { copyEmbeddedSeed, seedEmbeddedStore } from './lib/workload-seed.js';
import { authFigures, measureMemberSigning, type AuthFigures } from './load/auth-cost.js';
import { printAuthFigures, printResults } from './load/load-output.js';
import type { TargetResult } from './load/load-results.js';
import { runTarget } from './load/load-targets.js';
import { flags, settings } from './load/load-settings.js';

await main();

async function main(): Promise<void> {
  const report = startReport<{
    seed: { messages: number; commits: number; seconds: number; conversations: number };
    zipfTopShare: Record<string, number>;
    targets: TargetResult[];
    auth: AuthFigures;
  }>(
    'load',
    { ...settings, mix: { ...settings.mix } },
    'baseline target: a stateless app server on the same embedded store with no cache (bench/baseline-app-server.ts), run in the same invocation on a copy of the same seeded data',
  );
  console.log(`load benchmark — ${machineLine(report.machine)}`);
  console.log(
    `settings: ${settings.concurrency} workers, ${settings.warmupS}s warm-up + ${settings.durationS}s measured per target, ${settings.users} users (Zipf s=${settings.zipfExponent}), ${settings.contacts} contacts each, mix ${flags.string('mix')}, ${settings.contentBytes}-byte messages, ${settings.nodes} nodes + 1 standby, seed ${settings.seed}`,
  );
  const workload = new ChatWorkload({
    users: settings.users,
    contacts: settings.contacts,
    zipfExponent: settings.zipfExponent,
    mix: settings.mix,
    contentBytes: settings.contentBytes,
    seed: settings.seed,
  });
  const zipfTopShare = Object.fromEntries(
    [1, 10, 100, 1_000]
      .filter((top) => top <= settings.users)
      .map((top) => [`top${top}`, workload.shareOfTop(top)]),
  );
  console.log(
    `activity: the top 1/10/100 users issue ${Object.values(zipfTopShare)
      .slice(0, 3)
      .map((share) => percent(share, 1))
      .join(' / ')} of operations`,
  );

  // In this process before any cluster of ours runs, so our own processes do not share its cores.
  const memberSigning = measureMemberSigning(workload, settings.pageSize);
  console.log(
    `member signing (median of ${memberSigning.samples} × ${memberSigning.requestsPerSample}): GET ${memberSigning.get.totalUs.toFixed(2)} µs per request (sign ${memberSigning.get.signUs.toFixed(2)} + verify ${memberSigning.get.verifyUs.toFixed(2)}), POST with a ${memberSigning.send.bodyBytes}-byte body ${memberSigning.send.totalUs.toFixed(2)} µs; app-token check ${memberSigning.appTokenCheckUs.toFixed(2)} µs`,
  );

  const temporary = new TemporaryDirectory('chatring-bench-load-', settings.keepData);
  const root = temporary.path;
  const targets: TargetResult[] = [];
  try {
    const seed = await seedEmbeddedStore(join(root, 'seed'), workload, settings);
    console.log(
      `seeded ${seed.conversations} conversations, ${seed.messages} messages (${seed.commits} commits) in ${seed.seconds.toFixed(1)} s\n`,
    );
    for (const target of settings.targets) {
      const dataDir = join(root, target);
      copyEmbeddedSeed(join(root, 'seed'), dataDir);
      console.error(`running target ${target} ...`);
      const started = performance.now();
      const result = await runTarget(target, dataDir, workload);
      console.error(
        `target ${target} took ${((performance.now() - started) / 1_000).toFixed(1)} s (copy, start, warm-up, measure, stop)`,
      );
      if (result.skipped !== undefined) console.log(`${target}: ${result.skipped}`);
      targets.push(result);
    }
    printResults(targets);
    const auth = authFigures(memberSigning, targets, settings.mix);
    printAuthFigures(auth);
    report.notes.push(
      'Closed loop: throughput and latency trade against each other; compare targets at the same --concurrency.',
      'Everything (load generator, router, nodes, baseline) shares this machine; on few cores the cluster pays for its extra processes and hops.',
      'Every embedded target writes with SQLite synchronous=FULL to one file (the nodes of the cluster share it), so sends are bound by fsync and the single-writer lock. The local Cassandra of npm run cassandra:start runs without fsync (skip_sync): its send figures are not durability-equivalent.',
      'cache hit ratio: cacheHits / (cacheHits + cacheMisses) of all nodes over the measured window (mailbox loads; message windows are counted as store loads).',
      'cpu: utime + stime from /proc/<pid>/stat of the system under test (the launcher and every descendant: router, nodes, standby; or the baseline server) read at the start and end of the measured window; cpuCores = cpuSeconds / measured seconds. The load generator (this process) is excluded. A process that exits inside the window is not counted (its CPU leaves with it); one started inside it counts in full. Linux only; elsewhere "cpu: not measured".',
      "auth: router-auth is router with CHATRING_APP_TOKENS set and a Bearer token on every call (same seed, data copy, warm-up and operation streams); every other cluster target runs with CHATRING_APP_TOKENS empty. Member signatures are on in every cluster target (always): their cost is the micro-benchmark (wall time in this process, before the targets; median per request of batches) over router's cluster CPU per read, which charges the cluster's background work (heartbeats, leases, GC) and, unless the mix is reads only, the sends' CPU to the reads, so the share is a lower bound. One run's router-auth/router ratio also carries run-to-run noise (order, neighbours): run it twice, or with --targets router-auth,router, before reading a few percent into it.",
    );
    for (const note of report.notes) console.log(`note: ${note}`);
    const path = writeReport({ ...report, results: { seed, zipfTopShare, targets, auth } });
    console.log(`\nwrote ${path}`);
  } finally {
    temporary.dispose();
  }
}
