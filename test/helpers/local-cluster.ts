/**
 * Boots a real local cluster (`chatring start`: router, nodes and standbys as separate processes on
 * loopback, on the embedded store) for a test, and always tears it down: on the test's teardown,
 * and on the test process's exit if the test crashes first.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { Test } from 'tap';
import type { ClusterStatus } from '../../control-plane/index.js';

const ENTRY = fileURLToPath(new URL('../../dist/cli/chatring.js', import.meta.url));
/**
 * Each cluster runs in its own process group (the launcher is spawned detached), so killing the
 * group takes the router and every node with it, even when the launcher itself cannot clean up.
 * That happens on the test process's exit, and on SIGTERM/SIGINT (a tap timeout) before exiting.
 */
const running = new Set<ChildProcess>();
function killAllClusters(): void {
  for (const child of running) {
    if (child.pid !== undefined) {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
}
process.once('exit', killAllClusters);
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    killAllClusters();
    process.exit(128 + (signal === 'SIGTERM' ? 15 : 2));
  });
}

export interface ClusterOptions {
  nodes?: number;
  standbys?: number;
  dataDir?: string;
  leaseMs?: number;
  heartbeatIntervalMs?: number;
  /** @default true */
  restartMembers?: boolean;
  /** Put the control plane in this Redis (else in the router). */
  redisUrl?: string;
  /** Routers to start (above 1 needs redisUrl). @default 1 */
  routers?: number;
  /** Store flags for `chatring start` (default: the embedded store in dataDir). */
  storeArgs?: string[];
  /** Extra environment for every process (failpoints). */
  env?: Record<string, string>;
}

export interface TestCluster {
  url: string;
  /** Every router's URL (the first is `url`). */
  urls: string[];
  dataDir: string;
  status(): Promise<ClusterStatus>;
  /** The pid of the process serving a node id now. */
  pidOf(nodeId: string): Promise<number>;
  ownerOf(userId: string): Promise<{ nodeId: string; slot: string; url: string }>;
  /** Stops the whole cluster (SIGTERM, as Ctrl-C would) and waits for it. */
  stop(): Promise<void>;
}

export async function bootCluster(t: Test, options: ClusterOptions = {}): Promise<TestCluster> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'chatring-test-'));
  const args = [
    ENTRY,
    'start',
    '--port',
    '0',
    '--data-dir',
    dataDir,
    '--nodes',
    String(options.nodes ?? 3),
    '--standbys',
    String(options.standbys ?? 1),
    '--lease-ms',
    String(options.leaseMs ?? 3_000),
    '--heartbeat-interval-ms',
    String(options.heartbeatIntervalMs ?? 250),
    '--restart-members',
    String(options.restartMembers ?? true),
    ...(options.storeArgs ?? []),
    ...(options.redisUrl === undefined ? [] : ['--redis', options.redisUrl]),
    '--routers',
    String(options.routers ?? 1),
  ];
  const child = spawn(process.execPath, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...options.env },
    detached: true,
  });
  running.add(child);
  let output = '';
  child.stderr?.setEncoding('utf8').on('data', (text: string) => (output += text));
  // The launcher's own lines (members' lines carry a [name] prefix): the router URL, all routers,
  // then "data in …" once everything is up.
  const urls = await new Promise<string[]>((resolve, reject) => {
    child.stdout?.setEncoding('utf8').on('data', (text: string) => {
      output += text;
      const own = output.replace(/^\[[^\]]+\] .*$/gm, '');
      const first = /^router listening on (\S+)/m.exec(own)?.[1];
      if (first === undefined || !/^data in /m.test(own)) return;
      const all = /^routers: (.+)$/m.exec(own)?.[1]?.split(' ') ?? [first];
      resolve(all);
    });
    child.once('exit', (code) =>
      reject(new Error(`cluster exited (${code}) before it listened:\n${output}`)),
    );
  });

  const [url = ''] = urls;
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    await exited;
    running.delete(child);
  };
  t.teardown(async () => {
    await stop();
    // A data dir this helper made is removed; one the caller passed belongs to the caller.
    if (options.dataDir === undefined) rmSync(dataDir, { recursive: true, force: true });
  });

  const getJson = async <T>(path: string): Promise<T> =>
    (await (await fetch(`${url}${path}`)).json()) as T;
  const status = () => getJson<ClusterStatus>('/control/v1/status');
  return {
    url,
    urls,
    dataDir,
    status,
    async pidOf(nodeId) {
      const node = (await status()).nodes.find((candidate) => candidate.nodeId === nodeId);
      if (node?.pid === undefined) throw new Error(`node ${nodeId} has no pid in the status`);
      return node.pid;
    },
    ownerOf: (userId) => getJson(`/admin/v1/owner/${userId}`),
    stop,
  };
}

/** Polls until `check` returns a value other than undefined, or fails after `timeoutMs`. */
export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}
