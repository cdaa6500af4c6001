/**
 * The resize benchmark's flags and the constants of its scenarios and windows. Parsed once, from
 * process.argv, when the benchmark starts (--help prints the flags and exits).
 */
import { BenchFlags } from '../lib/bench-args.js';
import { parseMix } from '../lib/chat-workload.js';

export const flags = BenchFlags.parse(
  'resize',
  'under load, add a node: users moved, store reads caused, latency before/during/after, warm vs cold handoff',
  {
    nodes: {
      description: 'cache nodes serving slots before the change (plus 1 standby)',
      default: '2',
    },
    'add-node': { description: 'the standby given a new slot', default: 'standby-1' },
    weight: { description: 'weight of the new slot (1-100)', default: '1' },
    scenarios: {
      description:
        'warm (default warm handoff) and/or cold (chatring start --warm-handoff-bytes-max 0)',
      default: 'warm,cold',
    },
    users: { description: 'users in the data set (all warmed before the load)', default: '1500' },
    contacts: {
      description: 'conversation partners per user (each pair seeded with history)',
      default: '3',
    },
    'seed-messages': { description: 'messages seeded per conversation', default: '2' },
    concurrency: { description: 'closed-loop workers (requests in flight)', default: '16' },
    mix: { description: 'operation weights', default: 'send:20,conversations:40,messages:40' },
    'zipf-s': { description: 'Zipf exponent of user activity', default: '1.0' },
    'content-bytes': { description: 'message size, bytes of ASCII', default: '100' },
    'page-size': { description: 'pageSize of conversations and messages reads', default: '20' },
    'warmup-s': { description: 'unmeasured load before the baseline window', default: '1' },
    'before-s': { description: 'measured load before the change (the baseline)', default: '3' },
    'after-s': { description: 'measured load after the change completed', default: '5' },
    'early-s': {
      description: 'the first part of the after window, also reported alone (cold refill)',
      default: '1',
    },
    'bucket-ms': { description: 'width of the time series buckets', default: '1000' },
    'owner-sample': {
      description: 'users looked up with GET /admin/v1/owner before and after (0: none)',
      default: '2000',
    },
    verify: {
      description: 'read every acknowledged send back from both copies afterwards (true/false)',
      default: 'true',
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
  nodes: flags.integer('nodes', 1, 63),
  addNode: flags.string('add-node'),
  weight: flags.integer('weight', 1, 100),
  scenarios: flags.string('scenarios').split(',').filter(Boolean) as ScenarioName[],
  users: flags.integer('users', 10, 1_000_000),
  contacts: flags.integer('contacts', 1, 100),
  seedMessages: flags.integer('seed-messages', 1, 1_000),
  concurrency: flags.integer('concurrency', 1, 1_024),
  mix: parseMix(flags.string('mix')),
  zipfExponent: flags.number('zipf-s', 0, 5),
  contentBytes: flags.integer('content-bytes', 1, 65_535),
  pageSize: flags.integer('page-size', 1, 200),
  warmupS: flags.number('warmup-s', 0, 600),
  beforeS: flags.number('before-s', 0.5, 3_600),
  afterS: flags.number('after-s', 0.5, 3_600),
  earlyS: flags.number('early-s', 0.1, 3_600),
  bucketMs: flags.integer('bucket-ms', 100, 60_000),
  ownerSample: flags.integer('owner-sample', 0, 1_000_000),
  verify: flags.boolean('verify'),
  timeoutMs: flags.integer('timeout-ms', 100, 600_000),
  seed: flags.integer('seed', 0, 2 ** 31),
  chatringEntry: flags.string('chatring-entry'),
  keepData: flags.boolean('keep-data'),
};
for (const scenario of settings.scenarios)
  if (scenario !== 'warm' && scenario !== 'cold')
    throw new Error(`--scenarios: unknown "${scenario}" (warm, cold)`);

export type ScenarioName = 'warm' | 'cold';

/** A node's release slower than this waited out a user lock (lockWaitTimeoutMs is 5 s). */
export const RELEASE_STALL_MS = 4_000;

/** warm: the launcher's default (64 MiB of warm handoff per node and change). cold: none. */
export const SCENARIO_ARGS: Record<ScenarioName, string[]> = {
  warm: [],
  cold: ['--warm-handoff-bytes-max', '0'],
};

/** before (the baseline), during the change, early (the first --early-s after it), after (all of it). */
export type WindowName = 'before' | 'during' | 'early' | 'after';
export const WINDOWS: WindowName[] = ['before', 'during', 'early', 'after'];
