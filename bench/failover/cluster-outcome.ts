/** What the cluster did about the kill, read from GET /control/v1/status. */
import type { ClusterStatus } from '../../protocol/index.js';
import type { FailoverResults } from './failover-results.js';

export function describeStatus(status: ClusterStatus, victimId: string): string {
  const slots = status.slots.map((slot) => `${slot.slot}→${slot.nodeId}`).join(' ');
  const victim = status.nodes.find((node) => node.nodeId === victimId);
  const standbys = status.standbys.join(',') || 'none';
  return `epoch ${status.epoch}; ${slots}; ${victimId} ${victim?.state ?? 'absent'} pid ${victim?.pid ?? '-'}; standbys ${standbys}`;
}

export function outcomeOf(
  before: ClusterStatus,
  after: ClusterStatus,
  victim: FailoverResults['victim'],
): Pick<FailoverResults, 'outcome' | 'outcomeDetail'> {
  const slot = victim.slots[0] ?? '';
  const holder = after.slots.find((assignment) => assignment.slot === slot)?.nodeId;
  const victimAfter = after.nodes.find((node) => node.nodeId === victim.nodeId);
  if (holder === victim.nodeId && victimAfter?.pid !== victim.pid) {
    return {
      outcome: 'restarted',
      outcomeDetail: `${victim.nodeId} came back as pid ${victimAfter?.pid ?? '?'} (${victimAfter?.state ?? '?'}) and kept ${slot}; epoch ${before.epoch} → ${after.epoch}`,
    };
  }
  if (holder !== undefined && holder !== victim.nodeId) {
    return {
      outcome: 'standby-promoted',
      outcomeDetail: `${holder} now serves ${slot}; ${victim.nodeId} is ${victimAfter?.state ?? 'absent'} (pid ${victimAfter?.pid ?? '?'}); epoch ${before.epoch} → ${after.epoch}`,
    };
  }
  if (holder === undefined)
    return {
      outcome: 'slot-removed',
      outcomeDetail: `${slot} left the ring; epoch ${before.epoch} → ${after.epoch}`,
    };
  return {
    outcome: 'unknown',
    outcomeDetail: `${slot} still on ${holder} with pid ${victimAfter?.pid ?? '?'}`,
  };
}
