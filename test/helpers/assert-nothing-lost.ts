/** The check every failure test ends with: each acknowledged message is readable by both participants exactly once. */
import type { Test } from 'tap';
import type { ApiClient } from './api-client.js';
import { readConversation, type LoadReport } from './steady-load.js';

export async function assertNothingLost(
  t: Test,
  api: ApiClient,
  report: LoadReport,
): Promise<void> {
  t.ok(
    report.acknowledged.length > 0,
    `the load had acknowledged sends (${report.acknowledged.length})`,
  );
  for (const [sender, recipient] of report.pairs) {
    const acknowledged = report.acknowledged.filter(
      (m) =>
        (m.senderId === sender && m.recipientId === recipient) ||
        (m.senderId === recipient && m.recipientId === sender),
    );
    for (const owner of [sender, recipient]) {
      const stored = await readConversation(api, owner, owner === sender ? recipient : sender);
      const ids = stored.map((m) => m.messageId);
      t.equal(new Set(ids).size, ids.length, `${owner}: no message twice`);
      const missing = acknowledged.filter((m) => !ids.includes(m.messageId));
      t.same(missing, [], `${owner}: every acknowledged message is there`);
      const sentAts = stored.map((m) => m.sentAt);
      t.ok(
        sentAts.every((s, i) => i === 0 || s < (sentAts[i - 1] ?? Infinity)),
        `${owner}: strictly ordered`,
      );
    }
  }
}
