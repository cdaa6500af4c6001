/**
 * bench/watch.ts — the change feed: how soon a watcher hears of a message, what holding watchers
 * costs, and what polling would cost for the same freshness (issue 14).
 *
 * For each watcher count (`--watchers`, e.g. 1,000 and 10,000) and each way of watching
 * (`--modes`: `router`, an HTTP long-poll per watcher held on its own connection to the router;
 * `direct`, the ring-aware client, whose watches ride one member link per node), a fresh local
 * cluster (embedded store) gets one watcher per user, each holding `GET /v1/users/:u/changes` with
 * `--wait-ms`. Measured, in this order:
 *  - memory: resident bytes of the router and the nodes before the watchers and with all of them
 *    held (the nodes' `feed.watchers` stats say when), per held watcher;
 *  - idle: CPU of router + nodes per second while the watchers are held and nothing is sent;
 *  - delivery: a sender (client-direct, apart from the watchers) sends `--sends-per-s` messages a
 *    second to random watched users for `--send-s`; for each, the time from the send's start and
 *    from its acknowledgement to the watcher's answer that carries it (the recipient's copy
 *    commits before the coordinator's, so ack → delivered can be negative), and, after a drain,
 *    messages missed and doubled; CPU per delivered message;
 *  - polling, the alternative, in the same run (router mode, the first watcher count only): the
 *    same users polled with the feed and waitMs=0 at the interval that gives the watch's measured
 *    median freshness (a poll every P ms is on average P/2 stale), requests per second and CPU per
 *    second of router + nodes; for the other counts the CPU is scaled from the measured per-request
 *    cost (said so in the table).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';
import { ChatringClient } from '../client/index.js';
import { TemporaryDirectory, getJson, type LocalCluster } from '../harness/index.js';
import { startBenchCluster } from './lib/bench-cluster.js';
import { BenchFlags } from './lib/bench-args.js';
import { machineLine } from './lib/machine.js';
import { cpuBetween, snapshotTree, type ProcessTreeSnapshot } from './lib/process-cpu.js';
import { startReport, writeReport } from './lib/result-files.js';
import { fixed, renderTable } from './lib/text-table.js';
import { residentBytes, roleBytes } from './watch/process-memory.js';
import { startFleet, type WatchMode } from './watch/watch-fleet.js';
import type { Percentiles, PollingResult, RunResult, WatchResults } from './watch/watch-results.js';

const flags = BenchFlags.parse(
  'watch',
  'change-feed delivery latency, the cost of held watchers, and polling for the same freshness',
  {
    watchers: { description: 'watcher counts, comma-separated', default: '1000,10000' },
    modes: { description: 'router and/or direct', default: 'router,direct' },
    nodes: { description: 'cache nodes (plus 1 standby)', default: '3' },
    'wait-ms': { description: 'waitMs of each watch', default: '25000' },
    'idle-s': { description: 'seconds held with nothing sent (idle CPU)', default: '3' },
    'sends-per-s': { description: 'messages sent a second to watched users', default: '100' },
    'send-s': { description: 'seconds of sending', default: '5' },
    'poll-s': { description: 'seconds of the polling alternative', default: '4' },
    'chatring-entry': { description: 'compiled chatring CLI', default: '' },
  },
);
const settings = {
  watchers: flags.integerList('watchers', 1, 15_000),
  modes: flags.string('modes').split(',') as WatchMode[],
  nodes: flags.integer('nodes', 1, 16),
  waitMs: flags.integer('wait-ms', 1_000, 30_000),
  idleS: flags.number('idle-s', 0.5, 600),
  sendsPerS: flags.integer('sends-per-s', 1, 10_000),
  sendS: flags.number('send-s', 0.5, 600),
  pollS: flags.number('poll-s', 0.5, 600),
  chatringEntry: flags.string('chatring-entry'),
};
for (const mode of settings.modes)
  if (mode !== 'router' && mode !== 'direct') throw new Error(`--modes: unknown "${mode}"`);

await main();

async function main(): Promise<void> {
  const report = startReport<WatchResults>(
    'watch',
    { ...settings },
    'polling the same users with the feed (waitMs=0) for the same median freshness, in the same run',
  );
  console.log(`watch benchmark — ${machineLine(report.machine)}`);
  const runs: RunResult[] = [];
  let perRequestCpuMs: number | undefined;
  for (const watchers of settings.watchers)
    for (const mode of settings.modes) {
      console.log(`\n--- ${watchers} watchers, ${mode} ---`);
      const result = await inFreshCluster((cluster) =>
        runOne(cluster, watchers, mode, mode === 'router' && perRequestCpuMs === undefined),
      );
      if (result.polling !== undefined) perRequestCpuMs = result.polling.cpuMsPerRequest;
      runs.push(result);
    }
  // Polling for the counts not measured: the measured per-request cost times the rate needed.
  for (const run of runs)
    if (run.polling === undefined && perRequestCpuMs !== undefined) {
      const intervalMs = Math.max(1, 2 * run.startToDeliveredMs.p50);
      const neededRequestsPerS = (run.watchers * 1_000) / intervalMs;
      run.polling = {
        intervalMs,
        neededRequestsPerS,
        achievedRequestsPerS: undefined,
        cpuMsPerRequest: perRequestCpuMs,
        neededCpuMsPerS: neededRequestsPerS * perRequestCpuMs,
      };
    }
  printRuns(runs);
  report.notes.push(
    'ack → delivered: from the sender receiving its acknowledgement to the watcher receiving the answer carrying the message. The recipient’s copy is committed (and its watcher woken) before the coordinator commits its own copy and answers, so it can be negative; start → delivered counts from the send request’s start.',
    'CPU per delivery: router + nodes CPU over the send window, less the idle CPU with the watchers held, per delivered message (the send itself included).',
    'bytes per watcher: resident memory with every watcher held minus before, divided by the watchers (router: the one process; nodes: all serving nodes together). It includes the sockets (router mode: one per watcher) and whatever the garbage collector had not reclaimed.',
    'polling: a poll every P ms is on average P/2 ms stale; P = 2 × the watch’s median start → delivered gives the same median freshness, and W watchers need W / P polls a second. The CPU per poll (router + nodes, the cluster’s idle CPU taken out) is measured by polling the first watcher count through the router for --poll-s; the CPU needed is that times the polls needed (on 2 cores the pollers cannot reach the needed rate themselves).',
  );
  for (const note of report.notes) console.log(`note: ${note}`);
  console.log(`\nwrote ${writeReport({ ...report, results: { runs } })}`);
  for (const run of runs)
    if (run.missed + run.doubled > 0) {
      console.log(
        `DELIVERY VIOLATED: ${run.watchers} ${run.mode}: ${run.missed} missed, ${run.doubled} doubled`,
      );
      process.exitCode = 1;
    }
}

async function inFreshCluster<T>(run: (cluster: LocalCluster) => Promise<T>): Promise<T> {
  const temporary = new TemporaryDirectory('chatring-bench-watch-');
  let cluster: LocalCluster | undefined;
  try {
    cluster = await startBenchCluster(temporary.path, settings.nodes, settings.chatringEntry, {
      // Each router-mode watch holds an app connection: room for 15,000 of them.
      env: { CHATRING_HTTP_OPTIONS: JSON.stringify({ connectionsMax: 16_000 }) },
    });
    return await run(cluster);
  } finally {
    await cluster?.stop();
    temporary.dispose();
  }
}

async function runOne(
  cluster: LocalCluster,
  watchers: number,
  mode: WatchMode,
  measurePolling: boolean,
): Promise<RunResult> {
  const root = cluster.launcherPid ?? 0;
  await sleep(2_000); // past the cluster's start-up work
  const users = Array.from({ length: watchers }, (_, index) => `watcher-${index}`);
  const baselineFrom = snapshot(root);
  await sleep(settings.idleS * 1_000);
  const idleBaselineCpuMsPerS = cpuMs(baselineFrom, snapshot(root)) / settings.idleS;
  const before = roleBytes(residentBytes(root));
  const fleet = await startFleet(mode, cluster.url, users, settings.waitMs);
  const heldWatchers = await untilHeld(cluster, watchers);
  await sleep(500);
  const held = roleBytes(residentBytes(root));
  const bytesPerWatcher = {
    router: (held.router - before.router) / watchers,
    nodes: (held.nodes - before.nodes) / watchers,
  };
  console.log(
    `${heldWatchers} watches held; resident bytes per watcher: router ${fixed(bytesPerWatcher.router, 0)}, nodes ${fixed(bytesPerWatcher.nodes, 0)}`,
  );

  const idleFrom = snapshot(root);
  await sleep(settings.idleS * 1_000);
  const idleCpuMsPerS = cpuMs(idleFrom, snapshot(root)) / settings.idleS;

  // Sends to random watched users at a steady rate, from a client of their own.
  const sender = new ChatringClient({ routerUrls: [cluster.url] });
  const sends = new Map<string, { startedAt: number; ackedAt: number }>();
  let failedSends = 0;
  const sendFrom = snapshot(root);
  const total = Math.round(settings.sendsPerS * settings.sendS);
  const gapMs = 1_000 / settings.sendsPerS;
  const started = performance.now();
  const inFlight: Promise<void>[] = [];
  for (let index = 0; index < total; index += 1) {
    const due = started + index * gapMs;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    const recipientId = users[Math.floor(Math.random() * users.length)] as string;
    const startedAt = performance.now();
    inFlight.push(
      sender.send({ senderId: `sender-${index % 50}`, recipientId, content: `m${index}` }).then(
        (answer) =>
          void sends.set(answer.message.messageId, { startedAt, ackedAt: performance.now() }),
        () => void (failedSends += 1),
      ),
    );
  }
  await Promise.all(inFlight);
  await sleep(1_000); // the last deliveries
  const sendCpuMs = cpuMs(sendFrom, snapshot(root));
  const sendSeconds = (performance.now() - started) / 1_000;
  await sender.close();

  const startToDelivered: number[] = [];
  const ackToDelivered: number[] = [];
  let missed = 0;
  for (const [id, send] of sends) {
    const delivery = fleet.deliveries.get(id);
    if (delivery === undefined) {
      missed += 1;
      continue;
    }
    startToDelivered.push(delivery.firstAt - send.startedAt);
    ackToDelivered.push(delivery.firstAt - send.ackedAt);
  }
  const doubled = [...fleet.deliveries.values()].filter((delivery) => delivery.times > 1).length;
  const delivered = startToDelivered.length;
  const result: RunResult = {
    watchers,
    mode,
    heldWatchers,
    bytesPerWatcher,
    idleBaselineCpuMsPerS,
    idleCpuMsPerS,
    sent: sends.size,
    delivered,
    missed,
    doubled,
    failedWatchRequests: fleet.answers.failed,
    startToDeliveredMs: percentiles(startToDelivered),
    ackToDeliveredMs: {
      ...percentiles(ackToDelivered),
      negative: ackToDelivered.filter((ms) => ms < 0).length,
    },
    // Beyond what the cluster burns idle with the watchers held.
    cpuMsPerDelivered:
      delivered === 0 ? Number.NaN : (sendCpuMs - idleCpuMsPerS * sendSeconds) / delivered,
  };
  if (failedSends > 0) console.log(`${failedSends} sends failed (not counted)`);
  await fleet.stop();
  if (measurePolling) result.polling = await measurePollingLoad(cluster, users, result);
  return result;
}

/** Waits until the nodes hold (about) every watch; returns how many they hold. */
async function untilHeld(cluster: LocalCluster, watchers: number): Promise<number> {
  const deadline = performance.now() + 120_000;
  let held = 0;
  while (performance.now() < deadline) {
    held = 0;
    for (const node of (await cluster.status()).nodes) {
      if (node.url === '' || node.slots.length === 0) continue;
      const stats = await getJson<{ feed?: { watchers: number } }>(
        `${node.url}/internal/v1/stats`,
        undefined,
        cluster.signer,
      );
      held += stats.feed?.watchers ?? 0;
    }
    if (held >= watchers) return held;
    await sleep(200);
  }
  console.log(`only ${held} of ${watchers} watches held after 120 s`);
  return held;
}

/** The polling alternative: every user polled (waitMs=0) at the interval giving the same freshness. */
async function measurePollingLoad(
  cluster: LocalCluster,
  users: readonly string[],
  watch: RunResult,
): Promise<PollingResult> {
  const intervalMs = Math.max(1, 2 * watch.startToDeliveredMs.p50);
  const pool = new Pool(cluster.url, { connections: 256, pipelining: 1 });
  const root = cluster.launcherPid ?? 0;
  const from = snapshot(root);
  const started = performance.now();
  const endAt = started + settings.pollS * 1_000;
  let requests = 0;
  // Each user's polls are spread evenly over the interval, as independent clients would be.
  await Promise.all(
    users.map(async (user, index) => {
      let next = started + (index / users.length) * intervalMs;
      while (next < endAt) {
        const wait = next - performance.now();
        if (wait > 0) await sleep(wait);
        const response = await pool.request({ method: 'GET', path: `/v1/users/${user}/changes` });
        await response.body.dump();
        requests += 1;
        next += intervalMs;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1_000;
  const usedMs = cpuMs(from, snapshot(root)) - watch.idleBaselineCpuMsPerS * seconds;
  await pool.close();
  const cpuMsPerRequest = usedMs / Math.max(1, requests);
  const neededRequestsPerS = (users.length * 1_000) / intervalMs;
  return {
    intervalMs,
    neededRequestsPerS,
    achievedRequestsPerS: requests / seconds,
    cpuMsPerRequest,
    neededCpuMsPerS: neededRequestsPerS * cpuMsPerRequest,
  };
}

function snapshot(root: number): ProcessTreeSnapshot {
  return snapshotTree(root) ?? new Map();
}

/** CPU ms of the router and the serving nodes between two snapshots (the launcher's too). */
function cpuMs(from: ProcessTreeSnapshot, to: ProcessTreeSnapshot): number {
  return cpuBetween(from, to).cpuSeconds * 1_000;
}

function percentiles(values: number[]): Percentiles {
  if (values.length === 0) return { p50: Number.NaN, p99: Number.NaN, max: Number.NaN };
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) =>
    sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
  return { p50: at(0.5), p99: at(0.99), max: sorted.at(-1) as number };
}

function printRuns(runs: RunResult[]): void {
  console.log('');
  console.log(
    renderTable(
      [
        'watchers',
        'via',
        'held',
        'delivered / sent',
        'missed / doubled',
        'start→delivered p50 / p99 / max ms',
        'ack→delivered p50 / p99 / max ms',
        'B per watcher: router / nodes',
        'idle CPU ms/s: none / held',
        'CPU ms per delivery',
        'polling, same freshness: interval ms, req/s needed, CPU ms/s needed',
      ],
      runs.map((run) => [
        run.watchers,
        run.mode,
        run.heldWatchers,
        `${run.delivered} / ${run.sent}`,
        `${run.missed} / ${run.doubled}`,
        `${fixed(run.startToDeliveredMs.p50, 1)} / ${fixed(run.startToDeliveredMs.p99, 1)} / ${fixed(run.startToDeliveredMs.max, 1)}`,
        `${fixed(run.ackToDeliveredMs.p50, 1)} / ${fixed(run.ackToDeliveredMs.p99, 1)} / ${fixed(run.ackToDeliveredMs.max, 1)}`,
        `${fixed(run.bytesPerWatcher.router, 0)} / ${fixed(run.bytesPerWatcher.nodes, 0)}`,
        `${fixed(run.idleBaselineCpuMsPerS, 0)} / ${fixed(run.idleCpuMsPerS, 0)}`,
        fixed(run.cpuMsPerDelivered, 2),
        run.polling === undefined
          ? '—'
          : `${fixed(run.polling.intervalMs, 1)}, ${fixed(run.polling.neededRequestsPerS, 0)}, ${fixed(run.polling.neededCpuMsPerS, 0)}${run.polling.achievedRequestsPerS === undefined ? '' : ` (measured ${fixed(run.polling.cpuMsPerRequest, 3)} ms per poll at ${fixed(run.polling.achievedRequestsPerS, 0)}/s)`}`,
      ]),
    ),
  );
}
