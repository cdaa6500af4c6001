import type { Logger } from 'pino';

/**
 * One line per answered request, at a level that keeps the default (info) cheap and useful: writes
 * (POST: a send, a mark-read, a ring change, a delivery between nodes) and every refusal or failure
 * are logged at info or above (5xx at error), so one send can be followed by its request id from
 * the router to both owners; plain reads that succeed are debug (a warm read costs tens of
 * microseconds, a log line several). Answered heartbeats and health checks are trace: they are the
 * steady background. The line is written on the process's logger with the request id as a field
 * (no child logger per request). A 5xx answer's line carries the error behind it (`err`: its
 * type, message and stack; catalogue errors their code).
 */
export function logAnswered(
  logger: Logger,
  request: AnsweredRequest,
  route: string,
  status: number,
  elapsedMs: number,
  failure?: unknown,
): void {
  const level = levelOf(request.method, route, status);
  // Checked first: building the line's fields is most of a skipped line's cost.
  if (!logger.isLevelEnabled(level)) return;
  logger[level](
    {
      requestId: request.id,
      method: request.method,
      route,
      status,
      ms: Math.round(elapsedMs * 100) / 100,
      ...(failure === undefined ? {} : { err: failure }),
    },
    'answered',
  );
}

/** What a line says of the request (a fastify request, or one that came over a member link). */
export interface AnsweredRequest {
  readonly id: string;
  readonly method: string;
}

/** What an answer is worth logging at (see logAnswered). */
export function levelOf(
  method: string,
  route: string,
  status: number,
): 'error' | 'info' | 'debug' | 'trace' {
  if (status >= 500) return 'error';
  if (status >= 400) return 'info';
  if (route === '/healthz' || route.endsWith('/heartbeat')) return 'trace';
  return method === 'POST' ? 'info' : 'debug';
}
