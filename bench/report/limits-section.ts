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
  // The run with sends the plan reads (`sends`), or the load run when its mix had sends.
  const sendsRun = results.sends ?? (load !== undefined && hasSends(load) ? load : undefined);
  const bullets: string[] = [];
  if (sendsRun !== undefined) {
    const router = measuredTargets(sendsRun).find(
      (target) => targetSpec(target.target)?.path === 'router' && storeOf(target) === 'embedded',
    );
    const sends = router?.byOperation.send?.ok ? router.byOperation.send.opsPerSecond : undefined;
    if (router !== undefined)
      bullets.push(
        `**The embedded store is not in the plan.** All ${String(sendsRun.settings.nodes)} nodes of the local cluster commit to one SQLite file: one writer at a time, \`synchronous=FULL\`, an fsync per commit.${sends === undefined ? '' : ` The ${grouped(sends, 1)} sends/s (${grouped(sends * DESIGN_CAPACITY_TARGETS.mailboxCommitsPerSend, 1)} commits/s) through the router are that file's commit rate shared by the nodes.`} It does not grow with nodes or cores, so the plan is derived from the Cassandra targets.`,
      );
  }
  const cassandraRuns = [load, results.sends].filter(
    (report): report is NonNullable<typeof report> =>
      report !== undefined &&
      measuredTargets(report).some((target) => storeOf(target) === 'cassandra'),
  );
  const cassandraRun = cassandraRuns.at(-1);
  if (cassandraRun !== undefined) {
    const node = cassandraRun.results.cassandra?.localNode;
    const cpu = cassandraRun.results.cassandra?.cpu;
    const measured = cpu !== undefined && 'scope' in cpu;
    const local = node !== undefined;
    const lead = local
      ? `**Cassandra here is one local node on the same cores**, ${node.reused ? 'found running' : 'started by the bench'} (\`scripts/cassandra/cassandra.mjs\`: no fsync, \`skip_sync\`; a 1 GiB heap; JIT ${node.jit}${node.jit.startsWith('C1 only') ? " — the tests' fast boot, slower under load: it handicaps the Cassandra baseline most and inflates Cassandra's CPU per operation; `npm run cassandra:stop` before the bench lets it start one with the full JIT" : ''}), competing with the load generator, the nodes and the baseline for ${grouped(cassandraRun.machine.cores)} cores`
      : `**Cassandra here is the one \`CASSANDRA_CONTACT_POINTS\` names**${measured ? `, ${grouped(cpu.pids.length)} node${cpu.pids.length === 1 ? '' : 's'} on this machine, competing with the load generator, the nodes and the baseline for its ${grouped(cassandraRun.machine.cores)} cores` : ''}`;
    const cpuText = measured
      ? `Its own CPU is measured (the JVM's user + system time over each target's window) and shown apart: the store columns of the load tables and the store cores of the plan. But it is one replica${local ? ' without fsync' : ''}: a production cluster writes each mailbox commit to every replica (an LWT's Paxos rounds among them)${local ? ' and syncs its commit log' : ''}, so its CPU per send is higher than measured here, by a factor not measured. Its background work (compaction, flushes) in a window is charged to the target that ran then, and compaction lags the writes: a short window can miss the compaction its own writes cause later. The plan's store cores are CPU only: Cassandra's disks, network and memory are not sized here.`
      : `Its CPU was not measured (${cpu !== undefined && 'notMeasured' in cpu ? cpu.notMeasured : 'a result from before it was measured'}), so the baseline's CPU per read leaves out the store's share of every read, the cluster's only its cold loads, and the plan has no store cores.`;
    bullets.push(
      `${lead}, with the bench's keyspaces at replication factor 1. ${cpuText} The ratios against the Cassandra baseline describe this small, shared node, not a Cassandra cluster on its own hosts.`,
    );
  }
  const box = load ?? results.sends;
  if (box !== undefined) {
    bullets.push(
      `**${box.machine.loadAverage1m > box.machine.cores ? 'A loaded' : 'One'} ${grouped(box.machine.cores)}-core box.** The load figures come from ${box.machine.cpuModel} with ${grouped(box.machine.cores)} cores and a 1-minute load average of ${fixed(box.machine.loadAverage1m, 2)} (${fixed(box.machine.loadAverage1m / box.machine.cores, 1)} per core) at the start, shared by the load generator, router, ${String(box.settings.nodes)} nodes, the standby, Cassandra and other work. ${measuredTargets(box).every((target) => target.cpuCores !== undefined) ? 'The per-core figures divide by the CPU time each target itself used (and Cassandra’s by its own), so the load generator is not charged; but that time ran on shared cores (contention, cache and frequency effects), so they describe this CPU under this load' : 'Where CPU time was not measured, each target is charged with every core: those per-core figures are lower bounds for this CPU and the core counts upper bounds'}; they say nothing about a quiet server-class host.`,
    );
  }
  const scaling = sendsRun ?? load;
  if (scaling !== undefined)
    bullets.push(
      `**Scaling is extrapolated, not measured.** The load bench ran ${String(scaling.settings.nodes)} nodes${cassandraRun === undefined ? '' : ' and one Cassandra node'} on one host for ${String(scaling.settings.durationS)} s per target${sendsRun === undefined ? ': nothing here measures how reads grow with nodes or cores' : '; the plan assumes sends/s grow linearly with cores to the thousands, for the tier and for Cassandra alike'}.${ringHeadroom === undefined ? '' : ` Ring balance was measured up to ${grouped(ringHeadroom.slots)} slots; a fleet of thousands of cores has far more slots, and the fullest slot's headroom at that size is not measured.`}`,
    );
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
