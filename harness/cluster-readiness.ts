import { setTimeout as sleep } from 'node:timers/promises';
import { CONTROL_PLANE_PATHS } from '../control-plane/index.js';
import type { RingConfig } from '../protocol/index.js';
import { getJson } from './http-json.js';
import { readNodeStats } from './node-stats.js';
import type { MemberSigner } from '../transport/index.js';

const POLL_INTERVAL_MS = 100;
const STATS_TIMEOUT_MS = 2_000;

/**
 * Waits until the cluster behind `routerUrl` really serves: the ring names a URL for every slot's
 * node, and each of those nodes holds a live lease and sees its slot; and at least `standbys`
 * standbys have registered (a standby joins the ring, with its URL, at its first heartbeat, which
 * on a busy machine comes after the slots are served: a test that reads every node's stats, or
 * kills a node expecting the standby to take over, needs it there). Throws after `timeoutMs` with
 * the last thing still missing.
 */
export async function waitUntilServing(
  routerUrl: string,
  timeoutMs: number,
  signer: MemberSigner,
  standbys = 0,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  let problem = 'not polled yet';
  while (performance.now() < deadline) {
    try {
      problem = await readinessProblem(routerUrl, signer, standbys);
      if (problem === '') return;
    } catch (error) {
      problem = (error as Error).message;
    }
    await sleep(POLL_INTERVAL_MS);
  }
  throw new Error(`the cluster did not serve within ${timeoutMs} ms: ${problem}`);
}

/** What still keeps the cluster from serving; '' when nothing does. */
async function readinessProblem(
  routerUrl: string,
  signer: MemberSigner,
  standbys: number,
): Promise<string> {
  const ring = await getJson<RingConfig>(
    `${routerUrl}${CONTROL_PLANE_PATHS.ring}`,
    undefined,
    signer,
  );
  const registeredStandbys = ring.standbys.filter((nodeId) => ring.nodes[nodeId]?.url);
  if (registeredStandbys.length < standbys)
    return `${registeredStandbys.length} of ${standbys} standbys have registered`;
  for (const assignment of ring.slots) {
    const url = ring.nodes[assignment.nodeId]?.url ?? '';
    if (url === '') return `${assignment.nodeId} has not registered yet`;
    const stats = await readNodeStats(url, STATS_TIMEOUT_MS, signer);
    if (!(stats.leaseRemainingMs !== undefined && stats.leaseRemainingMs > 0))
      return `${assignment.nodeId} holds no lease yet`;
    if (!stats.slots.includes(assignment.slot))
      return `${assignment.nodeId} does not see ${assignment.slot} yet`;
  }
  return '';
}
