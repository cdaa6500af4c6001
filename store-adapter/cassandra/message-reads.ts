import type { MessagePageQuery, StoredMessage } from '../mailbox-store.js';
import type { BucketLayout } from './buckets.js';
import type { QueryRunner } from './query-runner.js';
import { toMessagePointer, toNumber, toStoredMessage, type MessagePointer } from './row-mappers.js';
import type { CqlStatements } from './statements.js';

/** Concurrent point reads when resolving change-log pointers to messages. */
const POINT_READS_CONCURRENCY = 16;

/**
 * The message reads, each across bucketed partitions: a page walks the conversation's time
 * buckets newest first; the cursor's delta walks its version buckets oldest first and resolves the
 * pointers it finds. Both list the non-empty buckets from a small index table first, so neither
 * ever reads an empty partition. These reads are raw: the caller settles the stored intent.
 */
export class MessageReads {
  readonly #runner: QueryRunner;
  readonly #statements: CqlStatements;
  readonly #buckets: BucketLayout;

  constructor(runner: QueryRunner, statements: CqlStatements, buckets: BucketLayout) {
    this.#runner = runner;
    this.#statements = statements;
    this.#buckets = buckets;
  }

  /**
   * Newest first across time buckets: list the conversation's non-empty buckets that can hold the
   * range (newest first), then read each until the page is full. Each non-empty bucket but the
   * edge ones yields at least one message, so at most limit + 2 buckets are ever read.
   */
  async page(
    ownerId: string,
    conversationId: string,
    query: MessagePageQuery,
  ): Promise<StoredMessage[]> {
    if (query.limit <= 0) return [];
    const sentBefore = query.sentBefore ?? Number.MAX_SAFE_INTEGER;
    const sentAfter = query.sentAfter ?? Number.MIN_SAFE_INTEGER;
    if (sentBefore - sentAfter <= 1) return [];
    const s = this.#statements;
    const buckets = await this.#runner.read(s.timeBuckets, [
      ownerId,
      conversationId,
      this.#buckets.sentBucket(sentBefore - 1),
      this.#buckets.sentBucket(sentAfter + 1),
      query.limit + 2,
    ]);
    const page: StoredMessage[] = [];
    for (const bucketRow of buckets.rows) {
      const remaining = query.limit - page.length;
      if (remaining === 0) break;
      const bucket = toNumber(bucketRow.get('sent_bucket'));
      const result = await this.#runner.read(s.messagesInBucket, [
        ownerId,
        conversationId,
        bucket,
        sentBefore,
        sentAfter,
        remaining,
      ]);
      page.push(...result.rows.map(toStoredMessage));
    }
    return page;
  }

  /** Messages that entered the conversation after `afterVersion`, ascending, at most `limit`. */
  async changedAfter(
    ownerId: string,
    conversationId: string,
    afterVersion: number,
    limit: number,
  ): Promise<StoredMessage[]> {
    const pointers = await this.#changePointers(ownerId, conversationId, afterVersion, limit);
    return this.#resolvePointers(ownerId, pointers);
  }

  /** The idempotency index, then the message it points at. */
  async byClientId(
    ownerId: string,
    senderId: string,
    clientMessageId: string,
  ): Promise<StoredMessage | undefined> {
    const params = [ownerId, senderId, clientMessageId];
    const row = (await this.#runner.read(this.#statements.messageByClientId, params)).first();
    if (row === null) return undefined;
    const [message] = await this.#resolvePointers(ownerId, [toMessagePointer(row)]);
    return message;
  }

  /** The change log's pointers after `afterVersion`, ascending, across the non-empty version buckets. */
  async #changePointers(
    ownerId: string,
    conversationId: string,
    afterVersion: number,
    limit: number,
  ): Promise<MessagePointer[]> {
    if (limit <= 0) return [];
    const s = this.#statements;
    const buckets = await this.#runner.read(s.versionBuckets, [
      ownerId,
      conversationId,
      this.#buckets.versionBucket(afterVersion + 1),
      limit + 1,
    ]);
    const pointers: MessagePointer[] = [];
    for (const bucketRow of buckets.rows) {
      const remaining = limit - pointers.length;
      if (remaining === 0) break;
      const bucket = toNumber(bucketRow.get('version_bucket'));
      const result = await this.#runner.read(s.messageChanges, [
        ownerId,
        conversationId,
        bucket,
        afterVersion,
        remaining,
      ]);
      for (const row of result.rows) {
        pointers.push({
          conversationId,
          sentAt: toNumber(row.get('sent_at')),
          messageId: row.get('message_id') as string,
        });
      }
    }
    return pointers;
  }

  /** Point reads, a few at a time; a pointer whose message is not (yet) readable is left out. */
  async #resolvePointers(ownerId: string, pointers: MessagePointer[]): Promise<StoredMessage[]> {
    const messages: (StoredMessage | undefined)[] = [];
    for (let start = 0; start < pointers.length; start += POINT_READS_CONCURRENCY) {
      const chunk = pointers.slice(start, start + POINT_READS_CONCURRENCY);
      messages.push(
        ...(await Promise.all(chunk.map((pointer) => this.#messageAt(ownerId, pointer)))),
      );
    }
    return messages.filter((message): message is StoredMessage => message !== undefined);
  }

  async #messageAt(ownerId: string, pointer: MessagePointer): Promise<StoredMessage | undefined> {
    const { conversationId, sentAt, messageId } = pointer;
    const params = [ownerId, conversationId, this.#buckets.sentBucket(sentAt), sentAt, messageId];
    const row = (await this.#runner.read(this.#statements.message, params)).first();
    return row === null ? undefined : toStoredMessage(row);
  }
}
