import { RingChangeRefused } from '../../ring/index.js';

/** Why a compare-and-set lost. */
export type EpochConflictReason =
  /** Someone else changed the ring first. */
  | 'epoch'
  /** The ring was just seeded; changes wait one lease (see the top of redis-control-plane.ts). */
  | 'seeding'
  /** Redis holds no ring. */
  | 'absent'
  /** A node the change declared dead renewed its lease meanwhile. */
  | 'lease-renewed';

/**
 * A compare-and-set on the ring epoch lost. Re-read the ring and decide again. It is a
 * RingChangeRefused with code EPOCH_CONFLICT, so the ring-change orchestrator re-plans on it.
 */
export class EpochConflictError extends RingChangeRefused {
  constructor(
    readonly expectedEpoch: number,
    readonly storedEpoch: number | undefined,
    readonly reason: EpochConflictReason,
  ) {
    super(
      'EPOCH_CONFLICT',
      `ring compare-and-set lost (${reason}): expected epoch ${expectedEpoch}, Redis holds ${
        storedEpoch === undefined ? 'no ring' : `epoch ${storedEpoch}`
      }`,
    );
    this.name = 'EpochConflictError';
  }
}
