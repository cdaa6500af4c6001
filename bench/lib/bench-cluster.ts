import { join } from 'node:path';
import {
  startLocalCluster,
  type LocalCluster,
  type LocalClusterOptions,
} from '../../harness/index.js';

/** The name, in the cluster's data dir, of the file that gets the launcher's output. */
export const CLUSTER_LOG_NAME = 'cluster.log';

/**
 * A benchmark's local cluster (harness/local-cluster.ts): `nodes` cache nodes and 1 standby in
 * `dataDir`, the launcher's output (its members' lines included) appended to dataDir/cluster.log,
 * the launcher given by --chatring-entry (empty: this repository's dist/cli/chatring.js).
 */
export function startBenchCluster(
  dataDir: string,
  nodes: number,
  chatringEntry: string,
  more: Pick<LocalClusterOptions, 'storeArgs' | 'extraArgs' | 'env'> = {},
): Promise<LocalCluster> {
  return startLocalCluster({
    dataDir,
    logPath: join(dataDir, CLUSTER_LOG_NAME),
    nodes,
    standbys: 1,
    ...more,
    ...(chatringEntry === '' ? {} : { entry: chatringEntry }),
  });
}
