/**
 * A real three-node Apache Cassandra cluster of one test file's own, for tests that take replicas
 * away: one JVM per node, each started by scripts/cassandra/cassandra.mjs as a child process with
 * its own run dir (under one temp folder) and its own loopback address (127.0.0.2, .3, .4 by
 * default: all of 127/8 is loopback on Linux). Every node is a seed with its own token and
 * auto_bootstrap off, so the three start at once and own their ranges as soon as gossip has
 * introduced them; the downloaded jars are shared with the other tests' node.
 *
 * Ports: one free CQL port and one free storage (gossip) port, each the same on the three
 * addresses: Cassandra dials its peers on its own `storage_port`, and the driver dials the peers
 * it discovers (system.peers) on its `protocolOptions.port`, which the store takes from the
 * contact points when they all name one port (store-adapter/cassandra/client.ts). The default
 * addresses skip 127.0.0.1, where the tests' own single node runs.
 *
 * `kill(i)` is a crash: SIGKILL of node i's JVM, no drain, no goodbye to the peers (they find out
 * by their failure detector, ~20 s later). `restart(i)` starts it again on the same run dir,
 * address and ports, so it replays its commit log and rejoins as itself. The nodes run crash-safe
 * (CHATRING_CASSANDRA_CRASH_SAFE: batch commit log, schema flushed), so a killed node keeps every
 * write it acknowledged, as a production node with its commit log on disk would. `waitUntilAllUp()` is "nodetool status shows
 * three UN" without nodetool: every node, as coordinator, completes a write at consistency ALL to a
 * probe table replicated three times, which needs every replica up in its eyes and answering.
 *
 * Clean-up: the test's teardown stops the nodes and deletes the temp folder. A small watchdog
 * process does the same if the test process dies without its teardown (a tap timeout, SIGKILL),
 * because the JVMs are detached and would otherwise outlive it.
 */
import cassandra from 'cassandra-driver';
import { execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Test } from 'tap';

const SCRIPT = fileURLToPath(new URL('../../scripts/cassandra/cassandra.mjs', import.meta.url));
const DEFAULT_HOSTS = ['127.0.0.2', '127.0.0.3', '127.0.0.4'] as const;
const LOCAL_DATA_CENTER = 'datacenter1';
/** Three JVMs booting at once on 2 cores take ~10 s; a first download of the jars a minute more. */
const START_TIMEOUT_S = 240;
/** Small heaps: three nodes share the box with chatring, the tests and other suites. */
const DEFAULT_MAX_HEAP = '512M';
const DEFAULT_MIN_HEAP = '256M';
const PROBE_KEYSPACE = 'chatring_cluster_probe';
const run = promisify(execFile);

export interface CassandraClusterOptions {
  /** One loopback address per node, three by default. */
  hosts?: readonly string[];
  /** Max heap of each JVM (CHATRING_CASSANDRA_HEAP). @default '512M' */
  maxHeap?: string;
}

export interface CassandraClusterNode {
  readonly index: number;
  readonly host: string;
  /** `host:<the cluster's CQL port>`. */
  readonly contactPoint: string;
  readonly runDir: string;
  /** The JVM's pid while the node runs; undefined after kill() until restart(). */
  pid(): number | undefined;
  /** Resident memory of the JVM in MiB, if it runs. */
  rssMiB(): number | undefined;
}

export interface CassandraCluster {
  readonly nodes: readonly CassandraClusterNode[];
  /** The CQL port, the same on every node (a free one, not 9042). */
  readonly nativePort: number;
  /** Every node's `host:port`: give these to the store. */
  readonly contactPoints: readonly string[];
  readonly localDataCenter: string;
  readonly clusterName: string;
  /** How long the start took: the JVMs' boot, then until all were up in each other's eyes. */
  readonly startMs: number;
  /** SIGKILL of node `index`'s JVM; resolves once the process is gone. */
  kill(index: number): Promise<{ pid: number; ms: number }>;
  /** Starts node `index` again on its run dir (data kept), address and ports; waits for CQL. */
  restart(index: number): Promise<{ ms: number }>;
  /** Resolves once every node, as coordinator, completes a write at ALL (see above). */
  waitUntilAllUp(timeoutMs?: number): Promise<{ ms: number }>;
}

interface NodeState {
  pid: number;
}

export async function startCassandraCluster(
  t: Test,
  options: CassandraClusterOptions = {},
): Promise<CassandraCluster> {
  const hosts = options.hosts ?? DEFAULT_HOSTS;
  const root = mkdtempSync(join(tmpdir(), 'chatring-cassandra-cluster-'));
  const runDirs = hosts.map((_, index) => join(root, `node-${index + 1}`));
  for (const dir of runDirs) mkdirSync(dir);
  const watchdog = startWatchdog(root, runDirs);
  const clusterName = `chatring-test-${process.pid}`;
  const storagePort = await portFreeOnAll(hosts);
  const nativePort = await portFreeOnAll(hosts, [storagePort]);
  const tokens = evenTokens(hosts.length);
  const envOf = (index: number): NodeJS.ProcessEnv => ({
    ...process.env,
    CHATRING_CASSANDRA_RUN_DIR: runDirs[index],
    CHATRING_CASSANDRA_HOST: hosts[index],
    CHATRING_CASSANDRA_SEEDS: hosts.join(','),
    CHATRING_CASSANDRA_CLUSTER_NAME: clusterName,
    CHATRING_CASSANDRA_INITIAL_TOKEN: tokens[index],
    CHATRING_CASSANDRA_NATIVE_PORT: String(nativePort),
    CHATRING_CASSANDRA_STORAGE_PORT: String(storagePort),
    CHATRING_CASSANDRA_HEAP: options.maxHeap ?? DEFAULT_MAX_HEAP,
    CHATRING_CASSANDRA_MIN_HEAP: DEFAULT_MIN_HEAP,
    // A killed node must come back with every write it acknowledged (see the script).
    CHATRING_CASSANDRA_CRASH_SAFE: '1',
  });
  const script = async (index: number, command: 'start' | 'stop') => {
    const args = [
      SCRIPT,
      command,
      ...(command === 'start' ? ['--timeout', `${START_TIMEOUT_S}`] : []),
    ];
    try {
      await run(process.execPath, args, { env: envOf(index), encoding: 'utf8' });
    } catch (error) {
      const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
      throw new Error(
        `cassandra.mjs ${command} of ${hosts[index]} failed (run dir ${runDirs[index]}):\n${stdout}${stderr}`,
        { cause: error },
      );
    }
  };
  const pids: (number | undefined)[] = hosts.map(() => undefined);
  const readPid = (index: number) =>
    (JSON.parse(readFileSync(join(runDirs[index] ?? '', 'state.json'), 'utf8')) as NodeState).pid;

  let probe: cassandra.Client | undefined;
  let teardownDone = false;
  const teardown = async () => {
    if (teardownDone) return;
    teardownDone = true;
    await probe?.shutdown().catch(() => undefined);
    // If a `stop` fails, the folder (with the state files) and the watchdog stay, so the
    // watchdog can still stop the nodes once this process is gone.
    await Promise.all(hosts.map((_, index) => script(index, 'stop')));
    rmSync(root, { recursive: true, force: true });
    watchdog.kill('SIGKILL');
  };
  t.teardown(teardown);

  const startNode = async (index: number) => {
    await script(index, 'start');
    pids[index] = readPid(index);
  };
  const contactPoints = hosts.map((host) => `${host}:${nativePort}`);

  const waitUntilAllUp = async (timeoutMs = 120_000) => {
    const t0 = performance.now();
    const deadline = Date.now() + timeoutMs;
    const client = probe;
    if (client === undefined) throw new Error('the probe client is not connected');
    let lastError = '';
    for (let index = 0; index < hosts.length;) {
      const host = client.hosts.get(contactPoints[index] ?? '');
      try {
        if (host === undefined) throw new Error(`the driver does not know ${contactPoints[index]}`);
        // Not prepared: a restarted node has forgotten every statement prepared on it.
        await client.execute(
          `INSERT INTO ${PROBE_KEYSPACE}.probe (node, at) VALUES (${index}, toTimestamp(now()))`,
          [],
          { prepare: false, consistency: cassandra.types.consistencies.all, host },
        );
        index += 1;
      } catch (error) {
        lastError = `${contactPoints[index]}: ${(error as Error).message}`;
        if (Date.now() > deadline)
          throw new Error(`the Cassandra nodes were not all up in time; last: ${lastError}`);
        await sleep(250);
      }
    }
    return { ms: Math.round(performance.now() - t0) };
  };

  const t0 = performance.now();
  try {
    await Promise.all(hosts.map((_, index) => startNode(index)));
    probe = new cassandra.Client({
      contactPoints: [...contactPoints],
      // The peers it discovers are dialled on this port, not the contact points' (as the store does).
      protocolOptions: { port: nativePort },
      localDataCenter: LOCAL_DATA_CENTER,
      policies: {
        // Find a restarted node again within a second, not after the default back-off.
        reconnection: new cassandra.policies.reconnection.ConstantReconnectionPolicy(500),
      },
      socketOptions: { readTimeout: 5_000 },
    });
    await probe.connect();
    // DDL before every node knows the others can leave one node without it for a minute or more
    // (seen: "keyspace ... does not exist" on one node for 120 s), so wait for gossip first.
    await waitForMembership(probe, contactPoints);
    await probe.execute(
      `CREATE KEYSPACE IF NOT EXISTS ${PROBE_KEYSPACE} WITH replication = ` +
        `{'class': 'SimpleStrategy', 'replication_factor': ${hosts.length}}`,
    );
    await probe.execute(
      `CREATE TABLE IF NOT EXISTS ${PROBE_KEYSPACE}.probe (node int PRIMARY KEY, at timestamp)`,
    );
    await waitUntilAllUp();
  } catch (error) {
    await teardown().catch(() => undefined);
    throw error;
  }
  const startMs = Math.round(performance.now() - t0);

  const nodes = hosts.map((host, index): CassandraClusterNode => ({
    index,
    host,
    contactPoint: `${host}:${nativePort}`,
    runDir: runDirs[index] ?? '',
    pid: () => pids[index],
    rssMiB: () => {
      const pid = pids[index];
      return pid === undefined ? undefined : rssMiB(pid);
    },
  }));
  return {
    nativePort,
    nodes,
    contactPoints,
    localDataCenter: LOCAL_DATA_CENTER,
    clusterName,
    startMs,
    async kill(index) {
      const pid = pids[index];
      if (pid === undefined) throw new Error(`node ${index} (${hosts[index]}) is not running`);
      const t0 = performance.now();
      process.kill(pid, 'SIGKILL');
      while (isRunning(pid)) await sleep(20);
      pids[index] = undefined;
      return { pid, ms: Math.round(performance.now() - t0) };
    },
    async restart(index) {
      const t0 = performance.now();
      await startNode(index);
      return { ms: Math.round(performance.now() - t0) };
    },
    waitUntilAllUp,
  };
}

/**
 * Until every node, asked itself, lists the others in system.peers with its own schema version:
 * all have met through gossip and agree on the schema.
 */
async function waitForMembership(
  client: cassandra.Client,
  contactPoints: readonly string[],
  timeoutMs = 120_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    const views = await Promise.all(
      contactPoints.map(async (contactPoint) => {
        const host = client.hosts.get(contactPoint);
        if (host === undefined) return `${contactPoint}: unknown to the driver`;
        const local = await client.execute('SELECT schema_version FROM system.local', [], { host });
        const peers = await client.execute('SELECT peer, schema_version FROM system.peers', [], {
          host,
        });
        const own = String(local.first()?.get('schema_version'));
        const agreeing = peers.rows.filter((row) => String(row.get('schema_version')) === own);
        return agreeing.length === contactPoints.length - 1
          ? undefined
          : `${contactPoint}: ${agreeing.length} of ${peers.rowLength} peers agree`;
      }),
    ).catch((error: Error) => [error.message]);
    const waiting = views.filter((view) => view !== undefined);
    if (waiting.length === 0) return;
    last = waiting.join('; ');
    if (Date.now() > deadline) throw new Error(`the Cassandra nodes did not meet in time: ${last}`);
    await sleep(250);
  }
}

/** `n` Murmur3 tokens spread evenly over the ring (what a balanced single-token cluster uses). */
function evenTokens(n: number): string[] {
  const span = 2n ** 64n;
  return Array.from({ length: n }, (_, i) => String(-(2n ** 63n) + (span / BigInt(n)) * BigInt(i)));
}

/** A port that can be bound on every host (picked on the first, checked on the others). */
async function portFreeOnAll(hosts: readonly string[], taken: number[] = []): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt += 1) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = net.createServer();
      server.once('error', reject);
      server.listen(0, hosts[0], () => {
        const address = server.address() as net.AddressInfo;
        server.close(() => resolve(address.port));
      });
    });
    let free = !taken.includes(port);
    for (const host of hosts) free = free && (await canListen(host, port));
    if (free) return port;
  }
  throw new Error(`found no port free on all of ${hosts.join(', ')}`);
}

function canListen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

/** Alive and not a zombie (a killed JVM's parent is gone, so init reaps it; until then it is Z). */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

function rssMiB(pid: number): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = Number(/^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1]);
    return Number.isFinite(kb) ? Math.round(kb / 1024) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A detached process that, once the test process is gone, stops every node with the script and
 * deletes the cluster's folder. The teardown kills it after doing the same itself.
 */
function startWatchdog(root: string, runDirs: readonly string[]) {
  const code = `
    const { execFileSync } = require('node:child_process');
    const { rmSync } = require('node:fs');
    const [parent, script, root, ...runDirs] = process.argv.slice(1);
    const alive = () => { try { process.kill(Number(parent), 0); return true; } catch { return false; } };
    setInterval(() => {
      if (alive()) return;
      for (const dir of runDirs) {
        const env = { ...process.env, CHATRING_CASSANDRA_RUN_DIR: dir };
        try { execFileSync(process.execPath, [script, 'stop'], { env, stdio: 'ignore' }); } catch {}
      }
      rmSync(root, { recursive: true, force: true });
      process.exit(0);
    }, 500);
  `;
  const child = spawn(
    process.execPath,
    ['-e', code, String(process.pid), SCRIPT, root, ...runDirs],
    { detached: true, stdio: 'ignore' },
  );
  child.unref();
  return child;
}
