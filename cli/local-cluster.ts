import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { ChatringError, SYSTEM_CLOCK, type Clock } from '../protocol/index.js';
import {
  EmbeddedCommitServer,
  embeddedStorePath,
  openStore,
  type StoreOptions,
} from '../store-adapter/index.js';
import { HttpControlPlaneClient } from '../control-plane/index.js';
import { MemberSigner, isLoopback } from '../transport/index.js';
import type { LocalClusterOptions } from './cluster-options.js';
import { CREDENTIAL_ENV, credentialsFrom } from './credential-flags.js';
import { redisConnectionEnvironment } from './flag-values.js';
import { logFormatOption, readableLogLine } from './log-lines.js';

const ENTRY = fileURLToPath(new URL('./chatring.js', import.meta.url));
/** A member that keeps dying is restarted a little later each time, never later than this. */
const RESTART_DELAY_MS_MAX = 5_000;
const RESTART_DELAY_STEP_MS = 250;
/** How long the whole cluster may take to start serving every slot, polled this often. */
const START_TIMEOUT_MS = 30_000;
const START_POLL_INTERVAL_MS = 100;
/** A stopped member gets this long to close cleanly before SIGKILL. */
const STOP_GRACE_MS = 10_000;

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
 * process (on loopback unless `--router-host` / `--node-hosts` place them elsewhere; each node on
 * the next host of the list, advertising where it listens), all on one store (embedded in dataDir
 * by default). With `--redis`, the control plane lives in Redis and there may be several routers.
 * A member that dies is started again (it rejoins as a standby if its slot was handed over
 * meanwhile). `clock` paces restarts and the wait for the cluster to serve. It stays one function
 * because the members' lifetimes (spawn, restart on exit, stop on shutdown) share the same few
 * closures; split, each part would need them all passed in.
 */
export async function startLocalCluster(
  options: Readonly<LocalClusterOptions & MemberMetricsOption>,
  log: (line: string) => void,
  clock: Clock = SYSTEM_CLOCK,
): Promise<LocalClusterHandle> {
  const nodeIds = Array.from({ length: options.nodes }, (_, index) => `node-${index + 1}`);
  const standbyIds = Array.from({ length: options.standbys }, (_, index) => `standby-${index + 1}`);
  // Secrets and connection strings reach members through their environment, never their argv.
  const memberEnv = membersEnvironment(options, log);
  const logFormat = logFormatOption(process.env.CHATRING_LOG_FORMAT);
  const controlPlaneArgs = options.redisUrl === undefined ? ['--data-dir', options.dataDir] : [];
  const routers: Member[] = Array.from({ length: options.routers }, (_, index) => ({
    name: index === 0 ? 'router' : `router-${index + 1}`,
    args: [
      'router',
      '--host',
      options.routerHost,
      '--port',
      String(index === 0 ? options.port : 0),
      ...controlPlaneArgs,
      '--initial-nodes',
      nodeIds.join(','),
      ...(standbyIds.length === 0 ? [] : ['--initial-standbys', standbyIds.join(',')]),
      '--lease-ms',
      String(options.leaseMs),
      '--heartbeat-interval-ms',
      String(options.heartbeatIntervalMs),
      ...metricsArgs(options),
    ],
    restarts: 0,
  }));
  let stopping = false;
  const launch = (member: Member) => {
    const child = spawn(
      process.execPath,
      [...profilerArgs(options, member.name), ENTRY, ...member.args],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
        env: memberEnv,
      },
    );
    member.child = child;
    // Line by line (a chunk may end mid-line), each made readable unless JSON was asked for.
    if (child.stdout !== null)
      createInterface({ input: child.stdout, crlfDelay: Infinity }).on('line', (line) =>
        process.stdout.write(`[${member.name}] ${readableLogLine(line, logFormat)}\n`),
      );
    child.once('exit', (code, signal) => {
      if (stopping || !options.restartMembers) return;
      member.restarts += 1;
      log(`${member.name} exited (${signal ?? code}); restarting it`);
      void clock
        .sleep(Math.min(RESTART_DELAY_MS_MAX, RESTART_DELAY_STEP_MS * member.restarts))
        .then(() => !stopping && launch(member));
    });
    return child;
  };

  // Open the store once before any node does: it creates or migrates the schema here, so nodes
  // starting together do not race schema changes (Cassandra handles concurrent DDL badly).
  await (await openStore(options.store)).close();
  const commitServer =
    options.store.kind === 'embedded' && options.commitServer
      ? await EmbeddedCommitServer.listen({
          databasePath: embeddedStorePath(options.dataDir),
          socketPath: commitServerSocketPath(options.dataDir),
        })
      : undefined;
  if (commitServer === undefined) delete memberEnv[COMMIT_SERVER_SOCKET_ENV];
  else memberEnv[COMMIT_SERVER_SOCKET_ENV] = commitServer.socketPath;
  const routerUrls: string[] = [];
  for (const router of routers) {
    const url = await waitForLine(launch(router), /router listening on (\S+)/);
    // A restarted router comes back on the same port, where nodes and clients expect it.
    router.args[router.args.indexOf('--port') + 1] = new URL(url).port;
    routerUrls.push(url);
  }
  const [routerUrl = ''] = routerUrls;
  const nodeControlPlaneArgs =
    options.redisUrl === undefined
      ? ['--control-plane-url', routerUrl]
      : ['--lease-ms', String(options.leaseMs)];
  const members: Member[] = [...nodeIds, ...standbyIds].map((nodeId, index) => ({
    name: nodeId,
    args: [
      'node',
      '--node-id',
      nodeId,
      '--host',
      options.nodeHosts[index % options.nodeHosts.length] ?? '',
      ...nodeControlPlaneArgs,
      '--data-dir',
      options.dataDir,
      '--heartbeat-interval-ms',
      String(options.heartbeatIntervalMs),
      '--warm-handoff-bytes-max',
      String(options.warmHandoffBytesMax),
      ...metricsArgs(options),
    ],
    restarts: 0,
  }));
  for (const member of members) launch(member);
  await waitUntilServing(routerUrl, options.nodes, clock, memberEnv);

  return {
    routerUrl,
    routerUrls,
    pids: () => Object.fromEntries([...routers, ...members].map((m) => [m.name, m.child?.pid])),
    async stop() {
      stopping = true;
      await Promise.all(members.map((m) => terminate(m.child)));
      await Promise.all(routers.map((router) => terminate(router.child)));
      await commitServer?.close();
    },
  };
}

/**
 * `chatring start --metrics`: passed to every member as its own flag (which wins over the
 * CHATRING_METRICS the members also inherit). Undefined: each member's default (on).
 */
export interface MemberMetricsOption {
  metrics?: boolean;
}

function metricsArgs(options: MemberMetricsOption): string[] {
  return options.metrics === undefined ? [] : ['--metrics', String(options.metrics)];
}

/**
 * V8's CPU profiler for one member (`--cpu-prof-dir`): the profile is written when the process
 * exits, which a stop (SIGTERM, then a clean close) lets it do; a restarted member overwrites its
 * own file. Node refuses these flags in NODE_OPTIONS, hence per spawn.
 */
function profilerArgs(options: Readonly<LocalClusterOptions>, memberName: string): string[] {
  if (options.cpuProfDir === undefined) return [];
  mkdirSync(options.cpuProfDir, { recursive: true });
  return [
    '--cpu-prof',
    '--cpu-prof-dir',
    options.cpuProfDir,
    '--cpu-prof-name',
    `${memberName}.cpuprofile`,
  ];
}

/** How members learn the commit server's socket (cli/store-flags.ts reads it). */
const COMMIT_SERVER_SOCKET_ENV = 'CHATRING_COMMIT_SERVER_SOCKET';
/** Unix socket paths are limited to ~107 bytes (sun_path). */
const SOCKET_PATH_BYTES_MAX = 100;

/**
 * The launcher's commit server socket: beside the data when the path is short enough for a Unix
 * socket, else in the temporary directory under a name derived from the data directory.
 */
export function commitServerSocketPath(dataDir: string): string {
  const beside = join(dataDir, 'commit-server.sock');
  if (Buffer.byteLength(beside) <= SOCKET_PATH_BYTES_MAX) return beside;
  const digest = createHash('sha256').update(dataDir).digest('hex').slice(0, 16);
  return join(tmpdir(), `chatring-commit-server-${digest}.sock`);
}

/** Where a local cluster keeps its generated secret (owner-only), beside its data. */
export function clusterSecretPath(dataDir: string): string {
  return join(dataDir, 'cluster-secret');
}

/**
 * The members' environment: the launcher's own, plus the cluster secret (the one in the environment
 * if the operator gave one, else one generated once per data directory and kept there, readable by
 * the owner only), the Redis URL and the store's options. Prints the one warning that app and
 * operator routes are open when no tokens were given (allowed because members listen on loopback);
 * a member placed beyond loopback without them is refused here, naming the flag, rather than by
 * each member as it starts.
 */
function membersEnvironment(
  options: Readonly<LocalClusterOptions>,
  log: (line: string) => void,
): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...storeEnvironment(options.store) };
  if (options.redisUrl !== undefined)
    Object.assign(env, {
      CHATRING_REDIS_URL: options.redisUrl,
      ...redisConnectionEnvironment(options.redisConnection),
    });
  if (
    env[CREDENTIAL_ENV.clusterSecret] === undefined &&
    env[CREDENTIAL_ENV.clusterSecretFile] === undefined
  ) {
    const path = clusterSecretPath(options.dataDir);
    if (!existsSync(path)) {
      mkdirSync(options.dataDir, { recursive: true });
      writeFileSync(path, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
    }
    readFileSync(path); // unreadable: fail here, not in every member
    env[CREDENTIAL_ENV.clusterSecretFile] = path;
  }
  const credentials = credentialsFrom({}, env);
  if (credentials.appTokens === undefined || credentials.operatorTokens === undefined) {
    const [flag, host] =
      [
        ['--router-host', options.routerHost],
        ...options.nodeHosts.map((nodeHost) => ['--node-hosts', nodeHost]),
      ].find(([, candidate]) => !isLoopback(candidate ?? '')) ?? [];
    if (flag !== undefined)
      throw new ChatringError(
        'INVALID_OPTION',
        `${flag} ${host} is beyond loopback: its members need app and operator tokens (${CREDENTIAL_ENV.appTokens} and ${CREDENTIAL_ENV.operatorToken}, or their _FILE forms; docs/security.md)`,
      );
    log(
      'warning: no app or operator tokens given, so the public API and ring changes take anyone who reaches loopback; see docs/security.md',
    );
  }
  return env;
}

function storeEnvironment(store: StoreOptions): NodeJS.ProcessEnv {
  if (store.kind === 'embedded') return { CHATRING_STORE: 'embedded' };
  return {
    CHATRING_STORE: 'cassandra',
    CHATRING_CASSANDRA_OPTIONS: JSON.stringify(store.cassandra),
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
    // It printed why on stderr (inherited): a taken port, a bad option, an unreachable Redis.
    child.once('exit', (code) =>
      reject(new ChatringError('INTERNAL', `process exited (${code}) before printing ${pattern}`)),
    );
  });
}

/** Waits until every slot of the ring is held by a node that heartbeats. */
async function waitUntilServing(
  routerUrl: string,
  slots: number,
  clock: Clock,
  env: NodeJS.ProcessEnv,
): Promise<void> {
  // Each status call may take as long as the whole start: a busy machine answers slowly, not never.
  // The launcher signs as a member: it holds the secret it gave its members.
  const controlPlane = new HttpControlPlaneClient(routerUrl, {
    timeoutMs: START_TIMEOUT_MS,
    signer: new MemberSigner('launcher', credentialsFrom({}, env).clusterSecret),
  });
  const deadline = clock.monotonicNow() + START_TIMEOUT_MS;
  try {
    while (clock.monotonicNow() < deadline) {
      try {
        const status = await controlPlane.status();
        const serving = status.nodes
          .filter((node) => node.state === 'serving')
          .reduce((sum, node) => sum + node.slots.length, 0);
        if (serving >= Math.min(slots, status.slots.length)) return;
      } catch {
        // the router is still starting
      }
      await clock.sleep(START_POLL_INTERVAL_MS);
    }
  } finally {
    await controlPlane.close();
  }
  throw new ChatringError(
    'OWNER_UNAVAILABLE',
    `the cluster did not start serving within ${START_TIMEOUT_MS} ms`,
  );
}

async function terminate(child: ChildProcess | undefined): Promise<void> {
  if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
  await exited;
  clearTimeout(timer);
}
