/**
 * Memory of a cluster's processes by role — resident (/proc/<pid>/status VmRSS) and V8 heap used
 * (each member's Prometheus gauge `chatring_nodejs_heap_size_used_bytes` at GET /metrics) — and of
 * the bench process itself, after a forced garbage collection.
 */
import { readFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { request } from 'undici';
import type { LocalCluster } from '../../harness/index.js';
import { processLabel, processTree } from '../lib/process-cpu.js';
import type { ByRole } from './watch-results.js';

/** Bytes resident per process label (router, node-1, …; the launcher and standbys too), now. */
export function residentBytes(rootPid: number): Record<string, number> {
  const byLabel: Record<string, number> = {};
  for (const sample of processTree(rootPid) ?? []) {
    let kilobytes = 0;
    try {
      const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${sample.pid}/status`, 'utf8'));
      kilobytes = Number(match?.[1] ?? 0);
    } catch {
      continue; // gone
    }
    const label = processLabel(sample.pid, sample.command);
    byLabel[label] = (byLabel[label] ?? 0) + kilobytes * 1024;
  }
  return byLabel;
}

/** The router's bytes and the serving nodes' bytes (every label `node-…`; standbys apart). */
export function roleBytes(byLabel: Record<string, number>): ByRole {
  let nodes = 0;
  for (const [label, bytes] of Object.entries(byLabel))
    if (label.startsWith('node-')) nodes += bytes;
  return { router: byLabel.router ?? byLabel.launcher ?? 0, nodes };
}

const HEAP_USED = /^chatring_nodejs_heap_size_used_bytes(?:\{[^}]*\})? (\S+)$/m;

/** Heap used by the router and by the nodes serving slots (NaN where /metrics does not say). */
export async function heapBytes(cluster: LocalCluster): Promise<ByRole> {
  const nodes = (await cluster.status()).nodes.filter(
    (node) => node.url !== '' && node.slots.length > 0,
  );
  const [router, ...perNode] = await Promise.all(
    [cluster.url, ...nodes.map((node) => node.url)].map(heapUsedAt),
  );
  return { router: router ?? Number.NaN, nodes: perNode.reduce((sum, bytes) => sum + bytes, 0) };
}

async function heapUsedAt(url: string): Promise<number> {
  try {
    const response = await request(`${url}/metrics`, { headersTimeout: 10_000 });
    const text = await response.body.text();
    return response.statusCode === 200
      ? Number(HEAP_USED.exec(text)?.[1] ?? Number.NaN)
      : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

let collect: (() => void) | undefined;

/** The bench process's heap used after a full collection, and its resident bytes. */
export function ownBytes(): { heap: number; resident: number } {
  if (collect === undefined) {
    setFlagsFromString('--expose-gc');
    collect = runInNewContext('gc') as () => void;
  }
  collect();
  collect();
  const usage = process.memoryUsage();
  return { heap: usage.heapUsed, resident: usage.rss };
}

/** (after − before) ÷ count, per role. */
export function perItem(before: ByRole, after: ByRole, count: number): ByRole {
  return {
    router: (after.router - before.router) / count,
    nodes: (after.nodes - before.nodes) / count,
  };
}
