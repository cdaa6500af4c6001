import { createConnection, type Socket } from 'node:net';
import type { MailboxCommit } from '../mailbox-store.js';
import {
  COMMIT_FRAME_CHARS_MAX,
  encodeRequest,
  LineSplitter,
  settlementOf,
  type CommitAnswer,
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

/**
 * A process's connection to the embedded store's commit server (commit-server.ts): commits go out
 * as they come (those of one event-loop turn in one write) and each settles with the server's
 * answer for it. The connection opens at the first commit and again after it is lost. A commit in
 * flight when it is lost has an unknown outcome: it fails with a plain Error, and the caller treats
 * it as any failed commit (it drops the user's cached state and reloads from the store, where the
 * commit either is or is not). A commit that could not be sent fails with CommitServerUnreachable.
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
  #connection: Promise<Socket> | undefined;
  #nextId = 1;
  #idle: (() => void)[] = [];

  /** `timeoutMs`: how long a commit may go unanswered before the connection is given up. */
  constructor(socketPath: string, timeoutMs: number) {
    this.socketPath = socketPath;
    this.#timeoutMs = timeoutMs;
  }

  /** This process's commits through the server; transactions and their times are its shares. */
  counters(): Readonly<ServerCommitCounters> {
    return { ...this.#counters };
  }

  /** Times the connection was dropped for an unanswered commit. */
  get timeouts(): number {
    return this.#counters.timeouts;
  }

  get inFlight(): number {
    return this.#inFlight.size;
  }

  async commit(commit: MailboxCommit): Promise<CommitReceipt> {
    const socket = await this.#connect();
    if (socket.destroyed)
      throw new CommitServerUnreachable(this.socketPath, new Error('connection closed'));
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
    await this.drained();
    const connection = this.#connection;
    this.#connection = undefined;
    (await connection?.catch(() => undefined))?.end();
  }

  #connect(): Promise<Socket> {
    this.#connection ??= new Promise<Socket>((resolve, reject) => {
      const socket = createConnection(this.socketPath);
      socket.setEncoding('utf8');
      socket.setNoDelay(true);
      const lines = new LineSplitter(COMMIT_FRAME_CHARS_MAX, (line) => this.#settle(line));
      socket.on('data', (chunk: string) => {
        try {
          if (!lines.push(chunk)) socket.destroy(new Error('commit server answer too long'));
        } catch (error) {
          // Not an answer of ours (a line that is not JSON): nothing more on this connection can
          // be trusted; what it carried fails as of unknown outcome when it closes.
          socket.destroy(error as Error);
        }
      });
      socket.once('connect', () => resolve(socket));
      socket.on('error', (error) => {
        this.#connection = undefined;
        reject(new CommitServerUnreachable(this.socketPath, error));
      });
      socket.once('close', () => {
        this.#connection = undefined;
        this.#lost();
      });
    });
    return this.#connection;
  }

  #settle(line: string): void {
    const answer = JSON.parse(line) as CommitAnswer;
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
