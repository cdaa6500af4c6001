/**
 * The one launcher of a real local cluster for tests and benchmarks: `dist/cli/chatring.js start`
 * (router, nodes and standbys as separate processes on loopback unless placed on other hosts, on
 * port 0) spawned as the leader of its own process group. startLocalCluster() resolves once the
 * cluster serves, and the cluster it returns is always torn down: by stop(), and by the
 * process-group hooks if the caller crashes first. Nothing here knows a test framework;
 * test/helpers wraps stop() in the test's teardown.
 */
import type { ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { CONTROL_PLANE_PATHS } from '../control-plane/index.js';
import {
  ANY_RULE,
  BOOLEAN_RULE,
  integerRule,
  resolveOptions,
  type ClusterStatus,
  type GivenOptions,
  type OptionRule,
  type OptionRules,
  type RingConfig,
} from '../protocol/index.js';
import { adminOwnerPath, type OwnerAnswer } from '../router/index.js';
import { MemberSigner } from '../transport/index.js';
import { clusterSecretPath } from '../cli/local-cluster.js';
import { DEFAULT_LOCAL_CLUSTER_OPTIONS as LAUNCHER_DEFAULTS } from '../cli/cluster-options.js';
import { clusterSecretFrom } from '../cli/credential-flags.js';
import { waitUntilServing } from './cluster-readiness.js';
import { getJson } from './http-json.js';
import { forgetGroup, hasExited, killGroup, spawnGroupLeader } from './process-group.js';
import { repositoryRoot } from './repository-root.js';
import { TemporaryDirectory } from './temporary-directory.js';

/** The compiled launcher of this repository (`npm run build`). */
export const CHATRING_ENTRY = join(repositoryRoot(), 'dist', 'cli', 'chatring.js');
/** The launcher's output kept for error messages (the members' lines included). */
const OUTPUT_KEPT_CHARS = 8_000;

export interface LocalClusterOptions {
  /** Cache nodes serving slots; undefined: the launcher's default (here and below). */
  nodes?: number;
  standbys?: number;
  /**
   * Where the embedded store and the ring live. Undefined: a temporary directory that stop()
   * removes; one the caller passes belongs to the caller.
   */
  dataDir?: string;
  leaseMs?: number;
  heartbeatIntervalMs?: number;
  /** Start a dead member again. */
  restartMembers?: boolean;
  /** Put the control plane in this Redis (else in the router). */
  redisUrl?: string;
  /** Routers to start (above 1 needs redisUrl). */
  routers?: number;
  /** Where the routers listen (`--router-host`; any of 127.0.0.0/8 is loopback on Linux). */
  routerHost?: string;
  /** Where the nodes then the standbys listen, in turn, cycling (`--node-hosts`). */
  nodeHosts?: readonly string[];
  /** Store flags for `chatring start` (undefined: the embedded store in dataDir). */
  storeArgs?: string[];
  /** Any other `chatring start` flags (e.g. `--warm-handoff-bytes-max 0`). */
  extraArgs?: string[];
  /** Extra environment for every process (failpoints). */
  env?: Record<string, string>;
  /** The compiled launcher. @default CHATRING_ENTRY */
  entry?: string;
  /** Also append the launcher's output, the members' lines included, to this file. */
  logPath?: string;
  /**
   * The launcher says "listening" once the control plane counts every slot as served, which it
   * does for a fresh ring before any node has heartbeated. With this, start also waits until each
   * slot's node holds a lease and sees its slot, and every standby has registered
   * (cluster-readiness.ts).
   * @default true
   */
  waitForLeases?: boolean;
  /** @default 120000 */
  startTimeoutMs?: number;
}

export const DEFAULT_LOCAL_CLUSTER_OPTIONS: Readonly<LocalClusterOptions> = Object.freeze({
  entry: CHATRING_ENTRY,
  waitForLeases: true,
  startTimeoutMs: 120_000,
});

const STRING_RULE: OptionRule = Object.freeze({ kind: 'string' });
const LOCAL_CLUSTER_RULES: OptionRules<LocalClusterOptions> = {
  nodes: integerRule(0, 1_024),
  standbys: integerRule(0, 1_024),
  dataDir: STRING_RULE,
  leaseMs: integerRule(1, 3_600_000),
  heartbeatIntervalMs: integerRule(1, 3_600_000),
  restartMembers: BOOLEAN_RULE,
  redisUrl: STRING_RULE,
  routers: integerRule(1, 64),
  routerHost: STRING_RULE, // the launcher checks it, as it does the flag
  nodeHosts: ANY_RULE, // likewise, each host
  storeArgs: ANY_RULE,
  extraArgs: ANY_RULE,
  env: ANY_RULE,
  entry: STRING_RULE,
  logPath: STRING_RULE,
  waitForLeases: BOOLEAN_RULE,
  startTimeoutMs: integerRule(1, 3_600_000),
};

export interface LocalCluster {
  /** The first router's URL. */
  readonly url: string;
  /** Every router's URL (the first is `url`). */
  readonly urls: readonly string[];
  readonly dataDir: string;
  /** The launcher's pid: the root of the cluster's process tree. */
  readonly launcherPid: number | undefined;
  /** The secret the launcher generated for its members (in dataDir, owner-only). */
  readonly clusterSecret: Buffer;
  /** Signs as the member `harness`: the ring, status, stats, or a test's own internal calls. */
  readonly signer: MemberSigner;
  /** The end of the launcher's output, members' lines included: for a failure message. */
  outputTail(): string;
  status(): Promise<ClusterStatus>;
  ring(): Promise<RingConfig>;
  /** The pid of the process serving a node id now. */
  pidOf(nodeId: string): Promise<number>;
  ownerOf(userId: string): Promise<OwnerAnswer>;
  /**
   * Stops the whole cluster: SIGTERM to the launcher (as Ctrl-C would; it stops its members),
   * SIGKILL to the group if it is not gone within `graceMs`, then SIGKILL to anything left in it.
   */
  stop(graceMs?: number): Promise<void>;
}

export async function startLocalCluster(
  given: GivenOptions<LocalClusterOptions> = {},
): Promise<LocalCluster> {
  const options = resolveOptions(
    'startLocalCluster',
    DEFAULT_LOCAL_CLUSTER_OPTIONS,
    given,
    LOCAL_CLUSTER_RULES,
  );
  const entry = options.entry ?? CHATRING_ENTRY;
  if (!existsSync(entry)) throw new Error(`${entry} does not exist: run \`npm run build\` first`);
  const temporary =
    options.dataDir === undefined ? new TemporaryDirectory('chatring-cluster-') : undefined;
  const dataDir = options.dataDir ?? temporary?.path ?? '';
  const child = spawnGroupLeader(
    process.execPath,
    [entry, 'start', ...launcherArgs(options, dataDir)],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...options.env },
    },
  );
  const output = new OutputTail(options.logPath);
  child.stderr?.setEncoding('utf8').on('data', (text: string) => output.add(text));
  const cleanUp = () => {
    killGroup(child, 'SIGKILL');
    forgetGroup(child);
    output.closeLog();
    temporary?.dispose();
  };
  const startTimeoutMs = options.startTimeoutMs ?? 120_000;
  const deadline = performance.now() + startTimeoutMs;
  let urls: string[];
  let clusterSecret: Buffer;
  let signer: MemberSigner;
  try {
    urls = await launcherUrls(child, output, startTimeoutMs);
    clusterSecret = readClusterSecret(dataDir, options.env);
    signer = new MemberSigner(HARNESS_MEMBER_ID, clusterSecret);
    if (options.waitForLeases !== false)
      await waitUntilServing(
        urls[0] ?? '',
        Math.max(0, deadline - performance.now()),
        signer,
        options.standbys ?? LAUNCHER_DEFAULTS.standbys,
      );
  } catch (error) {
    cleanUp();
    throw new Error(`${(error as Error).message}\nlauncher output:\n${output.text()}`, {
      cause: error,
    });
  }
  const [url = ''] = urls;
  const status = () =>
    getJson<ClusterStatus>(`${url}${CONTROL_PLANE_PATHS.status}`, undefined, signer);
  let stopped: Promise<void> | undefined;
  return {
    url,
    urls,
    dataDir,
    launcherPid: child.pid,
    clusterSecret,
    signer,
    outputTail: () => output.text(),
    status,
    ring: () => getJson<RingConfig>(`${url}${CONTROL_PLANE_PATHS.ring}`, undefined, signer),
    async pidOf(nodeId) {
      const node = (await status()).nodes.find((candidate) => candidate.nodeId === nodeId);
      if (node?.pid === undefined) throw new Error(`node ${nodeId} has no pid in the status`);
      return node.pid;
    },
    ownerOf: (userId) => getJson<OwnerAnswer>(`${url}${adminOwnerPath(userId)}`, undefined, signer),
    stop(graceMs = 15_000) {
      stopped ??= stopLauncher(child, graceMs).finally(cleanUp);
      return stopped;
    },
  };
}

/** The member id the harness signs its look-ups with. */
const HARNESS_MEMBER_ID = 'harness';

/** The secret the members got: the one a caller put in their environment, else the launcher's. */
function readClusterSecret(dataDir: string, env: Record<string, string> | undefined): Buffer {
  const secret =
    clusterSecretFrom({}, env ?? {}) ??
    clusterSecretFrom({ clusterSecretFile: clusterSecretPath(dataDir) }, {});
  if (secret === undefined) throw new Error('unreachable: a file flag always yields a secret');
  return secret;
}

function launcherArgs(options: Readonly<LocalClusterOptions>, dataDir: string): string[] {
  const flag = (name: string, value: number | boolean | string | undefined) =>
    value === undefined ? [] : [`--${name}`, String(value)];
  return [
    ...['--port', '0', '--data-dir', dataDir],
    ...flag('nodes', options.nodes),
    ...flag('standbys', options.standbys),
    ...flag('lease-ms', options.leaseMs),
    ...flag('heartbeat-interval-ms', options.heartbeatIntervalMs),
    ...flag('restart-members', options.restartMembers),
    ...(options.storeArgs ?? []),
    ...flag('redis', options.redisUrl),
    ...flag('routers', options.routers),
    ...flag('router-host', options.routerHost),
    ...flag('node-hosts', options.nodeHosts?.join(',')),
    ...(options.extraArgs ?? []),
  ];
}

/**
 * The routers' URLs from the launcher's own lines (members' lines carry a `[name]` prefix):
 * `router listening on URL`, `routers: URL URL` when there are several, then `data in …` once
 * everything is up.
 */
function launcherUrls(
  child: ChildProcess,
  output: OutputTail,
  timeoutMs: number,
): Promise<string[]> {
  return new Promise<string[]>((resolve, reject) => {
    let own = '';
    const timer = setTimeout(
      () => reject(new Error(`the cluster did not report "data in" within ${timeoutMs} ms`)),
      timeoutMs,
    );
    child.stdout?.setEncoding('utf8').on('data', (text: string) => {
      output.add(text);
      own += text.replace(/^\[[^\]]+\] .*$/gm, '');
      const first = /^router listening on (\S+)/m.exec(own)?.[1];
      if (first === undefined || !/^data in /m.test(own)) return;
      clearTimeout(timer);
      resolve(/^routers: (.+)$/m.exec(own)?.[1]?.split(' ') ?? [first]);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`the cluster exited (${signal ?? code}) before it served`));
    });
  });
}

async function stopLauncher(child: ChildProcess, graceMs: number): Promise<void> {
  if (!hasExited(child)) {
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const gone = await Promise.race([
      exited.then(() => true),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), graceMs))),
    ]);
    clearTimeout(timer);
    if (!gone) {
      killGroup(child, 'SIGKILL');
      await exited;
    }
  }
  // Members exit with the launcher; anything left in its group is reaped (cleanUp's SIGKILL).
  await new Promise((resolve) => setTimeout(resolve, 100));
}

/** The last OUTPUT_KEPT_CHARS of the launcher's output, also appended to the log if there is one. */
class OutputTail {
  #text = '';
  #log: WriteStream | undefined;

  constructor(logPath: string | undefined) {
    this.#log = logPath === undefined ? undefined : createWriteStream(logPath, { flags: 'a' });
    // A log that cannot be written (its directory removed under it) must not crash the caller.
    this.#log?.on('error', () => undefined);
  }

  add(text: string): void {
    this.#log?.write(text);
    this.#text = (this.#text + text).slice(-OUTPUT_KEPT_CHARS);
  }

  text(): string {
    return this.#text;
  }

  /** Output that still arrives after this (the pipes drain after the exit) is kept, not logged. */
  closeLog(): void {
    this.#log?.end();
    this.#log = undefined;
  }
}
