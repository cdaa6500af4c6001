/** Resident memory of a cluster's processes (/proc/<pid>/status VmRSS), by role. */
import { readFileSync } from 'node:fs';
import { processLabel, processTree } from '../lib/process-cpu.js';

/** Bytes resident per process label (router, node-1, …; the launcher too), now. */
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

/** The router's bytes and the nodes' bytes (every label starting `node-`, standbys apart). */
export function roleBytes(byLabel: Record<string, number>): { router: number; nodes: number } {
  let nodes = 0;
  for (const [label, bytes] of Object.entries(byLabel))
    if (label.startsWith('node-')) nodes += bytes;
  return { router: byLabel.router ?? byLabel.launcher ?? 0, nodes };
}
