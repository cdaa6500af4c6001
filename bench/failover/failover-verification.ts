/** After the run: every acknowledged send read back (harness/history-check.ts), and what else landed. */
import {
  countViolations,
  findHistoryViolations,
  readMailboxCopies,
  type AcknowledgedSend,
  type ApiClient,
  type MailboxCopy,
} from '../../harness/index.js';
import type { FailoverResults, Pair } from './failover-results.js';

/**
 * Reads every conversation of the load for both participants and checks each acknowledged send
 * (harness/history-check.ts); then which unacknowledged sends landed anyway.
 */
export async function verify(
  client: ApiClient,
  pairs: Pair[],
  acknowledged: AcknowledgedSend[],
  unacknowledged: { senderId: string; clientMessageId: string; conversationId: string }[],
): Promise<FailoverResults['verification']> {
  const copies = await readMailboxCopies(
    client,
    acknowledged,
    pairs.map((pair) => [pair.low, pair.high] as const),
    1,
  );
  const counts = countViolations(findHistoryViolations(acknowledged, copies));
  const unacknowledgedPresent = unacknowledged.filter((attempt) => landed(copies, attempt)).length;
  return {
    acknowledged: acknowledged.length,
    lost: counts.lost,
    duplicated: counts.duplicated,
    copyMismatches: counts['copy-mismatch'],
    orderViolations: counts['out-of-order'],
    unacknowledgedPresent,
    unacknowledgedAbsent: unacknowledged.length - unacknowledgedPresent,
    conversationsRead: copies.length,
  };
}

/** A send that was never acknowledged is in some copy of its conversation after all. */
function landed(
  copies: readonly MailboxCopy[],
  attempt: { senderId: string; clientMessageId: string; conversationId: string },
): boolean {
  return copies.some(
    (copy) =>
      copy.conversationId === attempt.conversationId &&
      copy.messages.some(
        (message) =>
          message.senderId === attempt.senderId &&
          message.clientMessageId === attempt.clientMessageId,
      ),
  );
}
