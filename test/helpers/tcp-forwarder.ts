/**
 * A TCP forwarder in the test process: it listens on one address and port for its whole life and
 * forwards each connection to the current target. Tests put it in front of a store to take the store
 * away and bring it back on the same address (dedicated-cassandra.ts), to give the store an address
 * of its own on a test network (multi-host-cluster.ts), and to add latency to that link where the
 * kernel cannot (`delayMs`: every chunk, both ways, leaves that long after it arrived, in order).
 */
import net from 'node:net';

export class TcpForwarder {
  /** 0 until the first listen; the same port on every later one. */
  port = 0;
  /** Added to each chunk's trip, both ways; changing it never reorders bytes already under way. */
  delayMs = 0;
  readonly #listenHost: string;
  readonly #targetHost: string;
  #server: net.Server | undefined;
  readonly #sockets = new Set<net.Socket>();

  constructor(listenHost: string, targetHost: string) {
    this.#listenHost = listenHost;
    this.#targetHost = targetHost;
  }

  /** Listens (again) on `port`, forwarding new connections to `targetPort`. */
  async listen(targetPort: number): Promise<void> {
    this.stopListening();
    const server = net.createServer((client) => this.#pipe(client, targetPort));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, this.#listenHost, () => {
        server.off('error', reject);
        resolve();
      });
    }).catch((error: unknown) => {
      throw new Error(
        `the forwarder cannot listen on ${this.#listenHost}:${this.port}: ${(error as Error).message}`,
        { cause: error },
      );
    });
    this.port = (server.address() as net.AddressInfo).port;
    this.#server = server;
  }

  get address(): string {
    return `${this.#listenHost}:${this.port}`;
  }

  /** New connections are refused; the open ones go on. */
  stopListening(): void {
    this.#server?.close();
    this.#server = undefined;
  }

  dropConnections(): void {
    for (const socket of this.#sockets) socket.destroy();
  }

  close(): void {
    this.stopListening();
    this.dropConnections();
  }

  #pipe(client: net.Socket, targetPort: number): void {
    const upstream = net.connect(targetPort, this.#targetHost);
    for (const [socket, other] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      // Each direction releases chunks no earlier than the one before it, so a shorter delay set
      // later cannot overtake bytes already held, and a close never overtakes the bytes before it.
      let releaseAt = 0;
      const later = (action: () => void) => {
        const now = performance.now();
        releaseAt = Math.max(releaseAt, now + this.delayMs);
        if (releaseAt <= now) action();
        else setTimeout(action, releaseAt - now);
      };
      this.#sockets.add(socket);
      socket.on('error', () => socket.destroy());
      socket.on('data', (chunk: Buffer) => later(() => other.destroyed || other.write(chunk)));
      socket.on('end', () => later(() => other.end()));
      socket.on('close', () => {
        this.#sockets.delete(socket);
        later(() => other.destroy());
      });
    }
  }
}
