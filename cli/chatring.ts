#!/usr/bin/env node
/**
 * chatring's process entry. `start` runs a whole local cluster (what `npm start` calls); `router`
 * and `node` run one member each (the launcher spawns them; operators can too).
 */
import { WARM_HANDOFF_BYTES_DEFAULT } from '../protocol/index.js';
import { Command } from 'commander';
import { failpointsFromEnvironment, startCacheNode } from '../cache-node/index.js';
import { startRouter } from '../router/index.js';
import type { ControlPlaneAddress } from '../control-plane/index.js';
import { integerOption, resolveClusterOptions } from './cluster-options.js';
import { startLocalCluster } from './local-cluster.js';
import { addStoreFlags, storeOptionsFrom, type StoreFlags } from './store-flags.js';

const program = new Command('chatring').description(
  'A user-sharded, write-through cache tier for 1:1 chat.',
);

addStoreFlags(program.command('start'))
  .description('run a local cluster: one router, N cache nodes and standbys, on the embedded store')
  .option('--port <port>', 'router port (env CHATRING_PORT or PORT)')
  .option(
    '--data-dir <dir>',
    'where the embedded store and the ring live (env CHATRING_DATA_DIR or DATA_DIR)',
  )
  .option('--nodes <count>', 'cache nodes serving slots (env CHATRING_NODES or NODES)')
  .option('--standbys <count>', 'idle standbys (env CHATRING_STANDBYS or STANDBYS)')
  .option('--lease-ms <ms>', 'node lease (env CHATRING_LEASE_MS)')
  .option('--restart-members <bool>', 'start a dead member again (env CHATRING_RESTART_MEMBERS)')
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
  .action(async (flags: Record<string, string | undefined>) => {
    const options = resolveClusterOptions(flags, process.env);
    const cluster = await startLocalCluster(options, (line) => console.error(line));
    console.log(`router listening on ${cluster.routerUrl}`);
    if (cluster.routerUrls.length > 1) console.log(`routers: ${cluster.routerUrls.join(' ')}`);
    console.log(
      `data in ${options.dataDir}; ${options.nodes} nodes, ${options.standbys} standby; Ctrl-C stops everything`,
    );
    await stopOnSignal(() => cluster.stop());
  });

program
  .command('router')
  .description('run a router: its own in-process control plane, or a shared one on Redis')
  .option('--data-dir <dir>', 'where the ring lives (in-process control plane)')
  .option(
    '--redis <url>',
    'share the control plane with other routers on Redis (env CHATRING_REDIS_URL)',
  )
  .option('--redis-key-prefix <prefix>', 'prefix of chatring keys in Redis', 'chatring:')
  .option('--port <port>', 'listen port', '8080')
  .option('--host <host>', 'listen address', '127.0.0.1')
  .option(
    '--initial-nodes <ids>',
    'comma-separated node ids of a brand-new ring',
    'node-1,node-2,node-3',
  )
  .option('--lease-ms <ms>', 'node lease', '3000')
  .option('--heartbeat-interval-ms <ms>', 'node heartbeat interval', '500')
  .action(
    async (flags: {
      dataDir?: string;
      redis?: string;
      redisKeyPrefix: string;
      port: string;
      host: string;
      initialNodes: string;
      leaseMs: string;
      heartbeatIntervalMs: string;
    }) => {
      const redisUrl = flags.redis ?? process.env.CHATRING_REDIS_URL;
      if (redisUrl === undefined && flags.dataDir === undefined)
        throw new Error('give --data-dir (in-process control plane) or --redis URL');
      const router = await startRouter({
        host: flags.host,
        port: integerOption('--port', flags.port, 0, 65_535),
        controlPlane:
          redisUrl === undefined
            ? { kind: 'in-process', dataDir: flags.dataDir ?? '' }
            : { kind: 'redis', redisUrl, keyPrefix: flags.redisKeyPrefix },
        initialNodeIds: flags.initialNodes.split(',').filter(Boolean),
        leaseMs: integerOption('--lease-ms', flags.leaseMs, 100, 600_000),
        heartbeatIntervalMs: integerOption(
          '--heartbeat-interval-ms',
          flags.heartbeatIntervalMs,
          10,
          60_000,
        ),
      });
      console.log(`router listening on ${router.url}`);
      await stopOnSignal(() => router.close());
    },
  );

addStoreFlags(program.command('node'))
  .description('run a cache node (it joins as a standby unless the ring gives it a slot)')
  .requiredOption('--node-id <id>', 'stable node id')
  .option('--control-plane-url <url>', 'the router hosting the control plane (local mode)')
  .option('--redis <url>', 'the control plane on Redis (env CHATRING_REDIS_URL)')
  .option('--redis-key-prefix <prefix>', 'prefix of chatring keys in Redis', 'chatring:')
  .option('--lease-ms <ms>', 'lease this node renews on Redis (routers must use the same)', '3000')
  .requiredOption('--data-dir <dir>', 'where the embedded store lives')
  .option('--port <port>', 'listen port (0: any free port)', '0')
  .option('--host <host>', 'listen address', '127.0.0.1')
  .option('--heartbeat-interval-ms <ms>', 'lease renewal interval', '500')
  .option(
    '--warm-handoff-bytes-max <bytes>',
    'most cached state handed to new owners in one ring change (0: users always move cold)',
    String(WARM_HANDOFF_BYTES_DEFAULT),
  )
  .option(
    '--cache-bytes-max <bytes>',
    'memory budget of cached mailboxes',
    String(256 * 1024 * 1024),
  )
  .action(
    async (
      flags: {
        nodeId: string;
        controlPlaneUrl?: string;
        redis?: string;
        redisKeyPrefix: string;
        leaseMs: string;
        dataDir: string;
        port: string;
        host: string;
        heartbeatIntervalMs: string;
        cacheBytesMax: string;
        warmHandoffBytesMax: string;
      } & StoreFlags,
    ) => {
      const node = await startCacheNode({
        nodeId: flags.nodeId,
        host: flags.host,
        port: integerOption('--port', flags.port, 0, 65_535),
        controlPlane: controlPlaneAddress(flags),
        store: storeOptionsFrom(flags, process.env, flags.dataDir),
        heartbeatIntervalMs: integerOption(
          '--heartbeat-interval-ms',
          flags.heartbeatIntervalMs,
          10,
          60_000,
        ),
        cache: {
          cacheBytesMax: integerOption(
            '--cache-bytes-max',
            flags.cacheBytesMax,
            1,
            Number.MAX_SAFE_INTEGER,
          ),
        },
        handoff: {
          warmBytesMax: integerOption(
            '--warm-handoff-bytes-max',
            flags.warmHandoffBytesMax,
            0,
            Number.MAX_SAFE_INTEGER,
          ),
        },
        failpoints: failpointsFromEnvironment(process.env),
        // Test and operations knob: how soon a half-sent message's coordinator copy is retried.
        ...(process.env.CHATRING_REPAIR_DELAY_MS === undefined
          ? {}
          : {
              service: {
                repairDelayMs: integerOption(
                  'CHATRING_REPAIR_DELAY_MS',
                  process.env.CHATRING_REPAIR_DELAY_MS,
                  1,
                  86_400_000,
                ),
              },
            }),
      });
      console.log(`node ${flags.nodeId} listening on ${node.url}`);
      await stopOnSignal(() => node.close());
    },
  );

function controlPlaneAddress(flags: {
  controlPlaneUrl?: string;
  redis?: string;
  redisKeyPrefix: string;
  leaseMs: string;
  heartbeatIntervalMs: string;
}): ControlPlaneAddress {
  const redisUrl = flags.redis ?? process.env.CHATRING_REDIS_URL;
  if (redisUrl !== undefined) {
    return {
      kind: 'redis',
      redisUrl,
      keyPrefix: flags.redisKeyPrefix,
      leaseMs: integerOption('--lease-ms', flags.leaseMs, 100, 600_000),
      heartbeatIntervalMs: integerOption(
        '--heartbeat-interval-ms',
        flags.heartbeatIntervalMs,
        10,
        60_000,
      ),
    };
  }
  if (flags.controlPlaneUrl === undefined)
    throw new Error('give --control-plane-url (local mode) or --redis URL');
  return { kind: 'http', url: flags.controlPlaneUrl };
}

/** Resolves after the first SIGINT/SIGTERM has run `stop`; exits non-zero if stopping failed. */
async function stopOnSignal(stop: () => Promise<void>): Promise<void> {
  await new Promise<void>((resolve) => {
    const handler = () => {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
      stop().then(resolve, (error: unknown) => {
        console.error(error);
        process.exitCode = 1;
        resolve();
      });
    };
    process.on('SIGINT', handler);
    process.on('SIGTERM', handler);
  });
}

program.parseAsync().catch((error: unknown) => {
  console.error(`chatring: ${(error as Error).message}`);
  process.exit(2);
});
