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
import { md5Hash32 } from './lib/key-hash.js';
import { machineLine } from './lib/machine.js';
import { startReport, writeReport, writeResultFile } from './lib/result-files.js';
import { fixed, percent } from './lib/text-table.js';
import { syntheticUserIds } from './ring/hashring-mirror.js';
import { nsPerCall } from './ring/ring-figures.js';
import {
  measureJump,
  measurePlainHashring,
  measureRendezvous,
  measureRingView,
} from './ring/ring-measurements.js';
import { balanceChart, printTable } from './ring/ring-output.js';
import { type RingRow } from './ring/ring-results.js';
import { HOT_KEYS, LOOKUP_ROUNDS, settings } from './ring/ring-settings.js';

main();

/** The program, top to bottom: hash the users once, one row per ring, the table, chart and report. */
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
