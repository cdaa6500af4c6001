/** Before the load: the standby registered, and every user's caches warm. */
import { setTimeout as sleep } from 'node:timers/promises';
import type { ApiClient, ApiResponse, LocalCluster, NodeCounters } from '../../harness/index.js';
import { sumCounters } from '../../harness/index.js';
import { conversationIdOf, type ClusterStatus } from '../../protocol/index.js';
import type { ChatWorkload } from '../lib/chat-workload.js';
import { forEachLimit } from '../lib/for-each-limit.js';
import type { ScenarioResult } from './resize-results.js';
import { settings } from './resize-settings.js';

/** `chatring start` reports ready once the slots are served; a standby may register a moment later. */
export async function waitForStandby(
  cluster: LocalCluster,
  nodeId: string,
  timeoutMs: number,
): Promise<ClusterStatus> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const status = await cluster.status();
    const node = status.nodes.find((candidate) => candidate.nodeId === nodeId);
    if (node !== undefined && node.state === 'standby' && node.url !== '') return status;
    if (performance.now() > deadline)
      throw new Error(
        `--add-node ${nodeId} is not a registered standby after ${timeoutMs} ms (nodes: ${status.nodes.map((candidate) => `${candidate.nodeId}:${candidate.state}`).join(', ')})`,
      );
    await sleep(100);
  }
}

/** Reads every user's conversation list and each conversation the load will read (its contacts). */
export async function warmEveryUser(
  client: ApiClient,
  workload: ChatWorkload,
  readStats: () => Promise<Map<string, NodeCounters>>,
): Promise<NonNullable<ScenarioResult['warmCaches']>> {
  const started = performance.now();
  let requests = 0;
  let errors = 0;
  await forEachLimit(workload.userIds, settings.concurrency, async (userId) => {
    const answers: ApiResponse<unknown>[] = [
      await client.conversations(userId, { pageSize: settings.pageSize }),
    ];
    for (const contact of workload.contactsOf.get(userId) ?? [])
      answers.push(
        await client.messages(userId, conversationIdOf(userId, contact), {
          page: 0,
          pageSize: settings.pageSize,
        }),
      );
    requests += answers.length;
    errors += answers.filter((answer) => answer.errorCode !== undefined).length;
  });
  const stats = sumCounters((await readStats()).values());
  return {
    seconds: (performance.now() - started) / 1_000,
    requests,
    errors,
    cachedUsers: stats.cachedUsers,
    cachedBytes: stats.cachedBytes,
  };
}
