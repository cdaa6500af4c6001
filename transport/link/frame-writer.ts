import type { Socket } from 'node:net';

/**
 * Writes a link's frames, coalesced: everything written in one event-loop turn leaves in one
 * syscall (a writev of the buffers as they are, no copy), after the turn's I/O callbacks have
 * run. Under load that is most of the link's saving: a turn that read five requests forwards
 * them in one write, and a node that answered five reads from memory answers in one.
 */
export class FrameWriter {
  readonly #socket: Socket;
  /** Told after each flush: the socket's `writableLength` says how much the peer has not taken. */
  readonly #afterFlush: (() => void) | undefined;
  #queued: Buffer[] = [];
  #scheduled = false;

  constructor(socket: Socket, afterFlush?: () => void) {
    this.#socket = socket;
    this.#afterFlush = afterFlush;
  }

  write(buffers: Buffer | readonly Buffer[]): void {
    if (Buffer.isBuffer(buffers)) this.#queued.push(buffers);
    else for (const buffer of buffers) this.#queued.push(buffer);
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => this.#flush());
  }

  #flush(): void {
    this.#scheduled = false;
    const queued = this.#queued;
    this.#queued = [];
    const socket = this.#socket;
    if (socket.destroyed) return;
    if (queued.length === 1) socket.write(queued[0] as Buffer);
    else {
      socket.cork();
      for (const buffer of queued) socket.write(buffer);
      socket.uncork();
    }
    this.#afterFlush?.();
  }
}
