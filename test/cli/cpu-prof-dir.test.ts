/**
 * `chatring start --cpu-prof-dir DIR`: every member runs under V8's CPU profiler and leaves
 * `DIR/<member>.cpuprofile` behind when the cluster stops cleanly (what bench/profile-summary.js
 * reads); the flag and its environment variable resolve to an absolute directory.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import t from 'tap';
import { resolveClusterOptions } from '../../cli/cluster-options.js';
import { TemporaryDirectory } from '../../harness/index.js';
import { bootCluster } from '../helpers/local-cluster.js';

t.test('the flag, else CHATRING_CPU_PROF_DIR; absent means no profiling', async (t) => {
  t.equal(resolveClusterOptions({ cpuProfDir: 'p' }, {}).cpuProfDir, resolve('p'));
  t.equal(resolveClusterOptions({}, { CHATRING_CPU_PROF_DIR: '/tmp/q' }).cpuProfDir, '/tmp/q');
  t.equal(resolveClusterOptions({}, {}).cpuProfDir, undefined);
});

t.test('each member writes its profile when the cluster stops', async (t) => {
  const profiles = new TemporaryDirectory('chatring-test-profiles-');
  t.teardown(() => profiles.dispose());
  const cluster = await bootCluster(t, {
    nodes: 1,
    standbys: 1,
    extraArgs: ['--cpu-prof-dir', profiles.path],
  });
  await cluster.stop();
  t.same(readdirSync(profiles.path).sort(), [
    'node-1.cpuprofile',
    'router.cpuprofile',
    'standby-1.cpuprofile',
  ]);
  for (const name of readdirSync(profiles.path)) {
    const profile = JSON.parse(readFileSync(join(profiles.path, name), 'utf8')) as {
      nodes: unknown[];
      samples: unknown[];
    };
    t.ok(profile.nodes.length > 0 && profile.samples.length > 0, `${name} holds samples`);
  }
});
