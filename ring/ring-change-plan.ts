import {
  ChatringError,
  RING_NODES_LIMIT,
  SLOT_WEIGHT_MAX,
  SLOT_WEIGHT_MIN,
  type RingConfig,
} from '../protocol/index.js';
import { RingView } from './ring-view.js';

/**
 * Pure planning of operator changes to the ring. Each returns the next ring (epoch + 1) or throws a
 * RingChangeRefused with a stable code; `previewChange` says what a change would move before
 * anything is done.
 */

export type RingChange =
  | { action: 'add'; nodeId: string; weight: number }
  | { action: 'remove'; nodeId: string }
  | { action: 'promote'; nodeId: string; standbyId?: string }
  | { action: 'standby-add'; nodeId: string }
  | { action: 'standby-remove'; nodeId: string }
  /** Lets a new member join: its first heartbeat makes it a standby. */
  | { action: 'member-add'; nodeId: string }
  /** Forgets a member that serves no slot: it may not heartbeat again until admitted again. */
  | { action: 'member-remove'; nodeId: string };

export type RingChangeRefusalCode =
  | 'UNKNOWN_NODE'
  | 'NODE_BUSY'
  | 'LAST_SLOT'
  | 'NO_STANDBY'
  | 'INVALID_WEIGHT'
  | 'EPOCH_CONFLICT'
  | 'NOTHING_TO_DO';

/** A change the ring cannot take, with its operator code from the catalogue. */
export class RingChangeRefused extends ChatringError {
  declare readonly code: RingChangeRefusalCode;

  constructor(code: RingChangeRefusalCode, message: string) {
    super(code, message);
    this.name = 'RingChangeRefused';
  }
}

export function planChange(ring: RingConfig, change: RingChange): RingConfig {
  const next = planUnversioned(ring, change);
  return { ...next, epoch: ring.epoch + 1 };
}

/** Where the node named by a change stands in the ring before it. */
interface NodePlace {
  serving: boolean;
  standby: boolean;
}

function planUnversioned(ring: RingConfig, change: RingChange): RingConfig {
  const place: NodePlace = {
    serving: ring.slots.some((a) => a.nodeId === change.nodeId),
    standby: ring.standbys.includes(change.nodeId),
  };
  if (change.action === 'member-add') return planMemberAdd(ring, change);
  const known =
    place.serving ||
    place.standby ||
    Object.hasOwn(ring.nodes, change.nodeId) ||
    (change.action === 'member-remove' &&
      [...(ring.parked ?? []), ...(ring.admitted ?? [])].includes(change.nodeId));
  if (!known)
    throw new RingChangeRefused(
      'UNKNOWN_NODE',
      `node ${change.nodeId} has never joined this cluster`,
    );
  switch (change.action) {
    case 'add':
      return planAdd(ring, change, place);
    case 'remove':
      return planRemove(ring, change, place);
    case 'promote':
      return planPromote(ring, change, place);
    case 'standby-add':
      return planStandbyAdd(ring, change, place);
    case 'standby-remove':
      return planStandbyRemove(ring, change, place);
    case 'member-remove':
      return planMemberRemove(ring, change, place);
  }
}

type ChangeOf<A extends RingChange['action']> = Extract<RingChange, { action: A }>;

function planAdd(ring: RingConfig, change: ChangeOf<'add'>, place: NodePlace): RingConfig {
  if (
    !Number.isInteger(change.weight) ||
    change.weight < SLOT_WEIGHT_MIN ||
    change.weight > SLOT_WEIGHT_MAX
  ) {
    throw new RingChangeRefused(
      'INVALID_WEIGHT',
      `weight must be an integer from ${SLOT_WEIGHT_MIN} to ${SLOT_WEIGHT_MAX}`,
    );
  }
  if (place.serving)
    throw new RingChangeRefused('NODE_BUSY', `node ${change.nodeId} already serves a slot`);
  const slot = freeSlotName(ring);
  return {
    ...ring,
    slots: [...ring.slots, { slot, nodeId: change.nodeId, weight: change.weight }],
    standbys: without(ring.standbys, change.nodeId),
    parked: without(ring.parked, change.nodeId),
  };
}

function planRemove(ring: RingConfig, change: ChangeOf<'remove'>, place: NodePlace): RingConfig {
  if (!place.serving)
    throw new RingChangeRefused('NOTHING_TO_DO', `node ${change.nodeId} serves no slot`);
  const remaining = ring.slots.filter((a) => a.nodeId !== change.nodeId);
  if (remaining.length === 0)
    throw new RingChangeRefused(
      'LAST_SLOT',
      `node ${change.nodeId} serves the last slot; add another node first`,
    );
  return { ...ring, slots: remaining, standbys: [...ring.standbys, change.nodeId] };
}

function planPromote(ring: RingConfig, change: ChangeOf<'promote'>, place: NodePlace): RingConfig {
  if (!place.serving)
    throw new RingChangeRefused(
      'NOTHING_TO_DO',
      `node ${change.nodeId} serves no slot to hand over`,
    );
  const standbyId = change.standbyId ?? ring.standbys[0];
  if (standbyId === undefined || !ring.standbys.includes(standbyId)) {
    throw new RingChangeRefused(
      'NO_STANDBY',
      standbyId === undefined ? 'no standby is free' : `${standbyId} is not a standby`,
    );
  }
  return {
    ...ring,
    slots: ring.slots.map((a) => (a.nodeId === change.nodeId ? { ...a, nodeId: standbyId } : a)),
    standbys: [...ring.standbys.filter((id) => id !== standbyId), change.nodeId],
  };
}

function planStandbyAdd(
  ring: RingConfig,
  change: ChangeOf<'standby-add'>,
  place: NodePlace,
): RingConfig {
  if (place.serving)
    throw new RingChangeRefused(
      'NODE_BUSY',
      `node ${change.nodeId} serves a slot; remove it first`,
    );
  if (place.standby)
    throw new RingChangeRefused('NOTHING_TO_DO', `node ${change.nodeId} is already a standby`);
  return {
    ...ring,
    standbys: [...ring.standbys, change.nodeId],
    parked: without(ring.parked, change.nodeId),
  };
}

function planStandbyRemove(
  ring: RingConfig,
  change: ChangeOf<'standby-remove'>,
  place: NodePlace,
): RingConfig {
  if (!place.standby)
    throw new RingChangeRefused('NOTHING_TO_DO', `node ${change.nodeId} is not a standby`);
  // Parked, so its next heartbeat does not register it as a standby again.
  return {
    ...ring,
    standbys: without(ring.standbys, change.nodeId),
    parked: [...without(ring.parked, change.nodeId), change.nodeId],
  };
}

function planMemberAdd(ring: RingConfig, change: ChangeOf<'member-add'>): RingConfig {
  const known = new Set([
    ...ring.slots.map((a) => a.nodeId),
    ...ring.standbys,
    ...(ring.parked ?? []),
    ...(ring.admitted ?? []),
    ...Object.keys(ring.nodes),
  ]);
  if (known.has(change.nodeId))
    throw new RingChangeRefused('NOTHING_TO_DO', `node ${change.nodeId} is already a member`);
  if (known.size >= RING_NODES_LIMIT)
    throw new ChatringError(
      'INVALID_CHANGE',
      `the cluster already has ${RING_NODES_LIMIT} members; remove one first`,
    );
  return { ...ring, admitted: [...(ring.admitted ?? []), change.nodeId] };
}

function planMemberRemove(
  ring: RingConfig,
  change: ChangeOf<'member-remove'>,
  place: NodePlace,
): RingConfig {
  if (place.serving)
    throw new RingChangeRefused(
      'NODE_BUSY',
      `node ${change.nodeId} serves a slot; remove it from the ring first`,
    );
  const nodes = { ...ring.nodes };
  delete nodes[change.nodeId];
  const { parked, admitted, ...rest } = ring;
  const stillParked = without(parked, change.nodeId);
  const stillAdmitted = without(admitted, change.nodeId);
  return {
    ...rest,
    standbys: without(ring.standbys, change.nodeId),
    ...(stillParked.length === 0 ? {} : { parked: stillParked }),
    ...(stillAdmitted.length === 0 ? {} : { admitted: stillAdmitted }),
    nodes,
  };
}

function without(ids: readonly string[] | undefined, nodeId: string): string[] {
  return (ids ?? []).filter((id) => id !== nodeId);
}

function freeSlotName(ring: RingConfig): string {
  const used = new Set(ring.slots.map((a) => a.slot));
  for (let index = 0; ; index += 1) if (!used.has(`slot-${index}`)) return `slot-${index}`;
}

export interface ChangePreview {
  epochBefore: number;
  epochAfter: number;
  slotsChanging: { slot: string; from: string | null; to: string | null }[];
  /** Share of a sample of user ids whose owner changes. */
  movedShare: number;
  /** For each (from → to) pair of nodes, the share of the sample that moves that way. */
  flows: { from: string; to: string; share: number }[];
  sampleSize: number;
}

/** Estimates what a change moves, by routing a deterministic sample of user ids through both rings. */
export function previewChange(
  before: RingConfig,
  after: RingConfig,
  sampleSize = 20_000,
): ChangePreview {
  const [oldView, newView] = [new RingView(before), new RingView(after)];
  const flows = new Map<string, number>();
  let moved = 0;
  for (let index = 0; index < sampleSize; index += 1) {
    const userId = `preview-user-${index}`;
    const from = oldView.ownerIdOf(userId);
    const to = newView.ownerIdOf(userId);
    if (from === to || from === undefined || to === undefined) continue;
    moved += 1;
    flows.set(`${from}\u0000${to}`, (flows.get(`${from}\u0000${to}`) ?? 0) + 1);
  }
  const slotNames = new Set([...before.slots, ...after.slots].map((a) => a.slot));
  const slotsChanging = [...slotNames]
    .map((slot) => ({
      slot,
      from: before.slots.find((a) => a.slot === slot)?.nodeId ?? null,
      to: after.slots.find((a) => a.slot === slot)?.nodeId ?? null,
    }))
    .filter((change) => change.from !== change.to);
  return {
    epochBefore: before.epoch,
    epochAfter: after.epoch,
    slotsChanging,
    movedShare: moved / sampleSize,
    flows: [...flows].map(([key, count]) => {
      const [from = '', to = ''] = key.split('\u0000');
      return { from, to, share: count / sampleSize };
    }),
    sampleSize,
  };
}
