/** Balance, movement and lookup cost of a placement. */
import { type BalanceFigures, type MovementFigures } from './ring-results.js';
import { LOOKUP_ROUNDS, settings } from './ring-settings.js';

let sink = 0;

/** What the timed lookups folded their results into: printed conditionally, so V8 cannot drop them. */
export function lookupSink(): number {
  return sink;
}

export function balanceOf(placed: Uint16Array, slotCount: number): BalanceFigures {
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
export function movementOnAdd(
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

export function movementOnRemove(
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
export function nsPerCall(lookup: (index: number) => string | number, keyCount: number): number {
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
