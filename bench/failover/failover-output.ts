/** The failover benchmark's printout: timeline, outcome, windows, verification. */
import { fixed, renderTable, type Cell } from '../lib/text-table.js';
import type { FailoverResults } from './failover-results.js';

export function printResults(results: FailoverResults): void {
  console.log('timeline (ms after the kill; status polled every 100 ms):');
  for (const event of results.timeline)
    console.log(`  ${fixed(event.atMs, 0).padStart(7)}  ${event.text}`);
  console.log('');
  console.log(`outcome: ${results.outcome} — ${results.outcomeDetail}`);
  console.log(
    `first successful request for an affected user, issued after the kill: ${results.firstAffectedSuccessAfterKillMs === undefined ? 'none' : `${fixed(results.firstAffectedSuccessAfterKillMs, 0)} ms after the kill`}`,
  );
  console.log(
    `probe (GET conversations of a victim-owned user): first success ${results.probeFirstSuccessAfterKillMs === undefined ? 'never' : `${fixed(results.probeFirstSuccessAfterKillMs, 0)} ms after the kill`}\n`,
  );
  const headers = [
    'window',
    'seconds',
    'users',
    'ok',
    'errors',
    'p50 ms',
    'p99 ms',
    'max ms',
    'error codes',
  ];
  const rows: Cell[][] = [];
  for (const [name, window] of Object.entries(results.window)) {
    for (const [users, summary] of [
      ['affected', window.affected],
      ['unaffected', window.unaffected],
    ] as const) {
      rows.push([
        name,
        fixed(window.seconds, 2),
        users,
        summary.ok,
        summary.errors,
        fixed(summary.p50Ms, 1),
        fixed(summary.p99Ms, 1),
        fixed(summary.maxMs, 1),
        JSON.stringify(summary.errorsByCode),
      ]);
    }
  }
  console.log(renderTable(headers, rows));
  console.log(
    `\nlongest time without an answer from the signal on: ${fixed(results.longestNoAckMs.affected, 0)} ms for the victim's users, ${fixed(results.longestNoAckMs.unaffected, 0)} ms for everyone else's`,
  );
  const v = results.verification;
  console.log(
    `\nverification: ${v.acknowledged} acknowledged sends, read back from ${v.conversationsRead} mailbox copies: lost ${v.lost}, duplicated ${v.duplicated}, copy mismatches ${v.copyMismatches}, order violations ${v.orderViolations}; unacknowledged sends ${v.unacknowledgedPresent + v.unacknowledgedAbsent} (${v.unacknowledgedPresent} landed, ${v.unacknowledgedAbsent} not)`,
  );
}
