/**
 * The Cassandra JVM whose CPU the load bench reads, alongside the system under test's, for each
 * Cassandra target's measured window (closed-loop-drive.ts): the store's own cores, measured, not
 * guessed. Found, in order:
 *
 * 1. the local node scripts/cassandra/cassandra.mjs started or reused for this run (its pid comes
 *    from the script's state file, through harness/cassandra.ts);
 * 2. for each CASSANDRA_CONTACT_POINTS entry on this machine: the CassandraDaemon process that
 *    owns the listening socket of its port (/proc/net/tcp{,6} → socket inode → /proc/<pid>/fd),
 *    else (its fds not readable) the script's recorded node when it serves that port
 *    (`recordedCassandra()`).
 *
 * Anything else is reported "not measured" with the reason, never estimated: a contact point that
 * is not on this machine (a remote or containerised cluster), a port no local CassandraDaemon
 * listens on, a cluster with more nodes (system.peers) than were found here, or no /proc.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { lookup } from 'node:dns/promises';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { repositoryRoot, type CassandraLocation } from '../../harness/index.js';
import { procAvailable } from '../lib/process-cpu.js';

/**
 * The Cassandra processes whose CPU a Cassandra target is charged with apart, or why none. `scope`
 * says how they were found, without pids (it goes into the README; `pids` change every start).
 */
export type StoreCpuScope = { pids: number[]; scope: string } | { notMeasured: string };

const MAIN_CLASS = 'org.apache.cassandra.service.CassandraDaemon';
const DEFAULT_NATIVE_PORT = 9042;
const TCP_LISTEN = '0A';

/** The part of scripts/cassandra/cassandra.mjs used here (plain JS, without types). */
interface CassandraScript {
  recordedCassandra(): { pid: number; nativePort: number; contactPoint: string } | null;
}

/**
 * The local Cassandra JVM(s) of `location`. `countPeers` answers how many other nodes the cluster
 * has (system.peers): a cluster partly elsewhere is not measured.
 */
export async function locateCassandraProcesses(
  location: CassandraLocation,
  countPeers: () => Promise<number>,
): Promise<StoreCpuScope> {
  if (!procAvailable()) return { notMeasured: 'no /proc (Linux only)' };
  let found: StoreCpuScope;
  if (location.localNode !== undefined) {
    const { pid } = location.localNode;
    found = isCassandraDaemon(pid)
      ? {
          pids: [pid],
          scope:
            "the local node of scripts/cassandra/cassandra.mjs, its pid from the script's state file",
        }
      : {
          notMeasured: `pid ${String(pid)} of scripts/cassandra's state file is not a running CassandraDaemon`,
        };
  } else {
    found = await processesOfContactPoints(location.contactPoints);
  }
  if ('notMeasured' in found) return found;
  let peers: number;
  try {
    peers = await countPeers();
  } catch (error) {
    return { notMeasured: `system.peers could not be read: ${(error as Error).message}` };
  }
  if (1 + peers > found.pids.length)
    return {
      notMeasured: `the cluster has ${String(1 + peers)} nodes, ${String(found.pids.length)} found on this machine: its CPU would be only partly measured`,
    };
  return found;
}

/** One CassandraDaemon per contact point (deduplicated), or the first reason one is missing. */
async function processesOfContactPoints(contactPoints: readonly string[]): Promise<StoreCpuScope> {
  const recorded = await recordedNode();
  const pids = new Set<number>();
  const how: string[] = [];
  for (const contactPoint of contactPoints) {
    const { host, port } = parseContactPoint(contactPoint);
    if (!(await isOnThisMachine(host)))
      return {
        notMeasured: `contact point ${contactPoint} is not on this machine, whose /proc is where its CPU would be read`,
      };
    const listener = listenerPid(port);
    if (listener !== undefined) {
      pids.add(listener);
      how.push(`${contactPoint} (the owner of its listening socket)`);
    } else if (recorded?.nativePort === port) {
      // The socket's owner could not be read (another user's process): the script's record.
      pids.add(recorded.pid);
      how.push(`${contactPoint} (its pid from scripts/cassandra's state file)`);
    } else {
      return {
        notMeasured: `no CassandraDaemon on this machine was found listening on port ${String(port)} of ${contactPoint}: a container, or another user's process?`,
      };
    }
  }
  if (pids.size === 0) return { notMeasured: 'no contact points' };
  return { pids: [...pids], scope: `the local CassandraDaemon of ${how.join(', ')}` };
}

/** scripts/cassandra's recorded node when it runs (null when none or the script fails to load). */
async function recordedNode(): Promise<ReturnType<CassandraScript['recordedCassandra']>> {
  try {
    // A computed specifier: TypeScript does not look for types of a plain .mjs script.
    const url = pathToFileURL(join(repositoryRoot(), 'scripts', 'cassandra', 'cassandra.mjs'));
    const script = (await import(url.href)) as CassandraScript;
    return script.recordedCassandra();
  } catch {
    return null;
  }
}

/** `host:port`, `[v6]:port`, a bare v6 address or a bare host (the driver's default port). */
export function parseContactPoint(contactPoint: string): { host: string; port: number } {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(contactPoint);
  if (bracketed !== null)
    return { host: bracketed[1] ?? '', port: Number(bracketed[2] ?? DEFAULT_NATIVE_PORT) };
  const parts = contactPoint.split(':');
  if (parts.length === 2 && /^\d+$/.test(parts[1] ?? ''))
    return { host: parts[0] ?? '', port: Number(parts[1]) };
  return { host: contactPoint, port: DEFAULT_NATIVE_PORT };
}

/** Every address the host name resolves to is a loopback or one of this machine's interfaces. */
async function isOnThisMachine(host: string): Promise<boolean> {
  let addresses: string[];
  try {
    addresses = (await lookup(host, { all: true })).map((entry) => entry.address);
  } catch {
    return false;
  }
  const local = new Set(
    Object.values(networkInterfaces())
      .flatMap((entries) => entries ?? [])
      .map((entry) => entry.address),
  );
  return (
    addresses.length > 0 &&
    addresses.every(
      (address) =>
        local.has(address) ||
        address.startsWith('127.') ||
        address === '::1' ||
        address.startsWith('::ffff:127.'),
    )
  );
}

/** The CassandraDaemon process owning a socket that listens on `port`, if one does. */
function listenerPid(port: number): number | undefined {
  const inodes = listeningInodes(port);
  if (inodes.size === 0) return undefined;
  for (const pid of cassandraDaemons()) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${String(pid)}/fd`);
    } catch {
      continue; // not ours to read
    }
    for (const fd of fds) {
      let target: string;
      try {
        target = readlinkSync(`/proc/${String(pid)}/fd/${fd}`);
      } catch {
        continue;
      }
      const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
      if (inode !== undefined && inodes.has(inode)) return pid;
    }
  }
  return undefined;
}

/** Inodes of the TCP sockets (v4 and v6) listening on `port`, from /proc/net/tcp{,6}. */
function listeningInodes(port: number): Set<string> {
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let lines: string[];
    try {
      lines = readFileSync(table, 'utf8').split('\n').slice(1);
    } catch {
      continue;
    }
    for (const line of lines) {
      // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode ...
      const fields = line.trim().split(/\s+/);
      const local = fields[1];
      if (local === undefined || fields[3] !== TCP_LISTEN) continue;
      if (Number.parseInt(local.split(':').at(-1) ?? '', 16) !== port) continue;
      const inode = fields[9];
      if (inode !== undefined && inode !== '0') inodes.add(inode);
    }
  }
  return inodes;
}

/** Pids of every living CassandraDaemon JVM this process can see. */
function cassandraDaemons(): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .map(Number)
    .filter(isCassandraDaemon);
}

/** A living (not zombie) process whose command line runs CassandraDaemon. */
export function isCassandraDaemon(pid: number): boolean {
  try {
    if (!readFileSync(`/proc/${String(pid)}/cmdline`, 'utf8').includes(MAIN_CLASS)) return false;
    const stat = readFileSync(`/proc/${String(pid)}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}
