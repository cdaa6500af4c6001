import { ChatringError } from '../protocol/index.js';

/**
 * The one way the command lines print a failure: `PROGRAM: CODE: message`, the code from the error
 * catalogue whichever path the error came back by (a router's answer body, Redis, a flag check).
 * Anything that is not a ChatringError is a bug or an outage nobody classified: INTERNAL. A cause
 * is added only when the message does not already say it.
 */
export function failureLine(program: string, error: unknown): string {
  if (!(error instanceof ChatringError))
    return `${program}: INTERNAL: ${error instanceof Error ? error.message : String(error)}`;
  const cause =
    error.cause instanceof Error && !error.message.includes(error.cause.message)
      ? ` (${error.cause.message})`
      : '';
  return `${program}: ${error.code}: ${error.message}${cause}`;
}
