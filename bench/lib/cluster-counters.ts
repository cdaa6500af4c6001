import {
  readNodeStats,
  sumCounters,
  sumStoreCounters,
  type LocalCluster,
  type NodeCounters,
} from '../../harness/index.js';

/**
 * The counters of each node (by node id) from its GET /internal/v1/stats, read in parallel.
 * `skipUnreachable`: a node that does not answer (a killed one) is left out; otherwise its failure
 * fails the read.
 */
export async function readCountersByNode(
  nodeUrls: Record<string, string>,
  skipUnreachable = false,
  stores?: Map<string, Record<string, number>>,
): Promise<Map<string, NodeCounters>> {
  const byNode = new Map<string, NodeCounters>();
  await Promise.all(
    Object.entries(nodeUrls).map(async ([nodeId, url]) => {
      try {
        const stats = await readNodeStats(url);
        byNode.set(nodeId, stats.counters);
        stores?.set(nodeId, stats.storeCounters);
      } catch (error) {
        if (!skipUnreachable) throw error;
      }
    }),
  );
  return byNode;
}

/** The URL of every node the cluster's status names with one. */
export async function nodeUrlsOf(cluster: LocalCluster): Promise<Record<string, string>> {
  const status = await cluster.status();
  return Object.fromEntries(
    status.nodes.filter((node) => node.url !== '').map((node) => [node.nodeId, node.url]),
  );
}

/** Every answering node's counters, and their sum; `store`: their stores' counters summed. */
export async function readClusterCounters(cluster: LocalCluster): Promise<{
  total: NodeCounters;
  byNode: Map<string, NodeCounters>;
  store: Record<string, number>;
}> {
  const stores = new Map<string, Record<string, number>>();
  const byNode = await readCountersByNode(await nodeUrlsOf(cluster), true, stores);
  return { total: sumCounters(byNode.values()), byNode, store: sumStoreCounters(stores.values()) };
}
