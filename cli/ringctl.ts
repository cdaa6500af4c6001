#!/usr/bin/env node
/**
 * ringctl: the operators' CLI. `status` shows slots, owners, standbys, node states, lease ages and
 * the epoch; `owner USER_ID` names the node serving a user. It finds the cluster through a router
 * (`--router`, env CHATRING_ROUTER_URL, default http://127.0.0.1:8080).
 *
 * Exit codes: 0 done, 1 refused or failed (the message says why), 2 bad usage.
 */
import { Command, CommanderError } from 'commander';
import { HttpControlPlaneClient, type ClusterStatus } from '../control-plane/index.js';
import { formatStatusTable } from './status-table.js';

interface GlobalOptions {
  router: string;
  json?: boolean;
}

const program = new Command('ringctl')
  .description('Operate a chatring cluster: inspect the ring, find a user’s owner.')
  .option(
    '--router <url>',
    'a router of the cluster (env CHATRING_ROUTER_URL)',
    process.env.CHATRING_ROUTER_URL ?? 'http://127.0.0.1:8080',
  )
  .option('--json', 'print JSON instead of a table')
  .exitOverride();

program
  .command('status')
  .description('slots, owners, standbys, node states, lease ages and the ring epoch')
  .action(async () => {
    const options = program.opts<GlobalOptions>();
    const client = new HttpControlPlaneClient(options.router, 3_000);
    try {
      const status: ClusterStatus = await client.status();
      console.log(
        options.json === true ? JSON.stringify(status, null, 2) : formatStatusTable(status),
      );
    } finally {
      await client.close();
    }
  });

program
  .command('owner')
  .argument('<userId>', 'the user to look up')
  .description('the slot and node serving a user now')
  .action(async (userId: string) => {
    const options = program.opts<GlobalOptions>();
    const response = await fetch(
      `${options.router.replace(/\/$/, '')}/admin/v1/owner/${encodeURIComponent(userId)}`,
    );
    const body = (await response.json()) as {
      nodeId?: string;
      slot?: string;
      url?: string;
      epoch?: number;
      error?: { code: string; message: string };
    };
    if (body.error !== undefined) throw new Error(`${body.error.code}: ${body.error.message}`);
    console.log(
      options.json === true
        ? JSON.stringify({ userId, ...body }, null, 2)
        : `${userId} → ${body.nodeId} (${body.slot}, ${body.url}, epoch ${body.epoch})`,
    );
  });

program.parseAsync().catch((error: unknown) => {
  if (error instanceof CommanderError) process.exit(error.exitCode === 0 ? 0 : 2);
  const cause = (error as { cause?: Error }).cause;
  console.error(
    `ringctl: ${(error as Error).message}${cause === undefined ? '' : ` (${cause.message})`}`,
  );
  process.exit(1);
});
