/** Who owns a sample of users before and after the change, as the router answers it. */
import type { LocalCluster } from '../../harness/index.js';
import type { RingView } from '../../ring/index.js';
import type { ChatWorkload } from '../lib/chat-workload.js';
import { forEachLimit } from '../lib/for-each-limit.js';
import type { ScenarioResult } from './resize-results.js';
import { settings } from './resize-settings.js';

/** Every `step`-th user of the workload, up to --owner-sample of them. */
export function ownerSampleOf(workload: ChatWorkload): string[] {
  const count = Math.min(settings.ownerSample, workload.userIds.length);
  if (count === 0) return [];
  const step = workload.userIds.length / count;
  return Array.from(
    { length: count },
    (_, index) => workload.userIds[Math.floor(index * step)] ?? '',
  );
}

/** GET /admin/v1/owner/:userId on the router for each user; absent where it failed. */
export async function lookUpOwners(
  cluster: LocalCluster,
  users: string[],
): Promise<Map<string, string>> {
  const owners = new Map<string, string>();
  await forEachLimit(users, 8, async (userId) => {
    try {
      owners.set(userId, (await cluster.ownerOf(userId)).nodeId);
    } catch {
      // counted as a lookup error
    }
  });
  return owners;
}

export function compareOwners(
  sample: string[],
  before: Map<string, string>,
  after: Map<string, string>,
  viewBefore: RingView,
  viewAfter: RingView,
): NonNullable<ScenarioResult['moved']>['ownerSample'] {
  let moved = 0;
  let movedToNewNode = 0;
  let ringMismatches = 0;
  let lookupErrors = 0;
  const usersByNodeBefore: Record<string, number> = {};
  const usersByNodeAfter: Record<string, number> = {};
  for (const userId of sample) {
    const from = before.get(userId);
    const to = after.get(userId);
    if (from === undefined || to === undefined) {
      lookupErrors += 1;
      continue;
    }
    usersByNodeBefore[from] = (usersByNodeBefore[from] ?? 0) + 1;
    usersByNodeAfter[to] = (usersByNodeAfter[to] ?? 0) + 1;
    if (from !== viewBefore.ownerIdOf(userId) || to !== viewAfter.ownerIdOf(userId))
      ringMismatches += 1;
    if (from !== to) {
      moved += 1;
      if (to === settings.addNode) movedToNewNode += 1;
    }
  }
  const answered = sample.length - lookupErrors;
  return {
    size: sample.length,
    moved,
    share: answered === 0 ? Number.NaN : moved / answered,
    movedToNewNode,
    ringMismatches,
    lookupErrors,
    usersByNodeBefore,
    usersByNodeAfter,
  };
}
