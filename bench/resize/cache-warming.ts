/** Before the load: the standby registered, and every user's caches warm. */
import { setTimeout as sleep } from 'node:timers/promises';
import type { ApiClient, LocalCluster, NodeCounters } from '../../harness/index.js';
import { sumCounters } from '../../harness/index.js';
import type { ClusterStatus } from '../../protocol/index.js';
import type { ChatWorkload } from '../lib/chat-workload.js';
import { callOperation, runOperations } from '../lib/operation-call.js';
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
  const pass = await runOperations(
    workload.warmingOperations(),
    settings.concurrency,
    (operation) => callOperation(client, operation, settings.pageSize),
  );
  const stats = sumCounters((await readStats()).values());
  return {
    seconds: pass.seconds,
    requests: pass.requests,
    errors: pass.errors,
    cachedUsers: stats.cachedUsers,
    cachedBytes: stats.cachedBytes,
  };
}
