import type cassandra from 'cassandra-driver';
import { ChatringError } from '../../protocol/index.js';
import type {
  ConversationRow,
  MailboxCommit,
  MailboxStore,
  MessagePageQuery,
  StoreStats,
  StoredMessage,
} from '../mailbox-store.js';
import { BucketLayout } from './buckets.js';
import { CONSISTENCY_CODES, createCassandraClient } from './client.js';
import { CommitProtocol, type CassandraStoreHooks } from './commit-protocol.js';
import { ConversationReads } from './conversation-reads.js';
import { MessageReads } from './message-reads.js';
import { parseCassandraOptions, type CassandraStoreOptions } from './options.js';
import { QueryRunner, type CassandraStoreCounters } from './query-runner.js';
import { checkFixedSettings, migrateCassandraSchema } from './schema.js';
import { cqlStatements, type CqlStatements } from './statements.js';
import { toStoreError } from './store-errors.js';

/**
 * The production store: Apache Cassandra through cassandra-driver 4. This class is the
 * MailboxStore face: it runs every operation under the request deadline and settles the stored
 * intent before a read returns; the parts live beside it (commit-protocol.ts: the one-LWT commit,
 * its intent and roll-forward; message-reads.ts and conversation-reads.ts: the bucketed reads;
 * client.ts and bounded-retry-policy.ts: the driver set-up; schema.ts: the migrations).
 *
 * docs/cassandra-schema.md has the tables, the consistency levels and the retry policy, and why.
 */

/** The Cassandra store's figures: request counters; it keeps no gauges. */
export interface CassandraStoreStats extends StoreStats {
  readonly counters: CassandraStoreCounters;
  readonly gauges: Readonly<Record<string, never>>;
}

/** A user id can never contain `~`, so this owner never collides with a real mailbox. */
const WARMUP_OWNER_ID = '~warmup';

export async function openCassandraStore(
  rawOptions: Record<string, unknown>,
  hooks: CassandraStoreHooks = {},
): Promise<CassandraStore> {
  const options = parseCassandraOptions(rawOptions);
  const client = createCassandraClient(options);
  try {
    await client.connect();
    const schemaConsistency = {
      consistency: CONSISTENCY_CODES[options.writeConsistency],
      serialConsistency: CONSISTENCY_CODES[options.serialConsistency],
    };
    await migrateCassandraSchema(client, options, schemaConsistency);
    await checkFixedSettings(client, options, schemaConsistency);
    const store = new CassandraStore(client, options, hooks);
    await store.warmUp();
    return store;
  } catch (error) {
    await client.shutdown().catch(() => undefined);
    throw toStoreError('open', error);
  }
}

export class CassandraStore implements MailboxStore {
  readonly kind = 'cassandra';
  readonly #client: cassandra.Client;
  readonly #requestTimeoutMs: number;
  readonly #statements: CqlStatements;
  readonly #runner: QueryRunner;
  readonly #commits: CommitProtocol;
  readonly #conversations: ConversationReads;
  readonly #messages: MessageReads;
  #closed = false;

  /** Use openCassandraStore: it connects, migrates and checks the bucket widths first. */
  constructor(
    client: cassandra.Client,
    options: CassandraStoreOptions,
    hooks: CassandraStoreHooks = {},
  ) {
    this.#client = client;
    this.#requestTimeoutMs = options.requestTimeoutMs;
    this.#statements = cqlStatements(options.keyspace);
    this.#runner = new QueryRunner(client, options, hooks.queryObserver);
    const buckets = new BucketLayout(options);
    this.#commits = new CommitProtocol(this.#runner, this.#statements, buckets, hooks);
    this.#conversations = new ConversationReads(this.#runner, this.#statements, buckets);
    this.#messages = new MessageReads(this.#runner, this.#statements, buckets);
  }

  /**
   * Prepares the read statements (and proves they parse) by running them against an owner that
   * cannot exist. The driver has no public prepare-only call, so writes are prepared on first use.
   */
  async warmUp(): Promise<void> {
    const owner = WARMUP_OWNER_ID;
    const s = this.#statements;
    const read = (query: string, params: unknown[]) => this.#runner.read(query, params);
    await this.#guard('warm up', () =>
      Promise.all([
        read(s.mailbox, [owner]),
        read(s.mailboxHead, [owner]),
        read(s.conversation, [owner, owner]),
        read(s.conversationsIn, [owner, [owner]]),
        read(s.allConversations, [owner]),
        read(s.conversationChanges, [owner, 0, 0, 0]),
        read(s.messagesInBucket, [owner, owner, 0, 0, 0, 1]),
        read(s.message, [owner, owner, 0, 0, owner]),
        read(s.timeBuckets, [owner, owner, 0, 0, 1]),
        read(s.messageChanges, [owner, owner, 0, 0, 1]),
        read(s.versionBuckets, [owner, owner, 0, 1]),
        read(s.messageByClientId, [owner, owner, owner]),
      ]),
    );
  }

  /**
   * Requests sent since the store opened (warm-up included): Paxos rounds (`lwts`, `serialReads`),
   * plain `reads` and `writes`, and commits rolled forward from a stored intent. All counters.
   */
  stats(): CassandraStoreStats {
    return { counters: this.#runner.counters(), gauges: {} };
  }

  async commit(commit: MailboxCommit): Promise<void> {
    await this.#guard('commit', () => this.#commits.commit(commit));
  }

  async mailboxVersion(ownerId: string): Promise<number> {
    // Not SERIAL: every acknowledged commit is visible at the read level, and a commit still in
    // Paxos makes the owner's next compare-and-set fail (docs/cassandra-schema.md, "Cold loads").
    return this.#guard('mailboxVersion', () => this.#commits.settledVersion(ownerId));
  }

  async recentConversations(ownerId: string, limit: number): Promise<ConversationRow[]> {
    return this.#guard('recentConversations', () =>
      this.#commits.settledRead(ownerId, () => this.#conversations.recent(ownerId, limit)),
    );
  }

  async conversation(
    ownerId: string,
    conversationId: string,
  ): Promise<ConversationRow | undefined> {
    return this.#guard('conversation', () =>
      this.#commits.settledRead(ownerId, () => this.#conversations.one(ownerId, conversationId)),
    );
  }

  async conversationsChangedAfter(
    ownerId: string,
    afterVersion: number,
    limit: number,
  ): Promise<ConversationRow[]> {
    return this.#guard('conversationsChangedAfter', async () => {
      // Settled first (not alongside): the walk needs the current version to know where to stop.
      const version = await this.#commits.settledVersion(ownerId);
      return this.#conversations.changedAfter(ownerId, afterVersion, version, limit);
    });
  }

  async messagesPage(
    ownerId: string,
    conversationId: string,
    query: MessagePageQuery,
  ): Promise<StoredMessage[]> {
    return this.#guard('messagesPage', () =>
      this.#commits.settledRead(ownerId, () => this.#messages.page(ownerId, conversationId, query)),
    );
  }

  async messagesChangedAfter(
    ownerId: string,
    conversationId: string,
    afterVersion: number,
    limit: number,
  ): Promise<StoredMessage[]> {
    return this.#guard('messagesChangedAfter', () =>
      this.#commits.settledRead(ownerId, () =>
        this.#messages.changedAfter(ownerId, conversationId, afterVersion, limit),
      ),
    );
  }

  async messageByClientId(
    ownerId: string,
    senderId: string,
    clientMessageId: string,
  ): Promise<StoredMessage | undefined> {
    return this.#guard('messageByClientId', () =>
      this.#commits.settledRead(ownerId, () =>
        this.#messages.byClientId(ownerId, senderId, clientMessageId),
      ),
    );
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#client.shutdown();
  }

  /**
   * Every public operation runs under the request deadline (retries included) and leaves with
   * either its result, a StoreVersionConflictError, or a ChatringError STORE_UNAVAILABLE.
   */
  async #guard<T>(operation: string, work: () => Promise<T>): Promise<T> {
    if (this.#closed)
      throw new ChatringError('STORE_UNAVAILABLE', `cassandra store is closed (${operation})`);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const message = `cassandra ${operation} did not finish within ${this.#requestTimeoutMs} ms`;
        reject(new ChatringError('STORE_UNAVAILABLE', message));
      }, this.#requestTimeoutMs);
    });
    try {
      return await Promise.race([work(), deadline]);
    } catch (error) {
      throw toStoreError(operation, error);
    } finally {
      clearTimeout(timer);
    }
  }
}
