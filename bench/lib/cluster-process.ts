import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import type { RingConfig } from '../../protocol/index.js';
import { repositoryRoot } from './result-files.js';

/**
 * A local chatring cluster (`chatring start`: router + N nodes + standbys, each a process) run as a
 * child of the benchmark, on a free port (--port 0) and the caller's data dir. The launcher gets
 * its own process group, so stop() can always reap everything it started, also when the benchmark
 * itself fails or is interrupted: an exit hook kills any group still running.
 */

export interface ClusterProcessOptions {
  dataDir: string;
  nodes: number;
  standbys: number;
  /** `chatring start --store`; default the launcher's own default (embedded). */
  store?: string;
  /** More `chatring start` flags (e.g. --cassandra-keyspace). */
  extraArgs?: string[];
  /** The compiled launcher; default dist/cli/chatring.js of this repository (`npm run build`). */
  entry?: string;
  startTimeoutMs?: number;
}

/** The shape of GET /control/v1/status, as far as the benchmarks read it. */
export interface ClusterStatusView {
  epoch: number;
  leaseMs: number;
  heartbeatIntervalMs: number;
  slots: { slot: string; nodeId: string; weight: number }[];
  standbys: string[];
  nodes: {
    nodeId: string;
    url: string;
    pid?: number;
    state: string;
    slots: string[];
    leaseAgeMs?: number;
  }[];
}

/** The counters of GET /internal/v1/stats that the benchmarks use. */
export interface NodeCounters {
  cacheHits: number;
  cacheMisses: number;
  storeLoads: number;
  cachedUsers: number;
  cachedBytes: number;
}

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Last resort (a crash or an early exit): SIGKILL every launcher group still alive. Synchronous,
  // since an 'exit' listener cannot wait.
  process.once('exit', () => {
    for (const child of running) killGroup(child, 'SIGKILL');
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      for (const child of running) killGroup(child, 'SIGTERM');
      process.exitCode = 130;
      setTimeout(() => process.exit(130), 3_000).unref();
    });
  }
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // the group is gone already
  }
}

export function defaultChatringEntry(): string {
  return join(repositoryRoot(), 'dist', 'cli', 'chatring.js');
}

export class ClusterProcess {
  readonly routerUrl: string;
  readonly logPath: string;
  readonly #child: ChildProcess;

  private constructor(routerUrl: string, child: ChildProcess, logPath: string) {
    this.routerUrl = routerUrl;
    this.#child = child;
    this.logPath = logPath;
  }

  static async start(options: ClusterProcessOptions): Promise<ClusterProcess> {
    const entry = options.entry ?? defaultChatringEntry();
    if (!existsSync(entry)) throw new Error(`${entry} does not exist: run \`npm run build\` first`);
    installExitHook();
    const args = [
      entry,
      'start',
      '--port',
      '0',
      '--data-dir',
      options.dataDir,
      '--nodes',
      String(options.nodes),
      '--standbys',
      String(options.standbys),
    ];
    if (options.store !== undefined) args.push('--store', options.store);
    args.push(...(options.extraArgs ?? []));
    const logPath = join(options.dataDir, 'cluster.log');
    const log = createWriteStream(logPath, { flags: 'a' });
    const child = spawn(process.execPath, args, {
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    running.add(child);
    child.once('exit', () => running.delete(child));
    child.stderr?.pipe(log);
    let output = '';
    try {
      const routerUrl = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(
          () =>
            reject(
              new Error(
                `cluster did not report "router listening on" within ${options.startTimeoutMs ?? 60_000} ms`,
              ),
            ),
          options.startTimeoutMs ?? 60_000,
        );
        child.stdout?.setEncoding('utf8').on('data', (text: string) => {
          log.write(text);
          output += text;
          // The launcher's own line (unprefixed) comes only once every slot is served.
          const match = /^router listening on (\S+)/m.exec(output);
          if (match?.[1] !== undefined) {
            clearTimeout(timer);
            resolve(match[1]);
          }
        });
        child.once('exit', (code, signal) => {
          clearTimeout(timer);
          reject(new Error(`cluster exited (${signal ?? code}) before serving: ${tail(logPath)}`));
        });
      });
      const cluster = new ClusterProcess(routerUrl, child, logPath);
      await cluster.waitUntilReady(options.startTimeoutMs ?? 60_000);
      return cluster;
    } catch (error) {
      killGroup(child, 'SIGKILL');
      throw error;
    }
  }

  /**
   * The launcher reports "listening" once the control plane *counts* every slot as served, which it
   * does for a fresh ring before any node has heartbeated (each known node starts with one lease of
   * grace). Ready here means more: the ring names a URL for every slot's node, and each of those
   * nodes holds a live lease and sees its slot.
   */
  async waitUntilReady(timeoutMs: number): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    let problem = 'not polled yet';
    while (performance.now() < deadline) {
      try {
        problem = await this.#readinessProblem();
        if (problem === '') return;
      } catch (error) {
        problem = (error as Error).message;
      }
      await sleep(100);
    }
    throw new Error(
      `cluster not ready within ${timeoutMs} ms: ${problem}; log: ${tail(this.logPath)}`,
    );
  }

  async #readinessProblem(): Promise<string> {
    const ring = await this.ring();
    for (const assignment of ring.slots) {
      const url = ring.nodes[assignment.nodeId]?.url ?? '';
      if (url === '') return `${assignment.nodeId} has not registered yet`;
      const stats =
        (await getJson<{ slots?: string[]; leaseRemainingMs?: number }>(
          `${url}/internal/v1/stats`,
          2_000,
        )) ?? {};
      if (!(stats.leaseRemainingMs !== undefined && stats.leaseRemainingMs > 0))
        return `${assignment.nodeId} holds no lease yet`;
      if (!(stats.slots ?? []).includes(assignment.slot))
        return `${assignment.nodeId} does not see ${assignment.slot} yet`;
    }
    return '';
  }

  get launcherPid(): number | undefined {
    return this.#child.pid;
  }

  async status(): Promise<ClusterStatusView> {
    return getJson<ClusterStatusView>(`${this.routerUrl}/control/v1/status`);
  }

  async ring(): Promise<RingConfig> {
    return getJson<RingConfig>(`${this.routerUrl}/control/v1/ring`);
  }

  /** Sums the cache counters of every node that answers. */
  async nodeCounters(): Promise<{ total: NodeCounters; byNode: Record<string, NodeCounters> }> {
    const status = await this.status();
    const byNode: Record<string, NodeCounters> = {};
    await Promise.all(
      status.nodes
        .filter((node) => node.url !== '')
        .map(async (node) => {
          try {
            byNode[node.nodeId] = countersOf(
              await getJson<unknown>(`${node.url}/internal/v1/stats`),
            );
          } catch {
            // a dead node has no counters
          }
        }),
    );
    const total: NodeCounters = {
      cacheHits: 0,
      cacheMisses: 0,
      storeLoads: 0,
      cachedUsers: 0,
      cachedBytes: 0,
    };
    for (const counters of Object.values(byNode)) {
      for (const key of Object.keys(total) as (keyof NodeCounters)[]) total[key] += counters[key];
    }
    return { total, byNode };
  }

  /** SIGTERM to the launcher (it stops its members), then SIGKILL to the group if it lingers. */
  async stop(graceMs = 15_000): Promise<void> {
    const child = this.#child;
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timedOut = await Promise.race([
        exited.then(() => false),
        sleep(graceMs, undefined, { ref: false }).then(() => true),
      ]);
      if (timedOut) killGroup(child, 'SIGKILL');
    }
    // Members exit with the launcher; anything left in its group is reaped.
    await sleep(100);
    killGroup(child, 'SIGKILL');
    running.delete(child);
  }
}

export async function getJson<T>(url: string, timeoutMs = 5_000): Promise<T> {
  const response = await request(url, { headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
  const body = (await response.body.json()) as T;
  if (response.statusCode !== 200)
    throw new Error(`GET ${url} answered ${response.statusCode}: ${JSON.stringify(body)}`);
  return body;
}

/** Reads the counters wherever the stats document keeps them (under `service` and `cache` today). */
export function countersOf(stats: unknown): NodeCounters {
  const document = (stats ?? {}) as Record<string, unknown>;
  const service = (document.service ?? document) as Record<string, unknown>;
  const cache = (document.cache ?? {}) as Record<string, unknown>;
  const number = (value: unknown) =>
    typeof value === 'number' && Number.isFinite(value) ? value : 0;
  return {
    cacheHits: number(service.cacheHits ?? document.cacheHits),
    cacheMisses: number(service.cacheMisses ?? document.cacheMisses),
    storeLoads: number(service.storeLoads ?? document.storeLoads),
    cachedUsers: number(cache.users),
    cachedBytes: number(cache.bytes),
  };
}

function tail(path: string, characters = 1_500): string {
  try {
    return readFileSync(path, 'utf8').slice(-characters);
  } catch {
    return '(no log)';
  }
}
