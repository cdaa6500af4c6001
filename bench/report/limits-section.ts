/** What the figures do not support. */
import { DESIGN_CAPACITY_TARGETS } from '../lib/capacity-plan.js';
import { grouped } from '../lib/figure-format.js';
import { fixed } from '../lib/text-table.js';
import { targetSpec } from '../lib/load-target-catalogue.js';
import { hasSends, measuredTargets, storeOf } from './load-section.js';
import { ranInRunAll } from './provenance-section.js';
import { BENCHMARKS, results } from './report-context.js';

export function limitsSection(
  ringHeadroom: { maxOverMean: number; slots: number } | undefined,
): string {
  const load = results.load;
  const bullets: string[] = [];
  if (load !== undefined) {
    const router = measuredTargets(load).find((target) => target.target === 'router');
    const cassandra = measuredTargets(load).filter((target) => storeOf(target) === 'cassandra');
    const routerCassandra = cassandra.find(
      (target) => targetSpec(target.target)?.path === 'router',
    );
    const sends = router?.byOperation.send?.ok ? router.byOperation.send.opsPerSecond : undefined;
    if (hasSends(load))
      bullets.push(
        `**Send throughput here is a store figure, not a cache-tier one.** On the embedded store all ${String(load.settings.nodes)} nodes of the local cluster commit to one SQLite file: one writer at a time, \`synchronous=FULL\`, an fsync per commit.${sends === undefined ? '' : ` The ${grouped(sends, 1)} sends/s (${grouped(sends * DESIGN_CAPACITY_TARGETS.mailboxCommitsPerSend, 1)} commits/s) through the router are that file's commit rate shared by the nodes.`} It does not grow with nodes or cores, so the cores above are what this configuration would need, not a forecast for chatring on Cassandra, where each user's partition lives on its own replicas and writes spread over the store's nodes. ${routerCassandra === undefined ? 'No router target on Cassandra ran.' : `The Cassandra target (${grouped(routerCassandra.byOperation.send?.opsPerSecond ?? Number.NaN, 1)} sends/s) ran one local Cassandra on the same cores without fsync (\`skip_sync\`): neither durability-equivalent nor a cluster figure.`} The plan also leaves out the store's own cores and disks.`,
      );
    const node = load.results.cassandra?.localNode;
    if (cassandra.length > 0)
      bullets.push(
        `**Cassandra here is one ${node === undefined ? '' : 'local '}node on the same cores**${node === undefined ? ' (CASSANDRA_CONTACT_POINTS)' : `, ${node.reused ? 'found running' : 'started by the bench'} (\`scripts/cassandra/cassandra.mjs\`: no fsync, \`skip_sync\`; a 1 GiB heap; JIT ${node.jit}${node.jit.startsWith('C1 only') ? " — the tests' fast boot, slower under load: it handicaps the Cassandra baseline most; `npm run cassandra:stop` before the bench lets it start one with the full JIT" : ''})`}, competing with the load generator, the nodes and the baseline for ${grouped(load.machine.cores)} cores. Its CPU is charged to no target, so the baseline's CPU per read leaves out the store's share of every read, and the cluster's leaves out only its cold loads. The ratios against the Cassandra baseline describe this small, shared node, not a Cassandra cluster on its own hosts.`,
      );
    bullets.push(
      `**${load.machine.loadAverage1m > load.machine.cores ? 'A loaded' : 'One'} ${grouped(load.machine.cores)}-core box.** The load figures come from ${load.machine.cpuModel} with ${grouped(load.machine.cores)} cores and a 1-minute load average of ${fixed(load.machine.loadAverage1m, 2)} (${fixed(load.machine.loadAverage1m / load.machine.cores, 1)} per core) at the start, shared by the load generator, router, ${String(load.settings.nodes)} nodes, the standby and other work. ${measuredTargets(load).every((target) => target.cpuCores !== undefined) ? 'The per-core figures divide by the CPU time each target itself used, so the load generator is not charged; but that time ran on shared cores (contention, cache and frequency effects), so they describe this CPU under this load' : 'Where CPU time was not measured, each target is charged with every core: those per-core figures are lower bounds for this CPU and the core counts upper bounds'}; they say nothing about a quiet server-class host.`,
    );
    bullets.push(
      `**Scaling is extrapolated, not measured.** The load bench ran ${String(load.settings.nodes)} nodes on one host for ${String(load.settings.durationS)} s per target${hasSends(load) ? '; the plan assumes sends/s grow linearly with cores to the thousands' : ': nothing here measures how reads grow with nodes or cores'}.${ringHeadroom === undefined ? '' : ` Ring balance was measured up to ${grouped(ringHeadroom.slots)} slots; a fleet of thousands of cores has far more slots, and the fullest slot's headroom at that size is not measured.`}`,
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
