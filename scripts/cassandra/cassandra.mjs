#!/usr/bin/env node
// Obtain, start, wait for and stop a real single-node Apache Cassandra 5.0 on loopback,
// for tests, CI and people trying chatring. With the CHATRING_CASSANDRA_HOST/SEEDS/... settings
// below, one run dir per node, the same script starts the nodes of a small cluster on loopback
// addresses (127.0.0.2, 127.0.0.3, ...: all of 127/8 is loopback on Linux); see README.md.
//
//   node scripts/cassandra/cassandra.mjs start|stop|status|env [--timeout SECONDS] [--clean]
//
//   import { ensureCassandra, stopCassandra } from './scripts/cassandra/cassandra.mjs';
//   const { contactPoint, pid, reused } = await ensureCassandra({ timeoutMs: 180_000 });
//
// How: Maven Central does not publish the Cassandra 5.0 binary tarball, so we download
// org.apache.cassandra:cassandra-all plus its runtime dependencies with Maven (pom.xml
// next to this file) into a cache outside git, render our own minimal cassandra.yaml
// with free loopback ports, and launch CassandraDaemon with java directly (detached).
// Plain Node ESM with builtins only, so it runs before `npm install`/`tsc`.

import { Buffer } from 'node:buffer';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { stripVTControlCharacters } from 'node:util';

// Newest 5.0.x in Maven Central when this was written (5.0.10 did not resolve yet).
export const CASSANDRA_VERSION = process.env.CHATRING_CASSANDRA_VERSION || '5.0.9';

const SCRIPT_DIR = path.dirname(fileURLToPath(import.meta.url));

// ---------------------------------------------------------------------------------
// Where this node listens and which cluster it joins. The defaults are one node alone on
// 127.0.0.1 on free ports. For a cluster, every node gets its own run dir and address, the same
// seeds, cluster name and storage port (Cassandra dials peers on its own storage_port), and its
// own token. Read once at import: one process configures one node.

/** `value` if it is an IP literal (it goes into the YAML as is); else an error naming the setting. */
function checkAddress(name, value) {
  if (net.isIP(value) === 0) throw new Error(`${name} must be an IP address, got "${value}"`);
  return value;
}

/** A port given by the environment (then used as is, never swapped for another), or undefined. */
function envPort(name) {
  const raw = process.env[name]?.trim();
  if (!raw) return undefined;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 1 || port > 65_535)
    throw new Error(`${name} must be a port number (1-65535), got "${raw}"`);
  return port;
}

/** Listen, CQL (rpc) and gossip address of this node, the CQL readiness probe's target too. */
const HOST = checkAddress(
  'CHATRING_CASSANDRA_HOST',
  process.env.CHATRING_CASSANDRA_HOST?.trim() || '127.0.0.1',
);
/** Addresses of the seed nodes (comma-separated); each is dialled on this node's storage port. */
const SEEDS = (process.env.CHATRING_CASSANDRA_SEEDS?.trim() || HOST)
  .split(',')
  .map((seed) => seed.trim())
  .filter(Boolean)
  .map((seed) => checkAddress('CHATRING_CASSANDRA_SEEDS', seed));
const CLUSTER_NAME = process.env.CHATRING_CASSANDRA_CLUSTER_NAME?.trim() || 'chatring-dev';
if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(CLUSTER_NAME))
  throw new Error(`CHATRING_CASSANDRA_CLUSTER_NAME must be [A-Za-z0-9_.-]+, got "${CLUSTER_NAME}"`);
/** This node's one token (Murmur3: -2^63..2^63-1); nodes of one cluster need distinct tokens. */
const INITIAL_TOKEN = process.env.CHATRING_CASSANDRA_INITIAL_TOKEN?.trim() || '0';
if (
  !/^-?\d{1,19}$/.test(INITIAL_TOKEN) ||
  BigInt(INITIAL_TOKEN) < -(2n ** 63n) ||
  BigInt(INITIAL_TOKEN) >= 2n ** 63n
)
  throw new Error(
    `CHATRING_CASSANDRA_INITIAL_TOKEN must be a Murmur3 token, got "${INITIAL_TOKEN}"`,
  );
/**
 * Survive a SIGKILL of the JVM with every acknowledged write (not a host crash: there are still no
 * fsyncs). By default a killed node forgets (1) writes since its last periodic commit-log sync
 * (10 s): replay stops at the last sync marker, and markers are written only at syncs; and (2)
 * tables created since the schema tables were last flushed, which unsafesystem skips, and with them
 * their commit-log data (replay skips mutations of tables it does not know). Crash-safe: the commit
 * log in batch mode (each write's marker is written before it is acknowledged; no fsync, so cheap)
 * and schema changes flushed (DDL then takes ~1 s instead of ~0.1 s). For tests that kill nodes.
 */
const CRASH_SAFE = /^(1|true|yes)$/i.test(process.env.CHATRING_CASSANDRA_CRASH_SAFE?.trim() ?? '');
/** Fixed ports: a cluster's nodes share the storage port, and clients find peers on one CQL port. */
const FIXED_NATIVE_PORT = envPort('CHATRING_CASSANDRA_NATIVE_PORT');
const FIXED_STORAGE_PORT = envPort('CHATRING_CASSANDRA_STORAGE_PORT');
const LOCAL_DC = 'datacenter1'; // what SimpleSnitch reports; drivers need it
const MAIN_CLASS = 'org.apache.cassandra.service.CassandraDaemon';
const DEFAULT_START_TIMEOUT_MS = 180_000;
const DEFAULT_STOP_TIMEOUT_MS = 30_000;
// A 2-core box also runs the tests and chatring itself: 1 GiB max heap is enough for a
// test node; start smaller so an idle node does not claim (RSS) the whole heap up front.
const DEFAULT_MAX_HEAP = '1G';
const DEFAULT_MIN_HEAP = '256M';
const LOG_TAIL_LINES = 60;

// ---------------------------------------------------------------------------------
// Paths and state

/** Where the downloaded jars live (per version, outside git). */
export function cacheDir(version = CASSANDRA_VERSION) {
  return (
    process.env.CHATRING_CASSANDRA_HOME ||
    path.join(os.homedir(), '.cache', 'chatring', 'cassandra', version)
  );
}

/** Where data, logs, the rendered config and the state file live. */
export function runDir() {
  return (
    process.env.CHATRING_CASSANDRA_RUN_DIR ||
    path.join(os.homedir(), '.cache', 'chatring', 'cassandra-run')
  );
}

function runPaths(dir = runDir()) {
  return {
    dir,
    state: path.join(dir, 'state.json'),
    ports: path.join(dir, 'ports.json'),
    lock: path.join(dir, 'start.lock'),
    conf: path.join(dir, 'conf'),
    yaml: path.join(dir, 'conf', 'cassandra.yaml'),
    data: path.join(dir, 'data'),
    logs: path.join(dir, 'logs'),
    triggers: path.join(dir, 'triggers'),
    log: path.join(dir, 'logs', 'cassandra.log'),
  };
}

function readState(paths = runPaths()) {
  try {
    return JSON.parse(fs.readFileSync(paths.state, 'utf8'));
  } catch (err) {
    if (err.code === 'ENOENT') return null;
    throw new Error(`cannot read Cassandra state file ${paths.state}: ${err.message}`);
  }
}

function writeState(paths, state) {
  // Write-then-rename so a concurrent reader never sees half a file.
  const tmp = `${paths.state}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(state, null, 2) + '\n');
  fs.renameSync(tmp, paths.state);
}

function removeState(paths) {
  fs.rmSync(paths.state, { force: true });
}

// ---------------------------------------------------------------------------------
// Small utilities

function pidAlive(pid) {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM'; // exists, just not ours to signal
  }
}

/**
 * True if pid is alive and (where /proc exists) really is a CassandraDaemon, so a pid
 * recycled by the OS after a reboot/crash is never mistaken for our node or killed.
 */
function isCassandraPid(pid) {
  if (!pidAlive(pid)) return false;
  try {
    const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    if (!cmdline.includes(MAIN_CLASS)) return false;
    // A zombie (exited, not yet reaped by its parent) still has a pid but serves nothing.
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch (err) {
    if (err.code === 'ENOENT' && !fs.existsSync('/proc/self')) return true; // no procfs (macOS)
    return false;
  }
}

/** Resident memory of a process in MiB (Linux only; null elsewhere). */
function rssMiB(pid) {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = Number(/^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1]);
    return Number.isFinite(kb) ? Math.round(kb / 1024) : null;
  } catch {
    return null;
  }
}

function tail(file, lines = LOG_TAIL_LINES) {
  try {
    return fs
      .readFileSync(file, 'utf8')
      .split('\n')
      .slice(-lines - 1)
      .join('\n');
  } catch {
    return `(no log at ${file})`;
  }
}

function fmtSeconds(ms) {
  return `${(ms / 1000).toFixed(1)} s`;
}

/** Reserve n distinct free loopback ports (held open together so they differ). */
async function freePorts(n) {
  const servers = [];
  try {
    for (let i = 0; i < n; i++) {
      const server = net.createServer();
      servers.push(server);
      await new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, HOST, resolve);
      });
    }
    return servers.map((s) => s.address().port);
  } finally {
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  }
}

/** The ports of the last start in this run dir, if both can be bound now; else undefined. */
async function previousPortsIfFree(paths) {
  let previous;
  try {
    previous = JSON.parse(fs.readFileSync(paths.ports, 'utf8'));
  } catch {
    return undefined;
  }
  const ports = [previous.nativePort, previous.storagePort];
  if (!ports.every((port) => Number.isInteger(port) && port > 0)) return undefined;
  for (const port of ports) {
    const free = await new Promise((resolve) => {
      const server = net.createServer();
      server.once('error', () => resolve(false));
      server.listen(port, HOST, () => server.close(() => resolve(true)));
    });
    if (!free) return undefined;
  }
  return ports;
}

// ---------------------------------------------------------------------------------
// CQL handshake: OPTIONS -> SUPPORTED on the native protocol (v4 framing, which every
// server that speaks v4/v5 accepts before STARTUP). Proves the node serves CQL, which
// Cassandra only enables at the very end of its start-up.

const CQL_OPCODE_ERROR = 0x00;
const CQL_OPCODE_OPTIONS = 0x05;
const CQL_OPCODE_SUPPORTED = 0x06;

/**
 * Send a CQL OPTIONS frame to host:port and resolve with the SUPPORTED options
 * (e.g. { CQL_VERSION: ['3.4.7'], PROTOCOL_VERSIONS: [...] }); reject otherwise.
 */
export function cqlOptions(port, host = HOST, timeoutMs = 2000) {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    let buf = Buffer.alloc(0);
    const fail = (err) => {
      socket.destroy();
      reject(err);
    };
    socket.setTimeout(timeoutMs, () =>
      fail(new Error(`CQL handshake timed out on ${host}:${port}`)),
    );
    socket.on('error', fail);
    socket.on('connect', () => {
      // header: version=4 (request), flags=0, stream=1, opcode=OPTIONS, body length=0
      const frame = Buffer.from([0x04, 0x00, 0x00, 0x01, CQL_OPCODE_OPTIONS, 0, 0, 0, 0]);
      socket.write(frame);
    });
    socket.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      if (buf.length < 9) return;
      const length = buf.readInt32BE(5);
      if (buf.length < 9 + length) return;
      socket.destroy();
      const opcode = buf[4];
      const body = buf.subarray(9, 9 + length);
      if ((buf[0] & 0x80) === 0)
        return reject(new Error('CQL handshake: reply is not a response frame'));
      if (opcode === CQL_OPCODE_SUPPORTED) return resolve(parseStringMultimap(body));
      if (opcode === CQL_OPCODE_ERROR) {
        const msg = body.length >= 6 ? body.toString('utf8', 6, 6 + body.readUInt16BE(4)) : '';
        return reject(new Error(`CQL handshake: server error: ${msg}`));
      }
      reject(new Error(`CQL handshake: unexpected opcode 0x${opcode.toString(16)}`));
    });
  });
}

function parseStringMultimap(body) {
  let off = 0;
  const readString = () => {
    const len = body.readUInt16BE(off);
    const s = body.toString('utf8', off + 2, off + 2 + len);
    off += 2 + len;
    return s;
  };
  const map = {};
  const n = body.readUInt16BE(off);
  off += 2;
  for (let i = 0; i < n; i++) {
    const key = readString();
    const count = body.readUInt16BE(off);
    off += 2;
    map[key] = Array.from({ length: count }, readString);
  }
  return map;
}

async function cqlAnswers(port, host = HOST) {
  try {
    await cqlOptions(port, host);
    return true;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------
// Prerequisites: java and (for the first download) maven

function javaBin() {
  if (process.env.CHATRING_CASSANDRA_JAVA) return process.env.CHATRING_CASSANDRA_JAVA;
  if (process.env.JAVA_HOME) return path.join(process.env.JAVA_HOME, 'bin', 'java');
  return 'java';
}

/** Returns the java executable after checking it is a JDK Cassandra 5.0 supports (11/17). */
function checkJava() {
  const java = javaBin();
  const res = spawnSync(java, ['-version'], { encoding: 'utf8' });
  if (res.error?.code === 'ENOENT') {
    throw new Error(
      `java not found (${java}): install a JDK 17 (apt-get install -y openjdk-17-jdk-headless) ` +
        'or point JAVA_HOME at one',
    );
  }
  if (res.error || res.status !== 0) {
    throw new Error(`'${java} -version' failed: ${res.error?.message ?? res.stderr}`);
  }
  const m = /version "(\d+)(?:\.(\d+))?/.exec(res.stderr);
  const major = m ? (m[1] === '1' ? Number(m[2]) : Number(m[1])) : NaN;
  if (major !== 11 && major !== 17) {
    throw new Error(
      `Cassandra ${CASSANDRA_VERSION} runs on Java 11 or 17, but ${java} is Java ${major || '?'}: ` +
        'install a JDK 17 (apt-get install -y openjdk-17-jdk-headless) and set JAVA_HOME ' +
        '(or CHATRING_CASSANDRA_JAVA=/path/to/java)',
    );
  }
  return java;
}

function checkMaven() {
  const res = spawnSync('mvn', ['-v'], { encoding: 'utf8' });
  if (res.error?.code === 'ENOENT') {
    throw new Error('mvn not found: apt-get install -y maven (needed once to download Cassandra)');
  }
  if (res.error || res.status !== 0) {
    throw new Error(`'mvn -v' failed: ${res.error?.message ?? res.stdout + res.stderr}`);
  }
}

// ---------------------------------------------------------------------------------
// Download (once per version, into the cache)

function libDir(version) {
  return path.join(cacheDir(version), 'lib');
}

function isInstalled(version) {
  return fs.existsSync(path.join(libDir(version), `cassandra-all-${version}.jar`));
}

/**
 * Download cassandra-all and its runtime dependencies into <cache>/lib with Maven.
 * Jars land in a temp dir first and are renamed into place, so an interrupted download
 * never looks installed and two concurrent installers cannot mix their files.
 */
function install(version, log) {
  if (isInstalled(version)) return { downloaded: false };
  checkMaven();
  const cache = cacheDir(version);
  fs.mkdirSync(cache, { recursive: true });
  const tmp = path.join(cache, `lib.tmp-${process.pid}`);
  fs.rmSync(tmp, { recursive: true, force: true });
  log(
    `Downloading Apache Cassandra ${version} (cassandra-all + dependencies, ~70 MB) into ${cache} ...`,
  );
  const t0 = Date.now();
  const res = spawnSync(
    'mvn',
    [
      '-q',
      '-B',
      '-Dstyle.color=never',
      '-f',
      path.join(SCRIPT_DIR, 'pom.xml'),
      'dependency:copy-dependencies',
      `-Dcassandra.version=${version}`,
      '-DincludeScope=runtime',
      `-DoutputDirectory=${tmp}`,
    ],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 * 1024 * 1024 },
  );
  if (res.error || res.status !== 0) {
    fs.rmSync(tmp, { recursive: true, force: true });
    // Leave no empty version dir behind (rmdir refuses if anything else is in it).
    try {
      fs.rmdirSync(cache);
    } catch {
      // not empty or already gone
    }
    // stripVTControlCharacters: in case this Maven version ignores style.color
    const out = stripVTControlCharacters(`${res.stdout ?? ''}${res.stderr ?? ''}`)
      .trim()
      .split('\n')
      .slice(-30)
      .join('\n');
    throw new Error(
      `downloading Cassandra ${version} with Maven failed (exit ${res.status ?? res.error?.message}).\n${out}`,
    );
  }
  try {
    fs.renameSync(tmp, libDir(version));
  } catch (err) {
    // Another process finished the same download first; keep theirs.
    fs.rmSync(tmp, { recursive: true, force: true });
    if (!isInstalled(version)) throw err;
  }
  const ms = Date.now() - t0;
  log(`Downloaded Cassandra ${version} in ${fmtSeconds(ms)}.`);
  return { downloaded: true, downloadMs: ms };
}

// ---------------------------------------------------------------------------------
// Start-up

/** A lock file so parallel test workers calling ensureCassandra start one node, not N. */
async function withStartLock(paths, timeoutMs, fn) {
  fs.mkdirSync(paths.dir, { recursive: true });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      fs.writeFileSync(paths.lock, String(process.pid), { flag: 'wx' });
      break;
    } catch (err) {
      if (err.code !== 'EEXIST') throw err;
      const holder = Number(fs.readFileSync(paths.lock, 'utf8').trim() || 0);
      if (holder && !pidAlive(holder)) {
        fs.rmSync(paths.lock, { force: true }); // holder died without cleaning up
        continue;
      }
      if (Date.now() > deadline) {
        throw new Error(
          `another process (pid ${holder}) is starting Cassandra and did not finish in ` +
            `${fmtSeconds(timeoutMs)}; if that is wrong, delete ${paths.lock}`,
        );
      }
      await sleep(250);
    }
  }
  try {
    return await fn();
  } finally {
    fs.rmSync(paths.lock, { force: true });
  }
}

/** `host:port` for the seed list (IPv6 in brackets). */
function seedAddress(host, port) {
  return net.isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;
}

function renderConfig(paths, ports) {
  const template = fs.readFileSync(path.join(SCRIPT_DIR, 'cassandra.yaml.template'), 'utf8');
  // JSON strings are valid YAML double-quoted scalars, so any path is safe to insert.
  const yaml = template
    .replaceAll('{{NATIVE_PORT}}', String(ports.native))
    .replaceAll('{{STORAGE_PORT}}', String(ports.storage))
    .replaceAll('{{HOST}}', HOST)
    .replaceAll('{{SEEDS}}', SEEDS.map((seed) => seedAddress(seed, ports.storage)).join(','))
    .replaceAll('{{CLUSTER_NAME}}', CLUSTER_NAME)
    .replaceAll('{{INITIAL_TOKEN}}', INITIAL_TOKEN)
    .replace(
      /^\{\{COMMITLOG_SYNC\}\}$/m,
      CRASH_SAFE
        ? 'commitlog_sync: batch'
        : 'commitlog_sync: periodic\ncommitlog_sync_period: 10000ms',
    )
    .replace(/\{\{DATA_DIR\}\}(\/[a-z_]+)/g, (_, sub) => JSON.stringify(paths.data + sub));
  fs.mkdirSync(paths.conf, { recursive: true });
  fs.writeFileSync(paths.yaml, yaml);
}

/** Lines starting with "-" from jvm-server.options (the distribution's file format). */
function jvmOptionsFromFile() {
  return fs
    .readFileSync(path.join(SCRIPT_DIR, 'jvm-server.options'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.startsWith('-'));
}

function javaArgs(paths, version) {
  const lib = libDir(version);
  const jamm = fs.readdirSync(lib).find((f) => /^jamm-.*\.jar$/.test(f));
  const maxHeap = process.env.CHATRING_CASSANDRA_HEAP || DEFAULT_MAX_HEAP;
  const minHeap = process.env.CHATRING_CASSANDRA_MIN_HEAP || DEFAULT_MIN_HEAP;
  return [
    ...jvmOptionsFromFile(),
    `-Xms${minHeap}`,
    `-Xmx${maxHeap}`,
    // jamm measures object sizes for memtable accounting; the distribution loads it as an agent.
    ...(jamm ? [`-javaagent:${path.join(lib, jamm)}`] : []),
    `-Dcassandra.config=${pathToFileURL(paths.yaml)}`,
    `-Dcassandra.storagedir=${paths.data}`,
    `-Dcassandra.logdir=${paths.logs}`,
    `-Dlogback.configurationFile=${path.join(SCRIPT_DIR, 'logback.xml')}`,
    // Otherwise CassandraDaemon closes stdout/stderr, and with them our only log file.
    '-Dcassandra-foreground=yes',
    // Boot-time shortcuts, safe for a single node with no peers and for our test clusters too
    // (every node a seed with its own token and auto_bootstrap off: nothing streams, and nobody
    // needs the ring to settle before serving; peers are found by gossip a second later):
    '-Dcassandra.skip_wait_for_gossip_to_settle=0',
    '-Dcassandra.ring_delay_ms=100',
    '-Dcassandra.superuser_setup_delay_ms=0',
    // Estimating memtable row overhead with the default 100k sample rows takes ~1 s at boot;
    // Cassandra's own test runs use 100 (the estimate only feeds memtable size accounting).
    '-Dcassandra.memtable_row_overhead_computation_step=100',
    // An existing (empty) triggers dir; otherwise Cassandra warns about it on every DDL.
    `-Dcassandra.triggers_dir=${paths.triggers}`,
    // Stop in ~0.5 s instead of ~4.5 s: there are no peers to announce the shutdown to
    // (default waits 2 s) and no internode traffic to let quiesce (another 2 s).
    '-Dcassandra.shutdown_announce_in_ms=0',
    '-Dcassandra.test.messagingService.nonGracefulShutdown=true',
    // Test node: skip fsyncs and forced flushes of system tables (fast DDL in tests).
    '-Dcassandra.skip_sync=true',
    // (Not when crash-safe: see CRASH_SAFE.)
    ...(CRASH_SAFE ? [] : ['-Dcassandra.unsafesystem=true']),
    // Sigar's native libs are not in Maven Central; skip the probe (and its warnings).
    '-Dcassandra.test.ignore_sigar=true',
    // Chronicle (audit/full-query log library) would otherwise try to phone home.
    '-Dchronicle.analytics.disable=true',
    '-Dchronicle.announcer.disable=true',
    // (No -Dcassandra.jmx.*.port: no JMX listener, chatring does not need one.)
    // Escape hatch, last so it can override anything above, e.g.
    // CHATRING_CASSANDRA_JVM_OPTS="-XX:TieredStopAtLevel=4" for load tests.
    ...(process.env.CHATRING_CASSANDRA_JVM_OPTS || '').split(/\s+/).filter(Boolean),
    '-cp',
    path.join(lib, '*'),
    MAIN_CLASS,
  ];
}

function findOnPath(name) {
  for (const dir of (process.env.PATH || '').split(path.delimiter)) {
    const file = path.join(dir || '.', name);
    try {
      fs.accessSync(file, fs.constants.X_OK);
      return file;
    } catch {
      // keep looking
    }
  }
  return null;
}

/**
 * Command prefix that keeps a root-run JVM from mlockall()ing its memory.
 * CassandraDaemon always calls mlockall(MCL_CURRENT); for non-root users it fails on
 * RLIMIT_MEMLOCK (a harmless warning), but root (CI containers, dev VMs) has CAP_IPC_LOCK,
 * and the locked heap/mappings cost ~250 MiB extra RSS that a test node never needs
 * (measured 663 vs 404 MiB right after boot). setpriv (util-linux) drops that one
 * capability; if it is missing or not permitted here, run java as is.
 */
function noMlockPrefix() {
  if (process.getuid?.() !== 0) return [];
  const setpriv = findOnPath('setpriv');
  if (!setpriv) return [];
  const prefix = [setpriv, '--bounding-set=-ipc_lock', '--inh-caps=-ipc_lock', '--'];
  const probe = spawnSync(prefix[0], [...prefix.slice(1), 'true'], { stdio: 'ignore' });
  return probe.status === 0 ? prefix : [];
}

/** Spawn the JVM detached with stdout+stderr appended to the log; returns the child. */
function launch(paths, version, java) {
  fs.mkdirSync(paths.logs, { recursive: true });
  fs.mkdirSync(paths.triggers, { recursive: true });
  // Keep one previous log for post-mortems; a fresh file per start keeps tails relevant.
  if (fs.existsSync(paths.log)) fs.renameSync(paths.log, `${paths.log}.1`);
  const fd = fs.openSync(paths.log, 'a');
  try {
    const [cmd, ...prefix] = [...noMlockPrefix(), java];
    const child = spawn(cmd, [...prefix, ...javaArgs(paths, version)], {
      cwd: paths.dir,
      detached: true, // own process group: survives our exit and terminal Ctrl-C
      stdio: ['ignore', fd, fd],
      // glibc arenas inflate RSS on many-threaded JVMs; the distribution sets 4 too.
      env: { ...process.env, MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX || '4' },
    });
    child.unref();
    return child;
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Poll the CQL port until it answers, the process dies, or the deadline passes.
 * Returns null on success or a short reason string on failure.
 */
async function waitForCql(child, port, deadline) {
  let exited = null;
  child.once('exit', (code, signal) => {
    exited = signal ? `killed by ${signal}` : `exited with code ${code}`;
  });
  while (Date.now() < deadline) {
    if (exited) return `Cassandra ${exited} before CQL came up`;
    if (await cqlAnswers(port)) return null;
    await sleep(500);
  }
  return `CQL did not answer on ${HOST}:${port} in time`;
}

/**
 * The CQL and storage ports of the next start: the fixed ones when the environment gives them,
 * else the last ones of this run dir if still free (first attempt only), else fresh free ones.
 */
async function pickPorts(paths, attempt) {
  if (FIXED_NATIVE_PORT !== undefined && FIXED_STORAGE_PORT !== undefined)
    return [FIXED_NATIVE_PORT, FIXED_STORAGE_PORT];
  // A restart on the same run dir comes back on the same ports when they are still free, so
  // clients configured with the old contact point (a cluster under test) find it again.
  const [nativePort, storagePort] =
    (attempt === 1 && (await previousPortsIfFree(paths))) || (await freePorts(2));
  return [FIXED_NATIVE_PORT ?? nativePort, FIXED_STORAGE_PORT ?? storagePort];
}

async function startFresh(paths, { version, java, timeoutMs, clean, log, startedFor }) {
  if (clean) {
    log(`Removing old data in ${paths.data} (--clean) ...`);
    fs.rmSync(paths.data, { recursive: true, force: true });
  }
  // Ports are free when picked but could be taken before Cassandra binds them; retry
  // with fresh ports if that is why the JVM died (never when the environment fixed them: a node
  // of a cluster on another port would not be found by its peers and clients).
  const fixedPorts = FIXED_NATIVE_PORT !== undefined || FIXED_STORAGE_PORT !== undefined;
  const maxAttempts = fixedPorts ? 1 : 3;
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 1; ; attempt++) {
    const [nativePort, storagePort] = await pickPorts(paths, attempt);
    fs.writeFileSync(paths.ports, JSON.stringify({ nativePort, storagePort }));
    renderConfig(paths, { native: nativePort, storage: storagePort });
    const t0 = Date.now();
    const child = launch(paths, version, java);
    const state = {
      pid: child.pid,
      version,
      contactPoint: `${HOST}:${nativePort}`,
      host: HOST,
      nativePort,
      storagePort,
      clusterName: CLUSTER_NAME,
      localDataCenter: LOCAL_DC,
      runDir: paths.dir,
      cacheDir: cacheDir(version),
      logFile: paths.log,
      startedAt: new Date().toISOString(),
      ...(startedFor === undefined ? {} : { startedFor }),
      ready: false,
    };
    // Record before waiting, so `stop` can find a node that is still booting.
    writeState(paths, state);
    log(
      `Starting Cassandra ${version} (pid ${child.pid}, CQL ${HOST}:${nativePort}, log ${paths.log}) ...`,
    );
    const failure = await waitForCql(child, nativePort, deadline);
    if (!failure) {
      const bootMs = Date.now() - t0;
      writeState(paths, { ...state, ready: true, bootMs });
      return { ...state, ready: true, bootMs };
    }
    const logTail = tail(paths.log);
    await killPid(child.pid, 5_000);
    removeState(paths);
    const bindFailed = /Address already in use|BindException/.test(logTail);
    if (attempt < maxAttempts && bindFailed) {
      log(`A picked port was taken before Cassandra bound it; retrying with new ports ...`);
      continue;
    }
    if (bindFailed && fixedPorts)
      log(
        `A fixed port (CQL ${nativePort}, storage ${storagePort} on ${HOST}) is taken; ` +
          'free it or choose others (CHATRING_CASSANDRA_NATIVE_PORT / _STORAGE_PORT).',
      );
    throw new Error(
      `${failure} (waited ${fmtSeconds(Date.now() - t0)}, timeout ${fmtSeconds(timeoutMs)}).\n` +
        `--- last lines of ${paths.log} ---\n${logTail}`,
    );
  }
}

/**
 * Return the recorded node if it is alive and answers CQL (waiting up to the deadline
 * if it is still booting), else clean up whatever is left of it and return null.
 */
async function reusable(paths, deadline) {
  const state = readState(paths);
  if (!state) return null;
  while (isCassandraPid(state.pid)) {
    if (await cqlAnswers(state.nativePort, state.host ?? HOST)) return state;
    if (Date.now() >= deadline) break;
    await sleep(500);
  }
  // Dead, or alive but never answered: replace it.
  if (isCassandraPid(state.pid)) await killPid(state.pid, DEFAULT_STOP_TIMEOUT_MS);
  removeState(paths);
  return null;
}

const stderrLog = (msg) => process.stderr.write(`[cassandra] ${msg}\n`);

/**
 * Make sure a Cassandra node is running and answering CQL; start one if needed.
 * @param {object} [opts]
 * @param {number} [opts.timeoutMs=180000] how long to wait for CQL (download time excluded)
 * @param {boolean} [opts.clean=false] wipe the data dir before starting a new node
 * @param {(msg: string) => void} [opts.log] progress messages (default: stderr)
 * @param {string} [opts.startedFor] recorded with a node this call starts (the test harness says
 *   'tests', so the suite's `after` step stops only a node the tests started, never one an operator
 *   or the bench started and the tests reused)
 * @returns {Promise<{contactPoint: string, pid: number, reused: boolean, port: number,
 *   localDataCenter: string, version: string, runDir: string, logFile: string, bootMs?: number,
 *   downloadMs?: number}>} bootMs/downloadMs only when this call started/downloaded it
 */
export async function ensureCassandra(opts = {}) {
  const timeoutMs = opts.timeoutMs ?? envTimeoutMs() ?? DEFAULT_START_TIMEOUT_MS;
  const log = opts.log ?? stderrLog;
  const version = CASSANDRA_VERSION;
  const paths = runPaths();
  // Waiting for the lock may include another worker's first download (~1 min).
  return withStartLock(paths, timeoutMs + 10 * 60_000, async () => {
    const running = opts.clean ? null : await reusable(paths, Date.now() + timeoutMs);
    if (running?.version === version) return summary(running, true);
    if (running) log(`Replacing running Cassandra ${running.version} with ${version} ...`);
    if (running || opts.clean) await stopCassandra({ log: () => {} });
    const java = checkJava();
    const { downloadMs } = install(version, log);
    const state = await startFresh(paths, {
      version,
      java,
      timeoutMs,
      clean: opts.clean,
      log,
      startedFor: opts.startedFor,
    });
    return { ...summary(state, false), downloadMs };
  });
}

function summary(state, reused) {
  return {
    contactPoint: state.contactPoint,
    pid: state.pid,
    reused,
    port: state.nativePort,
    localDataCenter: state.localDataCenter ?? LOCAL_DC,
    version: state.version,
    runDir: state.runDir,
    logFile: state.logFile,
    ...(reused ? {} : { bootMs: state.bootMs }),
  };
}

function envTimeoutMs() {
  const s = Number(process.env.CHATRING_CASSANDRA_TIMEOUT);
  return s > 0 ? s * 1000 : undefined;
}

// ---------------------------------------------------------------------------------
// Stop and status

/** SIGTERM (Cassandra drains and exits), then SIGKILL after timeoutMs. */
async function killPid(pid, timeoutMs) {
  const signal = (sig) => {
    try {
      process.kill(pid, sig);
    } catch (err) {
      if (err.code !== 'ESRCH') throw err;
    }
  };
  signal('SIGTERM');
  const deadline = Date.now() + timeoutMs;
  while (isCassandraPid(pid) && Date.now() < deadline) await sleep(200);
  if (!isCassandraPid(pid)) return 'SIGTERM';
  signal('SIGKILL');
  while (isCassandraPid(pid)) await sleep(100);
  return 'SIGKILL';
}

/**
 * Stop the recorded node (if any) and remove the state file.
 * @returns {Promise<{stopped: boolean, pid?: number, signal?: string}>}
 */
export async function stopCassandra(opts = {}) {
  const log = opts.log ?? stderrLog;
  const paths = runPaths();
  const state = readState(paths);
  if (!state) {
    log('No Cassandra instance recorded; nothing to stop.');
    return { stopped: false };
  }
  if (!isCassandraPid(state.pid)) {
    log(`Recorded Cassandra (pid ${state.pid}) is not running; removing stale state.`);
    removeState(paths);
    return { stopped: false, pid: state.pid };
  }
  const t0 = Date.now();
  const sig = await killPid(state.pid, opts.timeoutMs ?? DEFAULT_STOP_TIMEOUT_MS);
  removeState(paths);
  log(`Stopped Cassandra pid ${state.pid} (${sig}, ${fmtSeconds(Date.now() - t0)}).`);
  return { stopped: true, pid: state.pid, signal: sig };
}

/**
 * The recorded node's process, without touching the network: its pid, CQL port and contact point
 * from the state file, if that pid is alive and (where /proc exists) really is a CassandraDaemon;
 * else null. For a caller that wants the JVM itself (the load bench reads its CPU time from
 * /proc/<pid>/stat) and was given only a contact point.
 * `startedFor` is what the starter said it was for (ensureCassandra's option), if anything.
 * @returns {{pid: number, nativePort: number, contactPoint: string, runDir: string,
 *   startedFor?: string} | null}
 */
export function recordedCassandra() {
  const state = readState();
  if (!state || !isCassandraPid(state.pid)) return null;
  return {
    pid: state.pid,
    nativePort: state.nativePort,
    contactPoint: state.contactPoint,
    runDir: state.runDir,
    ...(state.startedFor === undefined ? {} : { startedFor: state.startedFor }),
  };
}

/**
 * Describe the recorded node.
 * @returns {Promise<{running: boolean, state: object|null, cql?: object, rssMiB?: number|null}>}
 */
export async function cassandraStatus() {
  const state = readState();
  if (!state || !isCassandraPid(state.pid)) return { running: false, state };
  try {
    const cql = await cqlOptions(state.nativePort, state.host ?? HOST);
    return { running: true, state, cql, rssMiB: rssMiB(state.pid) };
  } catch (err) {
    return { running: false, starting: true, state, error: err.message, rssMiB: rssMiB(state.pid) };
  }
}

// ---------------------------------------------------------------------------------
// CLI

function contactLine(contactPoint) {
  return `CASSANDRA_CONTACT_POINTS=${contactPoint}`;
}

function parseArgs(argv) {
  const args = { command: argv[0], clean: false };
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--clean') args.clean = true;
    else if (a === '--timeout' || a.startsWith('--timeout=')) {
      const v = a.includes('=') ? a.split('=')[1] : argv[++i];
      if (!(Number(v) > 0)) throw new Error(`--timeout needs a number of seconds, got ${v}`);
      args.timeoutMs = Number(v) * 1000;
    } else throw new Error(`unknown option ${a}`);
  }
  return args;
}

const USAGE = `usage: node scripts/cassandra/cassandra.mjs <command> [options]

commands:
  start    start (or reuse) a local Cassandra ${CASSANDRA_VERSION}; prints CASSANDRA_CONTACT_POINTS=... on stdout
  stop     stop the recorded instance (SIGTERM, SIGKILL after 30 s)
  status   describe the recorded instance; exit 0 if it answers CQL, else 1
  env      print CASSANDRA_CONTACT_POINTS=... for the running instance; exit 1 if none

options (start):
  --timeout SECONDS   wait this long for CQL (default 180, env CHATRING_CASSANDRA_TIMEOUT)
  --clean             stop any instance and wipe its data before starting

environment: CHATRING_CASSANDRA_HOME (jar cache), CHATRING_CASSANDRA_RUN_DIR (data/logs/state),
  CHATRING_CASSANDRA_HEAP (max heap, default ${DEFAULT_MAX_HEAP}), JAVA_HOME / CHATRING_CASSANDRA_JAVA
  one node of a cluster (one run dir each; see README.md): CHATRING_CASSANDRA_HOST (default 127.0.0.1),
  CHATRING_CASSANDRA_SEEDS (addresses, default the host), CHATRING_CASSANDRA_CLUSTER_NAME,
  CHATRING_CASSANDRA_INITIAL_TOKEN (default 0), CHATRING_CASSANDRA_NATIVE_PORT and
  CHATRING_CASSANDRA_STORAGE_PORT (fixed, else free ones), CHATRING_CASSANDRA_CRASH_SAFE=1 (a SIGKILLed
  JVM keeps every acknowledged write)`;

async function main(argv) {
  const args = parseArgs(argv);
  switch (args.command) {
    case 'start': {
      const r = await ensureCassandra({ timeoutMs: args.timeoutMs, clean: args.clean });
      const how = r.reused ? 'reusing running instance' : `started in ${fmtSeconds(r.bootMs)}`;
      stderrLog(
        `Cassandra ${r.version} ready at ${r.contactPoint} (pid ${r.pid}, ${how}; ` +
          `local DC ${r.localDataCenter}; RSS ${rssMiB(r.pid) ?? '?'} MiB; log ${r.logFile})`,
      );
      // stdout carries only the env line, so `... start >> "$GITHUB_ENV"` works.
      console.log(contactLine(r.contactPoint));
      return 0;
    }
    case 'stop':
      await stopCassandra();
      return 0;
    case 'status': {
      const s = await cassandraStatus();
      if (s.running) {
        const up = fmtSeconds(Date.now() - Date.parse(s.state.startedAt));
        console.log(
          `running: Cassandra ${s.state.version} pid ${s.state.pid} at ${s.state.contactPoint} ` +
            `(CQL ${s.cql.CQL_VERSION?.[0] ?? '?'}, protocols ${s.cql.PROTOCOL_VERSIONS?.join(' ') ?? '?'}), ` +
            `up ${up}, RSS ${s.rssMiB ?? '?'} MiB\n  run dir ${s.state.runDir}\n  log ${s.state.logFile}`,
        );
        return 0;
      }
      if (s.starting)
        console.log(`not ready: pid ${s.state.pid} is alive but CQL does not answer (${s.error})`);
      else if (s.state)
        console.log(`not running (stale state for pid ${s.state.pid} in ${runDir()})`);
      else console.log(`not running (no state in ${runDir()})`);
      return 1;
    }
    case 'env': {
      const s = await cassandraStatus();
      if (!s.running) {
        stderrLog('no running Cassandra instance; run: node scripts/cassandra/cassandra.mjs start');
        return 1;
      }
      console.log(contactLine(s.state.contactPoint));
      return 0;
    }
    default:
      console.error(USAGE);
      return args.command ? 2 : 0;
  }
}

if (
  process.argv[1] &&
  fs.realpathSync(process.argv[1]) === fs.realpathSync(fileURLToPath(import.meta.url))
) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err) => {
      stderrLog(`error: ${err.message}`);
      process.exit(1);
    },
  );
}
