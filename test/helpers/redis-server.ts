/**
 * Starts a private `redis-server` for a test file on a free loopback port (never the shared 6379),
 * and always stops it: on the test's teardown, and on the test process's exit if the test crashes
 * first. stop()/restart() keep the port, so an outage test can take Redis away and bring it back
 * where every client reconnects; pause()/resume() freeze it with SIGSTOP/SIGCONT (a hung Redis).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Test } from 'tap';

const START_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 5_000;
const OUTPUT_KEPT_CHARS = 4_000;

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export interface RedisServerOptions {
  /**
   * Keep data across restart() with an append-only file (fsync always). Off: a restart loses
   * everything, like a cache Redis with no persistence.
   * @default false
   */
  appendOnly?: boolean;
}

export interface TestRedisServer {
  port: number;
  url: string;
  dataDir: string;
  readonly running: boolean;
  /** Stops it: SIGKILL (a crash, the default) or SIGTERM (a clean shutdown). */
  stop(signal?: 'SIGKILL' | 'SIGTERM'): Promise<void>;
  /** Starts it again on the same port (stopping it first if it runs). */
  restart(): Promise<void>;
  /** SIGSTOP: connections stay open, nothing is answered, keys keep expiring on its clock. */
  pause(): void;
  resume(): void;
}

export async function startRedisServer(
  t: Test,
  options: RedisServerOptions = {},
): Promise<TestRedisServer> {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'chatring-redis-'));
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    options.appendOnly === true ? 'yes' : 'no',
    '--appendfsync',
    'always',
    '--dir',
    dataDir,
  ];
  let child: ChildProcess | undefined;
  let output = '';

  const launch = async () => {
    const started = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    // ENOENT (no redis-server on PATH) arrives as an 'error' event: report it, do not crash.
    started.once('error', (error) => (output += `\ncannot start redis-server: ${error.message}`));
    running.add(started);
    started.once('exit', () => running.delete(started));
    const keep = (text: string) => (output = (output + text).slice(-OUTPUT_KEPT_CHARS));
    started.stdout?.setEncoding('utf8').on('data', keep);
    started.stderr?.setEncoding('utf8').on('data', keep);
    child = started;
    await waitForPing(port, started, () => output);
  };

  const stop = async (signal: 'SIGKILL' | 'SIGTERM' = 'SIGKILL') => {
    const current = child;
    child = undefined;
    if (current === undefined || current.exitCode !== null || current.signalCode !== null) return;
    const exited = once(current, 'exit');
    current.kill('SIGCONT'); // a paused server cannot act on SIGTERM
    current.kill(signal);
    await Promise.race([exited, sleep(STOP_TIMEOUT_MS)]);
    if (current.exitCode === null && current.signalCode === null) {
      current.kill('SIGKILL');
      await exited;
    }
  };

  await launch();
  t.teardown(async () => {
    await stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    dataDir,
    get running() {
      return child !== undefined && child.exitCode === null && child.signalCode === null;
    },
    stop,
    async restart() {
      await stop();
      await launch();
    },
    pause() {
      child?.kill('SIGSTOP');
    },
    resume() {
      child?.kill('SIGCONT');
    },
  };
}

/** A port nobody listens on right now (the OS picks it; we release it for redis-server). */
async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  await once(server, 'close');
  if (address === null || typeof address === 'string') throw new Error('no port assigned');
  return address.port;
}

async function waitForPing(port: number, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.pid === undefined)
      throw new Error(`cannot start redis-server (is it on PATH?)${output()}`);
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`redis-server exited (${child.exitCode ?? child.signalCode}):\n${output()}`);
    if (await ping(port)) return;
    await sleep(20);
  }
  child.kill('SIGKILL');
  throw new Error(
    `redis-server on ${port} did not answer PING in ${START_TIMEOUT_MS} ms:\n${output()}`,
  );
}

function ping(port: number): Promise<boolean> {
  return answersPing(createConnection({ host: '127.0.0.1', port }), 'connect');
}

/**
 * Whether a Redis on `socket` answers PING within 500 ms (sent once `ready` fires: 'connect', or
 * 'secureConnect' over TLS); a NOAUTH refusal counts as an answer when `noAuthAnswers`.
 */
export function answersPing(
  socket: Socket,
  ready: 'connect' | 'secureConnect',
  noAuthAnswers = false,
): Promise<boolean> {
  return new Promise((resolve) => {
    let reply = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('error', () => done(false));
    socket.once(ready, () => socket.write('PING\r\n'));
    socket.setEncoding('utf8').on('data', (text: string) => {
      reply += text;
      if (reply.includes('\r\n'))
        done(reply.startsWith('+PONG') || (noAuthAnswers && reply.startsWith('-NOAUTH')));
    });
  });
}
