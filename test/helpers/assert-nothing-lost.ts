/**
 * The check every failure test ends with: each acknowledged message is readable by both
 * participants exactly once, in order (harness/'s history check finds no violation).
 */
import type { Test } from 'tap';
import { findHistoryViolations, readMailboxCopies, type ApiClient } from '../../harness/index.js';
import type { LoadReport } from './steady-load.js';

export async function assertNothingLost(
  t: Test,
  api: ApiClient,
  report: LoadReport,
): Promise<void> {
  t.ok(
    report.acknowledged.length > 0,
    `the load had acknowledged sends (${report.acknowledged.length})`,
  );
  const copies = await readMailboxCopies(api, report.acknowledged, report.pairs);
  t.same(
    findHistoryViolations(report.acknowledged, copies),
    [],
    `${copies.length} mailbox copies: nothing lost, nothing twice, strictly ordered`,
  );
}
