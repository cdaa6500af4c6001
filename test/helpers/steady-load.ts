/**
 * A steady send/read load (through the router, or client-direct) for failure tests: `concurrency` loops, each sending
 * between its own pair of users and reading back, until stopped. It records every acknowledged
 * message (with when it was issued and acknowledged, for harness/'s order check), and every failure
 * with its time, so a test can check that nothing acknowledged was lost and measure how long an
 * affected user went unserved.
 */
import { randomUUID } from 'node:crypto';
import { conversationIdOf, type Message } from '../../protocol/index.js';
import { uniqueUser, type AcknowledgedSend, type MessagingApi } from '../../harness/index.js';

export interface LoadReport {
  acknowledged: AcknowledgedSend[];
  failures: { at: number; status: number; code: string }[];
  /** Successful requests per user pair, with times, to find recovery. */
  successesAt: Map<string, number[]>;
  pairs: [string, string][];
  /** Reads right after an acknowledged send that did not show it (must stay empty). */
  staleReads: { userId: string; messageId: string }[];
}

/** `api`: the router's ApiClient, or a ring-aware client through `clientApi`. */
export function startSteadyLoad(
  api: MessagingApi,
  concurrency: number,
  users: [string, string][] = [],
) {
  const pairs: [string, string][] =
    users.length > 0
      ? users
      : Array.from({ length: concurrency }, () => [uniqueUser('ls'), uniqueUser('lr')]);
  const report: LoadReport = {
    acknowledged: [],
    failures: [],
    successesAt: new Map(),
    pairs,
    staleReads: [],
  };
  let running = true;
  const loops = pairs.map(async ([sender, recipient], index) => {
    const key = `${sender}|${recipient}`;
    report.successesAt.set(key, []);
    for (let i = 0; running; i += 1) {
      const clientMessageId = randomUUID();
      const issuedAtMs = Date.now();
      let acked: Message | undefined;
      // A client retries a failed send with the same clientMessageId until it is acknowledged.
      for (let attempt = 0; attempt < 50; attempt += 1) {
        const [from, to] = (i + index) % 2 === 0 ? [sender, recipient] : [recipient, sender];
        const response = await api.send(from, to, `load ${i}`, clientMessageId);
        if (response.status === 201 || response.status === 200) {
          acked = response.body.message;
          report.acknowledged.push({ message: acked, issuedAtMs, acknowledgedAtMs: Date.now() });
          report.successesAt.get(key)?.push(Date.now());
          break;
        }
        // No answer at all (status 0) is a network failure.
        const code = response.status === 0 ? 'NETWORK' : (response.errorCode ?? 'NETWORK');
        report.failures.push({ at: Date.now(), status: response.status, code });
        if (!running && attempt > 5) break;
      }
      // Read your writes: the acknowledged message must be visible to both, at once.
      for (const reader of acked === undefined ? [] : [sender, recipient]) {
        const read = await api.messages(reader, conversationIdOf(sender, recipient), '?pageSize=5');
        if (
          read.status === 200 &&
          !read.body.messages.some((m) => m.messageId === acked?.messageId)
        ) {
          report.staleReads.push({ userId: reader, messageId: acked?.messageId ?? '' });
        }
      }
    }
  });
  return {
    report,
    async stop(): Promise<LoadReport> {
      running = false;
      await Promise.all(loops);
      return report;
    },
  };
}
