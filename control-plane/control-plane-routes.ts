import type { FastifyInstance } from 'fastify';
import { ChatringError, USER_ID_PATTERN, type NodeInfo } from '../protocol/index.js';
import type { ControlPlane } from './control-plane.js';

export const CONTROL_PLANE_PATHS = Object.freeze({
  heartbeat: '/control/v1/heartbeat',
  ring: '/control/v1/ring',
  status: '/control/v1/status',
});

/** Serves a control plane over HTTP (local mode: the router hosts it for nodes and ringctl). */
export function registerControlPlaneRoutes(app: FastifyInstance, controlPlane: ControlPlane): void {
  app.post(CONTROL_PLANE_PATHS.heartbeat, async (request) =>
    controlPlane.heartbeat(parseNodeInfo(request.body)),
  );
  app.get(CONTROL_PLANE_PATHS.ring, async () => controlPlane.currentRing());
  app.get(CONTROL_PLANE_PATHS.status, async () => controlPlane.status());
}

function parseNodeInfo(body: unknown): NodeInfo {
  const { nodeId, url, pid } = (body ?? {}) as Partial<NodeInfo>;
  if (typeof nodeId !== 'string' || !USER_ID_PATTERN.test(nodeId))
    throw new ChatringError('INVALID_FIELD', 'nodeId must be 1-64 characters of [A-Za-z0-9_-]');
  if (typeof url !== 'string' || !URL.canParse(url))
    throw new ChatringError('INVALID_FIELD', 'url must be an absolute URL');
  if (pid !== undefined && !Number.isSafeInteger(pid))
    throw new ChatringError('INVALID_FIELD', 'pid must be an integer');
  return pid === undefined ? { nodeId, url } : { nodeId, url, pid };
}
