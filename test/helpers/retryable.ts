/** Whether an answer's error code is one the catalogue tells clients to retry (protocol/errors.ts). */
import { ERROR_CATALOGUE, isErrorCode } from '../../protocol/index.js';

export function isRetryableCode(code: string | undefined): boolean {
  return isErrorCode(code) && ERROR_CATALOGUE[code].retryable;
}
