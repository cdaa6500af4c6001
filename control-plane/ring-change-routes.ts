import type { FastifyInstance } from 'fastify';
import {
  ChatringError,
  ERROR_CATALOGUE,
  SLOT_WEIGHT_MAX,
  SLOT_WEIGHT_MIN,
  USER_ID_PATTERN,
} from '../protocol/index.js';
import type { RingChange } from '../ring/index.js';
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
 * A refusal is answered with its catalogue status and body (before the stream starts) or as the
 * last line (after); see changeFailure for which codes operators get.
 */
export function registerRingChangeRoutes(
  app: FastifyInstance,
  orchestrator: RingChangeOrchestrator,
): void {
  app.post(RING_CHANGE_PATHS.preview, async (request, reply) => {
    try {
      return await orchestrator.preview(parseChange(changeBody(request.body).change));
    } catch (error) {
      const failure = changeFailure(error);
      return reply.code(failure.status).send(failure.toBody());
    }
  });

  app.post(RING_CHANGE_PATHS.apply, async (request, reply) => {
    let change: RingChange;
    let expectedEpoch: number | undefined;
    try {
      const body = changeBody(request.body);
      change = parseChange(body.change);
      expectedEpoch = parseEpoch(body.expectedEpoch);
    } catch (error) {
      const failure = changeFailure(error);
      return reply.code(failure.status).send(failure.toBody());
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
      write(changeFailure(error).toBody());
    }
    reply.raw.end();
    return reply;
  });
}

/**
 * What an operator is told when a change does not happen: an operator's code (a refusal of the
 * ring, INVALID_CHANGE, CHANGE_FAILED) as it is; anything else (the control plane unreachable, a
 * node's error, a bug) as CHANGE_FAILED, keeping the original code in the message.
 */
export function changeFailure(error: unknown): ChatringError {
  if (error instanceof ChatringError && ERROR_CATALOGUE[error.code].audience === 'operator')
    return error;
  const detail =
    error instanceof ChatringError ? `${error.code}: ${error.message}` : (error as Error).message;
  return new ChatringError('CHANGE_FAILED', detail, { cause: error });
}

function changeBody(body: unknown): ChangeBody {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new ChatringError('INVALID_CHANGE', 'the body must be a JSON object with a change');
  return body as ChangeBody;
}

const ACTIONS = [
  'add',
  'remove',
  'promote',
  'standby-add',
  'standby-remove',
  'member-add',
  'member-remove',
] as const;

/** An operator's change from JSON; anything malformed is INVALID_CHANGE (INVALID_WEIGHT for the
 * weight) naming the field. */
export function parseChange(raw: unknown): RingChange {
  const { action, nodeId, weight, standbyId } = (raw ?? {}) as Record<string, unknown>;
  if (typeof action !== 'string' || !(ACTIONS as readonly string[]).includes(action)) {
    throw new ChatringError('INVALID_CHANGE', `change.action must be one of ${ACTIONS.join(', ')}`);
  }
  if (typeof nodeId !== 'string' || !USER_ID_PATTERN.test(nodeId))
    throw new ChatringError('INVALID_CHANGE', 'change.nodeId must be a node id');
  switch (action as RingChange['action']) {
    case 'add': {
      const w = weight ?? 1;
      if (
        !Number.isInteger(w) ||
        (w as number) < SLOT_WEIGHT_MIN ||
        (w as number) > SLOT_WEIGHT_MAX
      )
        throw new ChatringError(
          'INVALID_WEIGHT',
          `weight must be an integer from ${SLOT_WEIGHT_MIN} to ${SLOT_WEIGHT_MAX}`,
        );
      return { action: 'add', nodeId, weight: w as number };
    }
    case 'promote':
      if (
        standbyId !== undefined &&
        (typeof standbyId !== 'string' || !USER_ID_PATTERN.test(standbyId))
      )
        throw new ChatringError('INVALID_CHANGE', 'change.standbyId must be a node id');
      return standbyId === undefined
        ? { action: 'promote', nodeId }
        : { action: 'promote', nodeId, standbyId: standbyId as string };
    default:
      return {
        action: action as Exclude<RingChange['action'], 'add' | 'promote'>,
        nodeId,
      };
  }
}

function parseEpoch(raw: unknown): number | undefined {
  if (raw === undefined) return undefined;
  if (!Number.isSafeInteger(raw) || (raw as number) < 0)
    throw new ChatringError('INVALID_CHANGE', 'expectedEpoch must be a non-negative integer');
  return raw as number;
}
