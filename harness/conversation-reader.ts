import { conversationIdOf, type Message } from '../protocol/index.js';
import type { ApiClient } from './api-client.js';
import type { MailboxCopy } from './history-check.js';

/** Pages read at most for one conversation: 50 pages of 200 is more than any test or run writes. */
export const CONVERSATION_PAGES_MAX = 50;
const PAGE_SIZE = 200;

/**
 * One mailbox's copy of a conversation, every page, newest first; throws if a page fails (a check
 * of what was stored must not mistake an unanswered read for a lost message) or if the
 * conversation is longer than CONVERSATION_PAGES_MAX pages (rather than judge half of it).
 */
export async function readConversation(
  client: ApiClient,
  ownerId: string,
  peerId: string,
): Promise<Message[]> {
  const conversationId = conversationIdOf(ownerId, peerId);
  const messages: Message[] = [];
  for (let page = 0; page < CONVERSATION_PAGES_MAX; page += 1) {
    const response = await client.messages(ownerId, conversationId, { page, pageSize: PAGE_SIZE });
    if (response.status !== 200)
      throw new Error(
        `reading ${conversationId} as ${ownerId} failed: ${response.status} ${response.errorCode ?? ''} ${JSON.stringify(response.body)}`,
      );
    messages.push(...response.body.messages);
    if (response.body.messages.length < PAGE_SIZE) return messages;
  }
  throw new Error(
    `${conversationId} as ${ownerId} has more than ${CONVERSATION_PAGES_MAX * PAGE_SIZE} messages`,
  );
}

/**
 * Both participants' copies of every conversation that an acknowledged send touched, plus those of
 * `pairs` (conversations the load used, even if no send of theirs was acknowledged), read with at
 * most `parallelism` reads in flight.
 */
export async function readMailboxCopies(
  client: ApiClient,
  acknowledged: readonly { message: Message }[],
  pairs: readonly (readonly [string, string])[] = [],
  parallelism = 8,
): Promise<MailboxCopy[]> {
  const wanted = new Map<string, { ownerId: string; peerId: string }>();
  const want = (ownerId: string, peerId: string) =>
    wanted.set(`${ownerId}|${conversationIdOf(ownerId, peerId)}`, { ownerId, peerId });
  for (const [first, second] of pairs) {
    want(first, second);
    want(second, first);
  }
  for (const { message } of acknowledged) {
    want(message.senderId, message.recipientId);
    want(message.recipientId, message.senderId);
  }
  const jobs = [...wanted.values()];
  const copies: MailboxCopy[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(parallelism, jobs.length) }, async () => {
      for (let job = jobs[next++]; job !== undefined; job = jobs[next++]) {
        copies.push({
          ownerId: job.ownerId,
          conversationId: conversationIdOf(job.ownerId, job.peerId),
          messages: await readConversation(client, job.ownerId, job.peerId),
        });
      }
    }),
  );
  return copies;
}
