import type { Command } from 'commander';
import { ChatringError } from '../protocol/index.js';
import { parseCassandraOptions, type StoreOptions } from '../store-adapter/index.js';

/**
 * The store flags shared by `chatring start` and `chatring node`, turned into StoreOptions (validated
 * at once, so a bad Cassandra option fails at start-up naming the key), and back into arguments for
 * the processes the launcher spawns.
 */
export interface StoreFlags {
  store?: string;
  cassandraContactPoints?: string;
  cassandraKeyspace?: string;
  cassandraLocalDataCenter?: string;
  cassandraOptions?: string;
}

export function addStoreFlags(command: Command): Command {
  return command
    .option('--store <kind>', 'embedded or cassandra (env CHATRING_STORE)')
    .option('--cassandra-contact-points <list>', 'host:port,… (env CASSANDRA_CONTACT_POINTS)')
    .option(
      '--cassandra-keyspace <name>',
      'keyspace, created if missing (env CHATRING_CASSANDRA_KEYSPACE)',
    )
    .option(
      '--cassandra-local-data-center <dc>',
      'the driver’s local data center (env CHATRING_CASSANDRA_LOCAL_DATA_CENTER)',
    )
    .option(
      '--cassandra-options <json>',
      'any other Cassandra store option as JSON: credentials, tls, replication… (env CHATRING_CASSANDRA_OPTIONS)',
    );
}

export function storeOptionsFrom(
  flags: StoreFlags,
  env: NodeJS.ProcessEnv,
  dataDir: string,
): StoreOptions {
  const kind = flags.store ?? env.CHATRING_STORE ?? 'embedded';
  if (kind === 'embedded') return { kind: 'embedded', dataDir };
  if (kind !== 'cassandra')
    throw new ChatringError(
      'INVALID_OPTION',
      `--store: unknown store "${kind}" (expected embedded or cassandra)`,
    );
  const raw: Record<string, unknown> = parseJsonOption(
    flags.cassandraOptions ?? env.CHATRING_CASSANDRA_OPTIONS,
  );
  const contactPoints = flags.cassandraContactPoints ?? env.CASSANDRA_CONTACT_POINTS;
  if (contactPoints !== undefined) raw.contactPoints = contactPoints;
  const keyspace = flags.cassandraKeyspace ?? env.CHATRING_CASSANDRA_KEYSPACE;
  if (keyspace !== undefined) raw.keyspace = keyspace;
  const localDataCenter =
    flags.cassandraLocalDataCenter ?? env.CHATRING_CASSANDRA_LOCAL_DATA_CENTER;
  if (localDataCenter !== undefined) raw.localDataCenter = localDataCenter;
  parseCassandraOptions(raw); // fail now, naming the key, rather than in every node
  return { kind: 'cassandra', cassandra: raw };
}

/** The flags that make a spawned `chatring node` open the same store. */
export function storeArgs(options: StoreOptions): string[] {
  if (options.kind === 'embedded') return ['--store', 'embedded'];
  return ['--store', 'cassandra', '--cassandra-options', JSON.stringify(options.cassandra)];
}

function parseJsonOption(text: string | undefined): Record<string, unknown> {
  if (text === undefined || text === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ChatringError(
      'INVALID_OPTION',
      `--cassandra-options is not JSON: ${(error as Error).message}`,
      { cause: error },
    );
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new ChatringError('INVALID_OPTION', '--cassandra-options must be a JSON object');
  return parsed as Record<string, unknown>;
}
