/**
 * Store reads that one request fans out (a conversation's messages per changed conversation, for
 * the change feed's replay and for loading a mailbox's idempotency keys) go at most this many at
 * once: a user with hundreds of conversations must not put hundreds of reads in flight on a node,
 * and on Cassandra, for one request.
 */
export const STORE_READS_IN_FLIGHT = 16;

/**
 * `read` of every item, at most `limit` under way at any moment (a pool: the next starts as soon
 * as one ends), the answers in the items' order. The first failure fails the whole, and no read
 * starts after it (those under way finish unobserved).
 */
export async function readBounded<T, R>(
  items: readonly T[],
  read: (item: T) => Promise<R>,
  limit = STORE_READS_IN_FLIGHT,
): Promise<R[]> {
  const answers = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const index = next;
      next += 1;
      try {
        answers[index] = await read(items[index] as T);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return answers;
}
