/**
 * bench/load.ts — closed-loop load on the public API, through chatring and against a baseline and
 * the machine's physical limit (issue 11: "the read path pays for itself").
 *
 * `--concurrency` workers each issue one request at a time (a closed loop: the next starts when
 * the last answered) for `--duration-s` after a `--warmup-s` warm-up. Users are Zipf-distributed
 * by activity; each user talks to `--contacts` partners; the operation mix is `--mix` (reads only
 * by default). Before the warm-up a pre-warm pass reads every user's conversation list and every
 * conversation the load reads, once, so every mailbox the measured window reads is warm. Latency
 * goes into HDR histograms (p50/p99/p99.9); throughput is successful calls per second; CPU is the
 * system under test's process tree (/proc) over the window, also per operation.
 *
 * Every target starts from the same data (a seeded store, copied; on Cassandra a keyspace seeded
 * with the same data) and sees the same per-worker operation streams. Per store (embedded SQLite,
 * and Cassandra with the suffix `-cassandra`):
 *   router        — through the router of a local cluster (`chatring start`, its own processes);
 *   client-direct — through the ring-aware client (client/, mode 'direct'), straight to the owners;
 *   direct        — the same cluster, each call sent straight to its owning node (RingView);
 *   baseline      — a stateless app server on the same store with no cache
 *                   (bench/baseline-app-server.ts, a child process).
 * The physical limits (bench/echo-server.ts, child processes): `echo` answers each page's bytes
 * from memory; `echo-proxy` is the echo behind one trivial undici proxy hop. Opt-in: `router-auth`
 * (router with app tokens required: router-auth ÷ router is the cost of the token check).
 * After the router target, on its cluster, the page-size check reads deep conversations at the
 * load's page size and at 200 (load/page-size-check.ts). The ratios come last
 * (lib/load-ratios.ts).
 *
 * Member signatures are always on, so no target shows their cost: a micro-benchmark of signing and
 * verifying one request (load/auth-cost.ts) runs first and is set against router's CPU per read.
 */
import { join } from 'node:path';
import { TemporaryDirectory } from '../harness/index.js';
import { ChatWorkload } from './lib/chat-workload.js';
import type { TargetSpec } from './lib/load-target-catalogue.js';
import { loadRatios, type LoadRatio } from './lib/load-ratios.js';
import { machineLine } from './lib/machine.js';
import { startReport, writeReport } from './lib/result-files.js';
import { percent } from './lib/text-table.js';
import { copyEmbeddedSeed, seedEmbeddedStore } from './lib/workload-seed.js';
import { authFigures, measureMemberSigning, type AuthFigures } from './load/auth-cost.js';
import { BenchCassandra, type CassandraUsed } from './load/cassandra-keyspaces.js';
import {
  printAuthFigures,
  printPageSizeCheck,
  printRatios,
  printResults,
} from './load/load-output.js';
import type { TargetResult } from './load/load-results.js';
import { runSession, sessionsOf } from './load/load-targets.js';
import { flags, knownTarget, settings } from './load/load-settings.js';
import { seedDeepConversations, type PageSizeCheck } from './load/page-size-check.js';

await main();

async function main(): Promise<void> {
  const report = startReport<{
    seed: { messages: number; commits: number; seconds: number; conversations: number };
    zipfTopShare: Record<string, number>;
    targets: TargetResult[];
    auth: AuthFigures;
    pageSizeCheck?: PageSizeCheck;
    cassandra?: CassandraUsed;
    ratios: LoadRatio[];
  }>(
    reportName(),
    { ...settings, mix: { ...settings.mix } },
    'baseline targets: a stateless app server on the same store (embedded, or a Cassandra keyspace seeded alike) with no cache (bench/baseline-app-server.ts); physical limits: echo and echo-proxy (bench/echo-server.ts); all run in the same invocation on the same seeded data',
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
  const cassandra = new BenchCassandra(workload);
  let pageSizeCheck: PageSizeCheck | undefined;
  try {
    const seed = await seedEmbeddedStore(join(root, 'seed'), workload, settings);
    const checkPages = settings.targets.includes('router') && settings.pageCheckS > 0;
    if (checkPages) await seedDeepConversations(join(root, 'seed'), settings);
    console.log(
      `seeded ${seed.conversations} conversations, ${seed.messages} messages (${seed.commits} commits) in ${seed.seconds.toFixed(1)} s${checkPages ? ', plus the page-size check’s deep conversations' : ''}\n`,
    );
    for (const session of sessionsOf(settings.targets.map(knownTarget))) {
      const names = session.map((spec) => spec.name).join(', ');
      // Each target's own directory; an embedded target's holds a copy of the seeded store.
      const dataDirFor = (spec: TargetSpec) => {
        const dataDir = join(root, spec.name);
        if (spec.store !== 'cassandra') copyEmbeddedSeed(join(root, 'seed'), dataDir);
        return dataDir;
      };
      console.error(`running target ${names} ...`);
      const started = performance.now();
      for (const run of await runSession(session, dataDirFor, workload, cassandra)) {
        if (run.result.skipped !== undefined)
          console.log(`${run.result.target}: ${run.result.skipped}`);
        targets.push(run.result);
        pageSizeCheck ??= run.pageSizeCheck;
      }
      console.error(
        `target ${names} took ${((performance.now() - started) / 1_000).toFixed(1)} s (copy, start, pre-warm, warm-up, measure, stop)`,
      );
    }
    printResults(targets);
    printPageSizeCheck(pageSizeCheck);
    const ratios = loadRatios(targets, pageSizeCheck);
    const cassandraUsed = cassandra.used();
    printRatios(ratios);
    const auth = authFigures(memberSigning, targets, settings.mix);
    printAuthFigures(auth);
    report.notes.push(
      'Closed loop: throughput and latency trade against each other; compare targets at the same --concurrency.',
      'Everything (load generator, router, nodes, baseline, echo, and the local Cassandra) shares this machine; on few cores the cluster pays for its extra processes and hops.',
      "pre-warm: before the warm-up, every user's conversation list and every conversation of every user (both sides of each seeded pair: what the load reads and what its sends write) is read once (workload.warmingOperations; a failed read sent again, twice at most), so the measured window reads warm mailboxes only (cache misses and store loads over the window show it). A cluster is pre-warmed straight to its owners, once for the targets that share it; the echo records each page on that pass; the baselines have no cache and no pre-warm (their store's data, small here, stays in memory either way).",
      "echo / echo-proxy: the physical limits. echo answers each URL with the bytes of that page of the seeded data (built once from the store in the product's JSON shape), from memory; echo-proxy is a node:http server forwarding each request through an undici Pool to such an echo (its child) and relaying status and bytes. Both serve reads only. CPU: the server process tree (proxy + echo).",
      "Cassandra targets: the Cassandra of harness/cassandra.ts (CASSANDRA_CONTACT_POINTS, else a local node started or reused by scripts/cassandra/cassandra.mjs, left running). Its own CPU is measured apart (storeCpu*: utime + stime of the Cassandra JVM from /proc/<pid>/stat at the edges of each Cassandra target's window; the pid from scripts/cassandra's state file, or the CassandraDaemon listening on a local contact point's port; results.cassandra.cpu says which) and never added to cpuSeconds: the tier's cores and the store's are reported side by side. Cassandra's background work in a window (compaction, flushes, gossip, GC) is charged to the target that ran in it. A contact point on another machine, or a cluster with more nodes than were found here, leaves it 'not measured' (storeCpuNotMeasured), never estimated. On the embedded store the store runs inside the nodes' (the baseline's) processes and is part of their CPU. With a read-only mix the Cassandra targets share one keyspace seeded once; with sends each gets its own.",
      "client-direct: the load generator runs the ring-aware client (client/), which parses every answer: its CPU is the load generator's (excluded), the cluster CPU per op is the nodes' (no router hop).",
      'Every embedded target writes with SQLite synchronous=FULL to one file (the nodes of the cluster share it), so sends are bound by fsync and the single-writer lock. The local Cassandra of npm run cassandra:start runs without fsync (skip_sync): its send figures are not durability-equivalent.',
      'cache hit ratio: cacheHits / (cacheHits + cacheMisses) of all nodes over the measured window (mailbox loads; message windows are counted as store loads).',
      'cpu: utime + stime from /proc/<pid>/stat of the system under test (the launcher and every descendant: router, nodes, standby; or the baseline or echo server\'s process tree) read at the start and end of the measured window; cpuCores = cpuSeconds / measured seconds; cpuUsPerOp = cpuSeconds / successful operations. The load generator (this process) is excluded. A process that exits inside the window is not counted (its CPU leaves with it); one started inside it counts in full. Linux only; elsewhere "cpu: not measured".',
      "auth: router-auth is router with CHATRING_APP_TOKENS set and a Bearer token on every call (same seed, data copy, warm-up and operation streams); every other cluster target runs with CHATRING_APP_TOKENS empty. Member signatures are on in every cluster target (always): their cost is the micro-benchmark (wall time in this process, before the targets; median per request of batches) over router's cluster CPU per read, which charges the cluster's background work (heartbeats, leases, GC) and, unless the mix is reads only, the sends' CPU to the reads, so the share is a lower bound. One run's router-auth/router ratio also carries run-to-run noise (order, neighbours): run it twice, or with --targets router-auth,router, before reading a few percent into it.",
    );
    for (const note of report.notes) console.log(`note: ${note}`);
    const path = writeReport({
      ...report,
      results: {
        seed,
        zipfTopShare,
        targets,
        auth,
        ...(pageSizeCheck === undefined ? {} : { pageSizeCheck }),
        ...(cassandraUsed === undefined ? {} : { cassandra: cassandraUsed }),
        ratios,
      },
    });
    console.log(`\nwrote ${path}`);
  } finally {
    await cassandra.close();
    temporary.dispose();
  }
}

/** `load` (the read-path comparison) or `sends` (the write mix the capacity plan reads). */
function reportName(): 'load' | 'sends' {
  const name = flags.string('report-name');
  if (name !== 'load' && name !== 'sends')
    throw new Error(`--report-name must be load or sends, got "${name}"`);
  return name;
}
