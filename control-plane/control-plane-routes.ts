import type { FastifyInstance } from 'fastify';
import { ChatringError, parseNodeInfo } from '../protocol/index.js';
import { authenticatedMember } from '../transport/index.js';
import type { ControlPlane } from './control-plane.js';

export const CONTROL_PLANE_PATHS = Object.freeze({
  heartbeat: '/control/v1/heartbeat',
  ring: '/control/v1/ring',
  status: '/control/v1/status',
});

/**
 * Serves a control plane over HTTP (local mode: the router hosts it for nodes and ringctl). The
 * heartbeat body is checked by protocol's parseNodeInfo, the parser of every internal body, so a
 * malformed one is a 400 with a catalogue code.
 */
export function registerControlPlaneRoutes(app: FastifyInstance, controlPlane: ControlPlane): void {
  app.post(CONTROL_PLANE_PATHS.heartbeat, async (request) => {
    const node = parseNodeInfo(request.body);
    // The route is a member route (signed); a member renews its own lease and no one else's.
    const member = authenticatedMember(request);
    if (member !== node.nodeId)
      throw new ChatringError(
        'FORBIDDEN',
        `member ${member ?? '(none)'} may not heartbeat as ${node.nodeId}`,
      );
    return controlPlane.heartbeat(node);
  });
  app.get(CONTROL_PLANE_PATHS.ring, async () => controlPlane.currentRing());
  app.get(CONTROL_PLANE_PATHS.status, async () => controlPlane.status());
}
