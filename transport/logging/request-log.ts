import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';

/**
 * One line per answered request, at a level that keeps the default (info) cheap and useful: writes
 * (POST: a send, a mark-read, a ring change, a delivery between nodes) and every refusal or failure
 * are logged at info or above (5xx at error), so one send can be followed by its request id from the router to
 * both owners; plain reads that succeed are debug (a warm read costs tens of microseconds, a log
 * line several). Answered heartbeats and health checks are trace: they are the steady background.
 */
export function logAnswered(request: FastifyRequest, reply: FastifyReply): void {
  const status = reply.statusCode;
  const route = request.routeOptions.url ?? 'unmatched';
  const level = levelOf(request.method, route, status);
  // Checked first: building the line's fields is most of a skipped line's cost.
  if (!(request.log as Logger).isLevelEnabled(level)) return;
  request.log[level](
    {
      method: request.method,
      route,
      status,
      ms: Math.round(reply.elapsedTime * 100) / 100,
    },
    'answered',
  );
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
