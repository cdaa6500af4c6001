import type { ServerResponse } from 'node:http';
import type {
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  HookHandlerDoneFunction,
  RouteOptions,
} from 'fastify';
import { RING_CHANGE_PATHS } from '../../control-plane/index.js';
import type { Clock } from '../../protocol/index.js';

/** An operator's ring change this router runs (or ran), as the ring page shows it. */
export interface WatchedChange {
  /** `add`, `remove`, `promote`, `standby-add`, … as the operator asked. */
  action: string;
  nodeId: string;
  startedAtMs: number;
  /** waiting: queued behind another change of this router; then the orchestrator's phases. */
  phase: 'waiting' | 'planned' | 'releasing' | 'published' | 'done' | 'failed';
  /** Share of users that move (the change's preview), once planned. */
  movedShare: number | undefined;
  /** Nodes that released their moving users, of those that must. */
  released: { done: number; total: number } | undefined;
  /** The epoch it published. */
  epoch: number | undefined;
  endedAtMs: number | undefined;
  /** Why it did not happen (a catalogue code and message), when it failed. */
  failure: string | undefined;
}

/** Changes watched at once, and finished ones remembered: the watch's memory is bounded. */
const WATCHED_CHANGES_MAX = 16;
const FINISHED_CHANGES_KEPT = 4;
/** Text taken from a request body for display. */
const NAME_CHARS_MAX = 64;
const FAILURE_CHARS_MAX = 300;

/**
 * Watches the ring changes operators run through this router (`POST /control/v1/changes`, which
 * streams the orchestrator's progress as NDJSON) by hooks on that one route, so the ring page can
 * show a change in progress and how far it got. Nothing else pays for it: the hooks are the
 * route's own, added when the route is registered. Changes run by another router (Redis) are not
 * seen here; the page still sees their effect on the ring and the nodes' epochs.
 */
export class RingChangeWatch {
  readonly #clock: Clock;
  readonly #running = new Map<FastifyRequest, WatchedChange>();
  readonly #finished: WatchedChange[] = [];

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** Adds the hooks to the change route; call before that route is registered. */
  install(app: FastifyInstance): void {
    app.addHook('onRoute', (route) => {
      const methods = Array.isArray(route.method) ? route.method : [route.method];
      if (route.url !== RING_CHANGE_PATHS.apply || !methods.includes('POST')) return;
      route.preHandler = [
        ...hooksOf(route.preHandler),
        (request, reply, done) => {
          this.#begin(request, reply);
          done();
        },
      ];
      route.onResponse = [
        ...hooksOf(route.onResponse),
        (request, reply, done) => {
          this.#end(request, reply.statusCode);
          done();
        },
      ];
    });
  }

  /** Changes under way, oldest first. */
  running(): WatchedChange[] {
    return [...this.#running.values()].map((change) => ({ ...change }));
  }

  /** The last few changes that ended, newest first. */
  finished(): WatchedChange[] {
    return this.#finished.map((change) => ({ ...change }));
  }

  #begin(request: FastifyRequest, reply: FastifyReply): void {
    if (this.#running.size >= WATCHED_CHANGES_MAX) return;
    const change = objectOf(objectOf(request.body).change);
    const watched: WatchedChange = {
      action: nameOf(change.action),
      nodeId: nameOf(change.nodeId),
      startedAtMs: this.#clock.wallNow(),
      phase: 'waiting',
      movedShare: undefined,
      released: undefined,
      epoch: undefined,
      endedAtMs: undefined,
      failure: undefined,
    };
    this.#running.set(request, watched);
    observeLines(reply.raw, (line) => this.#progress(request, watched, line));
  }

  /** One NDJSON line of the change route: `{progress}`, then `{result}` or `{error}`. */
  #progress(request: FastifyRequest, watched: WatchedChange, line: unknown): void {
    const { progress, result, error } = objectOf(line);
    if (progress !== undefined) {
      const event = objectOf(progress);
      if (event.phase === 'planned') {
        watched.phase = 'planned';
        watched.movedShare = numberOf(objectOf(event.preview).movedShare);
      } else if (event.phase === 'released') {
        watched.phase = 'releasing';
        watched.released = { done: numberOf(event.done) ?? 0, total: numberOf(event.total) ?? 0 };
      } else if (event.phase === 'published') {
        watched.phase = 'published';
        watched.epoch = numberOf(event.epoch);
      }
    } else if (result !== undefined) {
      watched.epoch = numberOf(objectOf(result).epoch) ?? watched.epoch;
      this.#finish(request, watched, undefined);
    } else if (error !== undefined) {
      const { code, message } = objectOf(error);
      const detail = typeof message === 'string' && message !== '' ? `: ${message}` : '';
      this.#finish(request, watched, `${nameOf(code)}${detail}`.slice(0, FAILURE_CHARS_MAX));
    }
  }

  #end(request: FastifyRequest, statusCode: number): void {
    const watched = this.#running.get(request);
    if (watched === undefined) return;
    // Only when no line said how it ended: a refusal without a catalogue body, or a cut stream.
    const failure =
      statusCode >= 400 ? `refused (HTTP ${statusCode})` : 'the operator disconnected';
    this.#finish(request, watched, watched.phase === 'published' ? undefined : failure);
  }

  #finish(request: FastifyRequest, watched: WatchedChange, failure: string | undefined): void {
    if (!this.#running.delete(request)) return;
    watched.phase = failure === undefined ? 'done' : 'failed';
    watched.failure = failure;
    watched.endedAtMs = this.#clock.wallNow();
    this.#finished.unshift(watched);
    this.#finished.length = Math.min(this.#finished.length, FINISHED_CHANGES_KEPT);
  }
}

/**
 * Calls `onLine` with each JSON line written to the response: the change route writes one line
 * per `write` and ends the stream empty; a refusal before the stream is one JSON body given to
 * `end`. What is written is not changed.
 */
function observeLines(raw: ServerResponse, onLine: (line: unknown) => void): void {
  const observe = (chunk: unknown) => {
    const text = typeof chunk === 'string' ? chunk : Buffer.isBuffer(chunk) ? String(chunk) : '';
    for (const line of text.split('\n')) {
      if (line.trim() === '') continue;
      try {
        onLine(JSON.parse(line) as unknown);
      } catch {
        // Not a whole JSON line: nothing to show, and the operator's stream is not ours to judge.
      }
    }
  };
  const write = raw.write as (...args: unknown[]) => boolean;
  raw.write = ((...args: unknown[]) => {
    observe(args[0]);
    return write.apply(raw, args);
  }) as ServerResponse['write'];
  const end = raw.end as (...args: unknown[]) => ServerResponse;
  raw.end = ((...args: unknown[]) => {
    if (typeof args[0] !== 'function') observe(args[0]);
    return end.apply(raw, args);
  }) as ServerResponse['end'];
}

type RouteHook = (
  request: FastifyRequest,
  reply: FastifyReply,
  done: HookHandlerDoneFunction,
) => void;

function hooksOf(hooks: RouteOptions['preHandler'] | RouteOptions['onResponse']): RouteHook[] {
  if (hooks === undefined) return [];
  return (Array.isArray(hooks) ? hooks : [hooks]) as RouteHook[];
}

function objectOf(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
}

function nameOf(value: unknown): string {
  return typeof value === 'string' ? value.slice(0, NAME_CHARS_MAX) : '?';
}

function numberOf(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}
