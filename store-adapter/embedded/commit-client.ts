import { createConnection, type Socket } from 'node:net';
import type { MailboxCommit } from '../mailbox-store.js';
import {
  COMMIT_FRAME_CHARS_MAX,
  encodePing,
  encodeRequest,
  LineSplitter,
  settlementOf,
  type CommitAnswer,
  type PongAnswer,
} from './commit-wire.js';
import type { CommitReceipt, EmbeddedStoreCounters } from './group-commit.js';

/** The commit server could not be reached: the commit was never sent, so it is not applied and may
 * be written another way. */
export class CommitServerUnreachable extends Error {
  constructor(socketPath: string, cause: unknown) {
    super(`embedded store commit server at ${socketPath} unreachable`, { cause });
    this.name = 'CommitServerUnreachable';
  }
}

/** The figures a process keeps of its commits through the server. */
export type ServerCommitCounters = Pick<
  EmbeddedStoreCounters,
  | 'commits'
  | 'commitsApplied'
  | 'commitsResent'
  | 'conflicts'
  | 'commitsFailed'
  | 'transactions'
  | 'transactionMs'
  | 'lockWaitMs'
> & {
  /** Times the connection was dropped because a commit went unanswered for timeoutMs. */
  timeouts: number;
};

interface InFlight {
  resolve: (receipt: CommitReceipt) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

/** After the server was lost (it stopped answering, closed, or could not be reached), it is asked
 * again (a new connection and a ping) this long after, while commits are written locally. */
export const COMMIT_SERVER_RETRY_MS = 1_000;

/** The id of a ping: commits are numbered from 1. */
const PING_ID = 0;

/**
 * A process's connection to the embedded store's commit server (commit-server.ts): commits go out
 * as they come (those of one event-loop turn in one write) and each settles with the server's
 * answer for it. A connection carries commits only once the server has answered a ping on it: a
 * paused server's socket still accepts connections (the kernel does), and it must not be handed
 * commits that it will leave unanswered. A commit in flight when the connection is lost has an
 * unknown outcome: it fails with a plain Error, and the caller treats it as any failed commit (it
 * drops the user's cached state and reloads from the store, where the commit either is or is not).
 * A commit that was not sent fails with CommitServerUnreachable, and the caller writes it itself.
 *
 * Until the server is first lost, a commit waits for the connection and its ping (at most
 * timeoutMs). After a loss the server is in doubt: commits do not wait for it, they fail at once
 * with CommitServerUnreachable while a ping on a new connection, at most one at a time and
 * COMMIT_SERVER_RETRY_MS after the last, asks whether it is back. So a paused or wedged server costs
 * the commits that were in flight to it, once, and not a timeout per retry for as long as it lasts.
 */
export class CommitServerClient {
  readonly socketPath: string;
  readonly #inFlight = new Map<number, InFlight>();
  readonly #counters: ServerCommitCounters = {
    commits: 0,
    commitsApplied: 0,
    commitsResent: 0,
    conflicts: 0,
    commitsFailed: 0,
    transactions: 0,
    transactionMs: 0,
    lockWaitMs: 0,
    timeouts: 0,
  };
  readonly #timeoutMs: number;
  /** The connection that answered its ping, while it lasts. */
  #ready: Socket | undefined;
  /** A connection being opened and pinged: true once it answered, false if it did not. */
  #probe: Promise<boolean> | undefined;
  /** Lost since it last answered: commits are not held waiting for a probe. */
  #doubted = false;
  #probeAfter = 0;
  #closed = false;
  #nextId = 1;
  #idle: (() => void)[] = [];

  /** `timeoutMs`: how long a commit (or a ping) may go unanswered before the connection is given up. */
  constructor(socketPath: string, timeoutMs: number) {
    this.socketPath = socketPath;
    this.#timeoutMs = timeoutMs;
  }

  /** This process's commits through the server; transactions and their times are its shares. */
  counters(): Readonly<ServerCommitCounters> {
    return { ...this.#counters };
  }

  get inFlight(): number {
    return this.#inFlight.size;
  }

  /** Sends `commit` and settles with the server's answer; CommitServerUnreachable: not sent. */
  async commit(commit: MailboxCommit): Promise<CommitReceipt> {
    const socket = await this.#connection();
    if (socket === undefined || socket.destroyed)
      throw new CommitServerUnreachable(this.socketPath, new Error('no answering connection'));
    this.#counters.commits += 1;
    const id = this.#nextId++;
    const settled = new Promise<CommitReceipt>((resolve, reject) => {
      // A writer that stopped answering (paused, wedged) must not hold the user's lock for ever:
      // dropping the connection fails everything it carried as of unknown outcome (#lost).
      const timer = setTimeout(() => {
        this.#counters.timeouts += 1;
        socket.destroy();
      }, this.#timeoutMs);
      timer.unref();
      this.#inFlight.set(id, { resolve, reject, timer });
    });
    if (socket.writableCorked === 0) {
      socket.cork();
      process.nextTick(() => socket.uncork());
    }
    socket.write(encodeRequest(id, commit));
    return settled;
  }

  /** Resolves once no commit is in flight. */
  drained(): Promise<void> {
    if (this.#inFlight.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /** Lets the commits in flight settle, then closes the connection. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.drained();
    await this.#probe;
    this.#ready?.end();
    this.#ready = undefined;
  }

  /** The answering connection; undefined when there is none to use now (see the class). */
  async #connection(): Promise<Socket | undefined> {
    if (this.#ready !== undefined || this.#closed) return this.#ready;
    if (!this.#doubted) return (await this.#probeNow()) ? this.#ready : undefined;
    if (performance.now() >= this.#probeAfter) void this.#probeNow();
    return undefined;
  }

  /** Opens a connection and pings it (one probe at a time); true once it answered. */
  #probeNow(): Promise<boolean> {
    this.#probe ??= new Promise<boolean>((resolve) => {
      const socket = createConnection(this.socketPath);
      let settled = false;
      const settle = (ok: boolean) => {
        clearTimeout(timer);
        if (settled) return;
        settled = true;
        this.#probe = undefined;
        if (ok) {
          this.#ready = socket;
          this.#doubted = false;
        } else {
          this.#lose();
          socket.destroy();
        }
        resolve(ok);
      };
      const timer = setTimeout(() => settle(false), this.#timeoutMs);
      timer.unref();
      socket.setEncoding('utf8');
      socket.setNoDelay(true);
      const lines = new LineSplitter(COMMIT_FRAME_CHARS_MAX, (line) => {
        const answer = JSON.parse(line) as CommitAnswer | PongAnswer;
        if (answer.k === 'pong') settle(answer.i === PING_ID);
        else this.#settle(answer);
      });
      socket.on('data', (chunk: string) => {
        try {
          if (!lines.push(chunk)) socket.destroy(new Error('commit server answer too long'));
        } catch (error) {
          // Not an answer of ours (a line that is not JSON): nothing more on this connection can
          // be trusted; what it carried fails as of unknown outcome when it closes.
          socket.destroy(error as Error);
        }
      });
      socket.once('connect', () => socket.write(encodePing(PING_ID)));
      socket.on('error', () => {}); // 'close' follows
      socket.once('close', () => {
        settle(false); // unanswered: the probe failed (answered: nothing to do)
        if (this.#ready !== socket) return; // a probe's socket: it never carried a commit
        this.#ready = undefined;
        this.#lose();
        this.#lost();
      });
    });
    return this.#probe;
  }

  /** The server stopped answering, closed or was not there: in doubt until a ping is answered. */
  #lose(): void {
    this.#doubted = true;
    this.#probeAfter = performance.now() + COMMIT_SERVER_RETRY_MS;
  }

  #settle(answer: CommitAnswer): void {
    const inFlight = this.#inFlight.get(answer.i);
    if (inFlight === undefined) return;
    this.#inFlight.delete(answer.i);
    clearTimeout(inFlight.timer);
    const { receipt, error } = settlementOf(answer);
    this.#counters.transactions += receipt.transactions;
    this.#counters.transactionMs += receipt.transactionMs;
    this.#counters.lockWaitMs += receipt.lockWaitMs;
    if (error !== undefined) {
      if (answer.k === 'conflict') this.#counters.conflicts += 1;
      else this.#counters.commitsFailed += 1;
      inFlight.reject(error);
    } else {
      if (receipt.resent) this.#counters.commitsResent += 1;
      else this.#counters.commitsApplied += 1;
      inFlight.resolve(receipt);
    }
    this.#settledOne();
  }

  /** The connection closed: what it carried may or may not have been applied. */
  #lost(): void {
    for (const [id, inFlight] of this.#inFlight) {
      this.#inFlight.delete(id);
      clearTimeout(inFlight.timer);
      this.#counters.commitsFailed += 1;
      inFlight.reject(
        new Error(
          `embedded store commit server at ${this.socketPath}: connection lost, the commit's outcome is unknown`,
        ),
      );
    }
    this.#settledOne();
  }

  #settledOne(): void {
    if (this.#inFlight.size === 0) for (const resolve of this.#idle.splice(0)) resolve();
  }
}
