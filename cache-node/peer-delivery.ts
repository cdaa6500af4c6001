import {
  DELIVER_PATH,
  errorFromBody,
  orderedPair,
  parseDeliverResponse,
  ChatringError,
  type DeliverRequest,
  type DeliverResponse,
  type Message,
} from '../protocol/index.js';
import type { OwnerClient } from '../transport/index.js';
import type { DeliveryChannel, OwnershipGuard } from './mailbox-dependencies.js';
import type { MailboxService } from './mailbox-service.js';

/**
 * How long a coordinator may spend delivering the other copy, retries included. Timeouts nest
 * (ARCHITECTURE.md): this covers the other owner's own store commit (3 s on Cassandra by default)
 * and a failover of that owner (lease + heartbeat, 1.75 s by default), and with this node's own
 * commit after it stays inside the router's attempt timeout (8 s), so the router gets this
 * node's retryable answer instead of timing out and retrying into the user lock this delivery
 * still holds. An owner cut off by a partition is given up on after the link's silence limit
 * (2 s) and the rest of this, with the lock held no longer.
 */
export const DELIVERY_DEADLINE_MS = 4_000;

/**
 * Delivers the higher-id participant's copy: in-process when this node owns that user too (no
 * network hop, and no lock cycle since the coordinator only ever holds the lower id), else through
 * the owner client (on the member link to that owner), which follows the ring if it moved.
 */
export class PeerDelivery implements DeliveryChannel {
  readonly #isLocal: (userId: string) => boolean;
  readonly #owners: OwnerClient;
  readonly #ownership: OwnershipGuard;
  #service: MailboxService | undefined;

  constructor(
    isLocal: (userId: string) => boolean,
    owners: OwnerClient,
    ownership: OwnershipGuard,
  ) {
    this.#isLocal = isLocal;
    this.#owners = owners;
    this.#ownership = ownership;
  }

  /** Wires the local service (it needs this channel to exist first). */
  attach(service: MailboxService): void {
    this.#service = service;
  }

  async deliver(message: Message, requestId?: string): Promise<DeliverResponse> {
    const owner = orderedPair(message.senderId, message.recipientId)[1];
    if (this.#isLocal(owner) && this.#service !== undefined) return this.#service.deliver(message);
    // The coordinator holds its user's lock while it waits here. If this node stops serving that
    // user meanwhile (a handoff takes it, the lease runs out), waiting on would only hold the lock
    // that the handoff needs: give up at once, unacknowledged; the client's retry goes to the new owner.
    const coordinator = orderedPair(message.senderId, message.recipientId)[0];
    const stopRetrying = () => {
      try {
        this.#ownership.assertServing(coordinator);
        return undefined;
      } catch (error) {
        return error as ChatringError;
      }
    };
    const response = await this.#owners.call(
      owner,
      {
        method: 'POST',
        path: DELIVER_PATH,
        body: { message } satisfies DeliverRequest,
        ...(requestId === undefined ? {} : { requestId }),
      },
      stopRetrying,
      DELIVERY_LIMITS,
    );
    if (response.statusCode === 200) return deliverAnswer(response.body);
    throw (
      errorFromBody(response.body) ??
      new ChatringError('INTERNAL', `deliver answered ${response.statusCode}`)
    );
  }
}

const DELIVERY_LIMITS = Object.freeze({ withinMs: DELIVERY_DEADLINE_MS });

/** The owner's answer, checked: a malformed one is a bug between nodes (INTERNAL), not the client's. */
function deliverAnswer(body: unknown): DeliverResponse {
  try {
    return parseDeliverResponse(body);
  } catch (error) {
    throw new ChatringError(
      'INTERNAL',
      `deliver answered a malformed body: ${(error as Error).message}`,
      { cause: error },
    );
  }
}
