/**
 * The stores the API suites run on: every suite runs once per store, through the same code, so the
 * tier behaves the same on the embedded store and on a real Cassandra.
 */
import type { Test } from 'tap';
import { cassandraTestKeyspace } from './cassandra.js';
import { bootCluster, type ClusterOptions, type TestCluster } from './local-cluster.js';

export type BootCluster = (t: Test, options?: ClusterOptions) => Promise<TestCluster>;

export const bootEmbeddedCluster: BootCluster = (t, options) => bootCluster(t, options);

/** Boots clusters on a real Cassandra, in a keyspace of this test file (dropped at the end). */
export async function cassandraClusterBooter(t: Test, label: string): Promise<BootCluster> {
  const keyspace = await cassandraTestKeyspace(t, label);
  return (test, options = {}) => bootCluster(test, { ...options, storeArgs: keyspace.storeArgs() });
}
