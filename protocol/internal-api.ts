import type { Message } from './wire-types.js';

/**
 * What crosses between chatring's own processes (router ⇄ node, node ⇄ node, node ⇄ control
 * plane). Public calls are forwarded unchanged to the owner's identical /v1 routes; these are
 * the extra ones.
 */

/** Header on every forwarded request: the ring epoch the sender routed by. A node that has seen a
 * newer epoch still serves (it checks ownership itself); an older node refuses with NOT_OWNER. */
export const RING_EPOCH_HEADER = 'x-chatring-ring-epoch';

/** A node writes the other participant's copy of a message through that user's owner. */
export const DELIVER_PATH = '/internal/v1/deliver';

export interface DeliverRequest {
  /** The message as the coordinator proposes it: its id and the lowest acceptable sentAt. */
  message: Message;
}

export interface DeliverResponse {
  /** The copy as stored: on a retry, the original id and sentAt. */
  message: Message;
  duplicate: boolean;
}

export interface SlotAssignment {
  slot: string;
  nodeId: string;
  weight: number;
}

export interface NodeInfo {
  nodeId: string;
  url: string;
  /** Process id, for local operations (ringctl status shows it). */
  pid?: number;
}

/** The ring every router and node routes by. `epoch` grows by one with every change. */
export interface RingConfig {
  epoch: number;
  /** Number of virtual nodes per unit of weight that hashring places for each slot. */
  virtualNodesPerWeight: number;
  slots: SlotAssignment[];
  /** Nodes not serving a slot, ready to be promoted. */
  standbys: string[];
  /** Nodes an operator took out of the standby pool: alive, known, never promoted automatically. */
  parked?: string[];
  /**
   * Members an operator (or the launcher) admitted that have not heartbeated yet: the first
   * heartbeat makes one a standby. A member in no list and not in `nodes` is refused
   * (UNKNOWN_MEMBER), so holding the cluster secret is not enough to join under a new id.
   */
  admitted?: string[];
  nodes: Record<string, NodeInfo>;
  /** Set on a ring published by an operator's change: nodes adopt the warm state sent for it. */
  changeId?: string;
}

/** A node's handoff routes, called by whoever runs a ring change. */
export const HANDOFF_PATHS = Object.freeze({
  release: '/internal/v1/handoff/release',
  warm: '/internal/v1/handoff/warm',
  cancel: '/internal/v1/handoff/cancel',
  ring: '/internal/v1/ring',
});

/** `POST /internal/v1/handoff/release`: stop serving the users `targetRing` gives away, and hand
 * their cached state to their new owners. */
export interface ReleaseRequest {
  changeId: string;
  targetRing: RingConfig;
}

/** `POST /internal/v1/handoff/cancel`: the change was abandoned; serve its users again. */
export interface CancelRequest {
  changeId: string;
}

/** `POST /internal/v1/ring`: a newly published ring, pushed so nodes need not wait for a heartbeat. */
export interface RingPush {
  ring: RingConfig;
}

/** What the old owner reports after releasing the users a change takes from it. */
export interface ReleaseResult {
  changeId: string;
  releasedUsers: number;
  /** Users whose cached state was put in a warm batch (those of failed batches included). */
  warmUsers: number;
  /** Their estimated bytes (what `warmBytesMax` bounds). */
  warmBytes: number;
  /** Of `warmUsers`, those whose batch did not arrive: they move cold (loaded from the store). */
  warmUsersFailed: number;
  /** Why the first failed batch failed (empty when none did). */
  warmFailure: string;
}

/** A message in one owner's mailbox: the public message and the mailbox version that added it. */
export interface MailboxMessage extends Message {
  version: number;
}

/** A conversation row of one owner's mailbox (the store's row, as it travels between nodes). */
export interface MailboxConversationRow {
  conversationId: string;
  participants: [string, string];
  /** The start of the latest message. */
  snippet: string;
  /** sentAt of the latest message. */
  lastUpdatedTimestamp: number;
  unreadCount: number;
  /** The mailbox version of the last change to this row. */
  version: number;
}

/** A conversation's cached messages: newest first, contiguous. */
export interface MailboxMessageWindow {
  messages: MailboxMessage[];
  /** True when the window holds the conversation's oldest message too. */
  complete: boolean;
}

/** A cached mailbox as it travels in a warm handoff (plain JSON). */
export interface MailboxSnapshot {
  ownerId: string;
  version: number;
  conversationsComplete: boolean;
  conversationsFrom: number;
  conversations: { row: MailboxConversationRow; window?: MailboxMessageWindow }[];
}

/** `POST /internal/v1/handoff/warm`: cached states the old owner hands over for one change. */
export interface WarmBatch {
  changeId: string;
  snapshots: MailboxSnapshot[];
}

/** What a node learns from renewing its lease (`/control/v1/heartbeat`). */
export interface HeartbeatReply {
  ring: RingConfig;
  /** The lease the control plane granted, counted from when it received the heartbeat. */
  leaseMs: number;
}

export interface NodeStatus extends NodeInfo {
  /** joining: in the ring, no heartbeat yet since the control plane started. */
  /** parked: alive, but taken out of the standby pool by an operator. */
  state: 'joining' | 'serving' | 'standby' | 'parked' | 'dead';
  slots: string[];
  /** Time since the node's last heartbeat reached the control plane (undefined: never seen). */
  leaseAgeMs?: number;
}

/** What `/control/v1/status` answers (ringctl status). */
export interface ClusterStatus {
  epoch: number;
  backend: string;
  leaseMs: number;
  heartbeatIntervalMs: number;
  slots: { slot: string; nodeId: string; weight: number }[];
  standbys: string[];
  nodes: NodeStatus[];
}
