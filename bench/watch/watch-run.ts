/**
 * One row of bench/watch.ts on a fresh cluster: W users pinned, the cluster idle without watches,
 * W watches held (memory, idle CPU), messages sent at a steady rate to random watched users
 * (latency, exactly-once, CPU per delivery), and, when asked, the polling baseline on the same
 * users afterwards.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { ChatringClient } from '../../client/index.js';
import { getJson, type LocalCluster } from '../../harness/index.js';
import { fixed } from '../lib/text-table.js';
import { cpuMsBetween, cpuSnapshot, scaled, type RoleCpu } from './cluster-cpu.js';
import { percentiles } from './percentiles.js';
import { measurePolling } from './polling.js';
import { heapBytes, ownBytes, perItem, residentBytes, roleBytes } from './process-memory.js';
import { holdWatches, pinCursors, type WatchFleet, type WatchMode } from './watch-fleet.js';
import type { RunResult } from './watch-results.js';
import { settings } from './watch-settings.js';

/** Distinct senders (their mailboxes are pinned too, and not watched). */
const SENDERS = 50;
/** How long the nodes may take to hold every watch. */
const HOLD_TIMEOUT_MS = 120_000;

export async function runOne(
  cluster: LocalCluster,
  watchers: number,
  mode: WatchMode,
  pollS: number,
  capped: string | undefined,
): Promise<RunResult> {
  const root = cluster.launcherPid ?? 0;
  const phase = phaseClock(`${watchers} ${mode}`);
  await sleep(settings.settleS * 1_000); // past the cluster's start-up work
  const users = Array.from({ length: watchers }, (_, index) => `watcher-${index}`);
  const senders = Array.from({ length: SENDERS }, (_, index) => `sender-${index}`);
  const residentUnpinned = roleBytes(residentBytes(root));
  const cursors = await pinCursors(cluster.url, users);
  await pinCursors(cluster.url, senders);
  phase('pinned');

  const idle = await idleWindow(root);
  const residentBefore = roleBytes(residentBytes(root));
  const heapBefore = await heapBytes(cluster);
  const ownBefore = ownBytes();
  phase('idle, no watch');

  const fleet = holdWatches(mode, cluster.url, cursors, settings.waitMs);
  const heldWatchers = await untilHeld(cluster, watchers);
  await sleep(500);
  const ownHeld = ownBytes();
  const residentHeld = roleBytes(residentBytes(root));
  const heapHeld = await heapBytes(cluster);
  phase(`${heldWatchers} held`);
  const idleHeld = await idleWindow(root);
  phase('idle, held');

  const sending = await sendAndDrain(cluster, users, fleet);
  phase('sent and drained');
  const sendCpu = scaled(sending.cpu, 1, scaled(idleHeld, 1 / sending.seconds));

  const startToDelivered: number[] = [];
  const ackToDelivered: number[] = [];
  let missed = 0;
  let wrongWatcher = 0;
  for (const [id, send] of sending.sends) {
    const delivery = fleet.deliveries.get(id);
    if (delivery === undefined) {
      missed += 1;
      continue;
    }
    if (delivery.userId !== send.recipientId) wrongWatcher += 1;
    startToDelivered.push(delivery.firstAt - send.startedAt);
    ackToDelivered.push(delivery.firstAt - send.ackedAt);
  }
  let deliveredOnce = 0;
  let doubled = 0;
  for (const [id, delivery] of fleet.deliveries) {
    if (!sending.sends.has(id)) continue;
    if (delivery.times === 1) deliveredOnce += 1;
    else doubled += 1;
  }
  const delivered = startToDelivered.length;
  const result: RunResult = {
    watchers,
    mode,
    heldWatchers,
    ...(capped === undefined ? {} : { capped }),
    bytesPerWatcher: perItem(residentBefore, residentHeld, watchers),
    heapBytesPerWatcher: perItem(heapBefore, heapHeld, watchers),
    bytesPerPinnedUser: perItem(residentUnpinned, residentBefore, watchers),
    clientBytesPerWatcher: {
      heap: (ownHeld.heap - ownBefore.heap) / watchers,
      resident: (ownHeld.resident - ownBefore.resident) / watchers,
    },
    idleCpuMsPerS: { none: idle, held: idleHeld },
    sent: sending.sends.size,
    failedSends: sending.failed,
    deliveredOnce,
    missed,
    doubled,
    wrongWatcher,
    failedWatchRequests: fleet.answers.failed,
    startToDeliveredMs: percentiles(startToDelivered),
    ackToDeliveredMs: {
      ...percentiles(ackToDelivered),
      negative: ackToDelivered.filter((ms) => ms < 0).length,
    },
    cpuMsPerDelivered: scaled(sendCpu, Math.max(1, delivered)),
  };
  console.log(
    `${watchers} ${mode}: ${heldWatchers} held; per held watch: resident router ${fixed(result.bytesPerWatcher.router, 0)} B, nodes ${fixed(result.bytesPerWatcher.nodes, 0)} B; heap router ${fixed(result.heapBytesPerWatcher.router, 0)} B, nodes ${fixed(result.heapBytesPerWatcher.nodes, 0)} B; this client's heap ${fixed(result.clientBytesPerWatcher.heap, 0)} B`,
  );
  if (sending.failed > 0) console.log(`${sending.failed} sends failed (not counted)`);
  const latest = new Map(fleet.cursors);
  await fleet.stop();
  phase('watches stopped');
  if (pollS > 0) {
    result.polling = await measurePolling(
      cluster,
      latest,
      result.startToDeliveredMs.p50,
      pollS,
      idle,
    );
    phase('polled');
  }
  return result;
}

/** CPU ms a second of router and nodes over `--idle-s` with nothing asked of them. */
async function idleWindow(root: number): Promise<RoleCpu> {
  const from = cpuSnapshot(root);
  const started = performance.now();
  await sleep(settings.idleS * 1_000);
  return scaled(cpuMsBetween(from, cpuSnapshot(root)), (performance.now() - started) / 1_000);
}

interface Sent {
  recipientId: string;
  startedAt: number;
  ackedAt: number;
}

/**
 * `--sends-per-s` sends for `--send-s` (open loop: each at its time, whatever the earlier ones
 * do) from a client-direct client of their own, to random watched users; then waits until every
 * acknowledged message was delivered, at most `--drain-s`. CPU of the cluster over all of it.
 */
async function sendAndDrain(
  cluster: LocalCluster,
  users: readonly string[],
  fleet: WatchFleet,
): Promise<{
  sends: Map<string, Sent>;
  failed: number;
  cpu: RoleCpu;
  seconds: number;
}> {
  const root = cluster.launcherPid ?? 0;
  const sender = new ChatringClient({ routerUrls: [cluster.url] });
  const sends = new Map<string, Sent>();
  let failed = 0;
  const from = cpuSnapshot(root);
  const total = Math.max(1, Math.round(settings.sendsPerS * settings.sendS));
  const gapMs = 1_000 / settings.sendsPerS;
  const started = performance.now();
  const inFlight: Promise<void>[] = [];
  for (let index = 0; index < total; index += 1) {
    const wait = started + index * gapMs - performance.now();
    if (wait > 0) await sleep(wait);
    const recipientId = users[Math.floor(Math.random() * users.length)] as string;
    const startedAt = performance.now();
    inFlight.push(
      sender
        .send({ senderId: `sender-${index % SENDERS}`, recipientId, content: `m${index}` })
        .then(
          (answer) =>
            void sends.set(answer.message.messageId, {
              recipientId,
              startedAt,
              ackedAt: performance.now(),
            }),
          () => void (failed += 1),
        ),
    );
  }
  await Promise.all(inFlight);
  const drainUntil = performance.now() + settings.drainS * 1_000;
  while (
    performance.now() < drainUntil &&
    [...sends.keys()].some((id) => !fleet.deliveries.has(id))
  )
    await sleep(20);
  const cpu = cpuMsBetween(from, cpuSnapshot(root));
  const seconds = (performance.now() - started) / 1_000;
  await sender.close();
  return { sends, failed, cpu, seconds };
}

/** Waits until the nodes hold every watch (their feed stats); returns how many they hold. */
async function untilHeld(cluster: LocalCluster, watchers: number): Promise<number> {
  const deadline = performance.now() + HOLD_TIMEOUT_MS;
  let held = 0;
  while (performance.now() < deadline) {
    const nodes = (await cluster.status()).nodes.filter(
      (node) => node.url !== '' && node.slots.length > 0,
    );
    const counts = await Promise.all(
      nodes.map(
        async (node) =>
          (
            await getJson<{ feed?: { watchers: number } }>(
              `${node.url}/internal/v1/stats`,
              undefined,
              cluster.signer,
            )
          ).feed?.watchers ?? 0,
      ),
    );
    held = counts.reduce((sum, count) => sum + count, 0);
    if (held >= watchers) return held;
    await sleep(100);
  }
  console.log(`only ${held} of ${watchers} watches held after ${HOLD_TIMEOUT_MS / 1_000} s`);
  return held;
}

/** Logs each phase's end and how long it took (where a row's time goes). */
function phaseClock(row: string): (name: string) => void {
  let last = performance.now();
  return (name) => {
    const now = performance.now();
    console.log(`  ${row}: ${name} (${fixed((now - last) / 1_000, 1)} s)`);
    last = now;
  };
}
