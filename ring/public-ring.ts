import {
  ChatringError,
  parseRingConfig,
  type PublicRing,
  type RingConfig,
} from '../protocol/index.js';
import type { RingView } from './ring-view.js';

/**
 * The ring as apps see it (`GET /v1/ring`): what routes a user (epoch, virtual nodes per weight,
 * slots) and where each serving node listens. Standbys, admissions and process ids stay inside.
 */
export function publicRingOf(ring: RingView | undefined): PublicRing {
  if (ring === undefined) throw new ChatringError('OWNER_UNAVAILABLE', 'no ring is known yet');
  const { epoch, virtualNodesPerWeight, slots } = ring.config;
  const nodes = Object.create(null) as Record<string, { url: string }>;
  for (const { nodeId } of slots)
    nodes[nodeId] = {
      url: Object.hasOwn(ring.config.nodes, nodeId) ? (ring.config.nodes[nodeId]?.url ?? '') : '',
    };
  return {
    epoch,
    virtualNodesPerWeight,
    slots: slots.map(({ slot, nodeId, weight }) => ({ slot, nodeId, weight })),
    nodes,
  };
}

/**
 * A router's `GET /v1/ring` answer, checked as strictly as a ring a member pushes
 * (parseRingConfig: epoch, slot names, weights, node URLs), back into the RingConfig a RingView
 * routes by. Throws INVALID_BODY / INVALID_FIELD for anything else.
 */
export function ringConfigFromPublic(body: unknown): RingConfig {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new ChatringError('INVALID_BODY', 'the ring must be a JSON object');
  const { nodes } = body as { nodes?: unknown };
  if (typeof nodes !== 'object' || nodes === null || Array.isArray(nodes))
    throw new ChatringError('INVALID_FIELD', 'nodes must be an object of node id → { url }');
  // parseRingConfig checks each entry's url (and that it is keyed by its own id).
  const withIds: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  for (const [nodeId, node] of Object.entries(nodes as Record<string, unknown>))
    withIds[nodeId] = { nodeId, url: (node as { url?: unknown } | null)?.url };
  return parseRingConfig({ ...body, standbys: [], nodes: withIds });
}
