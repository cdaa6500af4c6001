/**
 * The control-plane conformance suite: written once, run against every ControlPlane backend
 * (in-process-control-plane.test.ts, redis-control-plane.test.ts). It proves what routers and nodes
 * rely on: a heartbeat registers an admitted node as a standby (an unknown one is refused); a serving node that stops
 * heartbeating is replaced in its own slot by a live standby in exactly one change (epoch + 1);
 * with no standby its slot leaves the ring; the last slot is never removed; subscribers get every
 * new ring in epoch order; status() reports states, slots and lease ages. Timings are small (lease
 * 300 ms, heartbeats every 50 ms) and every wait polls against a deadline.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Test } from 'tap';
import {
  RingChangeRefused,
  initialRing,
  type ControlPlane,
  type ControlPlaneTimings,
  type RingChangeTarget,
} from '../../control-plane/index.js';
import type { NodeInfo, RingConfig } from '../../protocol/index.js';

export const CONFORMANCE_TIMINGS: Readonly<ControlPlaneTimings> = Object.freeze({
  leaseMs: 300,
  heartbeatIntervalMs: 50,
  startupGraceMs: 300,
});

/** Long enough for grace + detection + a loaded CI box; a wait that needs more is a failure. */
const WAIT_TIMEOUT_MS = 10_000;

export interface ConformanceOpenOptions extends ControlPlaneTimings {
  initialRing: RingConfig;
}

/** A backend as routers and the ring-change orchestrator use it. */
export type ConformanceControlPlane = ControlPlane & Pick<RingChangeTarget, 'compareAndSetRing'>;

export interface ConformanceTarget {
  /** The backend name status() reports. */
  backend: string;
  /** A fresh control plane on a ring of its own; the suite closes it. */
  open(t: Test, options: ConformanceOpenOptions): Promise<ConformanceControlPlane>;
}

/** Polls `probe` until it returns something other than undefined; fails after the deadline. */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs = WAIT_TIMEOUT_MS,
  intervalMs = 20,
): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    if (performance.now() > deadline) {
      const detail = lastError === undefined ? '' : ` (last error: ${String(lastError)})`;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${detail}`);
    }
    await sleep(intervalMs);
  }
}

export function nodeInfo(nodeId: string): NodeInfo {
  return { nodeId, url: `http://${nodeId}.invalid:1`, pid: 4242 };
}

export interface HeartbeatLoops {
  /** The node stops heartbeating (as if killed). */
  stop(nodeId: string): void;
  /** (Re)starts a node's loop. */
  start(node: NodeInfo): void;
  /** How many heartbeats failed per node. */
  failures: Map<string, number>;
  stopAll(): void;
}

/**
 * One heartbeat loop per node, as a cache node runs it: heartbeat, wait `intervalMs`, again (a
 * failure is counted and the loop goes on).
 */
export function startHeartbeats(
  t: Test,
  heartbeat: (node: NodeInfo) => Promise<unknown>,
  nodes: readonly NodeInfo[],
  intervalMs: number,
): HeartbeatLoops {
  /** Each running loop's token: a loop stops when its token is no longer the node's. */
  const running = new Map<string, object>();
  const failures = new Map<string, number>();
  const loops: HeartbeatLoops = {
    failures,
    start(node) {
      if (running.has(node.nodeId)) return;
      const token = {};
      running.set(node.nodeId, token);
      void (async () => {
        while (running.get(node.nodeId) === token) {
          await heartbeat(node).catch(() =>
            failures.set(node.nodeId, (failures.get(node.nodeId) ?? 0) + 1),
          );
          await sleep(intervalMs);
        }
      })();
    },
    stop(nodeId) {
      running.delete(nodeId);
    },
    stopAll() {
      running.clear();
    },
  };
  for (const node of nodes) loops.start(node);
  t.teardown(() => loops.stopAll());
  return loops;
}

/** Waits until every node is in ring.nodes (all registrations and info updates are done). */
export async function waitForRegistered(
  controlPlane: ControlPlane,
  nodeIds: readonly string[],
): Promise<RingConfig> {
  return waitFor(`${nodeIds.join(', ')} registered`, async () => {
    const ring = await controlPlane.currentRing();
    const placed = new Set([...ring.slots.map((a) => a.nodeId), ...ring.standbys]);
    return nodeIds.every((id) => ring.nodes[id] !== undefined && placed.has(id)) ? ring : undefined;
  });
}

/** Standby ids the conformance rings admit (a member must be admitted before it may join). */
const ADMITTED_STANDBYS = ['standby-1', 'standby-2', 'standby-3', 'standby-4'];

export function runControlPlaneConformance(t: Test, target: ConformanceTarget): void {
  const timings = CONFORMANCE_TIMINGS;
  const open = async (t: Test, nodeIds: string[]) => {
    const controlPlane = await target.open(t, {
      ...timings,
      initialRing: initialRing(nodeIds, 8, ADMITTED_STANDBYS),
    });
    t.teardown(() => controlPlane.close());
    return controlPlane;
  };

  t.test('a member nobody admitted is refused and changes nothing', async (t) => {
    const controlPlane = await open(t, ['node-1']);
    const before = await controlPlane.currentRing();
    await t.rejects(controlPlane.heartbeat(nodeInfo('intruder')), { code: 'UNKNOWN_MEMBER' });
    t.same(await controlPlane.currentRing(), before);
  });

  t.test('heartbeat registers an admitted node as a standby and records its info', async (t) => {
    const controlPlane = await open(t, ['node-1']);
    const loops = startHeartbeats(t, (n) => controlPlane.heartbeat(n), [nodeInfo('node-1')], 50);
    const reply = await controlPlane.heartbeat(nodeInfo('standby-1'));
    t.equal(reply.leaseMs, timings.leaseMs, 'the reply grants the configured lease');
    t.ok(reply.ring.epoch >= 1, 'the reply carries the ring');
    loops.start(nodeInfo('standby-1'));
    const ring = await waitForRegistered(controlPlane, ['node-1', 'standby-1']);
    t.same(ring.standbys, ['standby-1'], 'a new node joins as a standby');
    t.same(ring.nodes['standby-1'], nodeInfo('standby-1'), 'its url and pid are recorded');
    t.same(ring.slots, [{ slot: 'slot-0', nodeId: 'node-1', weight: 1 }], 'no slot moved');

    const settled = (await controlPlane.currentRing()).epoch;
    await controlPlane.heartbeat(nodeInfo('standby-1'));
    await controlPlane.heartbeat(nodeInfo('standby-1'));
    t.equal((await controlPlane.currentRing()).epoch, settled, 'a known node renewing: no change');

    await controlPlane.heartbeat({ ...nodeInfo('standby-1'), url: 'http://127.0.0.2:2' });
    const moved = await waitFor('the new url recorded', async () => {
      const latest = await controlPlane.currentRing();
      return latest.nodes['standby-1']?.url === 'http://127.0.0.2:2' ? latest : undefined;
    });
    t.equal(moved.epoch, settled + 1, 'changed node info is one ring change');
    loops.stop('standby-1');
  });

  t.test(
    'a silent serving node is replaced in its slot by a live standby, epoch + 1',
    async (t) => {
      const controlPlane = await open(t, ['node-1', 'node-2', 'node-3']);
      const seen: RingConfig[] = [];
      controlPlane.subscribe((ring) => seen.push(ring));
      const nodes = ['node-1', 'node-2', 'node-3', 'standby-1'].map(nodeInfo);
      const loops = startHeartbeats(t, (n) => controlPlane.heartbeat(n), nodes, 50);
      const before = await waitForRegistered(controlPlane, [
        'node-1',
        'node-2',
        'node-3',
        'standby-1',
      ]);
      // Everyone alive for a few leases: nothing changes.
      await sleep(timings.leaseMs * 3);
      t.equal((await controlPlane.currentRing()).epoch, before.epoch, 'live nodes: no change');

      const killedAt = performance.now();
      loops.stop('node-2');
      const after = await waitFor('slot-1 to move to standby-1', async () => {
        const ring = await controlPlane.currentRing();
        return ring.slots.find((a) => a.slot === 'slot-1')?.nodeId === 'standby-1'
          ? ring
          : undefined;
      });
      t.comment(
        `${target.backend}: failover seen ${Math.round(performance.now() - killedAt)} ms after the last heartbeat loop stopped (lease ${timings.leaseMs} ms)`,
      );
      const failover = seen.find((ring) =>
        ring.slots.some((a) => a.slot === 'slot-1' && a.nodeId === 'standby-1'),
      );
      t.equal(failover?.epoch, before.epoch + 1, 'the failover is exactly one change');
      t.same(
        after.slots,
        [
          { slot: 'slot-0', nodeId: 'node-1', weight: 1 },
          { slot: 'slot-1', nodeId: 'standby-1', weight: 1 },
          { slot: 'slot-2', nodeId: 'node-3', weight: 1 },
        ],
        'same slot name and weight (same ring position), other slots untouched',
      );
      t.notOk(after.standbys.includes('standby-1'), 'the promoted node is no longer a standby');
    },
  );

  t.test('with no standby, the dead node’s slot leaves the ring', async (t) => {
    const controlPlane = await open(t, ['node-1', 'node-2']);
    const loops = startHeartbeats(
      t,
      (n) => controlPlane.heartbeat(n),
      [nodeInfo('node-1'), nodeInfo('node-2')],
      50,
    );
    const before = await waitForRegistered(controlPlane, ['node-1', 'node-2']);
    loops.stop('node-2');
    const after = await waitFor('slot-1 to leave the ring', async () => {
      const ring = await controlPlane.currentRing();
      return ring.slots.length === 1 ? ring : undefined;
    });
    t.same(after.slots, [{ slot: 'slot-0', nodeId: 'node-1', weight: 1 }]);
    t.equal(after.epoch, before.epoch + 1, 'one change');
  });

  t.test('the last slot is never removed, even when its node is dead', async (t) => {
    const controlPlane = await open(t, ['node-1']);
    await controlPlane.heartbeat(nodeInfo('node-1'));
    await waitFor('node-1 to be dead', async () => {
      const status = await controlPlane.status();
      return status.nodes.find((n) => n.nodeId === 'node-1')?.state === 'dead' ? true : undefined;
    });
    // Proving that nothing happens takes waiting: several leases of detector ticks.
    await sleep(timings.leaseMs * 4);
    const ring = await controlPlane.currentRing();
    t.same(ring.slots, [{ slot: 'slot-0', nodeId: 'node-1', weight: 1 }], 'slot-0 stays on node-1');
  });

  t.test('subscribe() delivers every new ring in epoch order; unsubscribe stops it', async (t) => {
    const controlPlane = await open(t, ['node-1', 'node-2']);
    const delivered: number[] = [];
    const unsubscribe = controlPlane.subscribe((ring) => delivered.push(ring.epoch));
    const nodes = ['node-1', 'node-2', 'standby-1', 'standby-2', 'standby-3'].map(nodeInfo);
    const loops = startHeartbeats(t, (n) => controlPlane.heartbeat(n), nodes, 50);
    await waitForRegistered(
      controlPlane,
      nodes.map((n) => n.nodeId),
    );
    loops.stop('node-2');
    const ring = await waitFor('the failover of node-2', async () => {
      const latest = await controlPlane.currentRing();
      return latest.slots.some((a) => a.nodeId === 'node-2') ? undefined : latest;
    });
    t.ok(delivered.length >= 4, `several rings delivered (${delivered.length})`);
    t.ok(
      delivered.every((epoch, index) => index === 0 || epoch > (delivered[index - 1] ?? 0)),
      `strictly increasing epochs: ${delivered.join(',')}`,
    );
    await waitFor('the newest ring delivered', () =>
      delivered.at(-1) === ring.epoch ? true : undefined,
    );

    unsubscribe();
    const count = delivered.length;
    const idle = ring.standbys.at(-1) ?? 'standby-3';
    loops.stop(idle); // a dead standby is dropped: one more change
    await waitFor(`${idle} dropped`, async () => {
      const latest = await controlPlane.currentRing();
      return latest.standbys.includes(idle) ? undefined : latest;
    });
    t.equal(delivered.length, count, 'nothing delivered after unsubscribe');
  });

  t.test('compareAndSetRing: applies at the expected epoch, else EPOCH_CONFLICT', async (t) => {
    const controlPlane = await open(t, ['node-1']);
    startHeartbeats(t, (n) => controlPlane.heartbeat(n), [nodeInfo('node-1')], 50);
    const base = await waitForRegistered(controlPlane, ['node-1']);
    const delivered: number[] = [];
    controlPlane.subscribe((ring) => delivered.push(ring.epoch));
    const note = (ring: RingConfig, nodeId: string): RingConfig => ({
      ...ring,
      epoch: ring.epoch + 1,
      nodes: { ...ring.nodes, [nodeId]: { nodeId, url: `http://${nodeId}.invalid:1` } },
    });
    // A backend may refuse changes for a while after it seeded a ring (Redis: one lease).
    const written = await waitFor('a compare-and-set to apply', async () => {
      const ring = await controlPlane.currentRing();
      return controlPlane.compareAndSetRing(ring.epoch, note(ring, 'note-1'));
    });
    t.same((await controlPlane.currentRing()).nodes['note-1'], written.nodes['note-1']);
    t.equal(delivered.at(-1), written.epoch, 'subscribers get the new ring');
    const stale = await controlPlane
      .compareAndSetRing(written.epoch - 1, note({ ...base, epoch: written.epoch - 1 }, 'note-2'))
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    t.ok(
      stale instanceof RingChangeRefused,
      'a RingChangeRefused (the orchestrator re-plans on it)',
    );
    t.match(stale, { code: 'EPOCH_CONFLICT' });
    const after = await controlPlane.currentRing();
    t.equal(after.epoch, written.epoch, 'the losing change did not apply');
    t.notOk(after.nodes['note-2']);
  });

  t.test('status() shows each node’s state, slots and lease age', async (t) => {
    const controlPlane = await open(t, ['node-1', 'node-2']);
    const nodes = ['node-1', 'node-2', 'standby-1'].map(nodeInfo);
    const loops = startHeartbeats(t, (n) => controlPlane.heartbeat(n), nodes, 50);
    const ring = await waitForRegistered(controlPlane, ['node-1', 'node-2', 'standby-1']);
    const status = await controlPlane.status();
    t.equal(status.backend, target.backend);
    t.equal(status.epoch, ring.epoch);
    t.equal(status.leaseMs, timings.leaseMs);
    t.equal(status.heartbeatIntervalMs, timings.heartbeatIntervalMs);
    t.same(status.slots, ring.slots);
    t.same(status.standbys, ['standby-1']);
    const byId = (s: typeof status, nodeId: string) => s.nodes.find((n) => n.nodeId === nodeId);
    t.match(byId(status, 'node-1'), {
      state: 'serving',
      slots: ['slot-0'],
      url: nodeInfo('node-1').url,
    });
    t.match(byId(status, 'node-2'), { state: 'serving', slots: ['slot-1'] });
    t.match(byId(status, 'standby-1'), { state: 'standby', slots: [] });
    for (const nodeId of ['standby-2', 'standby-3', 'standby-4'])
      t.match(
        byId(status, nodeId),
        { state: 'joining', slots: [] },
        `${nodeId}: admitted, not seen`,
      );
    for (const node of status.nodes.filter((n) => n.state !== 'joining')) {
      t.ok(
        node.leaseAgeMs !== undefined && node.leaseAgeMs >= 0 && node.leaseAgeMs <= timings.leaseMs,
        `${node.nodeId}: lease age ${node.leaseAgeMs} ms within the lease`,
      );
    }

    loops.stop('node-2');
    const after = await waitFor('node-2 dead and replaced', async () => {
      const latest = await controlPlane.status();
      const node2 = byId(latest, 'node-2');
      return node2?.state === 'dead' && node2.slots.length === 0 ? latest : undefined;
    });
    t.match(byId(after, 'standby-1'), { state: 'serving', slots: ['slot-1'] });
    t.same(after.standbys, []);
  });
}
