/**
 * The load benchmark's flags. Parsed once, from process.argv, when the benchmark starts (--help
 * prints the flags and exits).
 */
import { BenchFlags } from '../lib/bench-args.js';
import { parseMix, type OperationKind } from '../lib/chat-workload.js';

export const flags = BenchFlags.parse(
  'load',
  'closed-loop load through the router, straight to the owners, and against a no-cache baseline',
  {
    'duration-s': { description: 'measured seconds per target', default: '15' },
    'warmup-s': { description: 'unmeasured warm-up seconds per target', default: '3' },
    concurrency: { description: 'closed-loop workers (requests in flight)', default: '32' },
    users: { description: 'users in the data set', default: '10000' },
    contacts: {
      description: 'conversation partners per user (each pair seeded with history)',
      default: '4',
    },
    'seed-messages': {
      description: 'messages seeded per conversation before the run',
      default: '3',
    },
    mix: { description: 'operation weights', default: 'send:20,conversations:40,messages:40' },
    'zipf-s': { description: 'Zipf exponent of user activity', default: '1.0' },
    'content-bytes': { description: 'message size, bytes of ASCII', default: '100' },
    'page-size': { description: 'pageSize of conversations and messages reads', default: '20' },
    nodes: { description: 'cache nodes of the local cluster (plus 1 standby)', default: '3' },
    targets: {
      description:
        'targets to run, in order (router, router-auth, direct, baseline, cassandra; router-auth is router with app tokens: opt-in)',
      default: 'router,direct,baseline,cassandra',
    },
    'timeout-ms': { description: 'client deadline per request', default: '10000' },
    seed: { description: 'seed of users, contacts and operation streams', default: '1' },
    'chatring-entry': {
      description: 'compiled chatring CLI (default dist/cli/chatring.js)',
      default: '',
    },
    'keep-data': { description: 'keep the temporary data dirs (true/false)', default: 'false' },
  },
);
export const settings = {
  durationS: flags.number('duration-s', 1, 3_600),
  warmupS: flags.number('warmup-s', 0, 600),
  concurrency: flags.integer('concurrency', 1, 4_096),
  users: flags.integer('users', 10, 5_000_000),
  contacts: flags.integer('contacts', 1, 1_000),
  seedMessages: flags.integer('seed-messages', 1, 10_000),
  mix: parseMix(flags.string('mix')),
  zipfExponent: flags.number('zipf-s', 0, 5),
  contentBytes: flags.integer('content-bytes', 1, 65_535),
  pageSize: flags.integer('page-size', 1, 200),
  nodes: flags.integer('nodes', 1, 64),
  targets: flags.string('targets').split(',').filter(Boolean),
  timeoutMs: flags.integer('timeout-ms', 100, 600_000),
  seed: flags.integer('seed', 0, 2 ** 31),
  chatringEntry: flags.string('chatring-entry'),
  keepData: flags.boolean('keep-data'),
};
export const KNOWN_TARGETS = ['router', 'router-auth', 'direct', 'baseline', 'cassandra'];
for (const target of settings.targets)
  if (!KNOWN_TARGETS.includes(target))
    throw new Error(`--targets: unknown target "${target}" (known: ${KNOWN_TARGETS.join(', ')})`);

export const OPERATION_ORDER: (OperationKind | 'all')[] = [
  'send',
  'conversations',
  'messages',
  'all',
];
