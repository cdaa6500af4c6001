/**
 * A chatring cluster spread over hosts (network-namespaces.ts), deployed the way operators deploy
 * one on many machines: each member started on its own with `chatring router` / `chatring node`,
 * listening on its host's address (`--listen HOST:PORT`) and advertising it, sharing a control plane in Redis (on its own
 * host) and Apache Cassandra as the store. The test process is the app server.
 *
 * Hosts: `redis`, `router`, `node-1`, `node-2` (serving the two slots) and `standby-1`, each a
 * namespace; `store` is an address of the test process where a forwarder (tcp-forwarder.ts) passes
 * connections to the tests' Cassandra, which listens on loopback outside every namespace. Cutting a
 * node from `store` therefore cuts it from Cassandra, and the forwarder's `delayMs` adds latency to
 * the store link where the kernel has no netem. Each test file gets a keyspace of its own.
 *
 * Every process is killed and every namespace removed at the test's teardown.
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { Test } from 'tap';
import { CONTROL_PLANE_PATHS } from '../../control-plane/index.js';
import type { ClusterStatus } from '../../protocol/index.js';
import { adminOwnerPath, type OwnerAnswer } from '../../router/index.js';
import { openStore } from '../../store-adapter/index.js';
import { MemberSigner } from '../../transport/index.js';
import {
  CHATRING_ENTRY,
  getJson,
  TemporaryDirectory,
  uniqueUser,
  waitUntilServing,
} from '../../harness/index.js';
import { cassandraTestKeyspace } from './cassandra.js';
import {
  createNetwork,
  killProcess,
  waitForOutput,
  type Network,
  type NetworkHost,
} from './network-namespaces.js';
import { TcpForwarder } from './tcp-forwarder.js';

const REDIS_PORT = 6379;
const ROUTER_PORT = 8080;
const NODE_PORT = 8081;
const START_TIMEOUT_MS = 60_000;
const NODE_IDS = ['node-1', 'node-2'] as const;
const STANDBY_IDS = ['standby-1'] as const;
const LEASE_MS = 1_500;
const HEARTBEAT_INTERVAL_MS = 250;

export interface Member {
  readonly name: string;
  readonly host: NetworkHost;
  /** What it advertises: http://<its host's address>:<port>. */
  readonly url: string;
  readonly pid: number | undefined;
  kill(): Promise<void>;
  /** Starts it again with the same flags, on the same address and port. */
  restart(): Promise<void>;
}

export interface MultiHostCluster {
  readonly network: Network;
  readonly routerUrl: string;
  readonly router: Member;
  /** The store's forwarder: `delayMs` slows the store link. */
  readonly store: TcpForwarder;
  readonly storeHost: NetworkHost;
  readonly signer: MemberSigner;
  /** The app servers' bearer token (ApiClient's `bearerToken`). */
  readonly appToken: string;
  member(name: string): Member;
  status(): Promise<ClusterStatus>;
  ownerOf(userId: string): Promise<OwnerAnswer>;
  /** `count` fresh user ids the ring gives to `nodeId` now. */
  usersOwnedBy(nodeId: string, count: number, prefix?: string): Promise<string[]>;
}

/** The cluster on the store's default options (what an operator who set nothing gets). */
export async function startMultiHostCluster(t: Test, label: string): Promise<MultiHostCluster> {
  const network = createNetwork(t, ['redis', 'router', ...NODE_IDS, ...STANDBY_IDS]);
  const keyspace = await cassandraTestKeyspace(t, label);
  const [contactHost = '', contactPort = ''] = (keyspace.contactPoints[0] ?? '').split(':');
  const storeHost = network.addLocalAddress('store');
  const store = new TcpForwarder(storeHost.address, contactHost);
  await store.listen(Number(contactPort));
  const members: Member[] = [];
  t.teardown(async () => {
    await Promise.all(members.map((member) => member.kill()));
    store.close();
  });
  const storeOptions = keyspace.storeOptions({
    contactPoints: [store.address],
  });
  // The schema is made once before any node opens the store: nodes starting together would race
  // its DDL, which Cassandra handles badly (the launcher does the same).
  await (await openStore({ kind: 'cassandra', cassandra: storeOptions })).close();

  const secret = randomBytes(32).toString('hex');
  // Members beyond loopback refuse to start without app and operator tokens (docs/security.md).
  const appToken = randomBytes(24).toString('hex');
  // The store's options whole, so a CASSANDRA_CONTACT_POINTS the tests run with cannot override
  // the forwarder's address.
  const { CASSANDRA_CONTACT_POINTS: _ignored, ...inherited } = process.env;
  const env = {
    ...inherited,
    CHATRING_CLUSTER_SECRET: secret,
    CHATRING_APP_TOKENS: appToken,
    CHATRING_OPERATOR_TOKEN: randomBytes(24).toString('hex'),
    CHATRING_CASSANDRA_OPTIONS: JSON.stringify(storeOptions),
  };
  const redisHost = network.host('redis');
  const redis = network.spawn(redisHost, 'redis-server', [
    ...['--bind', redisHost.address, '--port', String(REDIS_PORT), '--protected-mode', 'no'],
    ...['--save', '', '--appendonly', 'no'],
  ]);
  members.push(processMember('redis', redisHost, redis));
  await waitForOutput(redis, /Ready to accept connections/, START_TIMEOUT_MS, 'redis-server');
  const redisUrl = `redis://${redisHost.address}:${REDIS_PORT}`;
  const timings = [
    ...['--lease-ms', String(LEASE_MS)],
    ...['--heartbeat-interval-ms', String(HEARTBEAT_INTERVAL_MS)],
  ];

  const startMember = async (name: string, args: string[], listening: RegExp) => {
    const host = network.host(name);
    const member = chatringMember(network, host, args, env, listening);
    members.push(member);
    await member.restart();
    return member;
  };
  const router = await startMember(
    'router',
    [
      ...[
        'router',
        '--redis',
        redisUrl,
        '--listen',
        `${network.host('router').address}:${ROUTER_PORT}`,
      ],
      ...['--initial-nodes', NODE_IDS.join(',')],
      ...['--initial-standbys', STANDBY_IDS.join(','), ...timings],
    ],
    /router listening on (\S+)/,
  );
  const dataDir = new TemporaryDirectory('chatring-multi-host-');
  t.teardown(() => dataDir.dispose());
  await Promise.all(
    [...NODE_IDS, ...STANDBY_IDS].map((nodeId) =>
      startMember(
        nodeId,
        [
          ...['node', '--node-id', nodeId, '--redis', redisUrl, '--data-dir', dataDir.path],
          ...['--listen', `${network.host(nodeId).address}:${NODE_PORT}`],
          ...['--store', 'cassandra', ...timings],
        ],
        new RegExp(`node ${nodeId} listening on (\\S+)`),
      ),
    ),
  );
  const signer = new MemberSigner('harness', Buffer.from(secret));
  const routerUrl = router.url;
  const ownerOf = (userId: string) =>
    getJson<OwnerAnswer>(`${routerUrl}${adminOwnerPath(userId)}`, undefined, signer);
  await waitUntilServing(routerUrl, START_TIMEOUT_MS, signer);
  return {
    network,
    routerUrl,
    router,
    store,
    storeHost,
    signer,
    appToken,
    member(name) {
      const found = members.find((member) => member.name === name);
      if (found === undefined) throw new Error(`no member ${name}`);
      return found;
    },
    status: () =>
      getJson<ClusterStatus>(`${routerUrl}${CONTROL_PLANE_PATHS.status}`, undefined, signer),
    ownerOf,
    async usersOwnedBy(nodeId, count, prefix = 'u') {
      const users: string[] = [];
      while (users.length < count) {
        const user = uniqueUser(prefix);
        if ((await ownerOf(user)).nodeId === nodeId) users.push(user);
      }
      return users;
    },
  };
}

/** `chatring <args>` on `host`, started (again) by restart(), which waits for `listening`. */
function chatringMember(
  network: Network,
  host: NetworkHost,
  args: string[],
  env: NodeJS.ProcessEnv,
  listening: RegExp,
): Member {
  let child: ChildProcess | undefined;
  let url = '';
  return {
    name: host.name,
    host,
    get url() {
      return url;
    },
    get pid() {
      return child?.pid;
    },
    kill: async () => (child === undefined ? undefined : killProcess(child)),
    async restart() {
      if (child !== undefined) await killProcess(child);
      child = network.spawn(host, process.execPath, [CHATRING_ENTRY, ...args], env);
      url = (await waitForOutput(child, listening, START_TIMEOUT_MS, host.name))[1] ?? '';
    },
  };
}

/** A process that is not a chatring member (Redis), killed with the rest. */
function processMember(name: string, host: NetworkHost, child: ChildProcess): Member {
  return {
    name,
    host,
    url: '',
    pid: child.pid,
    kill: () => killProcess(child),
    restart: () => Promise.reject(new Error(`${name} cannot be restarted`)),
  };
}
