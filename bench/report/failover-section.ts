/** The failover section: recovery after kill -9, and what was lost (nothing, or it says so). */
import { type FailoverResults } from '../lib/bench-results.js';
import { grouped } from '../lib/figure-format.js';
import { markdownTable } from '../lib/markdown-section.js';
import { type BenchReport } from '../lib/result-files.js';
import { fixed } from '../lib/text-table.js';

export function failoverSection(report: BenchReport<FailoverResults> | undefined): string {
  if (report === undefined)
    return '### Failover\n\nNo failover result yet: `npm run bench:failover`.';
  const s = report.settings;
  const scenarios = report.results.scenarios;
  const acknowledged = scenarios.reduce((sum, run) => sum + run.verification.acknowledged, 0);
  const lost = scenarios.reduce((sum, run) => sum + run.verification.lost, 0);
  const rows = scenarios.map((run) => {
    const windows = [run.window.beforeKill, run.window.outage, run.window.afterRecovery];
    const errors = windows.reduce(
      (sum, window) => sum + window.affected.errors + window.unaffected.errors,
      0,
    );
    const v = run.verification;
    return [
      run.scenario,
      run.outcome,
      run.firstAffectedSuccessAfterKillMs === undefined
        ? 'never'
        : grouped(run.firstAffectedSuccessAfterKillMs),
      run.probeFirstSuccessAfterKillMs === undefined
        ? 'never'
        : grouped(run.probeFirstSuccessAfterKillMs),
      grouped(run.window.outage.affected.p50Ms),
      run.longestNoAckMs === undefined
        ? '—'
        : `${grouped(run.longestNoAckMs.affected)} / ${grouped(run.longestNoAckMs.unaffected)}`,
      `${fixed(run.window.beforeKill.unaffected.p99Ms, 0)} → ${fixed(run.window.outage.unaffected.p99Ms, 0)}`,
      grouped(errors),
      grouped(v.acknowledged),
      grouped(v.lost),
      `${grouped(v.duplicated)} / ${grouped(v.copyMismatches)} / ${grouped(v.orderViolations)}`,
    ];
  });
  const victim = scenarios[0]?.victim;
  const leaseMs = (s as { leaseMs?: number }).leaseMs;
  const lease =
    leaseMs === undefined
      ? 'with the default lease and heartbeat'
      : `with a ${String(leaseMs)} ms lease`;
  return [
    '### Failover: kill -9 or SIGSTOP of an owner under load',
    `${String(s.nodes)} nodes plus a standby, ${String(s.workers)} workers (${String(s.thinkMs)} ms think time) on ${String(s.pairs)} conversations; \`${victim?.nodeId ?? '?'}\` (owner of ${victim?.slots.join(', ') ?? '?'}) killed with SIGKILL after ${String(s.beforeKillS)} s, ${lease}. restart: the launcher restarts it; promotion: it stays dead and the standby takes its slot after the lease; pause: it is stopped with SIGSTOP instead (its connections stay open and never answer), the standby takes its slot, then SIGCONT wakes it. Recovery = ms from the signal to the first successful request for a victim-owned user (load / probe); the router retries inside its budget, so the outage shows as latency, not errors. Longest without an answer: from the signal on, the longest time no request of the victim's users, and of everyone else's, was answered. Afterwards every conversation is read back by both participants.`,
    markdownTable(
      [
        'scenario',
        'outcome',
        'recovery ms (load)',
        'recovery ms (probe)',
        'affected p50 in outage, ms',
        "longest without an answer, victim's / others' users, ms",
        'unaffected p99 before → outage, ms',
        'errors',
        'acknowledged',
        'lost',
        'duplicated / copies differ / out of order',
      ],
      rows,
      [
        'left',
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
      ],
    ),
    `Acknowledged sends lost: ${grouped(lost)} of ${grouped(acknowledged)}${lost === 0 ? '' : ' — **an invariant violation**'}.`,
  ].join('\n\n');
}
