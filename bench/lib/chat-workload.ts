import { conversationIdOf, type SendMessageRequest } from '../../protocol/index.js';
import { randomText } from './mailbox-seeder.js';
import { SeededRandom } from './seeded-random.js';
import { ZipfSampler } from './zipf-sampler.js';

export type OperationKind = 'send' | 'conversations' | 'messages';

export type PlannedOperation =
  | { kind: 'send'; request: SendMessageRequest }
  | { kind: 'conversations'; userId: string }
  | { kind: 'messages'; userId: string; conversationId: string; pageSize?: number };

export interface ChatWorkloadOptions {
  users: number;
  /** Conversation partners per user, picked uniformly at random (every pair is seeded with history). */
  contacts: number;
  /** Zipf exponent of user activity: who sends and who reads. */
  zipfExponent: number;
  /** Weights of the operation kinds (need not sum to 100). */
  mix: Record<OperationKind, number>;
  contentBytes: number;
  seed: number;
}

/**
 * The chat workload: who talks to whom, and the stream of operations each worker issues. Users are
 * `user000001`...; activity rank (Zipf) is a seeded permutation of them, so hot users are spread
 * over the id space (and the ring). Deterministic from the seed: every target sees the same users,
 * contacts and, per worker, the same sequence of operations.
 */
export class ChatWorkload {
  readonly options: Readonly<ChatWorkloadOptions>;
  readonly userIds: string[];
  /** userIds by activity rank: byRank[0] is the most active. */
  readonly byRank: string[];
  readonly contactsOf: Map<string, string[]>;
  readonly #zipf: ZipfSampler;
  readonly #mixKinds: OperationKind[];
  readonly #mixCumulative: number[];

  constructor(options: ChatWorkloadOptions) {
    if (options.users < 2) throw new Error('the workload needs at least 2 users');
    if (options.contacts < 1 || options.contacts >= options.users)
      throw new Error('contacts must be at least 1 and fewer than users');
    this.options = Object.freeze({ ...options, mix: { ...options.mix } });
    const random = new SeededRandom(options.seed);
    this.userIds = Array.from(
      { length: options.users },
      (_, index) => `user${String(index + 1).padStart(6, '0')}`,
    );
    this.byRank = random.shuffle([...this.userIds]);
    this.contactsOf = new Map();
    for (const userId of this.userIds) {
      const contacts = new Set<string>();
      while (contacts.size < options.contacts) {
        const candidate = this.userIds[random.integerBelow(options.users)] ?? userId;
        if (candidate !== userId) contacts.add(candidate);
      }
      this.contactsOf.set(userId, [...contacts]);
    }
    this.#zipf = new ZipfSampler(options.users, options.zipfExponent);
    this.#mixKinds = (Object.keys(options.mix) as OperationKind[]).filter(
      (kind) => options.mix[kind] > 0,
    );
    const total = this.#mixKinds.reduce((sum, kind) => sum + options.mix[kind], 0);
    if (total <= 0) throw new Error('the mix needs at least one operation with a positive weight');
    let running = 0;
    this.#mixCumulative = this.#mixKinds.map((kind) => (running += options.mix[kind] / total));
  }

  /** Every distinct pair that talks (each seeded with history), as [a, b] with a < b. */
  pairs(): [string, string][] {
    const seen = new Set<string>();
    const pairs: [string, string][] = [];
    for (const [userId, contacts] of this.contactsOf) {
      for (const contact of contacts) {
        const pair: [string, string] = userId < contact ? [userId, contact] : [contact, userId];
        const key = pair.join('~');
        if (seen.has(key)) continue;
        seen.add(key);
        pairs.push(pair);
      }
    }
    return pairs;
  }

  /**
   * Every read the workload's streams can issue, once each, and every message window a send
   * touches: each user's conversation list and each of the user's conversations — with its own
   * contacts (what a messages operation reads) and with those who have it as a contact (whose
   * sends land in its mailbox: a send's first write to a mailbox finds the idempotency keys of its
   * recent conversations in their windows, not in the store). Run before a measured window, it
   * leaves every mailbox and message window the window reads or writes warm.
   */
  warmingOperations(): PlannedOperation[] {
    const conversationsOf = new Map<string, string[]>(this.userIds.map((id) => [id, []]));
    for (const [a, b] of this.pairs()) {
      const conversationId = conversationIdOf(a, b);
      conversationsOf.get(a)?.push(conversationId);
      conversationsOf.get(b)?.push(conversationId);
    }
    return this.userIds.flatMap((userId): PlannedOperation[] => [
      { kind: 'conversations', userId },
      ...(conversationsOf.get(userId) ?? []).map((conversationId): PlannedOperation => ({
        kind: 'messages',
        userId,
        conversationId,
      })),
    ]);
  }

  /** Share of all operations that the most active `top` users issue. */
  shareOfTop(top: number): number {
    return this.#zipf.shareOfTop(top);
  }

  /** A worker's own stream of operations. */
  worker(index: number, label: string): ChatWorker {
    return new ChatWorker(
      this,
      new SeededRandom((this.options.seed * 7_919 + index * 104_729) >>> 0),
      `${label}-${index}`,
    );
  }

  /** Internal to ChatWorker: a user by activity. */
  activeUser(random: SeededRandom): string {
    return this.byRank[this.#zipf.sample(random)] ?? this.byRank[0] ?? '';
  }

  /** Internal to ChatWorker: an operation kind by the mix. */
  operationKind(random: SeededRandom): OperationKind {
    const draw = random.next();
    const index = this.#mixCumulative.findIndex((bound) => draw < bound);
    return this.#mixKinds[index === -1 ? this.#mixKinds.length - 1 : index] ?? 'conversations';
  }
}

export class ChatWorker {
  readonly #workload: ChatWorkload;
  readonly #random: SeededRandom;
  readonly #label: string;
  #sequence = 0;

  constructor(workload: ChatWorkload, random: SeededRandom, label: string) {
    this.#workload = workload;
    this.#random = random;
    this.#label = label;
  }

  next(): PlannedOperation {
    const workload = this.#workload;
    const kind = workload.operationKind(this.#random);
    const userId = workload.activeUser(this.#random);
    const contacts = workload.contactsOf.get(userId) ?? [];
    const contact = contacts[this.#random.integerBelow(contacts.length)] ?? '';
    switch (kind) {
      case 'send':
        this.#sequence += 1;
        return {
          kind,
          request: {
            senderId: userId,
            recipientId: contact,
            content: randomText(this.#random, workload.options.contentBytes),
            clientMessageId: `${this.#label}-${this.#sequence}`,
          },
        };
      case 'conversations':
        return { kind, userId };
      case 'messages':
        return { kind, userId, conversationId: conversationIdOf(userId, contact) };
    }
  }
}

/** Parses `send:20,conversations:40,messages:40`. */
export function parseMix(text: string): Record<OperationKind, number> {
  const mix: Record<OperationKind, number> = { send: 0, conversations: 0, messages: 0 };
  for (const part of text.split(',').filter(Boolean)) {
    const [name, weight] = part.split(':');
    if (
      name === undefined ||
      !(name in mix) ||
      weight === undefined ||
      !/^\d+(\.\d+)?$/.test(weight)
    ) {
      throw new Error(
        `--mix: "${part}" is not kind:weight with kind one of send, conversations, messages`,
      );
    }
    mix[name as OperationKind] = Number(weight);
  }
  return mix;
}
