import { ChatringError, type Message } from '../protocol/index.js';

/**
 * Failpoints: named places where a test can make a real process fail on purpose, to reach states
 * that otherwise need unlucky timing (the idea of fail-rs / FreeBSD's fail points). Off unless the
 * environment names them; each fires once.
 *
 * CHATRING_FAILPOINT_COORDINATOR_COMMIT=<clientMessageId>: the coordinator's own commit of that
 * message fails once after the other copy was written, leaving a half-sent message that the
 * client's retry completes (a late delivery in the coordinator's mailbox).
 */
export class Failpoints {
  readonly #failCoordinatorCommitFor = new Set<string>();

  constructor(coordinatorCommitClientIds: string[] = []) {
    for (const id of coordinatorCommitClientIds) this.#failCoordinatorCommitFor.add(id);
  }

  beforeCoordinatorCommit(message: Message): void {
    if (this.#failCoordinatorCommitFor.delete(message.clientMessageId)) {
      throw new ChatringError(
        'STORE_UNAVAILABLE',
        `failpoint: coordinator commit of ${message.clientMessageId} failed`,
      );
    }
  }
}

export function failpointsFromEnvironment(env: NodeJS.ProcessEnv): Failpoints | undefined {
  const ids = env.CHATRING_FAILPOINT_COORDINATOR_COMMIT?.split(',').filter(Boolean) ?? [];
  return ids.length === 0 ? undefined : new Failpoints(ids);
}
