import { ChatringError, ERROR_CATALOGUE } from './errors.js';
import { REQUEST_BODY_BYTES_LIMIT } from './limits.js';

/**
 * Maps any error thrown while serving a request to a catalogue error. Pure: it reads the `code`
 * status fastify puts on its own errors (body too large, bad JSON, wrong media type) without importing
 * fastify, so router and node answer framework errors with the same codes.
 */
export function toChatringError(error: unknown): ChatringError {
  if (error instanceof ChatringError) {
    // Codes between chatring's own parts never reach a caller as such: they mean a bug here.
    if (ERROR_CATALOGUE[error.code].audience !== 'internal') return error;
    return new ChatringError('INTERNAL', error.message, { cause: error });
  }
  const statusCode = (error as { statusCode?: unknown } | null)?.statusCode;
  const message = error instanceof Error ? error.message : String(error);
  switch (statusCode) {
    case 413:
      return new ChatringError(
        'BODY_TOO_LARGE',
        `the body exceeds ${REQUEST_BODY_BYTES_LIMIT} bytes`,
      );
    case 415:
      return new ChatringError('UNSUPPORTED_MEDIA_TYPE', 'send the body as application/json');
    case 400:
      return new ChatringError('INVALID_BODY', `the body is not valid JSON: ${message}`);
    default:
      return new ChatringError('INTERNAL', message, { cause: error });
  }
}
