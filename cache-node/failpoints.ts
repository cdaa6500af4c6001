import { writeSync } from 'node:fs';
import {
  ChatringError,
  orderedPair,
  type DeliverResponse,
  type Message,
} from '../protocol/index.js';
import type { MailboxCommit, StoreHooks, StoreOptions } from '../store-adapter/index.js';

/**
 * Failpoints: named places where a test can make a real process fail on purpose, to reach states
 * that otherwise need unlucky timing (the idea of fail-rs / FreeBSD's fail points). Off unless the
 * environment names them; each variable holds comma-separated clientMessageIds, and each armed id
 * fires once per process.
 *
 * A send writes two copies: first the *delivered copy* (the higher user id's, by its owner), then
 * the *coordinator copy* (the lower id's, by the coordinator). The failpoints sit between them:
 *
 * - CHATRING_FAILPOINT_COORDINATOR_COMMIT: the coordinator's own commit of that message fails once
 *   (STORE_UNAVAILABLE) after the other copy was written, leaving a half-sent message that the
 *   client's retry (or the repair queue) completes: a late delivery in the coordinator's mailbox.
 * - CHATRING_FAILPOINT_KILL_BEFORE_COORDINATOR_COMMIT: the coordinator SIGKILLs itself after the
 *   delivered copy was written and before its own commit (between the two copies' commits).
 * - CHATRING_FAILPOINT_KILL_AFTER_DELIVERED_COPY_INTENT: the delivered copy's owner SIGKILLs itself
 *   once that copy's commit intent is durable and before its rows are written.
 * - CHATRING_FAILPOINT_KILL_AFTER_COORDINATOR_COPY_INTENT: the same, at the coordinator copy.
 * - CHATRING_FAILPOINT_DELIVERED_ANSWER_LOST: the delivered copy's owner commits that copy, then
 *   fails the delivery (500 INTERNAL, which nobody retries) as if its answer were lost on the way:
 *   the coordinator cannot know the copy exists.
 *
 * The two intent failpoints exist only on the Cassandra store (its commit is an intent, then the
 * rows: store-adapter/cassandra/commit-protocol.ts); the embedded store commits in one SQLite
 * transaction, with no step between, so a node on it refuses to start with them armed
 * (`storeHooks`) rather than run a test that silently kills nothing.
 *
 * A killed member comes back (restarted, or a standby takes its slot) with the same environment,
 * so each kill must not fire again on the client's retry, or the retry would kill every new owner
 * in turn. None can: the coordinator kill fires only when this very send wrote the delivered copy
 * (a retry finds that copy: its delivery answers `duplicate`), and the intent kills fire only in a
 * commit of the message, which a retry never makes again (the new owner rolls the intent forward
 * and finds the message). A retry that did commit it again would be the bug the test looks for.
 */
export class Failpoints {
  readonly #failCoordinatorCommit: Set<string>;
  readonly #killBeforeCoordinatorCommit: Set<string>;
  readonly #killAfterDeliveredCopyIntent: Set<string>;
  readonly #killAfterCoordinatorCopyIntent: Set<string>;
  readonly #deliveredAnswerLost: Set<string>;
  readonly #kill: (reason: string) => void;

  /** `kill`: ends the process (injected by unit tests, which must survive it). */
  constructor(armed: ArmedFailpoints, kill: (reason: string) => void = killThisProcess) {
    this.#failCoordinatorCommit = new Set(armed.failCoordinatorCommit);
    this.#killBeforeCoordinatorCommit = new Set(armed.killBeforeCoordinatorCommit);
    this.#killAfterDeliveredCopyIntent = new Set(armed.killAfterDeliveredCopyIntent);
    this.#killAfterCoordinatorCopyIntent = new Set(armed.killAfterCoordinatorCopyIntent);
    this.#deliveredAnswerLost = new Set(armed.deliveredAnswerLost);
    this.#kill = kill;
  }

  /** The delivered copy was just committed by its owner, which is about to answer. */
  afterDeliveredCommit(message: Message): void {
    if (this.#deliveredAnswerLost.delete(message.clientMessageId))
      throw new ChatringError(
        'INTERNAL',
        `failpoint: the answer to the delivery of ${message.clientMessageId} is lost (the copy was committed)`,
      );
  }

  /** The coordinator has the delivered copy's answer and is about to commit its own copy. */
  beforeCoordinatorCommit(delivered: DeliverResponse): void {
    const id = delivered.message.clientMessageId;
    if (!delivered.duplicate && this.#killBeforeCoordinatorCommit.delete(id))
      this.#kill(`${KILL_BEFORE_COORDINATOR_COMMIT}: ${id}, its delivered copy written`);
    if (this.#failCoordinatorCommit.delete(id)) {
      throw new ChatringError('STORE_UNAVAILABLE', `failpoint: coordinator commit of ${id} failed`);
    }
  }

  /**
   * The store hooks the armed failpoints need, for `openStore`. Throws INVALID_OPTION when an
   * intent failpoint is armed on a store that has no intent (the embedded store).
   */
  storeHooks(storeKind: StoreOptions['kind']): StoreHooks {
    if (this.#killAfterDeliveredCopyIntent.size + this.#killAfterCoordinatorCopyIntent.size === 0)
      return {};
    if (storeKind !== 'cassandra')
      throw new ChatringError(
        'INVALID_OPTION',
        `${KILL_AFTER_DELIVERED_COPY_INTENT} and ${KILL_AFTER_COORDINATOR_COPY_INTENT} need the Cassandra store: the ${storeKind} store commits in one step, with no intent before the rows`,
      );
    return { cassandra: { afterIntentDurable: (commit) => this.#afterIntentDurable(commit) } };
  }

  #afterIntentDurable(commit: MailboxCommit): void {
    if (commit.kind !== 'message') return;
    const id = commit.message.clientMessageId;
    if (isCoordinatorCopy(commit.ownerId, commit.message)) {
      if (this.#killAfterCoordinatorCopyIntent.delete(id))
        this.#kill(`${KILL_AFTER_COORDINATOR_COPY_INTENT}: ${id}, in ${commit.ownerId}'s mailbox`);
    } else if (this.#killAfterDeliveredCopyIntent.delete(id)) {
      this.#kill(`${KILL_AFTER_DELIVERED_COPY_INTENT}: ${id}, in ${commit.ownerId}'s mailbox`);
    }
  }
}

/** What to arm: clientMessageIds per failpoint (the environment variables above). */
export interface ArmedFailpoints {
  failCoordinatorCommit?: Iterable<string>;
  killBeforeCoordinatorCommit?: Iterable<string>;
  killAfterDeliveredCopyIntent?: Iterable<string>;
  killAfterCoordinatorCopyIntent?: Iterable<string>;
  deliveredAnswerLost?: Iterable<string>;
}

const FAIL_COORDINATOR_COMMIT = 'CHATRING_FAILPOINT_COORDINATOR_COMMIT';
const KILL_BEFORE_COORDINATOR_COMMIT = 'CHATRING_FAILPOINT_KILL_BEFORE_COORDINATOR_COMMIT';
const KILL_AFTER_DELIVERED_COPY_INTENT = 'CHATRING_FAILPOINT_KILL_AFTER_DELIVERED_COPY_INTENT';
const KILL_AFTER_COORDINATOR_COPY_INTENT = 'CHATRING_FAILPOINT_KILL_AFTER_COORDINATOR_COPY_INTENT';
const DELIVERED_ANSWER_LOST = 'CHATRING_FAILPOINT_DELIVERED_ANSWER_LOST';

/** The Failpoints the environment arms; undefined when it arms none (the normal case). */
export function failpointsFromEnvironment(env: NodeJS.ProcessEnv): Failpoints | undefined {
  const armed = {
    failCoordinatorCommit: idsIn(env[FAIL_COORDINATOR_COMMIT]),
    killBeforeCoordinatorCommit: idsIn(env[KILL_BEFORE_COORDINATOR_COMMIT]),
    killAfterDeliveredCopyIntent: idsIn(env[KILL_AFTER_DELIVERED_COPY_INTENT]),
    killAfterCoordinatorCopyIntent: idsIn(env[KILL_AFTER_COORDINATOR_COPY_INTENT]),
    deliveredAnswerLost: idsIn(env[DELIVERED_ANSWER_LOST]),
  } satisfies ArmedFailpoints;
  return Object.values(armed).every((ids) => ids.length === 0) ? undefined : new Failpoints(armed);
}

function idsIn(value: string | undefined): string[] {
  return value?.split(',').filter(Boolean) ?? [];
}

/** The coordinator copy is the lower user id's (message-send.ts). */
function isCoordinatorCopy(ownerId: string, message: Message): boolean {
  return ownerId === orderedPair(message.senderId, message.recipientId)[0];
}

/**
 * SIGKILL, as `kill -9` from outside would: no handler, no flush, no clean close. The reason goes
 * to stderr first, synchronously (the logger batches its lines, and a killed process loses them).
 */
function killThisProcess(reason: string): never {
  writeSync(process.stderr.fd, `failpoint: SIGKILL (${reason})\n`);
  process.kill(process.pid, 'SIGKILL');
  // A signal a process sends itself is delivered before kill() returns: never reached.
  throw new Error(`failpoint: SIGKILL did not end process ${process.pid}`);
}
