/** The shapes of the failover benchmark's records and results (written to failover.json). */
import type { LatencySummary } from '../lib/latency-recorder.js';

export interface Pair {
  low: string;
  high: string;
  conversationId: string;
  /** The victim owns at least one of the two users (a send between them touches it). */
  affected: boolean;
  lowOnVictim: boolean;
  highOnVictim: boolean;
}

export interface RequestRecord {
  kind: 'send' | 'read' | 'probe';
  affected: boolean;
  startedAt: number;
  endedAt: number;
  ok: boolean;
  errorCode?: string;
}

export interface StatusEvent {
  atMs: number;
  epoch: number;
  text: string;
}

export interface FailoverResults {
  victim: { nodeId: string; pid: number; slots: string[]; url: string };
  outcome: 'restarted' | 'standby-promoted' | 'slot-removed' | 'unknown';
  outcomeDetail: string;
  timeline: StatusEvent[];
  firstAffectedSuccessAfterKillMs?: number;
  probeFirstSuccessAfterKillMs?: number;
  window: { beforeKill: WindowFigures; outage: WindowFigures; afterRecovery: WindowFigures };
  /**
   * From the signal on, the longest time no request of each kind was answered (affected: needs
   * the victim; unaffected: every other user, whose requests share the closed-loop workers).
   */
  longestNoAckMs: { affected: number; unaffected: number };
  verification: {
    acknowledged: number;
    lost: number;
    duplicated: number;
    copyMismatches: number;
    orderViolations: number;
    unacknowledgedPresent: number;
    unacknowledgedAbsent: number;
    conversationsRead: number;
  };
}

export interface WindowFigures {
  seconds: number;
  affected: LatencySummary;
  unaffected: LatencySummary;
}
