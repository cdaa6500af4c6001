import { randomBytes } from 'node:crypto';
import { pino, type DestinationStream, type Logger } from 'pino';
import { ChatringError, type OptionRule } from '../../protocol/index.js';

/**
 * Every chatring process logs JSON lines with pino (the logger fastify uses, kept out of fastify's
 * hands for speed: transport/http-telemetry.ts writes the request lines): one object per line,
 * `level` as a name, `time` in epoch ms, `component` (router, node) and `member` (its id) on every
 * line, so lines from many processes can be shipped and grepped together. What is logged never
 * holds message content or credentials: lifecycle events carry ids, epochs, counts and errors; a
 * request line carries its route, status, time and request id (the URL's user ids are the
 * operator's to see, as in any access log; bodies never are).
 */
export type { Logger } from 'pino';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const LOG_LEVEL_DEFAULT: LogLevel = 'info';
/** The option rule of a `logLevel` (routers, nodes). */
export const LOG_LEVEL_RULE: OptionRule = Object.freeze({
  kind: 'string',
  pattern: new RegExp(`^(?:${LOG_LEVELS.join('|')})$`),
  describe: `one of ${LOG_LEVELS.join(', ')}`,
});

/** The header a request id travels in: the router makes one, nodes and peers carry it on. */
export const REQUEST_ID_HEADER = 'x-request-id';
/** A request id taken from a caller is used only if it is this short and plain. */
const REQUEST_ID_PATTERN = /^[\w.:-]{1,64}$/;

export interface LoggerOptions {
  component: string;
  member: string;
  level: LogLevel;
  /** Where lines go: stdout (buffered, see `stdoutDestination`) unless given (tests). */
  destination?: DestinationStream;
}

/**
 * Log bytes gathered before one write to stdout. Every write a node or router answers is a log
 * line (request-log.ts), and written one by one they cost a syscall each: profiled under sends,
 * ~12 % of the router's busy time and ~5 % of a node's went to writing log lines to the pipe.
 */
export const LOG_BUFFER_BYTES = 4096;
/** The longest a line waits in that buffer when traffic is light. */
export const LOG_FLUSH_INTERVAL_MS = 250;

/**
 * stdout, asynchronously and buffered: a write carries `LOG_BUFFER_BYTES` of lines under load, and
 * a timer writes what waits every `LOG_FLUSH_INTERVAL_MS` otherwise. Pino writes what is buffered
 * when the process exits (a stop, an uncaught error); a process killed outright (kill -9, the OOM
 * killer) loses at most the lines of its last interval.
 */
function stdoutDestination(): DestinationStream {
  const destination = pino.destination({ sync: false, minLength: LOG_BUFFER_BYTES });
  setInterval(() => {
    try {
      destination.flush();
    } catch {
      // Closed at exit: its last lines were written then.
    }
  }, LOG_FLUSH_INTERVAL_MS).unref();
  return destination;
}

export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      level: options.level,
      base: { component: options.component, member: options.member },
      formatters: { level: (label) => ({ level: label }) },
      // Belt and braces: fields that could carry a secret or a message are never printed.
      redact: {
        paths: ['authorization', 'headers.authorization', 'content', 'body', 'token', 'secret'],
        censor: '[redacted]',
      },
    },
    options.destination ?? stdoutDestination(),
  );
}

/** A level from a flag or the environment; anything else is INVALID_OPTION. */
export function logLevelOption(component: string, text: string | undefined): LogLevel {
  if (text === undefined || text === '') return LOG_LEVEL_DEFAULT;
  if ((LOG_LEVELS as readonly string[]).includes(text)) return text as LogLevel;
  throw new ChatringError(
    'INVALID_OPTION',
    `${component}: option "logLevel" must be one of ${LOG_LEVELS.join(', ')}, got "${text}"`,
  );
}

/**
 * Request ids: the caller's `x-request-id` when it is short and plain (a router's, forwarded to the
 * node; an app's own), else a new one, unique across processes without coordination: a random
 * prefix per process and a counter (cheaper than a UUID per request).
 */
export function requestIdSource(): (incoming: string | string[] | undefined) => string {
  const prefix = randomBytes(6).toString('base64url');
  let counter = 0;
  return (incoming) => {
    if (typeof incoming === 'string' && REQUEST_ID_PATTERN.test(incoming)) return incoming;
    counter += 1;
    return `${prefix}-${counter.toString(36)}`;
  };
}
