import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { ChatringError } from '../protocol/index.js';
import { CREDENTIAL_SOURCES, type Credentials } from '../transport/index.js';

/**
 * Credentials from files or the environment, never from the command line (argv is visible to
 * every user in `ps`). A flag names a file; the environment may carry the value itself or a file
 * (`CHATRING_CLUSTER_SECRET` / `CHATRING_CLUSTER_SECRET_FILE`, ...). A flag wins over the
 * environment. Token files hold one token per line (plain, or `sha256:<hex>` as `chatring
 * hash-token` prints it); blank lines and `#` comments are skipped.
 */

export interface CredentialFlags {
  clusterSecretFile?: string;
  appTokensFile?: string;
  operatorTokenFile?: string;
}

export const CREDENTIAL_ENV = Object.freeze({
  clusterSecret: 'CHATRING_CLUSTER_SECRET',
  clusterSecretFile: 'CHATRING_CLUSTER_SECRET_FILE',
  appTokens: 'CHATRING_APP_TOKENS',
  appTokensFile: 'CHATRING_APP_TOKENS_FILE',
  operatorToken: 'CHATRING_OPERATOR_TOKEN',
  operatorTokenFile: 'CHATRING_OPERATOR_TOKEN_FILE',
});

export function addCredentialFlags(command: Command): Command {
  return command
    .option(
      '--cluster-secret-file <file>',
      `the cluster secret members sign with (env ${CREDENTIAL_ENV.clusterSecret} or ${CREDENTIAL_ENV.clusterSecretFile}); required`,
    )
    .option(
      '--app-tokens-file <file>',
      `app bearer tokens, one per line (env ${CREDENTIAL_ENV.appTokens}, comma-separated, or ${CREDENTIAL_ENV.appTokensFile}); required beyond loopback`,
    )
    .option(
      '--operator-token-file <file>',
      `operator bearer tokens, one per line (env ${CREDENTIAL_ENV.operatorToken} or ${CREDENTIAL_ENV.operatorTokenFile}); required beyond loopback`,
    );
}

/** A member's credentials: the cluster secret is required, the tokens optional (on loopback). */
export function credentialsFrom(flags: CredentialFlags, env: NodeJS.ProcessEnv): Credentials {
  const clusterSecret = clusterSecretFrom(flags, env);
  if (clusterSecret === undefined)
    throw new ChatringError(
      'INVALID_OPTION',
      `a member needs the cluster secret: ${CREDENTIAL_SOURCES.clusterSecret}`,
    );
  return {
    clusterSecret,
    appTokens: tokensFrom(flags.appTokensFile, '--app-tokens-file', env, 'appTokens'),
    operatorTokens: operatorTokensFrom(flags, env),
  };
}

export function clusterSecretFrom(
  flags: Pick<CredentialFlags, 'clusterSecretFile'>,
  env: NodeJS.ProcessEnv,
): Buffer | undefined {
  const text =
    flags.clusterSecretFile !== undefined
      ? readSecretFile(flags.clusterSecretFile, '--cluster-secret-file')
      : (env[CREDENTIAL_ENV.clusterSecret] ??
        (env[CREDENTIAL_ENV.clusterSecretFile] === undefined
          ? undefined
          : readSecretFile(
              env[CREDENTIAL_ENV.clusterSecretFile] ?? '',
              CREDENTIAL_ENV.clusterSecretFile,
            )));
  return text === undefined ? undefined : Buffer.from(text.trim(), 'utf8');
}

/** The operator tokens a server accepts, or the one ringctl presents (the first). */
export function operatorTokensFrom(
  flags: Pick<CredentialFlags, 'operatorTokenFile'>,
  env: NodeJS.ProcessEnv,
): string[] | undefined {
  return tokensFrom(flags.operatorTokenFile, '--operator-token-file', env, 'operatorToken');
}

function tokensFrom(
  file: string | undefined,
  flag: string,
  env: NodeJS.ProcessEnv,
  key: 'appTokens' | 'operatorToken',
): string[] | undefined {
  if (file !== undefined) return tokenLines(readSecretFile(file, flag));
  const inline = env[CREDENTIAL_ENV[key]];
  if (inline !== undefined)
    return inline
      .split(',')
      .map((token) => token.trim())
      .filter(Boolean);
  const fromEnvFile = env[CREDENTIAL_ENV[`${key}File`]];
  return fromEnvFile === undefined
    ? undefined
    : tokenLines(readSecretFile(fromEnvFile, CREDENTIAL_ENV[`${key}File`]));
}

function tokenLines(text: string): string[] {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}

function readSecretFile(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new ChatringError(
      'INVALID_OPTION',
      `${what}: cannot read ${path}: ${(error as Error).message}`,
      { cause: error },
    );
  }
}
