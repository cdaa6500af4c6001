import cassandra from 'cassandra-driver';
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import { ChatringError, type Message } from '../protocol/index.js';
import { parseCassandraOptions, type CassandraStoreOptions } from './cassandra-options.js';
import { checkFixedSettings, migrateCassandraSchema } from './cassandra-schema.js';
import {
  StoreVersionConflictError,
  type ConversationRow,
  type MailboxCommit,
  type MailboxStore,
  type MessagePageQuery,
  type StoredMessage,
} from './mailbox-store.js';

/**
 * The production store: Apache Cassandra through cassandra-driver 4.
 *
 * A commit is made atomic and compare-and-set without multi-partition transactions:
 *  1. a lightweight transaction on the owner's `mailboxes` row moves the version from v-1 to v
 *     and stores the whole commit as a pending intent (write-ahead), only if no intent is pending;
 *  2. the commit's rows are written (idempotent upserts): the message body on its own, the small
 *     rows in one logged batch;
 *  3. a second lightweight transaction clears the intent.
 * Anyone who finds an intent pending (a reader, the next commit, a re-sent commit) rolls it
 * forward by re-applying step 2 and 3. Every row a commit writes carries the write timestamp v
 * (the mailbox version), so re-applying an old commit can never overwrite a newer one, and two
 * processes rolling the same intent forward write identical cells.
 *
 * docs/cassandra-schema.md has the tables, the consistency levels and the retry policy, and why.
 */

export interface CassandraStoreHooks {
  /**
   * Fault injection for tests: runs after a commit's intent is durable and before its rows are
   * written. Throwing here leaves the mailbox as a crash at that point would.
   */
  afterIntentDurable?(commit: MailboxCommit): void | Promise<void>;
}

/** A user id can never contain `~`, so this owner never collides with a real mailbox. */
const WARMUP_OWNER_ID = '~warmup';
/** Rows per page when a read walks a whole partition (an owner's conversations, a bucket index). */
const PAGE_ROWS = 500;
/** Conversation ids per `IN (...)` read; Cassandra plans an IN as one slice per value. */
const IN_VALUES_MAX = 100;
/** Concurrent point reads when resolving change-log pointers to messages. */
const POINT_READS_CONCURRENCY = 16;
/**
 * conversationsChangedAfter walks the change log when the gap spans at most this many version
 * buckets; a wider gap reads the owner's conversation partition instead, which is bounded by the
 * number of peers rather than by the number of changes.
 */
const CONVERSATION_CHANGE_BUCKETS_WALKED_MAX = 4;
/** Rounds of "roll forward the pending intent, then try again" before a commit gives up. */
const COMMIT_ATTEMPTS_MAX = 3;

const { consistencies, responseErrorCodes } = cassandra.types;

const CONSISTENCY_CODES = {
  QUORUM: consistencies.quorum,
  LOCAL_QUORUM: consistencies.localQuorum,
  EACH_QUORUM: consistencies.eachQuorum,
  ALL: consistencies.all,
  SERIAL: consistencies.serial,
  LOCAL_SERIAL: consistencies.localSerial,
} as const;

/** What the mailboxes row says: the committed version and, if its rows may be missing, the commit. */
interface MailboxState {
  version: number;
  lastCommitId: string | undefined;
  pendingCommit: MailboxCommit | undefined;
}

interface MessagePointer {
  conversationId: string;
  sentAt: number;
  messageId: string;
}

type Params = unknown[];

interface Statement {
  query: string;
  params: Params;
}

export async function openCassandraStore(
  rawOptions: Record<string, unknown>,
  hooks: CassandraStoreHooks = {},
): Promise<MailboxStore> {
  const options = parseCassandraOptions(rawOptions);
  const client = new cassandra.Client(clientOptions(options));
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

function clientOptions(options: CassandraStoreOptions): cassandra.DseClientOptions {
  return {
    contactPoints: [...options.contactPoints],
    localDataCenter: options.localDataCenter,
    ...(options.username !== undefined && options.password !== undefined
      ? { credentials: { username: options.username, password: options.password } }
      : {}),
    ...(options.tls === false ? {} : { sslOptions: tlsOptions(options.tls) }),
    policies: {
      // Token-aware over DC-aware round robin: requests go straight to a replica in the local DC.
      loadBalancing: new cassandra.policies.loadBalancing.DefaultLoadBalancingPolicy({
        localDc: options.localDataCenter,
      }),
      retry: new BoundedRetryPolicy(),
      reconnection: new cassandra.policies.reconnection.ExponentialReconnectionPolicy(
        500,
        30_000,
        true,
      ),
    },
    socketOptions: {
      connectTimeout: options.connectTimeoutMs,
      readTimeout: options.attemptTimeoutMs,
    },
    queryOptions: {
      prepare: true,
      consistency: CONSISTENCY_CODES[options.readConsistency],
      serialConsistency: CONSISTENCY_CODES[options.serialConsistency],
      // Safe default: a statement not marked otherwise is never retried after it may have run.
      isIdempotent: false,
    },
    // No anonymous usage reports leave the process.
    monitorReporting: { enabled: false },
  };
}

function tlsOptions(tls: Exclude<CassandraStoreOptions['tls'], false>): ConnectionOptions {
  return {
    rejectUnauthorized: tls.rejectUnauthorized,
    ...(tls.caFile === undefined ? {} : { ca: [readFileSync(tls.caFile)] }),
  };
}

/**
 * At most one retry per request, and only where a repeat cannot apply anything twice: reads,
 * requests the coordinator refused before running (Unavailable), and statements marked
 * idempotent. Every data write is an upsert with a fixed write timestamp, so it is idempotent; the
 * mailbox LWTs are not marked idempotent, so a timed-out LWT is never blindly re-proposed: the
 * caller gets STORE_UNAVAILABLE and re-sends the same commit, which the store recognises by its id.
 * (The driver itself never consults the policy on a write timeout or request error of a statement
 * that is not idempotent.)
 */
class BoundedRetryPolicy extends cassandra.policies.retry.RetryPolicy {
  override onUnavailable(
    info: cassandra.policies.retry.OperationInfo,
    consistency: cassandra.types.consistencies,
  ) {
    // The coordinator may have a stale view of which replicas are up; ask another one, once.
    return info.nbRetry === 0 ? this.retryResult(consistency, false) : this.rethrowResult();
  }

  override onReadTimeout(
    info: cassandra.policies.retry.OperationInfo,
    consistency: cassandra.types.consistencies,
    received: number,
    blockFor: number,
    isDataPresent: boolean,
  ) {
    // Enough replicas answered but the one holding the data was slow: a retry usually succeeds.
    return info.nbRetry === 0 && received >= blockFor && !isDataPresent
      ? this.retryResult(consistency)
      : this.rethrowResult();
  }

  override onWriteTimeout(
    info: cassandra.policies.retry.OperationInfo,
    consistency: cassandra.types.consistencies,
  ) {
    return info.nbRetry === 0 && info.executionOptions.isIdempotent()
      ? this.retryResult(consistency)
      : this.rethrowResult();
  }

  override onRequestError(
    info: cassandra.policies.retry.OperationInfo,
    consistency: cassandra.types.consistencies,
  ) {
    return info.nbRetry === 0 && info.executionOptions.isIdempotent()
      ? this.retryResult(consistency, false)
      : this.rethrowResult();
  }
}

function statementsFor(keyspace: string) {
  const conversationColumns =
    'conversation_id, participant_a, participant_b, snippet, last_updated, unread_count, version';
  const messageColumns =
    'conversation_id, sent_at, message_id, sender_id, recipient_id, content, client_message_id, version';
  return {
    mailbox: `SELECT version, last_commit_id, pending_commit FROM ${keyspace}.mailboxes WHERE owner_id = ?`,
    createMailbox: `INSERT INTO ${keyspace}.mailboxes (owner_id, version, last_commit_id, pending_commit) VALUES (?, ?, ?, ?) IF NOT EXISTS`,
    advanceMailbox:
      `UPDATE ${keyspace}.mailboxes SET version = ?, last_commit_id = ?, pending_commit = ? ` +
      'WHERE owner_id = ? IF version = ? AND pending_commit = null',
    clearPendingCommit: `UPDATE ${keyspace}.mailboxes SET pending_commit = null WHERE owner_id = ? IF version = ? AND last_commit_id = ?`,

    upsertConversation: `INSERT INTO ${keyspace}.conversations (owner_id, ${conversationColumns}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    conversation: `SELECT ${conversationColumns} FROM ${keyspace}.conversations WHERE owner_id = ? AND conversation_id = ?`,
    conversationsIn: `SELECT ${conversationColumns} FROM ${keyspace}.conversations WHERE owner_id = ? AND conversation_id IN ?`,
    allConversations: `SELECT ${conversationColumns} FROM ${keyspace}.conversations WHERE owner_id = ?`,
    insertConversationChange: `INSERT INTO ${keyspace}.conversation_changes (owner_id, version_bucket, version, conversation_id) VALUES (?, ?, ?, ?)`,
    conversationChanges:
      `SELECT version, conversation_id FROM ${keyspace}.conversation_changes ` +
      'WHERE owner_id = ? AND version_bucket = ? AND version > ? AND version <= ?',

    insertMessage: `INSERT INTO ${keyspace}.messages (owner_id, sent_bucket, ${messageColumns}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    messagesInBucket:
      `SELECT ${messageColumns} FROM ${keyspace}.messages ` +
      'WHERE owner_id = ? AND conversation_id = ? AND sent_bucket = ? AND sent_at < ? AND sent_at > ? LIMIT ?',
    message:
      `SELECT ${messageColumns} FROM ${keyspace}.messages ` +
      'WHERE owner_id = ? AND conversation_id = ? AND sent_bucket = ? AND sent_at = ? AND message_id = ?',
    insertTimeBucket: `INSERT INTO ${keyspace}.message_time_buckets (owner_id, conversation_id, sent_bucket) VALUES (?, ?, ?)`,
    timeBuckets:
      `SELECT sent_bucket FROM ${keyspace}.message_time_buckets ` +
      'WHERE owner_id = ? AND conversation_id = ? AND sent_bucket <= ? AND sent_bucket >= ? LIMIT ?',
    insertMessageChange:
      `INSERT INTO ${keyspace}.message_changes (owner_id, conversation_id, version_bucket, version, sent_at, message_id) ` +
      'VALUES (?, ?, ?, ?, ?, ?)',
    messageChanges:
      `SELECT version, sent_at, message_id FROM ${keyspace}.message_changes ` +
      'WHERE owner_id = ? AND conversation_id = ? AND version_bucket = ? AND version > ? LIMIT ?',
    insertVersionBucket: `INSERT INTO ${keyspace}.message_version_buckets (owner_id, conversation_id, version_bucket) VALUES (?, ?, ?)`,
    versionBuckets:
      `SELECT version_bucket FROM ${keyspace}.message_version_buckets ` +
      'WHERE owner_id = ? AND conversation_id = ? AND version_bucket >= ? LIMIT ?',
    insertClientId:
      `INSERT INTO ${keyspace}.messages_by_client_id ` +
      '(owner_id, sender_id, client_message_id, conversation_id, sent_at, message_id, version) VALUES (?, ?, ?, ?, ?, ?, ?)',
    messageByClientId:
      `SELECT conversation_id, sent_at, message_id FROM ${keyspace}.messages_by_client_id ` +
      'WHERE owner_id = ? AND sender_id = ? AND client_message_id = ?',
  };
}

type Statements = ReturnType<typeof statementsFor>;

export class CassandraStore implements MailboxStore {
  readonly kind = 'cassandra';
  readonly #client: cassandra.Client;
  readonly #options: CassandraStoreOptions;
  readonly #hooks: CassandraStoreHooks;
  readonly #statements: Statements;
  readonly #readConsistency: number;
  readonly #writeConsistency: number;
  readonly #serialConsistency: number;
  #closed = false;

  /** Use openCassandraStore: it connects, migrates and checks the bucket widths first. */
  constructor(
    client: cassandra.Client,
    options: CassandraStoreOptions,
    hooks: CassandraStoreHooks = {},
  ) {
    this.#client = client;
    this.#options = options;
    this.#hooks = hooks;
    this.#statements = statementsFor(options.keyspace);
    this.#readConsistency = CONSISTENCY_CODES[options.readConsistency];
    this.#writeConsistency = CONSISTENCY_CODES[options.writeConsistency];
    this.#serialConsistency = CONSISTENCY_CODES[options.serialConsistency];
  }

  /**
   * Prepares the read statements (and proves they parse) by running them against an owner that
   * cannot exist. The driver has no public prepare-only call, so writes are prepared on first use.
   */
  async warmUp(): Promise<void> {
    const owner = WARMUP_OWNER_ID;
    const s = this.#statements;
    await this.#guard('warm up', () =>
      Promise.all([
        this.#read(s.mailbox, [owner]),
        this.#read(s.conversation, [owner, owner]),
        this.#read(s.conversationsIn, [owner, [owner]]),
        this.#read(s.allConversations, [owner]),
        this.#read(s.conversationChanges, [owner, 0, 0, 0]),
        this.#read(s.messagesInBucket, [owner, owner, 0, 0, 0, 1]),
        this.#read(s.message, [owner, owner, 0, 0, owner]),
        this.#read(s.timeBuckets, [owner, owner, 0, 0, 1]),
        this.#read(s.messageChanges, [owner, owner, 0, 0, 1]),
        this.#read(s.versionBuckets, [owner, owner, 0, 1]),
        this.#read(s.messageByClientId, [owner, owner, owner]),
      ]),
    );
  }

  async commit(commit: MailboxCommit): Promise<void> {
    assertCommitShape(commit);
    await this.#guard('commit', () => this.#commit(commit));
  }

  async mailboxVersion(ownerId: string): Promise<number> {
    // A serial read finishes any Paxos round left half done, so the version is the linearized one.
    return this.#guard(
      'mailboxVersion',
      async () => (await this.#settle(ownerId, this.#serialConsistency)).version,
    );
  }

  async recentConversations(ownerId: string, limit: number): Promise<ConversationRow[]> {
    return this.#guard('recentConversations', () =>
      this.#settledRead(ownerId, () =>
        this.#topConversations(ownerId, limit, mostRecentFirst, () => true),
      ),
    );
  }

  async conversation(
    ownerId: string,
    conversationId: string,
  ): Promise<ConversationRow | undefined> {
    return this.#guard('conversation', () =>
      this.#settledRead(ownerId, async () => {
        const row = (
          await this.#read(this.#statements.conversation, [ownerId, conversationId])
        ).first();
        return row === null ? undefined : toConversationRow(row);
      }),
    );
  }

  async conversationsChangedAfter(
    ownerId: string,
    afterVersion: number,
    limit: number,
  ): Promise<ConversationRow[]> {
    return this.#guard('conversationsChangedAfter', async () => {
      const { version } = await this.#settle(ownerId, this.#readConsistency);
      if (version <= afterVersion || limit <= 0) return [];
      const bucketsSpanned =
        (this.#versionBucket(version) - this.#versionBucket(afterVersion + 1)) /
          this.#options.versionsPerBucket +
        1;
      if (bucketsSpanned > CONVERSATION_CHANGE_BUCKETS_WALKED_MAX) {
        return this.#topConversations(
          ownerId,
          limit,
          byVersion,
          (row) => row.version > afterVersion,
        );
      }
      return this.#walkConversationChanges(ownerId, afterVersion, version, limit);
    });
  }

  async messagesPage(
    ownerId: string,
    conversationId: string,
    query: MessagePageQuery,
  ): Promise<StoredMessage[]> {
    return this.#guard('messagesPage', () =>
      this.#settledRead(ownerId, () => this.#messagesPage(ownerId, conversationId, query)),
    );
  }

  async messagesChangedAfter(
    ownerId: string,
    conversationId: string,
    afterVersion: number,
    limit: number,
  ): Promise<StoredMessage[]> {
    return this.#guard('messagesChangedAfter', () =>
      this.#settledRead(ownerId, async () => {
        const pointers = await this.#messageChangePointers(
          ownerId,
          conversationId,
          afterVersion,
          limit,
        );
        return this.#resolvePointers(ownerId, pointers);
      }),
    );
  }

  async messageByClientId(
    ownerId: string,
    senderId: string,
    clientMessageId: string,
  ): Promise<StoredMessage | undefined> {
    return this.#guard('messageByClientId', () =>
      this.#settledRead(ownerId, async () => {
        const row = (
          await this.#read(this.#statements.messageByClientId, [ownerId, senderId, clientMessageId])
        ).first();
        if (row === null) return undefined;
        const [message] = await this.#resolvePointers(ownerId, [toMessagePointer(row)]);
        return message;
      }),
    );
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#client.shutdown();
  }

  // ---- commit --------------------------------------------------------------------------------

  async #commit(commit: MailboxCommit): Promise<void> {
    for (let attempt = 1; attempt <= COMMIT_ATTEMPTS_MAX; attempt += 1) {
      if (await this.#proposeIntent(commit)) {
        await this.#hooks.afterIntentDurable?.(commit);
        await this.#applyRows(commit);
        await this.#clearIntent(commit);
        return;
      }
      const state = await this.#mailboxState(commit.ownerId, this.#serialConsistency);
      if (state.version === commit.version && state.lastCommitId === commit.commitId) {
        // A re-sent commit: it already won the compare-and-set; make sure its rows are there.
        if (state.pendingCommit !== undefined) await this.#rollForward(state.pendingCommit);
        return;
      }
      if (state.version === commit.version - 1 && state.pendingCommit !== undefined) {
        // The previous commit's rows may be missing (its writer died); finish it, then try again.
        await this.#rollForward(state.pendingCommit);
        continue;
      }
      throw new StoreVersionConflictError(commit.ownerId, commit.version - 1, state.version);
    }
    const state = await this.#mailboxState(commit.ownerId, this.#serialConsistency);
    throw new StoreVersionConflictError(commit.ownerId, commit.version - 1, state.version);
  }

  /** The compare-and-set: true if this commit now owns version v (its intent is durable). */
  async #proposeIntent(commit: MailboxCommit): Promise<boolean> {
    const intent = JSON.stringify(commit);
    const s = this.#statements;
    const result =
      commit.version === 1
        ? await this.#lwt(s.createMailbox, [commit.ownerId, 1, commit.commitId, intent])
        : await this.#lwt(s.advanceMailbox, [
            commit.version,
            commit.commitId,
            intent,
            commit.ownerId,
            commit.version - 1,
          ]);
    return result.wasApplied();
  }

  /** Re-applies a commit whose intent was found pending, then clears the intent. */
  async #rollForward(commit: MailboxCommit): Promise<void> {
    await this.#applyRows(commit);
    await this.#clearIntent(commit);
  }

  /** Clears the intent only if it is still this commit's: a later commit may already own the row. */
  async #clearIntent(commit: MailboxCommit): Promise<void> {
    await this.#lwt(this.#statements.clearPendingCommit, [
      commit.ownerId,
      commit.version,
      commit.commitId,
    ]);
  }

  /**
   * Writes the commit's rows: the message body as a statement of its own, every small row in one
   * logged batch (Cassandra replays a logged batch to the end once any of it is written). The body
   * stays out of the batch because a 64 KiB message would exceed Cassandra's default
   * batch_size_fail_threshold (50 KiB); the pending intent, not the batch, is what guarantees that
   * all the rows arrive. Write timestamp = version: idempotent, and never overwrites a newer commit.
   */
  async #applyRows(commit: MailboxCommit): Promise<void> {
    const s = this.#statements;
    const { ownerId, version, conversation: c } = commit;
    const writeOptions = {
      prepare: true,
      consistency: this.#writeConsistency,
      timestamp: version,
      isIdempotent: true,
    };
    const smallRows: Statement[] = [
      {
        query: s.upsertConversation,
        params: [
          ownerId,
          c.conversationId,
          c.participants[0],
          c.participants[1],
          c.snippet,
          c.lastUpdatedTimestamp,
          c.unreadCount,
          c.version,
        ],
      },
      {
        query: s.insertConversationChange,
        params: [ownerId, this.#versionBucket(version), version, c.conversationId],
      },
    ];
    const writes: Promise<unknown>[] = [];
    if (commit.kind === 'message') {
      const body = this.#messageRow(ownerId, version, commit.message);
      writes.push(this.#client.execute(body.query, body.params, writeOptions));
      smallRows.push(...this.#messageIndexRows(ownerId, version, commit.message));
    }
    writes.push(this.#client.batch(smallRows, { ...writeOptions, logged: true }));
    await Promise.all(writes);
  }

  #messageRow(ownerId: string, version: number, m: Message): Statement {
    return {
      query: this.#statements.insertMessage,
      params: [
        ownerId,
        this.#sentBucket(m.sentAt),
        m.conversationId,
        m.sentAt,
        m.messageId,
        m.senderId,
        m.recipientId,
        m.content,
        m.clientMessageId,
        version,
      ],
    };
  }

  /** The rows that find a message: bucket indexes, the cursor's change log, the idempotency index. */
  #messageIndexRows(ownerId: string, version: number, m: Message): Statement[] {
    const s = this.#statements;
    const sentBucket = this.#sentBucket(m.sentAt);
    const versionBucket = this.#versionBucket(version);
    return [
      { query: s.insertTimeBucket, params: [ownerId, m.conversationId, sentBucket] },
      {
        query: s.insertMessageChange,
        params: [ownerId, m.conversationId, versionBucket, version, m.sentAt, m.messageId],
      },
      { query: s.insertVersionBucket, params: [ownerId, m.conversationId, versionBucket] },
      {
        query: s.insertClientId,
        params: [
          ownerId,
          m.senderId,
          m.clientMessageId,
          m.conversationId,
          m.sentAt,
          m.messageId,
          version,
        ],
      },
    ];
  }

  // ---- settling: no read returns half of a commit whose writer died ----------------------------

  /** Reads the mailbox row at `consistency` and rolls forward an intent left pending. */
  async #settle(ownerId: string, consistency: number): Promise<MailboxState> {
    const state = await this.#mailboxState(ownerId, consistency);
    if (state.pendingCommit === undefined) return state;
    await this.#rollForward(state.pendingCommit);
    return { ...state, pendingCommit: undefined };
  }

  /**
   * Runs a read alongside a look at the mailbox row (one round trip, not two). If an intent is
   * pending, the rows read may be half of that commit: roll it forward and read again.
   */
  async #settledRead<T>(ownerId: string, read: () => Promise<T>): Promise<T> {
    const [state, result] = await Promise.all([
      this.#mailboxState(ownerId, this.#readConsistency),
      read(),
    ]);
    if (state.pendingCommit === undefined) return result;
    await this.#rollForward(state.pendingCommit);
    return read();
  }

  async #mailboxState(ownerId: string, consistency: number): Promise<MailboxState> {
    const row = (await this.#read(this.#statements.mailbox, [ownerId], consistency)).first();
    if (row === null) return { version: 0, lastCommitId: undefined, pendingCommit: undefined };
    const pending = row.get('pending_commit') as string | null;
    const state: MailboxState = {
      version: toNumber(row.get('version')),
      lastCommitId: (row.get('last_commit_id') as string | null) ?? undefined,
      pendingCommit: pending === null ? undefined : parseIntent(pending),
    };
    if (state.pendingCommit !== undefined && state.pendingCommit.version !== state.version) {
      throw new Error(
        `mailbox ${ownerId}: pending intent is for version ${state.pendingCommit.version}, row is at ${state.version}`,
      );
    }
    return state;
  }

  // ---- conversations -------------------------------------------------------------------------

  /**
   * Streams the owner's conversation partition and keeps the first `limit` rows in `order` among
   * those that pass `keep`: memory stays O(limit) however many conversations the owner has.
   */
  async #topConversations(
    ownerId: string,
    limit: number,
    order: (a: ConversationRow, b: ConversationRow) => number,
    keep: (row: ConversationRow) => boolean,
  ): Promise<ConversationRow[]> {
    const top: ConversationRow[] = [];
    if (limit <= 0) return top;
    await this.#eachRow(this.#statements.allConversations, [ownerId], (row) => {
      const conversation = toConversationRow(row);
      if (keep(conversation)) insertBounded(top, conversation, limit, order);
    });
    return top;
  }

  /**
   * Walks the change log in version order from `afterVersion`, keeping an entry only if it is the
   * conversation's latest change (its row's version still equals the entry's).
   */
  async #walkConversationChanges(
    ownerId: string,
    afterVersion: number,
    currentVersion: number,
    limit: number,
  ) {
    const changed: ConversationRow[] = [];
    const size = this.#options.versionsPerBucket;
    for (
      let bucket = this.#versionBucket(afterVersion + 1);
      bucket <= currentVersion && changed.length < limit;
      bucket += size
    ) {
      const entries: { version: number; conversationId: string }[] = [];
      await this.#eachRow(
        this.#statements.conversationChanges,
        [ownerId, bucket, afterVersion, currentVersion],
        (row) => {
          entries.push({
            version: toNumber(row.get('version')),
            conversationId: row.get('conversation_id') as string,
          });
        },
      );
      const rows = await this.#conversationsById(ownerId, [
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

  async #conversationsById(
    ownerId: string,
    conversationIds: string[],
  ): Promise<Map<string, ConversationRow>> {
    const rows = new Map<string, ConversationRow>();
    for (let start = 0; start < conversationIds.length; start += IN_VALUES_MAX) {
      const chunk = conversationIds.slice(start, start + IN_VALUES_MAX);
      const result = await this.#read(this.#statements.conversationsIn, [ownerId, chunk]);
      for (const row of result.rows)
        rows.set(row.get('conversation_id') as string, toConversationRow(row));
    }
    return rows;
  }

  // ---- messages ------------------------------------------------------------------------------

  /**
   * Newest first across time buckets: list the conversation's non-empty buckets that can hold the
   * range (newest first), then read each until the page is full. Each non-empty bucket but the
   * edge ones yields at least one message, so at most limit + 2 buckets are ever read.
   */
  async #messagesPage(
    ownerId: string,
    conversationId: string,
    query: MessagePageQuery,
  ): Promise<StoredMessage[]> {
    if (query.limit <= 0) return [];
    const sentBefore = query.sentBefore ?? Number.MAX_SAFE_INTEGER;
    const sentAfter = query.sentAfter ?? Number.MIN_SAFE_INTEGER;
    if (sentBefore - sentAfter <= 1) return [];
    const s = this.#statements;
    const buckets = await this.#read(s.timeBuckets, [
      ownerId,
      conversationId,
      this.#sentBucket(sentBefore - 1),
      this.#sentBucket(sentAfter + 1),
      query.limit + 2,
    ]);
    const page: StoredMessage[] = [];
    for (const bucketRow of buckets.rows) {
      const remaining = query.limit - page.length;
      if (remaining === 0) break;
      const bucket = toNumber(bucketRow.get('sent_bucket'));
      const result = await this.#read(s.messagesInBucket, [
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

  /** The change log's pointers after `afterVersion`, ascending, across the non-empty version buckets. */
  async #messageChangePointers(
    ownerId: string,
    conversationId: string,
    afterVersion: number,
    limit: number,
  ): Promise<MessagePointer[]> {
    if (limit <= 0) return [];
    const s = this.#statements;
    const buckets = await this.#read(s.versionBuckets, [
      ownerId,
      conversationId,
      this.#versionBucket(afterVersion + 1),
      limit + 1,
    ]);
    const pointers: MessagePointer[] = [];
    for (const bucketRow of buckets.rows) {
      const remaining = limit - pointers.length;
      if (remaining === 0) break;
      const bucket = toNumber(bucketRow.get('version_bucket'));
      const result = await this.#read(s.messageChanges, [
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
    const params = [ownerId, conversationId, this.#sentBucket(sentAt), sentAt, messageId];
    const row = (await this.#read(this.#statements.message, params)).first();
    return row === null ? undefined : toStoredMessage(row);
  }

  // ---- buckets -------------------------------------------------------------------------------

  /** The first millisecond of the time bucket that holds `sentAt`. */
  #sentBucket(sentAt: number): number {
    return Math.floor(sentAt / this.#options.messageBucketMs) * this.#options.messageBucketMs;
  }

  /** The first version of the version bucket that holds `version`. */
  #versionBucket(version: number): number {
    return Math.floor(version / this.#options.versionsPerBucket) * this.#options.versionsPerBucket;
  }

  // ---- execution -----------------------------------------------------------------------------

  #read(
    query: string,
    params: Params,
    consistency = this.#readConsistency,
  ): Promise<cassandra.types.ResultSet> {
    return this.#client.execute(query, params, { prepare: true, consistency, isIdempotent: true });
  }

  /** Reads every page of a partition (or slice), PAGE_ROWS at a time, handing each row to `visit`. */
  async #eachRow(
    query: string,
    params: Params,
    visit: (row: cassandra.types.Row) => void,
  ): Promise<void> {
    let pageState: string | undefined;
    do {
      const result = await this.#client.execute(query, params, {
        prepare: true,
        consistency: this.#readConsistency,
        isIdempotent: true,
        fetchSize: PAGE_ROWS,
        ...(pageState === undefined ? {} : { pageState }),
      });
      for (const row of result.rows) visit(row);
      pageState = result.pageState ?? undefined;
    } while (pageState !== undefined);
  }

  /** A lightweight transaction: Paxos at the serial level, its commit at the write level. */
  #lwt(query: string, params: Params): Promise<cassandra.types.ResultSet> {
    return this.#client.execute(query, params, {
      prepare: true,
      consistency: this.#writeConsistency,
      serialConsistency: this.#serialConsistency,
      isIdempotent: false,
    });
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
        const message = `cassandra ${operation} did not finish within ${this.#options.requestTimeoutMs} ms`;
        reject(new ChatringError('STORE_UNAVAILABLE', message));
      }, this.#options.requestTimeoutMs);
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

// ---- errors -------------------------------------------------------------------------------------

/** Server answers that mean "the cluster could not do it now", never "the request is wrong". */
const UNAVAILABLE_RESPONSE_CODES = new Set<number>([
  responseErrorCodes.serverError,
  responseErrorCodes.unavailableException,
  responseErrorCodes.overloaded,
  responseErrorCodes.isBootstrapping,
  responseErrorCodes.truncateError,
  responseErrorCodes.writeTimeout,
  responseErrorCodes.readTimeout,
  responseErrorCodes.readFailure,
  responseErrorCodes.writeFailure,
  responseErrorCodes.clientWriteFailure,
]);

/**
 * Maps a failure to what the cache node acts on: availability problems become STORE_UNAVAILABLE
 * (503, retryable, and the outcome of a commit is unknown until re-sent); conflicts and chatring
 * errors pass through; anything else (a bad query, bad credentials) is a bug or a misconfiguration
 * and passes through unchanged so it is not retried forever.
 */
export function toStoreError(operation: string, error: unknown): unknown {
  if (error instanceof StoreVersionConflictError || error instanceof ChatringError) return error;
  if (!isUnavailable(error)) return error;
  const reason = error instanceof Error ? error.message : String(error);
  return new ChatringError('STORE_UNAVAILABLE', `cassandra ${operation} failed: ${reason}`, {
    cause: error,
  });
}

function isUnavailable(error: unknown): boolean {
  const { errors } = cassandra;
  if (error instanceof errors.NoHostAvailableError) return true;
  if (error instanceof errors.OperationTimedOutError) return true;
  if (error instanceof errors.BusyConnectionError) return true;
  if (error instanceof errors.ResponseError) return UNAVAILABLE_RESPONSE_CODES.has(error.code);
  return (
    typeof error === 'object' &&
    error !== null &&
    (error as { isSocketError?: unknown }).isSocketError === true
  );
}

// ---- rows ---------------------------------------------------------------------------------------

function assertCommitShape(commit: MailboxCommit): void {
  if (!Number.isSafeInteger(commit.version) || commit.version < 1) {
    throw new Error(`commit version must be a positive integer, got ${commit.version}`);
  }
  if (
    commit.kind === 'message' &&
    commit.message.conversationId !== commit.conversation.conversationId
  ) {
    throw new Error('a message commit must update the conversation its message belongs to');
  }
}

function parseIntent(json: string): MailboxCommit {
  const commit = JSON.parse(json) as MailboxCommit;
  if ((commit.kind !== 'message' && commit.kind !== 'read') || typeof commit.ownerId !== 'string') {
    throw new Error('the pending intent on a mailboxes row is not a commit this store wrote');
  }
  return commit;
}

/** bigint columns arrive as driver Longs; every value this store writes is a safe integer. */
function toNumber(value: unknown): number {
  const number = typeof value === 'number' ? value : (value as cassandra.types.Long).toNumber();
  if (!Number.isSafeInteger(number))
    throw new Error(`stored value ${String(value)} is not a safe integer`);
  return number;
}

function toConversationRow(row: cassandra.types.Row): ConversationRow {
  return {
    conversationId: row.get('conversation_id') as string,
    participants: [row.get('participant_a') as string, row.get('participant_b') as string],
    snippet: row.get('snippet') as string,
    lastUpdatedTimestamp: toNumber(row.get('last_updated')),
    unreadCount: row.get('unread_count') as number,
    version: toNumber(row.get('version')),
  };
}

function toStoredMessage(row: cassandra.types.Row): StoredMessage {
  return {
    messageId: row.get('message_id') as string,
    conversationId: row.get('conversation_id') as string,
    senderId: row.get('sender_id') as string,
    recipientId: row.get('recipient_id') as string,
    content: row.get('content') as string,
    clientMessageId: row.get('client_message_id') as string,
    sentAt: toNumber(row.get('sent_at')),
    version: toNumber(row.get('version')),
  };
}

function toMessagePointer(row: cassandra.types.Row): MessagePointer {
  return {
    conversationId: row.get('conversation_id') as string,
    sentAt: toNumber(row.get('sent_at')),
    messageId: row.get('message_id') as string,
  };
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
