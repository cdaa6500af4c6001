import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import {
  ChatringError,
  DELIVER_CLOCK_SKEW_MS_MAX,
  DELIVER_SENT_AT_AGE_MS_MAX,
  assertClockWindow,
  conversationIdOf,
  orderedPair,
  type DeliverResponse,
  type Message,
  type SendMessageRequest,
  type SendMessageResponse,
} from '../protocol/index.js';
import type { MailboxServiceDependencies } from './mailbox-dependencies.js';
import type { MailboxLoader } from './mailbox-loader.js';
import type { MailboxWriter } from './mailbox-writer.js';
import { toMessage } from './message-views.js';
import { RepairQueue, type RepairQueueOptions } from './repair-queue.js';

type SendDependencies = Pick<
  MailboxServiceDependencies,
  'locks' | 'ownership' | 'delivery' | 'now' | 'failpoints'
>;

/** The user whose owner coordinates a send: the lower id of the pair. */
function coordinatorOf(request: Pick<SendMessageRequest, 'senderId' | 'recipientId'>): string {
  return orderedPair(request.senderId, request.recipientId)[0];
}

/**
 * A send touches two mailboxes. To stay deadlock-free when two users send to each other at once,
 * the locks are always taken in one global order: the node owning the lower user id of the pair
 * (the *coordinator*) locks that user, asks the other user's owner to write its copy (which locks
 * the higher id), then writes its own copy with the same id and sentAt. The higher-id copy is
 * always written first, and it fixes sentAt strictly above the conversation's last; so a
 * coordinator copy that exists proves both do, and a retry finds the original message in either.
 * A coordinator copy whose commit failed after the other copy was written is repaired in the
 * background (RepairQueue).
 */
export class MessageSend {
  readonly #deps: SendDependencies;
  readonly #loader: MailboxLoader;
  readonly #writer: MailboxWriter;
  readonly #repairs: RepairQueue;
  /** Deliveries whose outcome is unknown, looked for later (#completeIfDelivered). */
  readonly #lookups: RepairQueue;

  constructor(
    deps: SendDependencies,
    loader: MailboxLoader,
    writer: MailboxWriter,
    repairOptions: Partial<RepairQueueOptions>,
  ) {
    this.#deps = deps;
    this.#loader = loader;
    this.#writer = writer;
    this.#repairs = new RepairQueue(repairOptions, (owner, message) =>
      this.#repair(owner, message),
    );
    this.#lookups = new RepairQueue(repairOptions, (owner, proposal) =>
      this.#completeIfDelivered(owner, proposal),
    );
  }

  async send(request: SendMessageRequest, requestId?: string): Promise<SendMessageResponse> {
    const coordinator = coordinatorOf(request);
    this.#deps.ownership.assertServing(coordinator);
    const conversationId = conversationIdOf(request.senderId, request.recipientId);
    return this.#deps.locks.run(coordinator, async () => {
      const state = await this.#loader.loadLocked(coordinator);
      await this.#loader.sentKeysLocked(state);
      const existing = await this.#writer.findSent(
        state,
        request.senderId,
        request.clientMessageId,
        conversationId,
      );
      if (existing !== undefined) return { message: toMessage(existing), duplicate: true };

      const lastSentAt =
        (await this.#loader.rowLocked(state, conversationId))?.lastUpdatedTimestamp ?? 0;
      const proposal: Message = {
        messageId: randomUUID(),
        conversationId,
        senderId: request.senderId,
        recipientId: request.recipientId,
        content: request.content,
        clientMessageId: request.clientMessageId,
        sentAt: Math.max(this.#deps.now(), lastSentAt + 1),
      };
      let delivered: DeliverResponse;
      try {
        delivered = await this.#deps.delivery.deliver(proposal, requestId);
      } catch (error) {
        // Whether the other copy was written is unknown (no answer in time, a lost link or answer,
        // its owner failing mid-commit): it may exist, or land later (a request held up by a
        // partition arrives when the link heals). If it does, this mailbox must get its copy even
        // if the client never retries: look for it later, as for a failed commit of our own.
        this.#lookups.schedule(coordinator, proposal);
        throw error;
      }
      assertCopyOf(delivered, proposal);
      this.#assertNotAhead(delivered);
      if (delivered.duplicate) {
        // A retry the other copy recognised. Memory proves a key new only within the window; an
        // older original may have its copy here too, so the store is asked before writing one.
        const stored = await this.#writer.findSentInStore(
          state,
          request.senderId,
          request.clientMessageId,
          conversationId,
        );
        if (stored !== undefined) return { message: toMessage(stored), duplicate: true };
      }
      try {
        this.#deps.failpoints?.beforeCoordinatorCommit(delivered);
        await this.#writer.commitMessageLocked(state, delivered.message);
      } catch (error) {
        // The other copy exists: converge even if the client never retries.
        this.#repairs.schedule(coordinator, delivered.message);
        throw error;
      }
      return { message: toMessage(delivered.message), duplicate: delivered.duplicate };
    });
  }

  /**
   * Writes the higher-id participant's copy; called by the coordinator (maybe this very node).
   * The proposed sentAt must be within this node's clock window (DELIVER_CLOCK_SKEW_MS_MAX ahead,
   * DELIVER_SENT_AT_AGE_MS_MAX behind), checked before anything else, so a refused proposal
   * (400 INVALID_FIELD) changes nothing: one far in the future would stamp every later message of
   * the conversation after it, and at 2^53 - 1 no later message could be stamped at all.
   */
  async deliver(proposal: Message): Promise<DeliverResponse> {
    assertClockWindow(
      proposal.sentAt,
      'message.sentAt',
      this.#deps.now(),
      DELIVER_SENT_AT_AGE_MS_MAX,
    );
    const owner = orderedPair(proposal.senderId, proposal.recipientId)[1];
    this.#deps.ownership.assertServing(owner);
    return this.#deps.locks.run(owner, async () => {
      const state = await this.#loader.loadLocked(owner);
      await this.#loader.sentKeysLocked(state);
      const existing = await this.#writer.findSent(
        state,
        proposal.senderId,
        proposal.clientMessageId,
        proposal.conversationId,
      );
      if (existing !== undefined) return { message: toMessage(existing), duplicate: true };
      const lastSentAt =
        (await this.#loader.rowLocked(state, proposal.conversationId))?.lastUpdatedTimestamp ?? 0;
      const message = { ...proposal, sentAt: Math.max(proposal.sentAt, lastSentAt + 1) };
      assert(message.sentAt > lastSentAt, 'sentAt is strictly increasing within a conversation');
      await this.#writer.commitMessageLocked(state, message);
      this.#deps.failpoints?.afterDeliveredCommit(message);
      return { message: toMessage(message), duplicate: false };
    });
  }

  /**
   * The other owner's answer is a member's word too: a copy stamped further ahead of this node's
   * clock than any owner accepts (a buggy or hostile peer; with a duplicate, one from before this
   * check) is not committed here, where it would wedge this copy of the conversation the same way.
   * INTERNAL, like any other malformed answer between nodes (PeerDelivery); the client may retry.
   */
  #assertNotAhead(delivered: DeliverResponse): void {
    const now = this.#deps.now();
    const { sentAt } = delivered.message;
    if (sentAt > now + DELIVER_CLOCK_SKEW_MS_MAX)
      throw new ChatringError(
        'INTERNAL',
        `the other owner stamped the message ${sentAt}, more than ${DELIVER_CLOCK_SKEW_MS_MAX} ms ahead of this node's clock (${now}); not committed`,
      );
  }

  /** Half-sent messages still waiting for their coordinator copy (known, or looked for). */
  get pendingRepairs(): number {
    return this.#repairs.size + this.#lookups.size;
  }

  /** Stops background repairs (the node is stopping). */
  close(): void {
    this.#repairs.close();
    this.#lookups.close();
  }

  /**
   * After a delivery whose outcome is unknown: if the other copy exists now, writes the
   * coordinator copy from it (its id and sentAt, which its owner fixed); if neither copy exists
   * yet, fails so that the queue looks again later, with backoff, a bounded number of times (a
   * delivery held up by a partition may land when the link heals). Nothing to do once the client's
   * retry has completed the message.
   */
  async #completeIfDelivered(owner: string, proposal: Message): Promise<void> {
    this.#deps.ownership.assertServing(owner);
    await this.#deps.locks.run(owner, async () => {
      const state = await this.#loader.loadLocked(owner);
      const { senderId, clientMessageId, conversationId } = proposal;
      if (
        (await this.#writer.findSentInStore(state, senderId, clientMessageId, conversationId)) !==
        undefined
      )
        return;
      const otherOwner = orderedPair(proposal.senderId, proposal.recipientId)[1];
      const copy = await this.#writer.findCopyOf(otherOwner, proposal);
      if (copy === undefined)
        // Not an answer to anyone: the queue's cue to look again later.
        throw new Error(`no copy of ${clientMessageId} in ${otherOwner}'s mailbox yet`);
      await this.#writer.commitMessageLocked(state, toMessage(copy));
    });
  }

  /**
   * Writes a half-sent message's coordinator copy, if it is still missing (asked of the store: a
   * repair may run late, and memory's proof holds only within the idempotency window).
   */
  async #repair(owner: string, message: Message): Promise<void> {
    this.#deps.ownership.assertServing(owner);
    await this.#deps.locks.run(owner, async () => {
      const state = await this.#loader.loadLocked(owner);
      const existing = await this.#writer.findSentInStore(
        state,
        message.senderId,
        message.clientMessageId,
        message.conversationId,
      );
      if (existing === undefined) await this.#writer.commitMessageLocked(state, message);
    });
  }
}

/**
 * The other copy must be this very message: the same conversation, sender and clientMessageId
 * (else the coordinator would store another conversation's message), and a new copy keeps the
 * proposal's id and a sentAt no lower than proposed (else the conversation's order breaks). An
 * older copy found by a retry keeps its own id and time.
 */
function assertCopyOf(delivered: DeliverResponse, proposal: Message): void {
  const copy = delivered.message;
  assert(
    copy.conversationId === proposal.conversationId &&
      copy.senderId === proposal.senderId &&
      copy.recipientId === proposal.recipientId &&
      copy.clientMessageId === proposal.clientMessageId,
    'the delivered copy is of the proposed message',
  );
  if (delivered.duplicate) return;
  assert.equal(copy.messageId, proposal.messageId, 'a new copy keeps the proposed id');
  assert(copy.sentAt >= proposal.sentAt, 'a new copy is not older than proposed');
}
