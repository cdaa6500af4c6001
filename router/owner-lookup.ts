import { ChatringError, assertUserId } from '../protocol/index.js';
import type { RingView } from '../ring/index.js';

/** Who serves a user now: the answer of the router's admin route and of `ringctl owner`. */
export interface OwnerAnswer {
  userId: string;
  slot: string | undefined;
  nodeId: string;
  url: string;
  epoch: number;
}

/** The router's admin routes (ringctl reaches them through `adminOwnerPath`). */
export const ROUTER_ADMIN_PATHS = Object.freeze({
  owner: '/admin/v1/owner/:userId',
});

export function adminOwnerPath(userId: string): string {
  return ROUTER_ADMIN_PATHS.owner.replace(':userId', encodeURIComponent(userId));
}

/**
 * Looks a user's owner up in a ring: the one lookup behind the admin route (a router's ring) and
 * `ringctl --redis owner` (the ring read from Redis). Throws INVALID_USER_ID for a bad id and
 * OWNER_UNAVAILABLE when no ring is known yet or no node serves the user's slot.
 */
export function ownerAnswerOf(ring: RingView | undefined, userId: string): OwnerAnswer {
  assertUserId(userId);
  const owner = ring?.ownerOf(userId);
  if (ring === undefined || owner === undefined)
    throw new ChatringError('OWNER_UNAVAILABLE', `no node serves ${userId}`);
  return {
    userId,
    slot: ring.slotOf(userId),
    nodeId: owner.nodeId,
    url: owner.url,
    epoch: ring.epoch,
  };
}
