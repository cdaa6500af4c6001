/**
 * Options are checked once, where they are built: resolveOptions refuses unknown keys and values of
 * the wrong type or out of range with INVALID_OPTION naming the component and the option, fills
 * defaults and freezes; the control-plane timings have one rule for every backend and command line,
 * tested at each bound.
 */
import t from 'tap';
import {
  BOOLEAN_RULE,
  HEARTBEAT_INTERVAL_MS_MAX,
  HEARTBEAT_INTERVAL_MS_MIN,
  LEASE_MS_MAX,
  LEASE_MS_MIN,
  integerRule,
  resolveOptions,
  type OptionRules,
} from '../../protocol/index.js';
import {
  DEFAULT_CONTROL_PLANE_TIMINGS,
  resolveControlPlaneTimings,
} from '../../control-plane/index.js';

interface ExampleOptions {
  sizeMax: number;
  enabled: boolean;
}
const DEFAULTS: Readonly<ExampleOptions> = Object.freeze({ sizeMax: 10, enabled: true });
const RULES: OptionRules<ExampleOptions> = { sizeMax: integerRule(1, 100), enabled: BOOLEAN_RULE };

t.test('defaults fill what is not given; the result is frozen', async (t) => {
  const resolved = resolveOptions('Example', DEFAULTS, { enabled: false }, RULES);
  t.same(resolved, { sizeMax: 10, enabled: false });
  t.ok(Object.isFrozen(resolved));
  t.same(resolveOptions('Example', DEFAULTS, undefined, RULES), DEFAULTS);
  t.same(
    resolveOptions('Example', DEFAULTS, { sizeMax: undefined }, RULES),
    DEFAULTS,
    'undefined means the default',
  );
});

t.test('each bound is accepted, one past it refused with the option named', async (t) => {
  t.equal(resolveOptions('Example', DEFAULTS, { sizeMax: 1 }, RULES).sizeMax, 1);
  t.equal(resolveOptions('Example', DEFAULTS, { sizeMax: 100 }, RULES).sizeMax, 100);
  for (const sizeMax of [0, 101, 1.5, Number.NaN]) {
    t.throws(() => resolveOptions('Example', DEFAULTS, { sizeMax }, RULES), {
      code: 'INVALID_OPTION',
      message: /^Example: option "sizeMax" must be an integer from 1 to 100/,
    });
  }
  t.throws(
    () => resolveOptions('Example', DEFAULTS, { sizeMax: '5' as unknown as number }, RULES),
    { code: 'INVALID_OPTION', message: /got "5"/ },
  );
  t.throws(() => resolveOptions('Example', DEFAULTS, { enabled: 1 as unknown as boolean }, RULES), {
    code: 'INVALID_OPTION',
    message: /option "enabled" must be true or false/,
  });
});

t.test('an unknown key is refused, listing the known ones', async (t) => {
  t.throws(
    () =>
      resolveOptions(
        'Example',
        DEFAULTS,
        { sizeMax: 5, sizeMaxx: 6 } as Partial<ExampleOptions>,
        RULES,
      ),
    {
      code: 'INVALID_OPTION',
      message: 'Example: option "sizeMaxx" is unknown; known: enabled, sizeMax',
    },
  );
  t.throws(() => resolveOptions('Example', DEFAULTS, 'x' as unknown as ExampleOptions, RULES), {
    code: 'INVALID_OPTION',
  });
});

t.test('control-plane timings: one rule, tested at every bound', async (t) => {
  t.same(resolveControlPlaneTimings('test'), DEFAULT_CONTROL_PLANE_TIMINGS);
  const at = (leaseMs: number, heartbeatIntervalMs: number) =>
    resolveControlPlaneTimings('test', { leaseMs, heartbeatIntervalMs });
  t.equal(at(LEASE_MS_MIN, HEARTBEAT_INTERVAL_MS_MIN).leaseMs, LEASE_MS_MIN);
  t.throws(() => at(LEASE_MS_MIN - 1, HEARTBEAT_INTERVAL_MS_MIN), {
    code: 'INVALID_OPTION',
    message: /option "leaseMs" must be an integer from 100 to 600000/,
  });
  t.equal(at(LEASE_MS_MAX, HEARTBEAT_INTERVAL_MS_MAX).leaseMs, LEASE_MS_MAX);
  t.throws(() => at(LEASE_MS_MAX + 1, 500), { code: 'INVALID_OPTION' });
  t.throws(() => at(3_000, HEARTBEAT_INTERVAL_MS_MIN - 1), {
    code: 'INVALID_OPTION',
    message: /option "heartbeatIntervalMs"/,
  });
  t.throws(() => at(LEASE_MS_MAX, HEARTBEAT_INTERVAL_MS_MAX + 1), { code: 'INVALID_OPTION' });
  t.equal(at(1_000, 999).heartbeatIntervalMs, 999, 'a heartbeat just below the lease');
  t.throws(() => at(1_000, 1_000), {
    code: 'INVALID_OPTION',
    message: /"heartbeatIntervalMs" must be below leaseMs/,
  });
  t.equal(
    resolveControlPlaneTimings('test', { leaseMs: 5_000, startupGraceMs: 0 }).startupGraceMs,
    5_000,
    'a node never seen gets at least one lease',
  );
});
