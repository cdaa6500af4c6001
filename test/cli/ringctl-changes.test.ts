/**
 * ringctl's changes through the real binary against a real local cluster: preview changes nothing,
 * add / standby remove / standby add / promote / remove succeed with their summaries, and every
 * refusal (unknown node, the last slot, a stale --expect-epoch, bad usage) exits non-zero with a
 * clear message and leaves the ring as it was.
 */
import t from 'tap';
import type { ChangePreview, ChangeResult } from '../../control-plane/index.js';
import { eventually } from '../../harness/index.js';
import { bootCluster } from '../helpers/local-cluster.js';
import { ringctl } from '../helpers/ringctl.js';

t.test('ringctl changes and refusals', async (t) => {
  const cluster = await bootCluster(t, { nodes: 1, standbys: 2 });
  const router = ['--router', cluster.url];
  const epochOf = async () => (await cluster.status()).epoch;
  // Standbys register with their first heartbeat (each registration is an epoch): wait for both.
  await eventually('both standbys to register', async () =>
    (await cluster.status()).standbys.length === 2 ? true : undefined,
  );

  const start = await epochOf();
  const preview = await ringctl([...router, 'preview', 'add', 'standby-1']);
  t.equal(preview.code, 0);
  t.match(preview.stdout, new RegExp(`^epoch ${start} → ${start + 1}; users moving: \\d+\\.\\d%`));
  t.match(preview.stdout, /slot-1: \(new\) → standby-1/);
  const previewJson = JSON.parse(
    (await ringctl([...router, '--json', 'preview', 'add', 'standby-1'])).stdout,
  ) as ChangePreview;
  t.ok(
    previewJson.movedShare > 0.3 && previewJson.movedShare < 0.7,
    'about half the users would move to a second node',
  );
  t.equal(await epochOf(), start, 'preview changed nothing');

  const stale = await ringctl([...router, 'add', 'standby-1', '--expect-epoch', String(start - 1)]);
  t.equal(stale.code, 1);
  t.match(stale.stderr, /EPOCH_CONFLICT/);
  t.equal(await epochOf(), start, 'a lost compare-and-set changed nothing');

  const lastSlot = await ringctl([...router, 'remove', 'node-1']);
  t.equal(lastSlot.code, 1);
  t.match(lastSlot.stderr, /LAST_SLOT/);

  const unknown = await ringctl([...router, 'add', 'nobody']);
  t.equal(unknown.code, 1);
  t.match(unknown.stderr, /UNKNOWN_NODE/);
  const badWeight = await ringctl([...router, 'add', 'standby-1', '--weight', '0']);
  t.equal(badWeight.code, 1);
  t.match(badWeight.stderr, /weight/);

  const added = await ringctl([
    ...router,
    'add',
    'standby-1',
    '--expect-epoch',
    String(await epochOf()),
  ]);
  t.equal(added.code, 0, added.stderr);
  t.match(
    added.stdout,
    /^add standby-1: done at epoch \d+; \d+\.\d% of users moved; \d+ cached users released, \d+ handed over warm \(\d+ bytes\)/,
  );
  t.match(added.stderr, /nodes released/, 'progress is shown while the handoff runs');

  const byUrl = (await cluster.status()).nodes.find((n) => n.nodeId === 'standby-2')?.url ?? '';
  const removedStandby = await ringctl([...router, 'standby', 'remove', byUrl]);
  t.equal(removedStandby.code, 0, 'a node can be named by its URL');
  t.same((await cluster.status()).standbys, []);
  const promoteNone = await ringctl([...router, 'promote', 'node-1']);
  t.equal(promoteNone.code, 1);
  t.match(promoteNone.stderr, /NO_STANDBY/);
  t.equal((await ringctl([...router, 'standby', 'add', 'standby-2'])).code, 0);

  const promoted = JSON.parse(
    (await ringctl([...router, '--json', 'promote', 'node-1'])).stdout,
  ) as ChangeResult;
  t.ok(promoted.preview.slotsChanging.some((c) => c.from === 'node-1' && c.to === 'standby-2'));
  const status = await cluster.status();
  t.same(status.slots.map((s) => s.nodeId).sort(), ['standby-1', 'standby-2']);
  t.same(status.standbys, ['node-1']);

  const removed = await ringctl([...router, 'remove', 'standby-1']);
  t.equal(removed.code, 0, removed.stderr);
  t.same(
    (await cluster.status()).slots.map((s) => s.nodeId),
    ['standby-2'],
  );

  t.equal((await ringctl([...router, 'add'])).code, 2, 'a missing argument is a usage error');
});
