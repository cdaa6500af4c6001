import type cassandra from 'cassandra-driver';
import { invalidOption } from '../../protocol/index.js';
import type { CassandraStoreOptions, KeyspaceReplication } from './options.js';

/**
 * The Cassandra schema of the mailbox store, as versioned migrations. Every statement is
 * idempotent (IF NOT EXISTS), so two processes starting together, or a start that died half-way
 * through a migration, simply run it again. `schema_version` records what has been applied;
 * migrations are additive only, so an older process keeps working against a newer schema.
 *
 * docs/cassandra-schema.md explains every table: its key, the read it serves and why.
 */

/** The component name under which this store records its migrations in `schema_version`. */
const SCHEMA_COMPONENT = 'mailbox-store';

interface Migration {
  version: number;
  description: string;
  statements(keyspace: string): string[];
}

/**
 * A migration's statements stay in one list however long it grows: a released migration is never
 * edited, and reading its tables side by side is what docs/cassandra-schema.md describes.
 */
const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'mailboxes, conversations, bucketed messages, idempotency index, change logs',
    statements: (keyspace) => [
      // One row per owner: the version the cursor syncs by, fenced by a lightweight transaction,
      // and the write-ahead intent of the last commit (commit-protocol.ts; releases before the
      // one-LWT commit cleared it to null once applied, and such rows are read as settled).
      `CREATE TABLE IF NOT EXISTS ${keyspace}.mailboxes (
        owner_id text PRIMARY KEY,
        version bigint,
        last_commit_id text,
        pending_commit text
      )`,
      // One partition per owner, one row per conversation. Bounded by the owner's peer count.
      `CREATE TABLE IF NOT EXISTS ${keyspace}.conversations (
        owner_id text,
        conversation_id text,
        participant_a text,
        participant_b text,
        snippet text,
        last_updated bigint,
        unread_count int,
        version bigint,
        PRIMARY KEY ((owner_id), conversation_id)
      )`,
      // Append-only log of conversation changes by mailbox version, one partition per owner and
      // version bucket; a row is live only while the conversation's own version still equals it.
      `CREATE TABLE IF NOT EXISTS ${keyspace}.conversation_changes (
        owner_id text,
        version_bucket bigint,
        version bigint,
        conversation_id text,
        PRIMARY KEY ((owner_id, version_bucket), version)
      ) WITH CLUSTERING ORDER BY (version ASC)`,
      // The owner's copy of a conversation's messages, newest first, one partition per time bucket.
      // message_id breaks a sent_at tie, so two messages can never overwrite each other.
      `CREATE TABLE IF NOT EXISTS ${keyspace}.messages (
        owner_id text,
        conversation_id text,
        sent_bucket bigint,
        sent_at bigint,
        message_id text,
        sender_id text,
        recipient_id text,
        content text,
        client_message_id text,
        version bigint,
        PRIMARY KEY ((owner_id, conversation_id, sent_bucket), sent_at, message_id)
      ) WITH CLUSTERING ORDER BY (sent_at DESC, message_id ASC)`,
      // Which time buckets of a conversation hold messages, so paging never scans empty ones.
      `CREATE TABLE IF NOT EXISTS ${keyspace}.message_time_buckets (
        owner_id text,
        conversation_id text,
        sent_bucket bigint,
        PRIMARY KEY ((owner_id, conversation_id), sent_bucket)
      ) WITH CLUSTERING ORDER BY (sent_bucket DESC)`,
      // The cursor's log of a conversation: the version that added each message, pointing at it.
      `CREATE TABLE IF NOT EXISTS ${keyspace}.message_changes (
        owner_id text,
        conversation_id text,
        version_bucket bigint,
        version bigint,
        sent_at bigint,
        message_id text,
        PRIMARY KEY ((owner_id, conversation_id, version_bucket), version)
      ) WITH CLUSTERING ORDER BY (version ASC)`,
      // Which version buckets of a conversation's change log hold entries.
      `CREATE TABLE IF NOT EXISTS ${keyspace}.message_version_buckets (
        owner_id text,
        conversation_id text,
        version_bucket bigint,
        PRIMARY KEY ((owner_id, conversation_id), version_bucket)
      ) WITH CLUSTERING ORDER BY (version_bucket ASC)`,
      // The idempotency index: (owner, sender, clientMessageId) -> where the message is stored.
      `CREATE TABLE IF NOT EXISTS ${keyspace}.messages_by_client_id (
        owner_id text,
        sender_id text,
        client_message_id text,
        conversation_id text,
        sent_at bigint,
        message_id text,
        version bigint,
        PRIMARY KEY ((owner_id, sender_id, client_message_id))
      )`,
      // Settings that must never change once data is written (bucket widths), recorded on first start.
      `CREATE TABLE IF NOT EXISTS ${keyspace}.store_settings (
        name text PRIMARY KEY,
        value bigint
      )`,
    ],
  },
];

/** Settings that decide where rows live; a store started with other values would miss its own rows. */
const FIXED_SETTINGS = ['messageBucketMs', 'versionsPerBucket'] as const;

/** Consistency levels the schema statements run at (the store's write and serial levels). */
export interface SchemaConsistency {
  consistency: number;
  serialConsistency: number;
}

/**
 * Creates the keyspace if missing, then applies every migration not yet recorded in
 * `schema_version`. A start against a current schema sends no DDL at all, so the application's
 * role needs only SELECT and MODIFY once the schema exists. DDL is sent as plain (unprepared)
 * statements: Cassandra cannot prepare it.
 */
export async function migrateCassandraSchema(
  client: cassandra.Client,
  options: Pick<CassandraStoreOptions, 'keyspace' | 'replication' | 'schemaTimeoutMs'>,
  consistency: SchemaConsistency,
): Promise<void> {
  const { keyspace } = options;
  const run = (statement: string, params: unknown[] = []) =>
    client.execute(statement, params, {
      prepare: params.length > 0,
      readTimeout: options.schemaTimeoutMs,
      ...consistency,
    });
  const recorded = await recordedVersions(client, keyspace, run);
  const pending = MIGRATIONS.filter((migration) => !recorded.has(migration.version));
  if (pending.length === 0) return;
  await run(
    `CREATE KEYSPACE IF NOT EXISTS ${keyspace} WITH replication = ${replicationLiteral(options.replication)}`,
  );
  await run(
    `CREATE TABLE IF NOT EXISTS ${keyspace}.schema_version (
      component text, version int, description text, applied_at timestamp,
      PRIMARY KEY ((component), version)
    )`,
  );
  for (const migration of pending) {
    for (const statement of migration.statements(keyspace)) await run(statement);
    await run(
      `INSERT INTO ${keyspace}.schema_version (component, version, description, applied_at) VALUES (?, ?, ?, ?)`,
      [SCHEMA_COMPONENT, migration.version, migration.description, new Date()],
    );
  }
}

/** The migrations recorded in `schema_version`; none if the keyspace or the table is missing. */
async function recordedVersions(
  client: cassandra.Client,
  keyspace: string,
  run: (statement: string, params: unknown[]) => Promise<cassandra.types.ResultSet>,
): Promise<Set<number>> {
  const table = await client.metadata.getTable(keyspace, 'schema_version');
  if (table === null || table === undefined) return new Set();
  const result = await run(`SELECT version FROM ${keyspace}.schema_version WHERE component = ?`, [
    SCHEMA_COMPONENT,
  ]);
  return new Set(result.rows.map((row) => Number(row.get('version'))));
}

/**
 * Records the bucket widths on the first start (INSERT IF NOT EXISTS, so two first starts agree
 * on one value) and refuses to run with different ones: rows already written would sit in
 * partitions the new widths never compute.
 */
export async function checkFixedSettings(
  client: cassandra.Client,
  options: Pick<
    CassandraStoreOptions,
    'keyspace' | 'schemaTimeoutMs' | (typeof FIXED_SETTINGS)[number]
  >,
  consistency: SchemaConsistency,
): Promise<void> {
  for (const name of FIXED_SETTINGS) {
    const result = await client.execute(
      `INSERT INTO ${options.keyspace}.store_settings (name, value) VALUES (?, ?) IF NOT EXISTS`,
      [name, options[name]],
      { prepare: true, readTimeout: options.schemaTimeoutMs, ...consistency },
    );
    if (result.wasApplied()) continue;
    const recorded = Number(result.first().get('value'));
    if (recorded !== options[name]) {
      throw invalidOption(
        'cassandra',
        name,
        `is ${options[name]} but keyspace ${options.keyspace} was created with ${recorded}; ` +
          'bucket widths cannot change once data is written',
      );
    }
  }
}

function replicationLiteral(replication: KeyspaceReplication): string {
  if (replication.class === 'SimpleStrategy') {
    return `{'class': 'SimpleStrategy', 'replication_factor': ${replication.replicationFactor}}`;
  }
  // Data center names were validated against a quote-free alphabet (options.ts).
  const dataCenters = Object.entries(replication.dataCenters).map(
    ([name, factor]) => `'${name}': ${factor}`,
  );
  return `{'class': 'NetworkTopologyStrategy', ${dataCenters.join(', ')}}`;
}
