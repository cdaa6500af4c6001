import {
  DELIVER_PATH,
  errorFromBody,
  orderedPair,
  ChatringError,
  type DeliverResponse,
  type Message,
} from '../protocol/index.js';
import type { OwnerClient } from '../router/index.js';
import type { DeliveryChannel, MailboxService } from './mailbox-service.js';

/**
 * Delivers the higher-id participant's copy: in-process when this node owns that user too (no
 * HTTP hop, and no lock cycle since the coordinator only ever holds the lower id), else through
 * the owner client, which follows the ring if it moved.
 */
export class PeerDelivery implements DeliveryChannel {
  readonly #isLocal: (userId: string) => boolean;
  readonly #owners: OwnerClient;
  #service: MailboxService | undefined;

  constructor(isLocal: (userId: string) => boolean, owners: OwnerClient) {
    this.#isLocal = isLocal;
    this.#owners = owners;
  }

  /** Wires the local service (it needs this channel to exist first). */
  attach(service: MailboxService): void {
    this.#service = service;
  }

  async deliver(message: Message): Promise<DeliverResponse> {
    const owner = orderedPair(message.senderId, message.recipientId)[1];
    if (this.#isLocal(owner) && this.#service !== undefined) return this.#service.deliver(message);
    const response = await this.#owners.call(owner, {
      method: 'POST',
      path: DELIVER_PATH,
      body: { message },
    });
    if (response.statusCode === 200) return response.body as DeliverResponse;
    throw (
      errorFromBody(response.body) ??
      new ChatringError('INTERNAL', `deliver answered ${response.statusCode}`)
    );
  }
}
