#!/usr/bin/env node
/**
 * chatring's process entry. `start` runs a whole local cluster (what `npm start` calls); `router`
 * and `node` run one member each (the launcher spawns them; operators can too).
 */
import { Command } from 'commander';
import { startCacheNode } from '../cache-node/index.js';
import { startRouter } from '../router/index.js';
import { resolveClusterOptions } from './cluster-options.js';
import { failureLine } from './failure-line.js';
import { startLocalCluster } from './local-cluster.js';
import {
  addNodeFlags,
  addRouterFlags,
  nodeOptionsFrom,
  routerOptionsFrom,
  type NodeFlags,
  type RouterFlags,
} from './member-options.js';
import { addStoreFlags } from './store-flags.js';
import { addRedisConnectionFlags, booleanOption } from './flag-values.js';
import { ChatringError } from '../protocol/index.js';
import { TokenSet, hashToken } from '../transport/index.js';

const program = new Command('chatring').description(
  'A user-sharded, write-through cache tier for 1:1 chat.',
);

addRedisConnectionFlags(addStoreFlags(program.command('start')))
  .description('run a local cluster: one router, N cache nodes and standbys, on the embedded store')
  .option('--port <port>', 'router port (env CHATRING_PORT or PORT)')
  .option(
    '--router-host <host>',
    'address every router listens on, an IP address or DNS name (env CHATRING_ROUTER_HOST; default 127.0.0.1)',
  )
  .option(
    '--node-hosts <hosts>',
    'comma-separated addresses the nodes listen on: node-1 on the first, node-2 on the next, then the standbys, cycling (env CHATRING_NODE_HOSTS; default 127.0.0.1)',
  )
  .option(
    '--data-dir <dir>',
    'where the embedded store and the ring live (env CHATRING_DATA_DIR or DATA_DIR)',
  )
  .option('--nodes <count>', 'cache nodes serving slots (env CHATRING_NODES or NODES)')
  .option('--standbys <count>', 'idle standbys (env CHATRING_STANDBYS or STANDBYS)')
  .option('--lease-ms <ms>', 'node lease (env CHATRING_LEASE_MS)')
  .option('--restart-members <bool>', 'start a dead member again (env CHATRING_RESTART_MEMBERS)')
  .option(
    '--commit-server <bool>',
    'embedded store: the launcher writes the file for every node, batching their commits; false: each node writes it (env CHATRING_COMMIT_SERVER; default true)',
  )
  .option(
    '--redis <url>',
    'control plane on Redis instead of in the router (env CHATRING_REDIS_URL)',
  )
  .option('--routers <count>', 'routers to start; above 1 needs --redis (env CHATRING_ROUTERS)')
  .option('--warm-handoff-bytes-max <bytes>', 'per node and ring change; 0: users always move cold')
  .option(
    '--heartbeat-interval-ms <ms>',
    'lease renewal interval (env CHATRING_HEARTBEAT_INTERVAL_MS)',
  )
  .option(
    '--cpu-prof-dir <dir>',
    'run every member under the CPU profiler; each writes <member>.cpuprofile there on exit (env CHATRING_CPU_PROF_DIR)',
  )
  .option(
    '--metrics <bool>',
    'Prometheus metrics at GET /metrics on every member; false: none (env CHATRING_METRICS, which members read themselves)',
  )
  .action(async (flags: Record<string, string | undefined>) => {
    const options = resolveClusterOptions(flags, process.env);
    const metrics =
      flags.metrics === undefined ? {} : { metrics: booleanOption('--metrics', flags.metrics) };
    const signalled = firstStopSignal();
    const cluster = await startLocalCluster({ ...options, ...metrics }, (line) =>
      console.error(line),
    );
    console.log(`router listening on ${cluster.routerUrl}`);
    if (cluster.routerUrls.length > 1) console.log(`routers: ${cluster.routerUrls.join(' ')}`);
    console.log(
      `data in ${options.dataDir}; ${options.nodes} nodes, ${options.standbys} standby; Ctrl-C stops everything`,
    );
    await stopOn(signalled, () => cluster.stop());
  });

addRouterFlags(program.command('router'))
  .description('run a router: its own in-process control plane, or a shared one on Redis')
  .action(async (flags: RouterFlags) => {
    const signalled = firstStopSignal();
    const router = await startRouter(routerOptionsFrom(flags, process.env));
    console.log(`router listening on ${router.url}`);
    await stopOn(signalled, () => router.close());
  });

addNodeFlags(program.command('node'))
  .description('run a cache node (it joins as a standby unless the ring gives it a slot)')
  .action(async (flags: NodeFlags) => {
    const signalled = firstStopSignal();
    const node = await startCacheNode(nodeOptionsFrom(flags, process.env));
    console.log(`node ${flags.nodeId} listening on ${node.url}`);
    await stopOn(signalled, () => node.close());
  });

program
  .command('hash-token')
  .description(
    'read a token on stdin, print the sha256: form to put in a tokens file instead of the token',
  )
  .action(async () => {
    let text = '';
    for await (const chunk of process.stdin) text += String(chunk);
    const token = text.trim();
    if (token === '') throw new ChatringError('INVALID_OPTION', 'give the token on stdin');
    // The same check servers apply, so a hash is never printed for a token they would refuse.
    TokenSet.from([token], 'hash-token');
    console.log(hashToken(token));
  });

/**
 * Resolves at the first SIGINT/SIGTERM. Called before anything starts: from then on a signal no
 * longer kills the process outright (Node's default) but waits for the start to finish and is
 * then handled, so a launcher stopped the moment it said "listening" (the line is written before
 * the next statement runs) still stops its members instead of leaving them orphaned. A second
 * signal finds no handler and ends the process at once: the way out of a start that hangs.
 */
function firstStopSignal(): Promise<void> {
  return new Promise<void>((resolve) => {
    const handler = () => {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
      resolve();
    };
    process.on('SIGINT', handler);
    process.on('SIGTERM', handler);
  });
}

/** Runs `stop` once `signalled` resolves; exits non-zero if stopping failed. */
async function stopOn(signalled: Promise<void>, stop: () => Promise<void>): Promise<void> {
  await signalled;
  try {
    await stop();
  } catch (error) {
    console.error(error);
    process.exitCode = 1;
  }
}

program.parseAsync().catch((error: unknown) => {
  console.error(failureLine('chatring', error));
  process.exit(2);
});
