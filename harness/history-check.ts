/**
 * The check every failure test and benchmark ends with: given the sends the API acknowledged and
 * what each mailbox now returns for the conversations involved, is anything lost, anything there
 * twice, anything out of order? Pure: it reads nothing (conversation-reader.ts does) and returns
 * the violations, so that a test asserts the list is empty and a benchmark counts and reports it.
 */
import type { Message } from '../protocol/index.js';

/** A send the API acknowledged (201, or 200 for a retry), as the acknowledgement described it. */
export interface AcknowledgedSend {
  message: Message;
  /**
   * When the send was first issued and when its acknowledgement arrived, on one client clock (the
   * same for every send of a check). Optional; with them, real-time order is checked too.
   */
  issuedAtMs?: number;
  acknowledgedAtMs?: number;
}

/** One participant's copy of a conversation, as read: newest first. */
export interface MailboxCopy {
  ownerId: string;
  conversationId: string;
  messages: readonly Message[];
}

export type HistoryViolationKind = 'lost' | 'duplicated' | 'copy-mismatch' | 'out-of-order';

export const HISTORY_VIOLATION_KINDS: readonly HistoryViolationKind[] = Object.freeze([
  'lost',
  'duplicated',
  'copy-mismatch',
  'out-of-order',
]);

export interface HistoryViolation {
  kind: HistoryViolationKind;
  /** The mailbox where it was seen. */
  ownerId: string;
  conversationId: string;
  messageId: string;
  detail: string;
}

/**
 * Every way the copies break the acknowledged history:
 * - lost: an acknowledged message missing from the sender's or the recipient's copy;
 * - duplicated: a message id, or a sender's clientMessageId, twice in one copy (a retry must never
 *   make a second message);
 * - copy-mismatch: a copy whose sentAt or content differs from what the acknowledgement said;
 * - out-of-order: a copy not strictly newest first by sentAt; or, where the sends carry times, a
 *   message acknowledged before another of its conversation was issued that is not older than it.
 */
export function findHistoryViolations(
  acknowledged: readonly AcknowledgedSend[],
  copies: readonly MailboxCopy[],
): HistoryViolation[] {
  const violations: HistoryViolation[] = [];
  const byMailbox = new Map<string, MailboxCopy>();
  for (const copy of copies) {
    byMailbox.set(mailboxKey(copy.ownerId, copy.conversationId), copy);
    violations.push(...violationsWithin(copy));
  }
  const checked = new Set<string>();
  for (const { message } of acknowledged) {
    if (checked.has(message.messageId)) continue; // acknowledged again by a retry
    checked.add(message.messageId);
    for (const ownerId of [message.senderId, message.recipientId]) {
      const copy = byMailbox.get(mailboxKey(ownerId, message.conversationId));
      const stored = copy?.messages.find((candidate) => candidate.messageId === message.messageId);
      const where = {
        ownerId,
        conversationId: message.conversationId,
        messageId: message.messageId,
      };
      if (stored === undefined) {
        violations.push({
          kind: 'lost',
          ...where,
          detail: copy === undefined ? 'this copy was not read' : 'acknowledged, not stored',
        });
      } else if (stored.sentAt !== message.sentAt || stored.content !== message.content) {
        violations.push({
          kind: 'copy-mismatch',
          ...where,
          detail: `acknowledged sentAt ${message.sentAt}, stored ${stored.sentAt}${stored.content === message.content ? '' : '; content differs'}`,
        });
      }
    }
  }
  violations.push(...realTimeOrderViolations(acknowledged));
  return violations;
}

/** Violations by kind, every kind present (0 when none): what a benchmark reports. */
export function countViolations(
  violations: readonly HistoryViolation[],
): Record<HistoryViolationKind, number> {
  const counts = Object.fromEntries(HISTORY_VIOLATION_KINDS.map((kind) => [kind, 0])) as Record<
    HistoryViolationKind,
    number
  >;
  for (const violation of violations) counts[violation.kind] += 1;
  return counts;
}

/** Duplicates and order inside one copy. */
function violationsWithin(copy: MailboxCopy): HistoryViolation[] {
  const violations: HistoryViolation[] = [];
  const ids = new Set<string>();
  const clientIds = new Set<string>();
  let previous: Message | undefined;
  for (const message of copy.messages) {
    const where = {
      ownerId: copy.ownerId,
      conversationId: copy.conversationId,
      messageId: message.messageId,
    };
    const clientKey = `${message.senderId}|${message.clientMessageId}`;
    if (ids.has(message.messageId))
      violations.push({ kind: 'duplicated', ...where, detail: 'the same message id twice' });
    else if (clientIds.has(clientKey))
      violations.push({
        kind: 'duplicated',
        ...where,
        detail: `a second message for ${message.senderId}'s clientMessageId ${message.clientMessageId}`,
      });
    ids.add(message.messageId);
    clientIds.add(clientKey);
    if (previous !== undefined && !(message.sentAt < previous.sentAt))
      violations.push({
        kind: 'out-of-order',
        ...where,
        detail: `sentAt ${message.sentAt} listed after ${previous.sentAt} (newest first, strictly)`,
      });
    previous = message;
  }
  return violations;
}

/**
 * Real-time order per conversation: if A's acknowledgement came before B was issued, B must be
 * newer (a later send can never be placed before one the client already saw acknowledged). Sends
 * in flight together may be ordered either way. One sweep per conversation: B in issue order
 * against the newest sentAt of everything acknowledged before B was issued.
 */
function realTimeOrderViolations(acknowledged: readonly AcknowledgedSend[]): HistoryViolation[] {
  // A message acknowledged twice (a retry answered 200) counts once, from its first issue to its
  // first acknowledgement.
  const timed = new Map<string, Required<AcknowledgedSend>>();
  for (const send of acknowledged) {
    if (send.issuedAtMs === undefined || send.acknowledgedAtMs === undefined) continue;
    const known = timed.get(send.message.messageId);
    timed.set(send.message.messageId, {
      message: send.message,
      issuedAtMs: Math.min(send.issuedAtMs, known?.issuedAtMs ?? Infinity),
      acknowledgedAtMs: Math.min(send.acknowledgedAtMs, known?.acknowledgedAtMs ?? Infinity),
    });
  }
  const byConversation = new Map<string, Required<AcknowledgedSend>[]>();
  for (const send of timed.values()) {
    const list = byConversation.get(send.message.conversationId) ?? [];
    list.push(send);
    byConversation.set(send.message.conversationId, list);
  }
  const violations: HistoryViolation[] = [];
  for (const sends of byConversation.values()) {
    const byAcknowledgement = [...sends].sort((a, b) => a.acknowledgedAtMs - b.acknowledgedAtMs);
    const byIssue = [...sends].sort((a, b) => a.issuedAtMs - b.issuedAtMs);
    let seen = 0;
    let newest: AcknowledgedSend | undefined;
    for (const later of byIssue) {
      for (
        let earlier = byAcknowledgement[seen];
        earlier !== undefined && earlier.acknowledgedAtMs < later.issuedAtMs;
        earlier = byAcknowledgement[++seen]
      ) {
        if (newest === undefined || earlier.message.sentAt > newest.message.sentAt)
          newest = earlier;
      }
      if (newest !== undefined && !(later.message.sentAt > newest.message.sentAt))
        violations.push({
          kind: 'out-of-order',
          ownerId: later.message.senderId,
          conversationId: later.message.conversationId,
          messageId: later.message.messageId,
          detail: `issued after ${newest.message.messageId} (sentAt ${newest.message.sentAt}) was acknowledged, yet has sentAt ${later.message.sentAt}`,
        });
    }
  }
  return violations;
}

function mailboxKey(ownerId: string, conversationId: string): string {
  return `${ownerId}|${conversationId}`;
}
