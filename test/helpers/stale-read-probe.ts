/**
 * Reads one conversation straight from one node, over and over, recording every answer with the
 * time its request was sent: a partition test then checks that no answer the node gave after a
 * newer message was acknowledged elsewhere left that message out (a stale read).
 */
import type { ApiClient } from '../../harness/index.js';

export interface ProbeAnswer {
  /** performance.now() when the request was sent. */
  sentAt: number;
  status: number;
  code: string | undefined;
  messageIds: string[];
}

export function startStaleReadProbe(api: ApiClient, userId: string, conversationId: string) {
  const answers: ProbeAnswer[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const sentAt = performance.now();
      const response = await api.messages(userId, conversationId, '?pageSize=50');
      answers.push({
        sentAt,
        status: response.status,
        code: response.errorCode,
        messageIds: response.status === 200 ? response.body.messages.map((m) => m.messageId) : [],
      });
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  })();
  return {
    answers,
    /** Answers to requests sent after `since` that served the conversation without `messageId`. */
    staleSince(since: number, messageId: string): ProbeAnswer[] {
      return answers.filter(
        (answer) =>
          answer.sentAt > since && answer.status === 200 && !answer.messageIds.includes(messageId),
      );
    },
    async stop(): Promise<ProbeAnswer[]> {
      running = false;
      await loop;
      return answers;
    },
  };
}
