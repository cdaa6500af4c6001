/**
 * The failover benchmark's flags and scenarios. Parsed once, from process.argv, when the benchmark
 * starts (--help prints the flags and exits).
 */
import { BenchFlags } from '../lib/bench-args.js';

export const flags = BenchFlags.parse(
  'failover',
  'kill -9 the owner of a set of users under load; recovery time, errors, acknowledged-lost',
  {
    nodes: { description: 'cache nodes (plus 1 standby)', default: '3' },
    victim: { description: 'node id to kill', default: 'node-1' },
    pairs: {
      description: 'conversations in the load (half with a victim-owned user)',
      default: '24',
    },
    workers: { description: 'closed-loop workers', default: '8' },
    'think-ms': {
      description: "pause between a worker's requests (keeps the load light)",
      default: '20',
    },
    'before-kill-s': { description: 'load before the kill (the baseline window)', default: '4' },
    'after-recovery-s': { description: 'load after the first affected success', default: '3' },
    'max-outage-s': { description: 'give up waiting for recovery after this long', default: '30' },
    'timeout-ms': {
      description: 'client deadline per request (the router retries inside it)',
      default: '15000',
    },
    scenarios: {
      description:
        'restart (the launcher restarts the victim), promotion (it does not: the standby takes over), pause (SIGSTOP instead of kill -9: the standby takes over, then SIGCONT wakes the old owner)',
      default: 'restart,promotion,pause',
    },
    'lease-ms': {
      description: 'node lease of the cluster (empty: the launcher default)',
      default: '',
    },
    runs: { description: 'runs of each scenario (several: the median recovery too)', default: '1' },
    seed: { description: 'seed of user ids and content', default: '1' },
    'chatring-entry': {
      description: 'compiled chatring CLI (default dist/cli/chatring.js)',
      default: '',
    },
    'keep-data': { description: 'keep the temporary data dir (true/false)', default: 'false' },
  },
);
export const settings = {
  nodes: flags.integer('nodes', 2, 64),
  victim: flags.string('victim'),
  pairs: flags.integer('pairs', 2, 10_000),
  workers: flags.integer('workers', 1, 1_024),
  thinkMs: flags.integer('think-ms', 0, 10_000),
  beforeKillS: flags.number('before-kill-s', 0.5, 600),
  afterRecoveryS: flags.number('after-recovery-s', 0, 600),
  maxOutageS: flags.number('max-outage-s', 1, 600),
  timeoutMs: flags.integer('timeout-ms', 100, 600_000),
  scenarios: flags.string('scenarios').split(',').filter(Boolean) as ScenarioName[],
  leaseMs: flags.string('lease-ms') === '' ? undefined : flags.integer('lease-ms', 100, 600_000),
  runs: flags.integer('runs', 1, 100),
  seed: flags.integer('seed', 0, 2 ** 31),
  chatringEntry: flags.string('chatring-entry'),
  keepData: flags.boolean('keep-data'),
};

for (const scenario of settings.scenarios) {
  if (scenario !== 'restart' && scenario !== 'promotion' && scenario !== 'pause')
    throw new Error(`--scenarios: unknown "${scenario}" (restart, promotion, pause)`);
}

export type ScenarioName = 'restart' | 'promotion' | 'pause';

/**
 * restart: the launcher starts the killed node again (its default). promotion: it does not, so
 * the lease lapses and the standby takes the slot. pause: the victim is stopped (SIGSTOP), not
 * killed: its connections stay open and requests sent to it get no answer, until the standby takes
 * its slot; then it is continued (SIGCONT) and must not serve from its stale cache.
 */
export const SCENARIO_ARGS: Record<ScenarioName, string[]> = {
  restart: ['--restart-members', 'true'],
  promotion: ['--restart-members', 'false'],
  pause: ['--restart-members', 'false'],
};

/** The signal each scenario sends the victim. */
export const SCENARIO_SIGNAL: Record<ScenarioName, NodeJS.Signals> = {
  restart: 'SIGKILL',
  promotion: 'SIGKILL',
  pause: 'SIGSTOP',
};
