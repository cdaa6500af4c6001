/**
 * Boots a real local cluster for a test through harness/'s launcher, with the tests' defaults
 * (3 nodes, 1 standby, a 3 s lease renewed every 250 ms, dead members restarted, the embedded store
 * in a data dir of the test's own), and always tears it down on the test's teardown: the cluster
 * stopped, and a data dir this helper made removed (one the caller passed belongs to the caller).
 */
import type { Test } from 'tap';
import {
  startLocalCluster,
  TemporaryDirectory,
  type LocalCluster,
  type LocalClusterOptions,
} from '../../harness/index.js';

export type ClusterOptions = LocalClusterOptions;
export type TestCluster = LocalCluster;

export async function bootCluster(t: Test, options: ClusterOptions = {}): Promise<TestCluster> {
  const temporary =
    options.dataDir === undefined ? new TemporaryDirectory('chatring-test-') : undefined;
  let cluster: TestCluster;
  try {
    cluster = await startLocalCluster({
      ...options,
      dataDir: options.dataDir ?? temporary?.path,
      nodes: options.nodes ?? 3,
      standbys: options.standbys ?? 1,
      leaseMs: options.leaseMs ?? 3_000,
      heartbeatIntervalMs: options.heartbeatIntervalMs ?? 250,
      restartMembers: options.restartMembers ?? true,
    });
  } catch (error) {
    temporary?.dispose();
    throw error;
  }
  t.teardown(async () => {
    await cluster.stop();
    temporary?.dispose();
  });
  return cluster;
}
