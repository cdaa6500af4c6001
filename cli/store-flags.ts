import type { Command } from 'commander';
import { ChatringError } from '../protocol/index.js';
import { parseCassandraOptions, type StoreOptions } from '../store-adapter/index.js';
import { booleanOption, jsonObjectOption } from './flag-values.js';

/**
 * The store flags shared by `chatring start` and `chatring node`, turned into StoreOptions (validated
 * at once, so a bad Cassandra option fails at start-up naming the key), and back into arguments for
 * the processes the launcher spawns.
 *
 * Credentials and TLS: a dedicated flag or environment variable wins over the same key in
 * `--cassandra-options`. The password never needs the command line: `--cassandra-password-file`
 * names a file; the environment may carry the password itself (CHATRING_CASSANDRA_PASSWORD) or a
 * file (CHATRING_CASSANDRA_PASSWORD_FILE); the flag wins, then the value, then the file.
 */
export interface StoreFlags {
  store?: string;
  /** Embedded store only: its commit server's socket (`chatring node` has the flag). */
  commitServerSocket?: string;
  cassandraContactPoints?: string;
  cassandraKeyspace?: string;
  cassandraLocalDataCenter?: string;
  cassandraOptions?: string;
  cassandraUsername?: string;
  cassandraPasswordFile?: string;
  cassandraTls?: boolean;
  cassandraTlsCaFile?: string;
  cassandraTlsCertFile?: string;
  cassandraTlsKeyFile?: string;
  cassandraTlsServerName?: string;
}

export const CASSANDRA_CREDENTIAL_ENV = Object.freeze({
  username: 'CHATRING_CASSANDRA_USERNAME',
  password: 'CHATRING_CASSANDRA_PASSWORD',
  passwordFile: 'CHATRING_CASSANDRA_PASSWORD_FILE',
  tls: 'CHATRING_CASSANDRA_TLS',
  tlsCaFile: 'CHATRING_CASSANDRA_TLS_CA_FILE',
  tlsCertFile: 'CHATRING_CASSANDRA_TLS_CERT_FILE',
  tlsKeyFile: 'CHATRING_CASSANDRA_TLS_KEY_FILE',
  tlsServerName: 'CHATRING_CASSANDRA_TLS_SERVER_NAME',
});

export function addStoreFlags(command: Command): Command {
  const env = CASSANDRA_CREDENTIAL_ENV;
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
      'any other Cassandra store option as JSON: replication, consistency, timeouts… (env CHATRING_CASSANDRA_OPTIONS)',
    )
    .option(
      '--cassandra-username <name>',
      `PasswordAuthenticator role; needs a password (env ${env.username})`,
    )
    .option(
      '--cassandra-password-file <file>',
      `its password, on one line (env ${env.password} or ${env.passwordFile})`,
    )
    .option('--cassandra-tls', `encrypt connections to Cassandra (env ${env.tls}=true)`)
    .option(
      '--cassandra-tls-ca-file <file>',
      `PEM CA the nodes' certificates are checked against, default the system's; turns TLS on (env ${env.tlsCaFile})`,
    )
    .option(
      '--cassandra-tls-cert-file <file>',
      `PEM client certificate, with --cassandra-tls-key-file; turns TLS on (env ${env.tlsCertFile})`,
    )
    .option(
      '--cassandra-tls-key-file <file>',
      `its unencrypted PEM private key (env ${env.tlsKeyFile})`,
    )
    .option(
      '--cassandra-tls-server-name <name>',
      `the name every node's certificate must carry, default each node's address (env ${env.tlsServerName})`,
    );
}

export function storeOptionsFrom(
  flags: StoreFlags,
  env: NodeJS.ProcessEnv,
  dataDir: string,
): StoreOptions {
  const kind = flags.store ?? env.CHATRING_STORE ?? 'embedded';
  if (kind === 'embedded') {
    const commitServer = flags.commitServerSocket ?? env.CHATRING_COMMIT_SERVER_SOCKET;
    if (commitServer === '')
      throw new ChatringError('INVALID_OPTION', '--commit-server-socket: give a socket path');
    return { kind: 'embedded', dataDir, ...(commitServer === undefined ? {} : { commitServer }) };
  }
  if (kind !== 'cassandra')
    throw new ChatringError(
      'INVALID_OPTION',
      `--store: unknown store "${kind}" (expected embedded or cassandra)`,
    );
  const raw: Record<string, unknown> = jsonObjectOption(
    '--cassandra-options',
    flags.cassandraOptions ?? env.CHATRING_CASSANDRA_OPTIONS,
  );
  const contactPoints = flags.cassandraContactPoints ?? env.CASSANDRA_CONTACT_POINTS;
  if (contactPoints !== undefined) raw.contactPoints = contactPoints;
  const keyspace = flags.cassandraKeyspace ?? env.CHATRING_CASSANDRA_KEYSPACE;
  if (keyspace !== undefined) raw.keyspace = keyspace;
  const localDataCenter =
    flags.cassandraLocalDataCenter ?? env.CHATRING_CASSANDRA_LOCAL_DATA_CENTER;
  if (localDataCenter !== undefined) raw.localDataCenter = localDataCenter;
  addCredentials(raw, flags, env);
  addTls(raw, flags, env);
  parseCassandraOptions(raw); // fail now, naming the key, rather than in every node
  return { kind: 'cassandra', cassandra: raw };
}

/** username and one password source (see StoreFlags), over what --cassandra-options says. */
function addCredentials(
  raw: Record<string, unknown>,
  flags: StoreFlags,
  env: NodeJS.ProcessEnv,
): void {
  const names = CASSANDRA_CREDENTIAL_ENV;
  const username = flags.cassandraUsername ?? env[names.username];
  if (username !== undefined) raw.username = username;
  const password: { password: string } | { passwordFile: string } | undefined =
    flags.cassandraPasswordFile !== undefined
      ? { passwordFile: flags.cassandraPasswordFile }
      : env[names.password] !== undefined
        ? { password: env[names.password] ?? '' }
        : env[names.passwordFile] !== undefined
          ? { passwordFile: env[names.passwordFile] ?? '' }
          : undefined;
  if (password === undefined) return;
  delete raw.password;
  delete raw.passwordFile;
  Object.assign(raw, password);
}

/**
 * TLS: any file or the server name turns it on and goes over the keys of `tls` in
 * --cassandra-options; `--cassandra-tls` alone turns it on with the system's CAs.
 */
function addTls(raw: Record<string, unknown>, flags: StoreFlags, env: NodeJS.ProcessEnv): void {
  const names = CASSANDRA_CREDENTIAL_ENV;
  const given = Object.entries({
    caFile: flags.cassandraTlsCaFile ?? env[names.tlsCaFile],
    certFile: flags.cassandraTlsCertFile ?? env[names.tlsCertFile],
    keyFile: flags.cassandraTlsKeyFile ?? env[names.tlsKeyFile],
    serverName: flags.cassandraTlsServerName ?? env[names.tlsServerName],
  }).filter(([, value]) => value !== undefined);
  const envTls = env[names.tls];
  const on =
    flags.cassandraTls ?? (envTls === undefined ? undefined : booleanOption(names.tls, envTls));
  if (on === false && given.length > 0)
    throw new ChatringError(
      'INVALID_OPTION',
      `${names.tls} is false, but TLS files or a server name are given (${given.map(([key]) => `tls.${key}`).join(', ')})`,
    );
  if (on !== true && given.length === 0) return;
  const { tls } = raw;
  // Anything but an object or a boolean is left for parseCassandraOptions to refuse, naming it.
  if (tls !== undefined && typeof tls !== 'boolean' && !isRecord(tls)) return;
  raw.tls = { ...(isRecord(tls) ? tls : {}), ...Object.fromEntries(given) };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
