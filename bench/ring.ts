/**
 * bench/ring.ts — the ring's balance, movement and lookup cost.
 *
 * For a population of synthetic user ids, slot counts N and virtual-node counts per slot, it
 * measures: how evenly users spread over slots (max/mean, min/mean, stddev), the share of users
 * that move when a slot is added (ideal 1/(N+1)) or removed (ideal 1/N), and the cost of one
 * lookup through RingView.slotOf (what router and nodes call). Compared in the same run against
 * the baseline, a plain `new HashRing(names)` (hashring's defaults), and two references written
 * here: jump consistent hash and rendezvous (HRW) hashing.
 *
 * Balance and movement need every user placed on 3 rings per configuration; doing that through
 * slotOf would mostly time hashring's LRU cache (~5 µs a call on a cold key). So each user's
 * 32-bit key hash is computed once and placed with hashring's own `find` on a ring built exactly
 * as RingView builds it; a sample of users is then checked against RingView.slotOf itself, and a
 * mismatch is reported (it would mean this mirror no longer matches the product).
 */
import assert from 'node:assert/strict';
import HashRing from 'hashring';
import { type RingConfig } from '../protocol/index.js';
import { BenchFlags } from './lib/bench-args.js';
import { jumpConsistentHash } from './lib/jump-consistent-hash.js';
import { md5Hash32 } from './lib/key-hash.js';
import { machineLine } from './lib/machine.js';
import { RendezvousHash } from './lib/rendezvous-hash.js';
import { startReport, writeReport, writeResultFile } from './lib/result-files.js';
import { SeededRandom } from './lib/seeded-random.js';
import { renderLineChart, type ChartSeries } from './lib/svg-line-chart.js';
import { fixed, percent, renderTable, type Cell } from './lib/text-table.js';
import { RingView } from '../ring/index.js';

const flags = BenchFlags.parse(
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
const settings = {
  users: flags.integer('users', 1_000, 50_000_000),
  slots: flags.integerList('slots', 2, 4_096),
  vnodes: flags.integerList('vnodes', 1, 10_000),
  lookupMs: flags.integer('lookup-ms', 10, 60_000),
  verifyUsers: flags.integer('verify-users', 0, 50_000_000),
  seed: flags.integer('seed', 0, 2 ** 32 - 1),
};

/** hashring's vnodes are each hashed into 4 ring points (ketama's 4 replicas per MD5 digest). */
const HASHRING_POINTS_PER_VNODE = 4;
/** The key set of the "hot" lookup measurement: small enough to stay in hashring's LRU cache. */
const HOT_KEYS = 1_000;
/** Each lookup figure is the median of this many equal slices of --lookup-ms. */
const LOOKUP_ROUNDS = 5;

type Algorithm = 'ringview' | 'hashring-plain' | 'jump' | 'rendezvous';

interface BalanceFigures {
  maxOverMean: number;
  minOverMean: number;
  stddevUsers: number;
  coefficientOfVariation: number;
}

interface MovementFigures {
  /** Share of all users whose slot changed. */
  movedShare: number;
  idealShare: number;
  /** Users that moved but did not have to (not onto the added slot / not off the removed one), as a share. */
  excessShare: number;
}

interface LookupFigures {
  /** ns per call over the whole population cycled (mostly misses in hashring's LRU cache). */
  coldNs: number;
  /** ns per call over 1,000 hot users (hits in hashring's LRU cache). */
  hotNs: number;
  /** ns per placement given the key hash: the algorithm alone, no MD5, no cache. */
  placementNs: number;
}

interface RingRow {
  algorithm: Algorithm;
  slots: number;
  /** Virtual nodes per slot; undefined for the algorithms that have none. */
  vnodesPerSlot?: number;
  ringPoints?: number;
  balance: BalanceFigures;
  added: MovementFigures;
  removed: MovementFigures & { removedSlot: string };
  lookup: LookupFigures;
  /** Users checked against the real lookup (slotOf / get), and how many disagreed with the fast path. */
  verified?: { users: number; mismatches: number };
}

interface HashRingInternals {
  ring: { value: number; server: string }[];
  find(hashValue: number): number;
}

let sink = 0;

main();

function main(): void {
  const report = startReport<{
    keyHashNs: number;
    rows: RingRow[];
    noiseFloor: Record<string, number>;
    ringViewVersusPlainAgreement: Record<string, number>;
  }>(
    'ring',
    settings,
    'plain hashring (new HashRing(slotNames): 40 vnodes, md5, LRU 5000) in the same run; references: jump consistent hash and rendezvous hashing (bench/lib)',
  );
  console.log(`ring benchmark — ${machineLine(report.machine)}`);
  console.log(
    `settings: ${settings.users} users, slots ${settings.slots.join('/')}, vnodes/slot ${settings.vnodes.join('/')}, lookup budget ${settings.lookupMs} ms, seed ${settings.seed}`,
  );

  const users = syntheticUserIds(settings.users, settings.seed);
  const startedHashing = performance.now();
  const hashes = Uint32Array.from(users, md5Hash32);
  console.log(
    `hashed ${users.length} user ids in ${((performance.now() - startedHashing) / 1000).toFixed(1)} s\n`,
  );

  const keyHashNs = nsPerCall((index) => md5Hash32(users[index] ?? ''), users.length);
  console.log(
    `key hash alone (MD5 through node:crypto, as hashring does): ${fixed(keyHashNs, 0)} ns/call\n`,
  );

  const rows: RingRow[] = [];
  const noiseFloor: Record<string, number> = {};
  const agreement: Record<string, number> = {};
  for (const slotCount of settings.slots) {
    // A perfectly uniform random assignment still has multinomial noise: CV = sqrt((N-1)/users).
    noiseFloor[String(slotCount)] = Math.sqrt((slotCount - 1) / users.length);
    for (const vnodes of settings.vnodes)
      rows.push(measureRingView(users, hashes, slotCount, vnodes));
    const plain = measurePlainHashring(users, hashes, slotCount);
    rows.push(plain.row);
    if (plain.agreementWithRingView40 !== undefined)
      agreement[String(slotCount)] = plain.agreementWithRingView40;
    rows.push(measureJump(users, hashes, slotCount));
    rows.push(measureRendezvous(users, hashes, slotCount));
    console.error(`  done N=${slotCount}`);
  }

  printTable(rows, noiseFloor);
  for (const [slots, share] of Object.entries(agreement)) {
    console.log(
      `N=${slots}: RingView at 40 vnodes places ${percent(share, 3)} of users on the same slot as the plain hashring baseline`,
    );
  }
  const mismatches = rows.reduce((sum, row) => sum + (row.verified?.mismatches ?? 0), 0);
  const checked = rows.reduce((sum, row) => sum + (row.verified?.users ?? 0), 0);
  console.log(
    `verification: ${checked} placements checked against RingView.slotOf / HashRing.get, ${mismatches} mismatches`,
  );

  const chartPath = writeResultFile('ring-balance.svg', balanceChart(rows, noiseFloor));
  const notes = [
    'max/mean: users on the fullest slot over the mean; 1.00 is perfect. A node with that slot runs that much hotter than average.',
    'noise floor: the CV a perfectly uniform random assignment would show with this many users, sqrt((N-1)/users).',
    'moved on add/remove: share of all users whose slot changed; ideal 1/(N+1) on add, 1/N on remove. excess: users that moved although neither their old nor new slot was the one changed (0 for a consistent hash).',
    'jump consistent hash can only remove the last bucket; its remove row removes bucket N-1.',
    `lookup cold: ns/call over all ${users.length} users cycled (hashring LRU misses); hot: over ${HOT_KEYS} users (LRU hits); placement: the algorithm alone given the key hash. Each is the median of ${LOOKUP_ROUNDS} rounds.`,
    'jump and rendezvous have no cache, so their cold and hot figures are the same work (MD5 + placement).',
    `chart: ${chartPath}`,
  ];
  if (mismatches > 0)
    notes.push(
      `WARNING: ${mismatches} placements disagreed with RingView.slotOf: the bench mirror of RingView is out of date.`,
    );
  for (const note of notes) console.log(`note: ${note}`);
  const path = writeReport({
    ...report,
    results: { keyHashNs, rows, noiseFloor, ringViewVersusPlainAgreement: agreement },
    notes,
  });
  console.log(`\nwrote ${path}`);
}

function measureRingView(
  users: string[],
  hashes: Uint32Array,
  slotCount: number,
  vnodes: number,
): RingRow {
  const names = slotNames(slotCount);
  const view = new RingView(ringConfig(names, vnodes));
  const base = mirrorOfRingView(names, vnodes);
  const placed = placeOnHashring(base, names, hashes);
  const verified = verifyAgainst(
    users,
    placed,
    names,
    (user) => view.slotOf(user),
    settings.verifyUsers,
  );

  const addedNames = slotNames(slotCount + 1);
  const added = placeOnHashring(mirrorOfRingView(addedNames, vnodes), addedNames, hashes);
  const removedSlot = names[0] ?? 'slot-0';
  const remainingNames = names.filter((name) => name !== removedSlot);
  const removedPlacement = remap(
    placeOnHashring(mirrorOfRingView(remainingNames, vnodes), remainingNames, hashes),
    remainingNames,
    names,
  );

  const internals = internalsOf(base);
  const pointSlot = pointSlots(internals, names);
  return {
    algorithm: 'ringview',
    slots: slotCount,
    vnodesPerSlot: vnodes,
    ringPoints: internals.ring.length,
    balance: balanceOf(placed, slotCount),
    added: movementOnAdd(placed, added, slotCount),
    removed: { ...movementOnRemove(placed, removedPlacement, 0, slotCount), removedSlot },
    lookup: {
      coldNs: nsPerCall((index) => view.slotOf(users[index] ?? '') ?? '', users.length),
      hotNs: nsPerCall(
        (index) => view.slotOf(users[index] ?? '') ?? '',
        Math.min(HOT_KEYS, users.length),
      ),
      placementNs: nsPerCall(
        (index) => pointSlot[internals.find(hashes[index] ?? 0)] ?? 0,
        users.length,
      ),
    },
    verified,
  };
}

function measurePlainHashring(
  users: string[],
  hashes: Uint32Array,
  slotCount: number,
): { row: RingRow; agreementWithRingView40?: number } {
  const names = slotNames(slotCount);
  const ring = new HashRing(names);
  const placed = placeOnHashring(ring, names, hashes);
  const verified = verifyAgainst(
    users,
    placed,
    names,
    (user) => ring.get(user),
    settings.verifyUsers,
  );
  const addedNames = slotNames(slotCount + 1);
  const added = placeOnHashring(new HashRing(addedNames), addedNames, hashes);
  const removedSlot = names[0] ?? 'slot-0';
  const remainingNames = names.filter((name) => name !== removedSlot);
  const removedPlacement = remap(
    placeOnHashring(new HashRing(remainingNames), remainingNames, hashes),
    remainingNames,
    names,
  );
  const internals = internalsOf(ring);
  const pointSlot = pointSlots(internals, names);
  const ringView40 = placeOnHashring(mirrorOfRingView(names, 40), names, hashes);
  let same = 0;
  for (let index = 0; index < placed.length; index += 1)
    if (placed[index] === ringView40[index]) same += 1;
  return {
    row: {
      algorithm: 'hashring-plain',
      slots: slotCount,
      vnodesPerSlot: internals.ring.length / slotCount / HASHRING_POINTS_PER_VNODE,
      ringPoints: internals.ring.length,
      balance: balanceOf(placed, slotCount),
      added: movementOnAdd(placed, added, slotCount),
      removed: { ...movementOnRemove(placed, removedPlacement, 0, slotCount), removedSlot },
      lookup: {
        coldNs: nsPerCall((index) => ring.get(users[index] ?? ''), users.length),
        hotNs: nsPerCall((index) => ring.get(users[index] ?? ''), Math.min(HOT_KEYS, users.length)),
        placementNs: nsPerCall(
          (index) => pointSlot[internals.find(hashes[index] ?? 0)] ?? 0,
          users.length,
        ),
      },
      verified,
    },
    agreementWithRingView40: same / placed.length,
  };
}

function measureJump(users: string[], hashes: Uint32Array, slotCount: number): RingRow {
  const place = (buckets: number) =>
    Uint16Array.from(hashes, (hash) => jumpConsistentHash(hash, buckets));
  const placed = place(slotCount);
  const added = place(slotCount + 1);
  const removed = place(slotCount - 1);
  return {
    algorithm: 'jump',
    slots: slotCount,
    balance: balanceOf(placed, slotCount),
    added: movementOnAdd(placed, added, slotCount),
    removed: {
      ...movementOnRemove(placed, removed, slotCount - 1, slotCount),
      removedSlot: `bucket ${slotCount - 1} (the last: jump cannot remove others)`,
    },
    lookup: {
      coldNs: nsPerCall(
        (index) => jumpConsistentHash(md5Hash32(users[index] ?? ''), slotCount),
        users.length,
      ),
      hotNs: nsPerCall(
        (index) => jumpConsistentHash(md5Hash32(users[index] ?? ''), slotCount),
        Math.min(HOT_KEYS, users.length),
      ),
      placementNs: nsPerCall(
        (index) => jumpConsistentHash(hashes[index] ?? 0, slotCount),
        users.length,
      ),
    },
  };
}

function measureRendezvous(users: string[], hashes: Uint32Array, slotCount: number): RingRow {
  const names = slotNames(slotCount);
  const base = new RendezvousHash(names);
  const placed = Uint16Array.from(hashes, (hash) => base.indexOf(hash));
  const addedHash = new RendezvousHash(slotNames(slotCount + 1));
  const added = Uint16Array.from(hashes, (hash) => addedHash.indexOf(hash));
  const removedSlot = names[0] ?? 'slot-0';
  const remainingNames = names.filter((name) => name !== removedSlot);
  const remaining = new RendezvousHash(remainingNames);
  const removed = remap(
    Uint16Array.from(hashes, (hash) => remaining.indexOf(hash)),
    remainingNames,
    names,
  );
  return {
    algorithm: 'rendezvous',
    slots: slotCount,
    balance: balanceOf(placed, slotCount),
    added: movementOnAdd(placed, added, slotCount),
    removed: { ...movementOnRemove(placed, removed, 0, slotCount), removedSlot },
    lookup: {
      coldNs: nsPerCall((index) => base.slotOf(users[index] ?? ''), users.length),
      hotNs: nsPerCall(
        (index) => base.slotOf(users[index] ?? ''),
        Math.min(HOT_KEYS, users.length),
      ),
      placementNs: nsPerCall((index) => base.indexOf(hashes[index] ?? 0), users.length),
    },
  };
}

/** Deterministic ids of 12 characters from the user id alphabet. */
function syntheticUserIds(count: number, seed: number): string[] {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-';
  const random = new SeededRandom(seed);
  const ids: string[] = [];
  for (let index = 0; index < count; index += 1) {
    let id = '';
    for (let char = 0; char < 12; char += 1) id += alphabet[random.integerBelow(64)];
    ids.push(id);
  }
  return ids;
}

function slotNames(count: number): string[] {
  return Array.from({ length: count }, (_, index) => `slot-${index}`);
}

function ringConfig(names: string[], vnodes: number): RingConfig {
  return {
    epoch: 1,
    virtualNodesPerWeight: vnodes,
    slots: names.map((slot, index) => ({ slot, nodeId: `node-${index}`, weight: 1 })),
    standbys: [],
    nodes: {},
  };
}

/** The hashring RingView builds for this config (protocol/ring-view.ts: vnodes = round(vnodesPerWeight × weight), md5, LRU 10,000). */
function mirrorOfRingView(names: string[], vnodes: number): HashRing {
  const spec: Record<string, { vnodes: number }> = {};
  for (const name of names) spec[name] = { vnodes: Math.max(1, Math.round(vnodes * 1)) };
  return new HashRing(spec, 'md5', { 'max cache size': 10_000 });
}

function internalsOf(ring: HashRing): HashRingInternals {
  const candidate = ring as unknown as Partial<HashRingInternals>;
  assert(
    Array.isArray(candidate.ring) && typeof candidate.find === 'function',
    'hashring no longer exposes ring/find: update bench/ring.ts',
  );
  return candidate as HashRingInternals;
}

function pointSlots(internals: HashRingInternals, names: string[]): Uint16Array {
  const indexOf = new Map(names.map((name, index) => [name, index]));
  return Uint16Array.from(internals.ring, (point) => {
    const index = indexOf.get(point.server);
    assert(index !== undefined, `ring point of unknown slot ${point.server}`);
    return index;
  });
}

/** Slot index of every user, through hashring's own binary search over its continuum. */
function placeOnHashring(ring: HashRing, names: string[], hashes: Uint32Array): Uint16Array {
  const internals = internalsOf(ring);
  const pointSlot = pointSlots(internals, names);
  const placed = new Uint16Array(hashes.length);
  for (let index = 0; index < hashes.length; index += 1)
    placed[index] = pointSlot[internals.find(hashes[index] ?? 0)] ?? 0;
  return placed;
}

/** Re-expresses slot indexes of a smaller ring in the numbering of the full one. */
function remap(placed: Uint16Array, from: string[], to: string[]): Uint16Array {
  const toIndex = new Map(to.map((name, index) => [name, index]));
  const table = Uint16Array.from(from, (name) => toIndex.get(name) ?? 0);
  return placed.map((index) => table[index] ?? 0);
}

function verifyAgainst(
  users: string[],
  placed: Uint16Array,
  names: string[],
  lookup: (user: string) => string | undefined,
  count: number,
): { users: number; mismatches: number } {
  const checked = Math.min(count, users.length);
  let mismatches = 0;
  for (let index = 0; index < checked; index += 1) {
    if (lookup(users[index] ?? '') !== names[placed[index] ?? 0]) mismatches += 1;
  }
  return { users: checked, mismatches };
}

function balanceOf(placed: Uint16Array, slotCount: number): BalanceFigures {
  const counts = new Float64Array(slotCount);
  for (const slot of placed) counts[slot] = (counts[slot] ?? 0) + 1;
  const mean = placed.length / slotCount;
  let max = 0;
  let min = Number.POSITIVE_INFINITY;
  let squares = 0;
  for (const count of counts) {
    max = Math.max(max, count);
    min = Math.min(min, count);
    squares += (count - mean) ** 2;
  }
  const stddev = Math.sqrt(squares / slotCount);
  return {
    maxOverMean: max / mean,
    minOverMean: min / mean,
    stddevUsers: stddev,
    coefficientOfVariation: stddev / mean,
  };
}

/** The added slot has index N (the new last name). */
function movementOnAdd(
  before: Uint16Array,
  after: Uint16Array,
  slotCount: number,
): MovementFigures {
  let moved = 0;
  let excess = 0;
  for (let index = 0; index < before.length; index += 1) {
    if (before[index] === after[index]) continue;
    moved += 1;
    if (after[index] !== slotCount) excess += 1;
  }
  return {
    movedShare: moved / before.length,
    idealShare: 1 / (slotCount + 1),
    excessShare: excess / before.length,
  };
}

function movementOnRemove(
  before: Uint16Array,
  after: Uint16Array,
  removedIndex: number,
  slotCount: number,
): MovementFigures {
  let moved = 0;
  let excess = 0;
  for (let index = 0; index < before.length; index += 1) {
    if (before[index] === after[index]) continue;
    moved += 1;
    if (before[index] !== removedIndex) excess += 1;
  }
  return {
    movedShare: moved / before.length,
    idealShare: 1 / slotCount,
    excessShare: excess / before.length,
  };
}

/**
 * Calls `lookup` over key indexes 0..keyCount-1, cycling, for the time budget; returns ns per call.
 * The budget is split into rounds and the median round is reported, so a burst of other work on a
 * shared machine skews one round, not the figure.
 */
function nsPerCall(lookup: (index: number) => string | number, keyCount: number): number {
  const warmup = Math.min(keyCount, 5_000);
  for (let index = 0; index < warmup; index += 1) sink ^= String(lookup(index)).length;
  const roundBudgetNs = (BigInt(settings.lookupMs) * 1_000_000n) / BigInt(LOOKUP_ROUNDS);
  const batch = 1_000;
  let index = warmup % keyCount;
  const rounds: number[] = [];
  for (let round = 0; round < LOOKUP_ROUNDS; round += 1) {
    let calls = 0;
    const started = process.hrtime.bigint();
    for (;;) {
      for (let call = 0; call < batch; call += 1) {
        const result = lookup(index);
        sink ^= typeof result === 'number' ? result : result.length;
        index = index + 1 === keyCount ? 0 : index + 1;
      }
      calls += batch;
      const elapsed = process.hrtime.bigint() - started;
      if (elapsed >= roundBudgetNs) {
        rounds.push(Number(elapsed) / calls);
        break;
      }
    }
  }
  return median(rounds);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

function printTable(rows: RingRow[], noiseFloor: Record<string, number>): void {
  const headers = [
    'algorithm',
    'N',
    'vnodes',
    'points',
    'max/mean',
    'min/mean',
    'stddev',
    'CV',
    'noise CV',
    'add moved',
    'ideal',
    'excess',
    'rm moved',
    'ideal',
    'excess',
    'cold ns',
    'hot ns',
    'place ns',
  ];
  const body: Cell[][] = rows.map((row) => [
    row.algorithm,
    row.slots,
    row.vnodesPerSlot === undefined ? '—' : fixed(row.vnodesPerSlot, 0),
    row.ringPoints ?? '—',
    fixed(row.balance.maxOverMean, 3),
    fixed(row.balance.minOverMean, 3),
    fixed(row.balance.stddevUsers, 0),
    percent(row.balance.coefficientOfVariation),
    percent(noiseFloor[String(row.slots)] ?? Number.NaN),
    percent(row.added.movedShare),
    percent(row.added.idealShare),
    percent(row.added.excessShare),
    percent(row.removed.movedShare),
    percent(row.removed.idealShare),
    percent(row.removed.excessShare),
    fixed(row.lookup.coldNs, 0),
    fixed(row.lookup.hotNs, 0),
    fixed(row.lookup.placementNs, 0),
  ]);
  console.log(renderTable(headers, body));
  console.log('');
  if (sink === 0.5) console.log(''); // keeps the lookups' results observable
}

function balanceChart(rows: RingRow[], noiseFloor: Record<string, number>): string {
  const colors = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b'];
  const vnodeTicks = settings.vnodes;
  const series: ChartSeries[] = [];
  settings.slots.forEach((slotCount, index) => {
    const color = colors[index % colors.length] ?? '#333';
    const of = (algorithm: Algorithm) =>
      rows.filter((row) => row.slots === slotCount && row.algorithm === algorithm);
    series.push({
      label: `RingView N=${slotCount}`,
      color,
      points: of('ringview').map((row) => ({
        x: row.vnodesPerSlot ?? 0,
        y: row.balance.maxOverMean,
      })),
    });
    const flat = (algorithm: Algorithm) => {
      const y = of(algorithm)[0]?.balance.maxOverMean ?? 1;
      return [Math.min(...vnodeTicks), Math.max(...vnodeTicks)].map((x) => ({ x, y }));
    };
    series.push({ label: `jump N=${slotCount}`, color, dash: '7 4', points: flat('jump') });
    series.push({
      label: `rendezvous N=${slotCount}`,
      color,
      dash: '2 3',
      points: flat('rendezvous'),
    });
    series.push({
      label: `plain hashring N=${slotCount}`,
      color,
      markersOnly: true,
      points: of('hashring-plain').map((row) => ({
        x: row.vnodesPerSlot ?? 40,
        y: row.balance.maxOverMean,
      })),
    });
  });
  const floor = Math.max(...Object.values(noiseFloor));
  return renderLineChart({
    title: `Ring balance vs virtual nodes (${settings.users.toLocaleString('en-US')} users)`,
    xLabel: 'virtual nodes per slot (log scale; hashring places 4 ring points per vnode)',
    yLabel: 'users on fullest slot / mean (1.0 = perfect)',
    xLog: true,
    xTicks: vnodeTicks,
    series,
    referenceY: {
      y: 1 + 2 * floor,
      label: `≈ random-noise level (1 + 2·CV floor, N=${Math.max(...settings.slots)})`,
    },
  });
}
