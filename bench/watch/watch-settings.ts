/**
 * The watch benchmark's flags, parsed once from process.argv when it starts (--help prints them
 * and exits).
 */
import { BenchFlags } from '../lib/bench-args.js';
import type { WatchMode } from './watch-fleet.js';

export const flags = BenchFlags.parse(
  'watch',
  'change-feed delivery latency, the cost of held watchers, and polling for the same freshness',
  {
    watchers: { description: 'watcher counts, comma-separated', default: '1000,10000' },
    modes: { description: 'router and/or direct', default: 'router,direct' },
    nodes: { description: 'cache nodes (plus 1 standby)', default: '3' },
    store: {
      description:
        'embedded, or cassandra (a keyspace of its own per cluster on the Cassandra the tests use)',
      default: 'embedded',
    },
    'wait-ms': { description: 'waitMs of each watch', default: '25000' },
    'settle-s': { description: 'seconds after the cluster starts before measuring', default: '1' },
    'idle-s': { description: 'seconds of each idle window (no watch; all held)', default: '2' },
    'sends-per-s': { description: 'messages a second to random watched users', default: '100' },
    'send-s': { description: 'seconds of sending', default: '3' },
    'drain-s': { description: 'at most this long for the last deliveries', default: '2' },
    'poll-s': {
      description: 'seconds of polling, at the first watcher count through the router (0: none)',
      default: '3',
    },
    'chatring-entry': {
      description: 'compiled chatring CLI (default dist/cli/chatring.js)',
      default: '',
    },
  },
);

export const settings = {
  watchers: flags.integerList('watchers', 1, 100_000),
  modes: flags.string('modes').split(',').filter(Boolean) as WatchMode[],
  nodes: flags.integer('nodes', 1, 16),
  store: flags.string('store'),
  waitMs: flags.integer('wait-ms', 1_000, 30_000),
  settleS: flags.number('settle-s', 0, 60),
  idleS: flags.number('idle-s', 0.5, 600),
  sendsPerS: flags.integer('sends-per-s', 1, 10_000),
  sendS: flags.number('send-s', 0.5, 600),
  drainS: flags.number('drain-s', 0.1, 60),
  pollS: flags.number('poll-s', 0, 600),
  chatringEntry: flags.string('chatring-entry'),
};
for (const mode of settings.modes)
  if (mode !== 'router' && mode !== 'direct') throw new Error(`--modes: unknown "${mode}"`);
if (settings.store !== 'embedded' && settings.store !== 'cassandra')
  throw new Error(`--store must be embedded or cassandra, got "${settings.store}"`);
