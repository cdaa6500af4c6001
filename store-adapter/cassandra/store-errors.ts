import cassandra from 'cassandra-driver';
import { ChatringError } from '../../protocol/index.js';

const { responseErrorCodes } = cassandra.types;

/** Server answers that mean "the cluster could not do it now", never "the request is wrong". */
const UNAVAILABLE_RESPONSE_CODES = new Set<number>([
  responseErrorCodes.serverError,
  responseErrorCodes.unavailableException,
  responseErrorCodes.overloaded,
  responseErrorCodes.isBootstrapping,
  responseErrorCodes.truncateError,
  responseErrorCodes.writeTimeout,
  responseErrorCodes.readTimeout,
  responseErrorCodes.readFailure,
  responseErrorCodes.writeFailure,
  responseErrorCodes.clientWriteFailure,
]);

/**
 * Maps a failure to what the cache node acts on: availability problems become STORE_UNAVAILABLE
 * (503, retryable, and the outcome of a commit is unknown until re-sent); chatring errors
 * (StoreVersionConflictError among them) pass through; anything else (a bad query, bad
 * credentials, a failed assertion) is a bug or a misconfiguration and passes through unchanged so
 * it is not retried forever.
 */
export function toStoreError(operation: string, error: unknown): unknown {
  if (error instanceof ChatringError) return error;
  if (!isUnavailable(error)) return error;
  const reason = error instanceof Error ? error.message : String(error);
  return new ChatringError('STORE_UNAVAILABLE', `cassandra ${operation} failed: ${reason}`, {
    cause: error,
  });
}

function isUnavailable(error: unknown): boolean {
  const { errors } = cassandra;
  if (error instanceof errors.NoHostAvailableError) return true;
  if (error instanceof errors.OperationTimedOutError) return true;
  if (error instanceof errors.BusyConnectionError) return true;
  if (error instanceof errors.ResponseError) return UNAVAILABLE_RESPONSE_CODES.has(error.code);
  return (
    typeof error === 'object' &&
    error !== null &&
    (error as { isSocketError?: unknown }).isSocketError === true
  );
}
