/**
 * The baseline: the same users polled through the router with the feed and waitMs=0 (answered at
 * once), each from its own cursor. A poller is on average P/2 + (a poll's latency) stale, so the
 * interval P that matches the watch's median freshness F is 2 × (F − latency); W users need
 * W × 1000 / P polls a second. Measured for one watcher count (the pollers run for a few seconds,
 * each user on its own schedule, as many at once as the box allows); the others use its CPU per
 * poll.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';
import type { LocalCluster } from '../../harness/index.js';
import { cpuMsBetween, cpuSnapshot, scaled, type RoleCpu } from './cluster-cpu.js';
import { percentiles } from './percentiles.js';
import type { PollingResult } from './watch-results.js';

/** Polls of the unloaded latency probe, one at a time. */
const PROBE_POLLS = 200;
/** Connections of the pollers' pool. */
const POLL_CONNECTIONS = 256;

function pollPath(user: string, cursor: string): string {
  return `/v1/users/${user}/changes?cursor=${encodeURIComponent(cursor)}&waitMs=0`;
}

/** The interval (ms) that gives median freshness `targetMs` when a poll takes `latencyMs`. */
export function pollIntervalMs(targetMs: number, latencyMs: number): number {
  return Math.max(1, 2 * (targetMs - latencyMs));
}

/** Median latency of a poll through the router, one at a time (the unloaded cost of asking). */
export async function probePollLatency(
  routerUrl: string,
  cursors: ReadonlyMap<string, string>,
): Promise<number> {
  const pool = new Pool(routerUrl, { connections: 1 });
  const entries = [...cursors];
  const latencies: number[] = [];
  try {
    for (let index = 0; index < PROBE_POLLS; index += 1) {
      const [user, cursor] = entries[index % entries.length] as [string, string];
      const started = performance.now();
      const response = await pool.request({ method: 'GET', path: pollPath(user, cursor) });
      await response.body.dump();
      if (response.statusCode === 200) latencies.push(performance.now() - started);
    }
  } finally {
    await pool.close();
  }
  return percentiles(latencies).p50;
}

/**
 * Polls every user at `intervalMs` for `seconds` (as fast as the box allows when that is too
 * often) and measures router + nodes CPU; `idle` is their CPU a second with nothing to do.
 */
export async function measurePolling(
  cluster: LocalCluster,
  cursors: ReadonlyMap<string, string>,
  targetMs: number,
  seconds: number,
  idle: RoleCpu,
): Promise<PollingResult> {
  const pollLatencyMs = await probePollLatency(cluster.url, cursors);
  const intervalMs = pollIntervalMs(targetMs, pollLatencyMs);
  const pool = new Pool(cluster.url, { connections: POLL_CONNECTIONS, pipelining: 1 });
  const root = cluster.launcherPid ?? 0;
  const latencies: number[] = [];
  let errors = 0;
  const from = cpuSnapshot(root);
  const started = performance.now();
  const endAt = started + seconds * 1_000;
  const users = [...cursors];
  // Each user's polls spread evenly over the interval, as independent clients would be.
  await Promise.all(
    users.map(async ([user, cursor], index) => {
      let next = started + (index / users.length) * intervalMs;
      while (next < endAt) {
        const wait = next - performance.now();
        if (wait > 0) await sleep(wait);
        const sent = performance.now();
        try {
          const response = await pool.request({ method: 'GET', path: pollPath(user, cursor) });
          await response.body.dump();
          if (response.statusCode === 200) latencies.push(performance.now() - sent);
          else errors += 1;
        } catch {
          errors += 1;
        }
        next = Math.max(next + intervalMs, performance.now());
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1_000;
  const cpu = cpuMsBetween(from, cpuSnapshot(root));
  await pool.close();
  const neededRequestsPerS = (cursors.size * 1_000) / intervalMs;
  const cpuUsPerRequest =
    (scaled(cpu, 1, scaled(idle, 1 / elapsed)).total * 1_000) / Math.max(1, latencies.length);
  return {
    targetMs,
    pollLatencyMs,
    intervalMs,
    neededRequestsPerS,
    measured: {
      seconds: elapsed,
      requestsPerS: latencies.length / elapsed,
      errors,
      latencyP50Ms: percentiles(latencies).p50,
      cpuMsPerS: scaled(cpu, elapsed),
    },
    cpuUsPerRequest,
    cpuSource: 'measured',
    neededCpuMsPerS: (neededRequestsPerS * cpuUsPerRequest) / 1_000,
  };
}

/** Polling for a count not measured: its own target, the measured latency and CPU per poll. */
export function pollingFrom(
  watchers: number,
  targetMs: number,
  measured: PollingResult,
  source: string,
): PollingResult {
  const intervalMs = pollIntervalMs(targetMs, measured.pollLatencyMs);
  const neededRequestsPerS = (watchers * 1_000) / intervalMs;
  return {
    targetMs,
    pollLatencyMs: measured.pollLatencyMs,
    intervalMs,
    neededRequestsPerS,
    cpuUsPerRequest: measured.cpuUsPerRequest,
    cpuSource: source,
    neededCpuMsPerS: (neededRequestsPerS * measured.cpuUsPerRequest) / 1_000,
  };
}
