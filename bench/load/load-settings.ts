/**
 * The load benchmark's flags. Parsed once, from process.argv, when the benchmark starts (--help
 * prints the flags and exits).
 */
import { BenchFlags } from '../lib/bench-args.js';
import { parseMix, type OperationKind } from '../lib/chat-workload.js';
import {
  DEFAULT_TARGETS,
  TARGET_CATALOGUE,
  targetSpec,
  type TargetSpec,
} from '../lib/load-target-catalogue.js';

export const flags = BenchFlags.parse(
  'load',
  'closed-loop load through the router, the ring-aware client and straight to the owners, against a no-cache baseline and an echo, on the embedded store and Cassandra',
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
    mix: {
      description:
        'operation weights (reads only by default: the read-path comparison; e.g. send:20,conversations:40,messages:40)',
      default: 'conversations:50,messages:50',
    },
    'zipf-s': { description: 'Zipf exponent of user activity', default: '1.0' },
    'content-bytes': { description: 'message size, bytes of ASCII', default: '100' },
    'page-size': { description: 'pageSize of conversations and messages reads', default: '20' },
    nodes: { description: 'cache nodes of the local cluster (plus 1 standby)', default: '3' },
    targets: {
      description: `targets to run, in order (${TARGET_CATALOGUE.map((target) => target.name).join(', ')}; router-auth is router with app tokens: opt-in; cassandra = router-cassandra)`,
      default: DEFAULT_TARGETS.join(','),
    },
    prewarm: {
      description:
        "before the warm-up, read every user's conversation list and every one of its conversations, once (true/false)",
      default: 'true',
    },
    'page-check-s': {
      description:
        'measured seconds of each page size in the pageSize 200 vs 20 check, after the router target (0: off)',
      default: '5',
    },
    'alternate-rounds': {
      description:
        'router-no-telemetry and router (when both run, in that order) are measured in this many alternated pairs of windows, ABBA, each --duration-s/rounds long, their clusters running side by side (0: one after the other, like every other target)',
      default: '10',
    },
    'timeout-ms': { description: 'client deadline per request', default: '10000' },
    seed: { description: 'seed of users, contacts and operation streams', default: '1' },
    'chatring-entry': {
      description: 'compiled chatring CLI (default dist/cli/chatring.js)',
      default: '',
    },
    'keep-data': { description: 'keep the temporary data dirs (true/false)', default: 'false' },
    'cpu-prof-dir': {
      description:
        'profile every member of the clusters measured: DIR/<store>/<member>.cpuprofile (bench/profile-summary.js reads them; empty: off)',
      default: '',
    },
    'report-name': {
      description:
        'result file name: load (the read-path comparison) or sends (the write mix, read by the capacity plan)',
      default: 'load',
    },
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
  /** Canonical names (an alias such as `cassandra` resolved). */
  targets: flags
    .string('targets')
    .split(',')
    .filter(Boolean)
    .map((name) => knownTarget(name).name),
  prewarm: flags.boolean('prewarm'),
  pageCheckS: flags.number('page-check-s', 0, 600),
  alternateRounds: flags.integer('alternate-rounds', 0, 100),
  timeoutMs: flags.integer('timeout-ms', 100, 600_000),
  seed: flags.integer('seed', 0, 2 ** 31),
  chatringEntry: flags.string('chatring-entry'),
  keepData: flags.boolean('keep-data'),
  cpuProfDir: flags.string('cpu-prof-dir'),
};

/** A --targets entry as its target (an alias resolved); throws for an unknown name. */
export function knownTarget(name: string): TargetSpec {
  const spec = targetSpec(name);
  if (spec === undefined)
    throw new Error(
      `--targets: unknown target "${name}" (known: ${TARGET_CATALOGUE.map((target) => target.name).join(', ')})`,
    );
  return spec;
}

export const OPERATION_ORDER: (OperationKind | 'all')[] = [
  'send',
  'conversations',
  'messages',
  'all',
];
