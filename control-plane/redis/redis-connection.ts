import type { Redis, RedisOptions } from 'ioredis';
import { ChatringError } from '../../protocol/index.js';
import type { ResolvedRedisControlPlaneOptions } from './redis-options.js';

/** How the control plane's two connections (commands, subscriber) talk to Redis. */
export function ioredisOptions(
  role: 'commands' | 'subscriber',
  options: Readonly<ResolvedRedisControlPlaneOptions>,
): RedisOptions {
  const { connectTimeoutMs, commandTimeoutMs, reconnectBackoffBaseMs, reconnectBackoffMaxMs } =
    options;
  const { username, password, tls } = options;
  return {
    connectionName: `chatring-control-plane-${role}`,
    // ioredis lets what the URL says win over these; the options refuse to have both.
    ...(username === undefined ? {} : { username }),
    ...(password === undefined ? {} : { password }),
    // An object even for rediss:// URLs: a copy, so rejectUnauthorized is always said explicitly.
    ...(tls === undefined ? {} : { tls: { ...tls } }),
    lazyConnect: true,
    connectTimeout: connectTimeoutMs,
    commandTimeout: commandTimeoutMs,
    // Fail fast while Redis is away, and never re-send a command after a reconnect: a ring
    // change planned before an outage must not land on a Redis that restarted meanwhile.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    // The subscriber re-subscribes itself on 'ready', then re-reads the ring (in that order).
    autoResubscribe: false,
    enableReadyCheck: true,
    retryStrategy: (attempt: number) =>
      Math.min(reconnectBackoffBaseMs * 2 ** Math.min(attempt - 1, 20), reconnectBackoffMaxMs),
  };
}

/** Where Redis is, for messages: its host and port, never the password. */
export function redisHost(redisUrl: string): string {
  try {
    return new URL(redisUrl).host;
  } catch {
    return 'redis';
  }
}

/**
 * Runs Redis work; a failure to reach Redis becomes OWNER_UNAVAILABLE (retryable). Catalogue
 * errors (a lost compare-and-set, a damaged ring) pass through as they are.
 */
export async function withRedis<T>(
  operation: string,
  where: string,
  work: () => Promise<T>,
): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof ChatringError) throw error;
    throw new ChatringError(
      'OWNER_UNAVAILABLE',
      `control plane ${operation}: Redis at ${where} failed: ${(error as Error).message}`,
      { cause: error },
    );
  }
}

/**
 * Node's codes for a server certificate that does not verify: no retry makes it verify, so start-up
 * fails at once rather than after its whole timeout.
 */
const TLS_VERIFICATION_CODES: ReadonlySet<string> = new Set([
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_REJECTED',
  'CERT_REVOKED',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'HOSTNAME_MISMATCH',
  'INVALID_CA',
  'INVALID_PURPOSE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
]);

/**
 * What a connection error says when Redis refused us for good (the credentials, or its TLS
 * certificate): a sentence for the start-up error. undefined: anything worth retrying. A Redis
 * that drops a client without the certificate it asks for (`tls-auth-clients yes`) only resets
 * the connection, which no client can tell from a network fault: that one times out.
 */
function permanentRefusal(error: Error): string | undefined {
  if (/^(WRONGPASS|NOAUTH)\b|^ERR (invalid password|invalid username-password)/.test(error.message))
    return 'refused the credentials (check the password and the username)';
  const { code } = error as NodeJS.ErrnoException;
  if (code !== undefined && TLS_VERIFICATION_CODES.has(code))
    return 'failed TLS verification (check tls.caFile and tls.serverName)';
  return undefined;
}

/**
 * Connects and waits for 'ready' (ioredis keeps retrying meanwhile); fails after timeoutMs, or at
 * once when Redis refuses the credentials or its certificate does not verify.
 */
export function waitForReady(redis: Redis, timeoutMs: number, where: string): Promise<void> {
  if (redis.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    let lastError = '';
    const onError = (error: Error) => {
      lastError = error.message;
      const refusal = permanentRefusal(error);
      if (refusal === undefined) return;
      cleanup();
      reject(
        new ChatringError('OWNER_UNAVAILABLE', `Redis at ${where} ${refusal}: ${error.message}`, {
          cause: error,
        }),
      );
    };
    const cleanup = () => {
      clearTimeout(timer);
      redis.off('ready', onReady);
      redis.off('error', onError);
    };
    const onReady = () => {
      cleanup();
      resolve();
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(
        new ChatringError(
          'OWNER_UNAVAILABLE',
          `Redis at ${where} not reachable within ${timeoutMs} ms${lastError ? `: ${lastError}` : ''}`,
        ),
      );
    }, timeoutMs);
    redis.on('ready', onReady);
    redis.on('error', onError);
    if (redis.status === 'wait') redis.connect().catch(() => undefined);
  });
}

/** Closes a connection politely when it is up, at once when it is not. */
export async function quit(redis: Redis): Promise<void> {
  if (redis.status === 'end') return;
  if (redis.status === 'ready') {
    try {
      await redis.quit();
      return;
    } catch {
      // fall through: drop the connection
    }
  }
  redis.disconnect();
}
