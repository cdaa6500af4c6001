/** CPU of a cluster's processes over a window, by role (bench/lib/process-cpu.ts underneath). */
import { cpuBetween, snapshotTree, type ProcessTreeSnapshot } from '../lib/process-cpu.js';
import type { ByRole } from './watch-results.js';

export type RoleCpu = ByRole & { total: number };

/** The cluster's process tree now (empty without /proc). */
export function cpuSnapshot(rootPid: number): ProcessTreeSnapshot {
  return snapshotTree(rootPid) ?? new Map();
}

/**
 * CPU ms between two snapshots: the router, the serving nodes (labels `node-…`) and the total
 * (those plus the launcher and the standby).
 */
export function cpuMsBetween(from: ProcessTreeSnapshot, to: ProcessTreeSnapshot): RoleCpu {
  const usage = cpuBetween(from, to);
  let nodes = 0;
  for (const [label, seconds] of Object.entries(usage.byProcess))
    if (label.startsWith('node-')) nodes += seconds;
  return {
    router: (usage.byProcess.router ?? 0) * 1_000,
    nodes: nodes * 1_000,
    total: usage.cpuSeconds * 1_000,
  };
}

/** A figure divided (after subtracting `less`, if given) by a number. */
export function scaled(cpu: RoleCpu, divisor: number, less?: RoleCpu): RoleCpu {
  return {
    router: (cpu.router - (less?.router ?? 0)) / divisor,
    nodes: (cpu.nodes - (less?.nodes ?? 0)) / divisor,
    total: (cpu.total - (less?.total ?? 0)) / divisor,
  };
}
