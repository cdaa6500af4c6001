import { chmodSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import type { GivenOptions } from '../../protocol/index.js';
import type { MailboxCommit } from '../mailbox-store.js';
import { CommitWriter } from './commit-writer.js';
import {
  answerFailure,
  answerOk,
  answerPong,
  COMMIT_FRAME_CHARS_MAX,
  LineSplitter,
  type CommitRequest,
} from './commit-wire.js';
import { GroupCommit, type EmbeddedStoreStats } from './group-commit.js';
import { resolveEmbeddedStoreOptions, type EmbeddedStoreOptions } from './options.js';
import { openDatabase } from './schema.js';

export interface CommitServerOptions {
  /** The SQLite file the processes share. */
  databasePath: string;
  /** Where to listen: a Unix socket path (made owner-only: whoever can connect can write). */
  socketPath: string;
  store?: GivenOptions<Omit<EmbeddedStoreOptions, 'path'>>;
}

/**
 * The one writer of an embedded store shared by several processes (the nodes of `chatring start`).
 * SQLite lets one connection write at a time, so processes that each commit their own batches
 * queue for the file's lock and pay an fsync per batch; measured on 3 nodes, the lock was held 82 %
 * of the time at 600 sends/s and each transaction carried ~2.6 commits. Sent here instead, the
 * commits of every process join one group commit (group-commit.ts): one lock, one fsync per batch
 * of all of them, and no node's event loop stops for an fsync. Reads stay in each process (WAL
 * readers never wait for the writer), so a commit answered here is visible to the next read of any
 * process.
 *
 * Nothing depends on this server for correctness: each commit is still the store's compare-and-set,
 * and a process that cannot reach it commits on its own connection (commit-client.ts).
 */
export class EmbeddedCommitServer {
  readonly socketPath: string;
  readonly #server: Server;
  readonly #writer: CommitWriter;
  readonly #groupCommit: GroupCommit;
  readonly #sockets = new Set<Socket>();
  #closing: Promise<void> | undefined;

  private constructor(options: CommitServerOptions) {
    const store = resolveEmbeddedStoreOptions({ ...options.store, path: options.databasePath });
    this.socketPath = options.socketPath;
    openDatabase(store).close(); // creates or migrates the schema before any commit
    this.#writer = new CommitWriter(options.databasePath, store.synchronous);
    this.#groupCommit = new GroupCommit(this.#writer, {
      maxCommits: store.groupCommitMaxCommits,
      waitMs: store.groupCommitWaitMs,
      busyTimeoutMs: store.busyTimeoutMs,
    });
    this.#server = createServer((socket) => this.#serve(socket));
  }

  /** Opens the file (creating or migrating its schema) and listens; a stale socket file left by a
   * killed server is replaced. */
  static async listen(options: CommitServerOptions): Promise<EmbeddedCommitServer> {
    const server = new EmbeddedCommitServer(options);
    rmSync(options.socketPath, { force: true });
    await new Promise<void>((resolve, reject) => {
      server.#server.once('error', reject);
      server.#server.listen(options.socketPath, () => {
        server.#server.off('error', reject);
        resolve();
      });
    });
    chmodSync(options.socketPath, 0o600);
    return server;
  }

  stats(): EmbeddedStoreStats {
    return this.#groupCommit.stats();
  }

  /** Stops listening, lets the commits already received finish (their answers go out), then
   * closes the connections and the file. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      const closed = new Promise((resolve) => this.#server.close(resolve));
      await this.#groupCommit.drained();
      for (const socket of this.#sockets) socket.end();
      await closed;
      this.#writer.close();
      rmSync(this.socketPath, { force: true });
    })();
    return this.#closing;
  }

  #serve(socket: Socket): void {
    this.#sockets.add(socket);
    socket.setEncoding('utf8');
    socket.setNoDelay(true);
    const lines = new LineSplitter(COMMIT_FRAME_CHARS_MAX, (line) => {
      let request: CommitRequest;
      try {
        request = JSON.parse(line) as CommitRequest;
      } catch {
        socket.destroy(); // not our protocol: nothing it sent is applied past this point
        return;
      }
      if (request.c === undefined) reply(socket, answerPong(request.i));
      else this.#commit(socket, request.i, request.c);
    });
    socket.on('data', (chunk: string) => {
      if (!lines.push(chunk)) socket.destroy();
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => this.#sockets.delete(socket));
  }

  #commit(socket: Socket, id: number, commit: MailboxCommit): void {
    this.#groupCommit.submit(commit, (error, receipt) =>
      reply(
        socket,
        error === undefined ? answerOk(id, receipt) : answerFailure(id, error, receipt),
      ),
    );
  }
}

/** The answers of one transaction settle together: corked, they leave in one write per socket. */
function reply(socket: Socket, frame: string): void {
  if (socket.destroyed) return; // its process died: the commit stands, the store is the truth
  if (socket.writableCorked === 0) {
    socket.cork();
    process.nextTick(() => socket.uncork());
  }
  socket.write(frame);
}
