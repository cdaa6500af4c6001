/**
 * ringctl through the real binary against a real local cluster: `status` as a table and as JSON
 * (with each node's pid in local mode), `owner`, and the exit codes of refusals and bad usage.
 */
import t from 'tap';
import type { ClusterStatus } from '../../control-plane/index.js';
import { bootCluster } from '../helpers/local-cluster.js';
import { ringctl } from '../helpers/ringctl.js';

t.test('ringctl status, owner and refusals', async (t) => {
  const cluster = await bootCluster(t, { nodes: 2, standbys: 1 });
  const router = ['--router', cluster.url];

  const json = await ringctl([...router, '--json', 'status']);
  t.equal(json.code, 0);
  const status = JSON.parse(json.stdout) as ClusterStatus;
  t.equal(status.slots.length, 2);
  t.same(status.standbys, ['standby-1']);
  t.ok(
    status.nodes.every(
      (node) => Number.isInteger(node.pid) && node.pid !== undefined && node.pid > 0,
    ),
    'each node shows its pid',
  );
  t.same(status.nodes.map((node) => node.state).sort(), ['serving', 'serving', 'standby']);

  const table = await ringctl(['status'], { CHATRING_ROUTER_URL: cluster.url });
  t.equal(table.code, 0, 'the router URL can come from CHATRING_ROUTER_URL');
  t.match(table.stdout, /^epoch \d+ {2}backend in-process/);
  t.match(table.stdout, /NODE\s+STATE\s+SLOTS\s+LEASE AGE\s+PID\s+URL/);
  t.match(table.stdout, /standby-1\s+standby\s+-/);

  const owner = await ringctl([...router, 'owner', 'alice']);
  t.equal(owner.code, 0);
  const expected = await cluster.ownerOf('alice');
  t.equal(
    owner.stdout.trim(),
    `alice → ${expected.nodeId} (${expected.slot}, ${expected.url}, epoch ${status.epoch})`,
  );
  const ownerJson = JSON.parse((await ringctl([...router, '--json', 'owner', 'alice'])).stdout) as {
    nodeId: string;
  };
  t.equal(ownerJson.nodeId, expected.nodeId);

  const badUser = await ringctl([...router, 'owner', 'bad id']);
  t.equal(badUser.code, 1);
  t.match(badUser.stderr, /INVALID_USER_ID/);
  const unreachable = await ringctl(['--router', 'http://127.0.0.1:1', 'status']);
  t.equal(unreachable.code, 1);
  t.match(unreachable.stderr, /unreachable/);
  const usage = await ringctl(['frobnicate']);
  t.equal(usage.code, 2, 'an unknown command is a usage error');
});
