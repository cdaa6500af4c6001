#!/usr/bin/env node
/**
 * ringctl: the operators' CLI. `status` shows slots, owners, standbys, node states, lease ages and
 * the epoch; `owner USER_ID` names the node serving a user. It finds the cluster through a router
 * (`--router`, env CHATRING_ROUTER_URL, default http://127.0.0.1:8080), or straight through its
 * Redis control plane (`--redis`, env CHATRING_REDIS_URL). Changes (`add`, `remove`,
 * `promote`, `standby add|remove`) hand users over safely and warm; `preview` shows what a change
 * would move first.
 *
 * Exit codes: 0 done, 1 refused or failed (the message says why), 2 bad usage.
 */
import { Command, CommanderError } from 'commander';
import { ChatringError } from '../protocol/index.js';
import type { ClusterStatus } from '../control-plane/index.js';
import { connectToCluster, type ClusterConnection } from './cluster-connection.js';
import { failureLine } from './failure-line.js';
import {
  addRedisConnectionFlags,
  integerOption,
  redisConnectionOptions,
  redisUrlOption,
  type RedisConnectionFlags,
} from './flag-values.js';
import { clusterSecretFrom, operatorTokensFrom, type CredentialFlags } from './credential-flags.js';
import { ProgressBar, formatPreview, formatResult, formatStatusTable } from './status-table.js';

interface GlobalOptions extends CredentialFlags, RedisConnectionFlags {
  router: string;
  redis?: string;
  json?: boolean;
}

const program = new Command('ringctl')
  .description('Operate a chatring cluster: inspect the ring, find a user’s owner.')
  .option(
    '--router <url>',
    'a router of the cluster (env CHATRING_ROUTER_URL)',
    process.env.CHATRING_ROUTER_URL ?? 'http://127.0.0.1:8080',
  )
  .option('--redis <url>', 'or reach the control plane on Redis directly (env CHATRING_REDIS_URL)')
  .option(
    '--operator-token-file <file>',
    'the operator token (env CHATRING_OPERATOR_TOKEN or CHATRING_OPERATOR_TOKEN_FILE)',
  )
  .option(
    '--cluster-secret-file <file>',
    'sign as a member instead; needed for changes with --redis (env CHATRING_CLUSTER_SECRET or CHATRING_CLUSTER_SECRET_FILE)',
  )
  .option('--json', 'print JSON instead of a table')
  .exitOverride();
addRedisConnectionFlags(program);

program
  .command('status')
  .description('slots, owners, standbys, node states, lease ages and the ring epoch')
  .action(async () =>
    withConnection(async (cluster, options) => {
      const status: ClusterStatus = await cluster.status();
      console.log(
        options.json === true ? JSON.stringify(status, null, 2) : formatStatusTable(status),
      );
    }),
  );

program
  .command('owner')
  .argument('<userId>', 'the user to look up')
  .description('the slot and node serving a user now')
  .action(async (userId: string) =>
    withConnection(async (cluster, options) => {
      const owner = await cluster.owner(userId);
      console.log(
        options.json === true
          ? JSON.stringify(owner, null, 2)
          : `${userId} → ${owner.nodeId} (${owner.slot}, ${owner.url}, epoch ${owner.epoch})`,
      );
    }),
  );

/** Accepts a node id or the URL a node registered with. */
async function resolveNode(client: ClusterConnection, node: string): Promise<string> {
  if (!/^https?:\/\//.test(node)) return node;
  const status = await client.status();
  const match = status.nodes.find(
    (candidate) => candidate.url.replace(/\/$/, '') === node.replace(/\/$/, ''),
  );
  if (match === undefined)
    throw new ChatringError('UNKNOWN_NODE', `no node has registered with the address ${node}`);
  return match.nodeId;
}

type ChangeSpec = { action: string; nodeId?: string; weight?: unknown; standbyId?: string };

/**
 * `--weight` as the control plane should see it: the number when the text is one, else the text
 * itself, which the control plane refuses with its own code (one check, where the rule lives; a
 * plain Number() would send NaN, which JSON turns into null: "no weight", silently weight 1).
 */
function numberOrText(text: string): number | string {
  return /^-?\d+(\.\d+)?$/.test(text) ? Number(text) : text;
}

async function withConnection<T>(
  work: (cluster: ClusterConnection, options: GlobalOptions) => Promise<T>,
): Promise<T> {
  const options = program.opts<GlobalOptions>();
  const redisUrl = redisUrlOption(options.redis, process.env);
  const cluster = await connectToCluster({
    routerUrl: options.router,
    redisUrl,
    redisConnection: redisConnectionOptions(redisUrl, options, process.env),
    operatorToken: operatorTokensFrom(options, process.env)?.[0],
    clusterSecret: clusterSecretFrom(options, process.env),
  });
  try {
    return await work(cluster, options);
  } finally {
    await cluster.close();
  }
}

async function previewChange(spec: ChangeSpec): Promise<void> {
  await withConnection(async (client, options) => {
    const change = { ...spec, nodeId: await resolveNode(client, spec.nodeId ?? '') };
    const preview = await client.previewChange(change);
    console.log(options.json === true ? JSON.stringify(preview, null, 2) : formatPreview(preview));
  });
}

async function applyChange(spec: ChangeSpec, expectEpoch: string | undefined): Promise<void> {
  const expectedEpoch =
    expectEpoch === undefined
      ? undefined
      : integerOption('--expect-epoch', expectEpoch, 0, Number.MAX_SAFE_INTEGER);
  await withConnection(async (client, options) => {
    const change = { ...spec, nodeId: await resolveNode(client, spec.nodeId ?? '') };
    const bar = new ProgressBar(process.stderr, options.json !== true);
    const result = await client.applyChange(change, expectedEpoch, (event) => bar.update(event));
    bar.done();
    if (options.json === true) console.log(JSON.stringify(result, null, 2));
    else console.log(formatResult(change.action, change.nodeId, result));
  });
}

const expectEpochOption = [
  '--expect-epoch <epoch>',
  'refuse unless the ring is still at this epoch',
] as const;

program
  .command('add')
  .argument('<node>', 'node id or URL of a running standby')
  .option('--weight <weight>', 'share of users relative to weight-1 slots (1-100)', '1')
  .option(...expectEpochOption)
  .description('give a standby a new slot: ~1/(N+1) of users move to it, warm')
  .action(async (node: string, flags: { weight: string; expectEpoch?: string }) =>
    applyChange(
      { action: 'add', nodeId: node, weight: numberOrText(flags.weight) },
      flags.expectEpoch,
    ),
  );

program
  .command('remove')
  .argument('<node>', 'node id or URL')
  .option(...expectEpochOption)
  .description('drain a node: its users move (warm) to the others, then its slot leaves the ring')
  .action(async (node: string, flags: { expectEpoch?: string }) =>
    applyChange({ action: 'remove', nodeId: node }, flags.expectEpoch),
  );

program
  .command('promote')
  .argument('<node>', 'the node whose slot a standby takes over')
  .option('--standby <id>', 'which standby (default: the first free one)')
  .option(...expectEpochOption)
  .description('replace a node by a standby in the same slot (exactly its users move, warm)')
  .action(async (node: string, flags: { standby?: string; expectEpoch?: string }) =>
    applyChange(
      {
        action: 'promote',
        nodeId: node,
        ...(flags.standby === undefined ? {} : { standbyId: flags.standby }),
      },
      flags.expectEpoch,
    ),
  );

const standby = program.command('standby').description('manage the standby pool');
standby
  .command('add')
  .argument('<node>', 'node id or URL')
  .description('make an idle node available for failover')
  .action(async (node: string) => applyChange({ action: 'standby-add', nodeId: node }, undefined));
standby
  .command('remove')
  .argument('<node>', 'node id or URL')
  .description('take a standby out of the pool')
  .action(async (node: string) =>
    applyChange({ action: 'standby-remove', nodeId: node }, undefined),
  );

const member = program
  .command('member')
  .description('admit new members, forget old ones (a member must be admitted before it may join)');
member
  .command('add')
  .argument('<node>', 'node id')
  .description('admit a node id: its first heartbeat makes it a standby')
  .action(async (node: string) => applyChange({ action: 'member-add', nodeId: node }, undefined));
member
  .command('remove')
  .argument('<node>', 'node id')
  .description('forget a node that serves no slot: its heartbeats are refused until admitted again')
  .action(async (node: string) =>
    applyChange({ action: 'member-remove', nodeId: node }, undefined),
  );

program
  .command('preview')
  .argument(
    '<action>',
    'add | remove | promote | standby-add | standby-remove | member-add | member-remove',
  )
  .argument('<node>', 'node id or URL')
  .option('--weight <weight>', 'for add', '1')
  .option('--standby <id>', 'for promote')
  .description(
    'show which slots would change hands and the share of users that would move; changes nothing',
  )
  .action(async (action: string, node: string, flags: { weight: string; standby?: string }) =>
    previewChange({
      action,
      nodeId: node,
      ...(action === 'add' ? { weight: numberOrText(flags.weight) } : {}),
      ...(flags.standby === undefined ? {} : { standbyId: flags.standby }),
    }),
  );

program.parseAsync().catch((error: unknown) => {
  if (error instanceof CommanderError) process.exit(error.exitCode === 0 ? 0 : 2);
  // Refusals lead with their stable code, whichever path (router or Redis) they came back by.
  console.error(failureLine('ringctl', error));
  process.exit(1);
});
