/**
 * bench/failover.ts — what a client sees when the node owning its users is killed (kill -9), and
 * whether anything acknowledged was lost.
 *
 * Starts a local cluster, runs a light closed-loop load through the router (sends and reads on a
 * fixed set of conversations, half of whose users the victim node owns), kills the victim with
 * SIGKILL (its pid from /control/v1/status), and measures: the time from the kill to the first
 * successful request for an affected user (from the load, and from a dedicated probe), the errors
 * and the worst latency in between, and what the cluster did (restart of the same node id, or a
 * standby promoted to its slot), from /control/v1/status polled every 100 ms. Afterwards it reads
 * every conversation back through the router for both participants and checks every acknowledged
 * send is there exactly once in both copies with the same id and sentAt: acknowledged-but-lost
 * must be 0. The baseline in the same run is the pre-kill window of the same load.
 */
import { machineLine } from './lib/machine.js';
import { startReport, writeReport } from './lib/result-files.js';
import { printResults } from './failover/failover-output.js';
import type { FailoverResults } from './failover/failover-results.js';
import { runInFreshCluster } from './failover/failover-scenario.js';
import { SCENARIO_ARGS, settings, type ScenarioName } from './failover/failover-settings.js';

await main();

async function main(): Promise<void> {
  const report = startReport<{ scenarios: (FailoverResults & { scenario: ScenarioName })[] }>(
    'failover',
    settings,
    'the same load in the window before the kill (same run, same cluster)',
  );
  console.log(`failover benchmark — ${machineLine(report.machine)}`);
  console.log(
    `settings: ${settings.nodes} nodes + 1 standby, victim ${settings.victim}, ${settings.pairs} conversations, ${settings.workers} workers, think ${settings.thinkMs} ms, ${settings.beforeKillS}s before the kill, scenarios ${settings.scenarios.join(', ')}${settings.leaseMs === undefined ? '' : `, lease ${settings.leaseMs} ms`}`,
  );
  const scenarios: (FailoverResults & { scenario: ScenarioName })[] = [];
  const recoveries = new Map<ScenarioName, number[]>();
  for (const scenario of settings.scenarios)
    for (let run = 1; run <= settings.runs; run += 1) {
      console.log(
        `\n--- scenario ${scenario}${settings.runs > 1 ? ` (run ${run} of ${settings.runs})` : ''}: chatring start ${SCENARIO_ARGS[scenario].join(' ')} ---\n`,
      );
      const results = await runInFreshCluster(scenario);
      printResults(results);
      scenarios.push({ scenario, ...results });
      const recovery = results.firstAffectedSuccessAfterKillMs;
      if (recovery !== undefined)
        recoveries.set(scenario, [...(recoveries.get(scenario) ?? []), recovery]);
    }
  // With several runs per scenario: the median recovery (the issue's figure is a median).
  if (settings.runs > 1)
    for (const [scenario, values] of recoveries) {
      const sorted = [...values].sort((a, b) => a - b);
      const median = sorted[Math.floor((sorted.length - 1) / 2)] ?? Number.NaN;
      const line = `${scenario}: recovery median ${median.toFixed(0)} ms over ${sorted.length} runs (${sorted.map((ms) => ms.toFixed(0)).join(', ')})`;
      console.log(line);
      report.notes.push(line);
    }
  report.notes.push(
    "affected: a request that needs the victim (a read of a user it owns, a send with either user on it). Windows: before = answered before the kill; outage = in flight at any moment from the kill to recovery (the first affected success issued after the kill, and the probe's); after = issued after recovery.",
    'The router retries NOT_OWNER, OWNER_UNAVAILABLE and connection failures inside its retry budget, so an outage shows mostly as latency, errors only past the budget.',
    'restart: the launcher starts a killed member again within ~0.25 s; back before its lease runs out, it keeps its slot. promotion (--restart-members false): the lease lapses and the standby takes the slot, cold.',
  );
  console.log('');
  for (const note of report.notes) console.log(`note: ${note}`);
  const path = writeReport({ ...report, results: { scenarios } });
  console.log(`\nwrote ${path}`);
  // Timings never fail a benchmark; a broken invariant does (it is a correctness bug, not a number).
  for (const { scenario, verification } of scenarios) {
    const { lost, duplicated, copyMismatches } = verification;
    if (lost + duplicated + copyMismatches > 0) {
      console.log(
        `INVARIANT VIOLATED (${scenario}): ${lost} acknowledged copies lost, ${duplicated} duplicated, ${copyMismatches} copies differ`,
      );
      process.exitCode = 1;
    }
  }
}
