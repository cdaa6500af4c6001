import type { FastifyInstance } from 'fastify';
import {
  ChatringError,
  SLOT_WEIGHT_MAX,
  SLOT_WEIGHT_MIN,
  USER_ID_PATTERN,
} from '../protocol/index.js';
import { RingChangeRefused, type RingChange } from '../ring/index.js';
import type { RingChangeOrchestrator } from './ring-change-orchestrator.js';

export const RING_CHANGE_PATHS = Object.freeze({
  preview: '/control/v1/changes/preview',
  apply: '/control/v1/changes',
});

interface ChangeBody {
  change?: unknown;
  expectedEpoch?: unknown;
}

/**
 * Operators' ring changes over HTTP (ringctl talks to these). `preview` answers JSON; `apply`
 * streams NDJSON: one progress event per line while the handoff runs, then `{result}` or `{error}`.
 */
export function registerRingChangeRoutes(
  app: FastifyInstance,
  orchestrator: RingChangeOrchestrator,
): void {
  app.post(RING_CHANGE_PATHS.preview, async (request, reply) => {
    try {
      return await orchestrator.preview(parseChange((request.body as ChangeBody).change));
    } catch (error) {
      return refusal(reply, error);
    }
  });

  app.post(RING_CHANGE_PATHS.apply, async (request, reply) => {
    const body = request.body as ChangeBody;
    let change: RingChange;
    let expectedEpoch: number | undefined;
    try {
      change = parseChange(body.change);
      expectedEpoch = parseEpoch(body.expectedEpoch);
    } catch (error) {
      return refusal(reply, error);
    }
    reply.raw.writeHead(200, { 'content-type': 'application/x-ndjson' });
    const write = (line: unknown) => reply.raw.write(`${JSON.stringify(line)}\n`);
    try {
      write({
        result: await orchestrator.apply(change, expectedEpoch, (event) =>
          write({ progress: event }),
        ),
      });
    } catch (error) {
      write(errorLine(error));
    }
    reply.raw.end();
    return reply;
  });
}

function refusal(reply: import('fastify').FastifyReply, error: unknown) {
  const line = errorLine(error);
  return reply.code(line.error.code === 'INVALID_CHANGE' ? 400 : 409).send(line);
}

function errorLine(error: unknown): { error: { code: string; message: string } } {
  if (error instanceof RingChangeRefused)
    return { error: { code: error.code, message: error.message } };
  if (error instanceof ChatringError && error.code === 'INVALID_FIELD')
    return { error: { code: 'INVALID_CHANGE', message: error.message } };
  return { error: { code: 'CHANGE_FAILED', message: (error as Error).message } };
}

const ACTIONS = ['add', 'remove', 'promote', 'standby-add', 'standby-remove'] as const;

export function parseChange(raw: unknown): RingChange {
  const { action, nodeId, weight, standbyId } = (raw ?? {}) as Record<string, unknown>;
  if (typeof action !== 'string' || !(ACTIONS as readonly string[]).includes(action)) {
    throw new ChatringError('INVALID_FIELD', `change.action must be one of ${ACTIONS.join(', ')}`);
  }
  if (typeof nodeId !== 'string' || !USER_ID_PATTERN.test(nodeId))
    throw new ChatringError('INVALID_FIELD', 'change.nodeId must be a node id');
  switch (action as RingChange['action']) {
    case 'add': {
      const w = weight ?? 1;
      if (
        !Number.isInteger(w) ||
        (w as number) < SLOT_WEIGHT_MIN ||
        (w as number) > SLOT_WEIGHT_MAX
      )
        throw new ChatringError(
          'INVALID_FIELD',
          `weight must be an integer from ${SLOT_WEIGHT_MIN} to ${SLOT_WEIGHT_MAX}`,
        );
      return { action: 'add', nodeId, weight: w as number };
    }
    case 'promote':
      if (
        standbyId !== undefined &&
        (typeof standbyId !== 'string' || !USER_ID_PATTERN.test(standbyId))
      )
        throw new ChatringError('INVALID_FIELD', 'change.standbyId must be a node id');
      return standbyId === undefined
        ? { action: 'promote', nodeId }
        : { action: 'promote', nodeId, standbyId: standbyId as string };
    default:
      return { action: action as 'remove' | 'standby-add' | 'standby-remove', nodeId };
  }
}

function parseEpoch(raw: unknown): number | undefined {
  if (raw === undefined) return undefined;
  if (!Number.isSafeInteger(raw) || (raw as number) < 0)
    throw new ChatringError('INVALID_FIELD', 'expectedEpoch must be a non-negative integer');
  return raw as number;
}
