import type { ConversationRow } from '../mailbox-store.js';
import type { BucketLayout } from './buckets.js';
import type { QueryRunner } from './query-runner.js';
import { toConversationRow, toNumber } from './row-mappers.js';
import type { CqlStatements } from './statements.js';

/** Conversation ids per `IN (...)` read; Cassandra plans an IN as one slice per value. */
const IN_VALUES_MAX = 100;
/**
 * changedAfter walks the change log when the gap spans at most this many version buckets; a wider
 * gap reads the owner's conversation partition instead, which is bounded by the number of peers
 * rather than by the number of changes.
 */
const CONVERSATION_CHANGE_BUCKETS_WALKED_MAX = 4;

/**
 * The conversation reads: one row, the most recent ones, and the cursor's delta (from the
 * version-bucketed change log or, for a wide gap, from the whole partition). These reads are raw:
 * the caller settles the stored intent (commit-protocol.ts).
 */
export class ConversationReads {
  readonly #runner: QueryRunner;
  readonly #statements: CqlStatements;
  readonly #buckets: BucketLayout;

  constructor(runner: QueryRunner, statements: CqlStatements, buckets: BucketLayout) {
    this.#runner = runner;
    this.#statements = statements;
    this.#buckets = buckets;
  }

  async one(ownerId: string, conversationId: string): Promise<ConversationRow | undefined> {
    const params = [ownerId, conversationId];
    const row = (await this.#runner.read(this.#statements.conversation, params)).first();
    return row === null ? undefined : toConversationRow(row);
  }

  /** The owner's conversations, most recently updated first, at most `limit`. */
  recent(ownerId: string, limit: number): Promise<ConversationRow[]> {
    return this.#top(ownerId, limit, mostRecentFirst, () => true);
  }

  /**
   * Rows whose version is above `afterVersion`, ascending, at most `limit`; `currentVersion` is the
   * mailbox's settled version (nothing is logged above it).
   */
  async changedAfter(
    ownerId: string,
    afterVersion: number,
    currentVersion: number,
    limit: number,
  ): Promise<ConversationRow[]> {
    if (currentVersion <= afterVersion || limit <= 0) return [];
    const bucketsSpanned =
      (this.#buckets.versionBucket(currentVersion) -
        this.#buckets.versionBucket(afterVersion + 1)) /
        this.#buckets.versionsPerBucket +
      1;
    if (bucketsSpanned > CONVERSATION_CHANGE_BUCKETS_WALKED_MAX) {
      return this.#top(ownerId, limit, byVersion, (row) => row.version > afterVersion);
    }
    return this.#walkChanges(ownerId, afterVersion, currentVersion, limit);
  }

  /**
   * Streams the owner's conversation partition and keeps the first `limit` rows in `order` among
   * those that pass `keep`: memory stays O(limit) however many conversations the owner has.
   */
  async #top(
    ownerId: string,
    limit: number,
    order: (a: ConversationRow, b: ConversationRow) => number,
    keep: (row: ConversationRow) => boolean,
  ): Promise<ConversationRow[]> {
    const top: ConversationRow[] = [];
    if (limit <= 0) return top;
    await this.#runner.eachRow(this.#statements.allConversations, [ownerId], (row) => {
      const conversation = toConversationRow(row);
      if (keep(conversation)) insertBounded(top, conversation, limit, order);
    });
    return top;
  }

  /**
   * Walks the change log in version order from `afterVersion`, keeping an entry only if it is the
   * conversation's latest change (its row's version still equals the entry's).
   */
  async #walkChanges(
    ownerId: string,
    afterVersion: number,
    currentVersion: number,
    limit: number,
  ): Promise<ConversationRow[]> {
    const changed: ConversationRow[] = [];
    const size = this.#buckets.versionsPerBucket;
    for (
      let bucket = this.#buckets.versionBucket(afterVersion + 1);
      bucket <= currentVersion && changed.length < limit;
      bucket += size
    ) {
      const entries: { version: number; conversationId: string }[] = [];
      await this.#runner.eachRow(
        this.#statements.conversationChanges,
        [ownerId, bucket, afterVersion, currentVersion],
        (row) => {
          entries.push({
            version: toNumber(row.get('version')),
            conversationId: row.get('conversation_id') as string,
          });
        },
      );
      const rows = await this.#byIds(ownerId, [
        ...new Set(entries.map((entry) => entry.conversationId)),
      ]);
      for (const entry of entries) {
        const row = rows.get(entry.conversationId);
        if (row?.version === entry.version) changed.push(row);
        if (changed.length === limit) break;
      }
    }
    return changed;
  }

  async #byIds(ownerId: string, conversationIds: string[]): Promise<Map<string, ConversationRow>> {
    const rows = new Map<string, ConversationRow>();
    for (let start = 0; start < conversationIds.length; start += IN_VALUES_MAX) {
      const chunk = conversationIds.slice(start, start + IN_VALUES_MAX);
      const result = await this.#runner.read(this.#statements.conversationsIn, [ownerId, chunk]);
      for (const row of result.rows)
        rows.set(row.get('conversation_id') as string, toConversationRow(row));
    }
    return rows;
  }
}

/** The conversations list order: most recently updated first, then by id (as the embedded store). */
function mostRecentFirst(a: ConversationRow, b: ConversationRow): number {
  return (
    b.lastUpdatedTimestamp - a.lastUpdatedTimestamp ||
    compareStrings(a.conversationId, b.conversationId)
  );
}

function byVersion(a: ConversationRow, b: ConversationRow): number {
  return a.version - b.version;
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Inserts `item` into the sorted `top`, keeping at most `limit` items. O(limit) per insert. */
function insertBounded<T>(top: T[], item: T, limit: number, order: (a: T, b: T) => number): void {
  const last = top[top.length - 1];
  if (top.length === limit && last !== undefined && order(item, last) >= 0) return;
  let index = top.length;
  while (index > 0 && order(item, top[index - 1] as T) < 0) index -= 1;
  top.splice(index, 0, item);
  if (top.length > limit) top.pop();
}
