import cassandra from 'cassandra-driver';

/**
 * At most one retry per request, and only where a repeat cannot apply anything twice: reads,
 * requests the coordinator refused before running (Unavailable), and statements marked
 * idempotent. Every data write is an upsert with a fixed write timestamp, so it is idempotent; the
 * mailbox LWTs are not marked idempotent, so a timed-out LWT is never blindly re-proposed: the
 * caller gets STORE_UNAVAILABLE and re-sends the same commit, which the store recognises by its id.
 * (The driver itself never consults the policy on a write timeout or request error of a statement
 * that is not idempotent.)
 */
export class BoundedRetryPolicy extends cassandra.policies.retry.RetryPolicy {
  override onUnavailable(
    info: cassandra.policies.retry.OperationInfo,
    consistency: cassandra.types.consistencies,
  ) {
    // The coordinator may have a stale view of which replicas are up; ask another one, once.
    return info.nbRetry === 0 ? this.retryResult(consistency, false) : this.rethrowResult();
  }

  override onReadTimeout(
    info: cassandra.policies.retry.OperationInfo,
    consistency: cassandra.types.consistencies,
    received: number,
    blockFor: number,
    isDataPresent: boolean,
  ) {
    // Enough replicas answered but the one holding the data was slow: a retry usually succeeds.
    return info.nbRetry === 0 && received >= blockFor && !isDataPresent
      ? this.retryResult(consistency)
      : this.rethrowResult();
  }

  override onWriteTimeout(
    info: cassandra.policies.retry.OperationInfo,
    consistency: cassandra.types.consistencies,
  ) {
    return info.nbRetry === 0 && info.executionOptions.isIdempotent()
      ? this.retryResult(consistency)
      : this.rethrowResult();
  }

  override onRequestError(
    info: cassandra.policies.retry.OperationInfo,
    consistency: cassandra.types.consistencies,
  ) {
    return info.nbRetry === 0 && info.executionOptions.isIdempotent()
      ? this.retryResult(consistency, false)
      : this.rethrowResult();
  }
}
