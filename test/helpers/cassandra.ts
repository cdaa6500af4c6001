/**
 * Test helper for the Cassandra store: finds a Cassandra (CASSANDRA_CONTACT_POINTS if set, else
 * the local node that scripts/cassandra/cassandra.mjs starts or reuses), gives the test file a
 * keyspace of its own, and always drops it when the file's tests end. Creating a keyspace costs a
 * few seconds of schema agreement, so do it once per file, not per test.
 */
import cassandra from 'cassandra-driver';
import { randomBytes } from 'node:crypto';
import type { Test } from 'tap';

/** The part of scripts/cassandra/cassandra.mjs this helper uses (it is plain JS, without types). */
interface CassandraScript {
  ensureCassandra(options: {
    timeoutMs: number;
  }): Promise<{ contactPoint: string; localDataCenter?: string }>;
}

/** Start-up of a fresh node on a 2-core box takes ~30 s; a first download takes longer. */
const CASSANDRA_START_TIMEOUT_MS = 240_000;
const DROP_KEYSPACE_TIMEOUT_MS = 60_000;

export interface CassandraTestKeyspace {
  contactPoints: string[];
  localDataCenter: string;
  /** Unique to this test file; dropped at teardown. */
  keyspace: string;
  /** Raw store options for this keyspace, plus `extra` (e.g. a tiny `messageBucketMs`). */
  storeOptions(extra?: Record<string, unknown>): Record<string, unknown>;
  /** A plain driver client, for tests that look at or write rows behind the store's back. */
  client: cassandra.Client;
}

/** Where the tests' Cassandra is: from the environment, or a local node started on demand. */
export async function locateCassandra(): Promise<{
  contactPoints: string[];
  localDataCenter: string;
}> {
  const fromEnvironment = process.env.CASSANDRA_CONTACT_POINTS;
  const localDataCenter = process.env.CASSANDRA_LOCAL_DATA_CENTER ?? 'datacenter1';
  if (fromEnvironment !== undefined && fromEnvironment.trim() !== '') {
    return {
      contactPoints: fromEnvironment.split(',').map((entry) => entry.trim()),
      localDataCenter,
    };
  }
  // A computed specifier: TypeScript does not look for types of a plain .mjs script.
  const scriptUrl = new URL('../../scripts/cassandra/cassandra.mjs', import.meta.url).href;
  const script = (await import(scriptUrl)) as CassandraScript;
  const node = await script.ensureCassandra({ timeoutMs: CASSANDRA_START_TIMEOUT_MS });
  return {
    contactPoints: [node.contactPoint],
    localDataCenter: node.localDataCenter ?? localDataCenter,
  };
}

/**
 * A keyspace for one test file: `chatring_test_<label>_<random>`. The store under test creates
 * its tables on open; the helper only names the keyspace and drops it afterwards.
 */
export async function cassandraTestKeyspace(
  t: Test,
  label: string,
): Promise<CassandraTestKeyspace> {
  const { contactPoints, localDataCenter } = await locateCassandra();
  const keyspace = `chatring_test_${label.replace(/[^a-z0-9]/g, '_').slice(0, 16)}_${randomBytes(4).toString('hex')}`;
  const client = new cassandra.Client({ contactPoints, localDataCenter });
  await client.connect();
  t.teardown(async () => {
    try {
      await client.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`, [], {
        readTimeout: DROP_KEYSPACE_TIMEOUT_MS,
      });
    } finally {
      await client.shutdown();
    }
  });
  return {
    contactPoints,
    localDataCenter,
    keyspace,
    client,
    storeOptions: (extra = {}) => ({ contactPoints, localDataCenter, keyspace, ...extra }),
  };
}
