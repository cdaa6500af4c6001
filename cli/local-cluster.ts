import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { openStore } from '../store-adapter/index.js';
import type { LocalClusterOptions } from './cluster-options.js';
import { storeArgs } from './store-flags.js';

const ENTRY = fileURLToPath(new URL('./chatring.js', import.meta.url));

interface Member {
  name: string;
  args: string[];
  child?: ChildProcess;
  restarts: number;
}

export interface LocalClusterHandle {
  routerUrl: string;
  /** Every router (more than one only with a Redis control plane). */
  routerUrls: string[];
  /** Stops every process started, nodes first. */
  stop(): Promise<void>;
  pids(): Record<string, number | undefined>;
}

/**
 * `npm start`: one router (hosting the control plane), N cache nodes and the standbys, each its own
 * process on loopback, all on one store (embedded in dataDir by default). With `--redis`, the
 * control plane lives in Redis and there may be several routers. A member that dies is started again
 * (it rejoins as a standby if its slot was handed over meanwhile).
 */
export async function startLocalCluster(
  options: Readonly<LocalClusterOptions>,
  log: (line: string) => void,
): Promise<LocalClusterHandle> {
  const nodeIds = Array.from({ length: options.nodes }, (_, index) => `node-${index + 1}`);
  const controlPlaneArgs =
    options.redisUrl === undefined
      ? ['--data-dir', options.dataDir]
      : ['--redis', options.redisUrl];
  const routers: Member[] = Array.from({ length: options.routers }, (_, index) => ({
    name: index === 0 ? 'router' : `router-${index + 1}`,
    args: [
      'router',
      '--port',
      String(index === 0 ? options.port : 0),
      ...controlPlaneArgs,
      '--initial-nodes',
      nodeIds.join(','),
      '--lease-ms',
      String(options.leaseMs),
      '--heartbeat-interval-ms',
      String(options.heartbeatIntervalMs),
    ],
    restarts: 0,
  }));
  let stopping = false;
  const launch = (member: Member) => {
    const child = spawn(process.execPath, [ENTRY, ...member.args], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    member.child = child;
    child.stdout
      ?.setEncoding('utf8')
      .on('data', (text: string) =>
        process.stdout.write(text.replace(/^(?=.)/gm, `[${member.name}] `)),
      );
    child.once('exit', (code, signal) => {
      if (stopping || !options.restartMembers) return;
      member.restarts += 1;
      log(`${member.name} exited (${signal ?? code}); restarting it`);
      void sleep(Math.min(5_000, 250 * member.restarts)).then(() => !stopping && launch(member));
    });
    return child;
  };

  // Open the store once before any node does: it creates or migrates the schema here, so nodes
  // starting together do not race schema changes (Cassandra handles concurrent DDL badly).
  await (await openStore(options.store)).close();
  const routerUrls: string[] = [];
  for (const router of routers) {
    const url = await waitForLine(launch(router), /router listening on (\S+)/);
    // A restarted router comes back on the same port, where nodes and clients expect it.
    router.args[2] = new URL(url).port;
    routerUrls.push(url);
  }
  const [routerUrl = ''] = routerUrls;
  const nodeControlPlaneArgs =
    options.redisUrl === undefined
      ? ['--control-plane-url', routerUrl]
      : ['--redis', options.redisUrl, '--lease-ms', String(options.leaseMs)];
  const members: Member[] = [
    ...nodeIds,
    ...Array.from({ length: options.standbys }, (_, index) => `standby-${index + 1}`),
  ].map((nodeId) => ({
    name: nodeId,
    args: [
      'node',
      '--node-id',
      nodeId,
      ...nodeControlPlaneArgs,
      '--data-dir',
      options.dataDir,
      ...storeArgs(options.store),
      '--heartbeat-interval-ms',
      String(options.heartbeatIntervalMs),
      '--warm-handoff-bytes-max',
      String(options.warmHandoffBytesMax),
    ],
    restarts: 0,
  }));
  for (const member of members) launch(member);
  await waitUntilServing(routerUrl, options.nodes);

  return {
    routerUrl,
    routerUrls,
    pids: () => Object.fromEntries([...routers, ...members].map((m) => [m.name, m.child?.pid])),
    async stop() {
      stopping = true;
      await Promise.all(members.map((m) => terminate(m.child)));
      await Promise.all(routers.map((router) => terminate(router.child)));
    },
  };
}

async function waitForLine(child: ChildProcess, pattern: RegExp): Promise<string> {
  let buffer = '';
  return new Promise((resolve, reject) => {
    const onData = (text: Buffer | string) => {
      buffer += String(text);
      const match = pattern.exec(buffer);
      if (match?.[1] !== undefined) {
        child.stdout?.off('data', onData);
        resolve(match[1]);
      }
    };
    child.stdout?.on('data', onData);
    child.once('exit', (code) =>
      reject(new Error(`process exited (${code}) before printing ${pattern}`)),
    );
  });
}

/** Waits until every slot of the ring is held by a node that heartbeats. */
async function waitUntilServing(
  routerUrl: string,
  slots: number,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const response = await fetch(`${routerUrl}/control/v1/status`);
      const status = (await response.json()) as {
        slots: unknown[];
        nodes: { state: string; slots: string[] }[];
      };
      const serving = status.nodes
        .filter((node) => node.state === 'serving')
        .reduce((sum, node) => sum + node.slots.length, 0);
      if (serving >= Math.min(slots, status.slots.length)) return;
    } catch {
      // the router is still starting
    }
    await sleep(100);
  }
  throw new Error(`the cluster did not start serving within ${timeoutMs} ms`);
}

async function terminate(child: ChildProcess | undefined, graceMs = 10_000): Promise<void> {
  if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}
