/**
 * The ring benchmark's flags and constants. Parsed once, from process.argv, when the benchmark starts
 * (--help prints the flags and exits).
 */
import { BenchFlags } from '../lib/bench-args.js';

export const flags = BenchFlags.parse(
  'ring',
  'balance, movement and lookup cost of the user → slot ring',
  {
    users: { description: 'synthetic user ids placed', default: '1000000' },
    slots: { description: 'slot counts N to try', default: '4,16,64' },
    vnodes: { description: 'virtual nodes per slot to try', default: '10,40,160' },
    'lookup-ms': { description: 'time budget of each lookup measurement, ms', default: '300' },
    'verify-users': {
      description: 'users whose placement is checked against RingView.slotOf per ring',
      default: '20000',
    },
    seed: { description: 'seed of the synthetic user ids', default: '1' },
  },
);

export const settings = {
  users: flags.integer('users', 1_000, 50_000_000),
  slots: flags.integerList('slots', 2, 4_096),
  vnodes: flags.integerList('vnodes', 1, 10_000),
  lookupMs: flags.integer('lookup-ms', 10, 60_000),
  verifyUsers: flags.integer('verify-users', 0, 50_000_000),
  seed: flags.integer('seed', 0, 2 ** 32 - 1),
};

/** hashring's vnodes are each hashed into 4 ring points (ketama's 4 replicas per MD5 digest). */
export const HASHRING_POINTS_PER_VNODE = 4;

/** The key set of the "hot" lookup measurement: small enough to stay in hashring's LRU cache. */
export const HOT_KEYS = 1_000;

/** Each lookup figure is the median of this many equal slices of --lookup-ms. */
export const LOOKUP_ROUNDS = 5;
