/**
 * The control-plane conformance suite on the in-process backend (the single-host default), plus
 * what only it promises: the ring survives a restart in its ring file; bad options (timings out of
 * the shared bounds, unknown keys, a malformed initialRing) fail with INVALID_OPTION naming them.
 */
import { join } from 'node:path';
import t from 'tap';
import { InProcessControlPlane, initialRing } from '../../control-plane/index.js';
import { CONFORMANCE_TIMINGS, runControlPlaneConformance } from './control-plane-conformance.js';

runControlPlaneConformance(t, {
  backend: 'in-process',
  open: async (t, options) =>
    new InProcessControlPlane({ ringFile: join(t.testdir(), 'ring.json'), ...options }),
});

t.test('the ring survives a restart in its ring file (initialRing is ignored then)', async (t) => {
  const ringFile = join(t.testdir(), 'ring.json');
  const first = new InProcessControlPlane({
    ringFile,
    initialRing: initialRing(['node-1'], undefined, ['standby-1']),
    ...CONFORMANCE_TIMINGS,
  });
  await first.heartbeat({ nodeId: 'standby-1', url: 'http://127.0.0.1:1' });
  const ring = await first.currentRing();
  await first.close();
  const second = new InProcessControlPlane({
    ringFile,
    initialRing: initialRing(['someone-else']),
    ...CONFORMANCE_TIMINGS,
  });
  t.teardown(() => second.close());
  t.same(await second.currentRing(), ring);
});

t.test('options are checked by the shared timing rule and the option rules', async (t) => {
  const ringFile = join(t.testdir(), 'ring.json');
  const base = { ringFile, initialRing: initialRing(['node-1']) };
  t.throws(() => new InProcessControlPlane({ ...base, leaseMs: 50 }), {
    code: 'INVALID_OPTION',
    message: /^InProcessControlPlane: option "leaseMs"/,
  });
  t.throws(() => new InProcessControlPlane({ ...base, leaseMs: 300, heartbeatIntervalMs: 300 }), {
    code: 'INVALID_OPTION',
    message: /option "heartbeatIntervalMs" must be below leaseMs/,
  });
  t.throws(
    () => new InProcessControlPlane({ ...base, ringFle: 'typo' } as unknown as typeof base),
    { code: 'INVALID_OPTION', message: /option "ringFle" is unknown/ },
  );
  t.throws(
    () =>
      new InProcessControlPlane({ ...base, initialRing: { epoch: 1 } } as unknown as typeof base),
    { code: 'INVALID_OPTION', message: /option "initialRing" is not a valid ring/ },
  );
});
