/**
 * Test helper for the Cassandra store: gives the test file a keyspace of its own on the tests'
 * Cassandra (harness/cassandra.ts: CASSANDRA_CONTACT_POINTS, else a local node started on demand,
 * which the suite's `after` step stops), and always drops it when the file's tests end.
 */
import type { Test } from 'tap';
import {
  CASSANDRA_STARTED_FOR_TESTS,
  locateCassandra,
  openScratchKeyspace,
  type ScratchKeyspace,
} from '../../harness/index.js';

export type CassandraTestKeyspace = ScratchKeyspace;

/** A keyspace `chatring_test_<label>_<random>` for one test file, dropped at its teardown. */
export async function cassandraTestKeyspace(
  t: Test,
  label: string,
): Promise<CassandraTestKeyspace> {
  const keyspace = await openScratchKeyspace(
    await locateCassandra(CASSANDRA_STARTED_FOR_TESTS),
    `chatring_test_${label.replace(/[^a-z0-9]/g, '_').slice(0, 16)}`,
  );
  t.teardown(() => keyspace.drop());
  return keyspace;
}
