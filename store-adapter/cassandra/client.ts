import cassandra from 'cassandra-driver';
import { BoundedRetryPolicy } from './bounded-retry-policy.js';
import { readConnectionSecrets, type CassandraStoreOptions } from './options.js';

/** The driver's codes for the consistency levels the options name. */
const { consistencies } = cassandra.types;
export const CONSISTENCY_CODES = {
  QUORUM: consistencies.quorum,
  LOCAL_QUORUM: consistencies.localQuorum,
  EACH_QUORUM: consistencies.eachQuorum,
  ALL: consistencies.all,
  SERIAL: consistencies.serial,
  LOCAL_SERIAL: consistencies.localSerial,
} as const;

/**
 * A driver client (not yet connected) configured from validated options. Reads the password file
 * and the TLS files: one that cannot be read or is malformed fails here with INVALID_OPTION.
 */
export function createCassandraClient(options: CassandraStoreOptions): cassandra.Client {
  return new cassandra.Client(clientOptions(options));
}

function clientOptions(options: CassandraStoreOptions): cassandra.DseClientOptions {
  return {
    contactPoints: [...options.contactPoints],
    localDataCenter: options.localDataCenter,
    // credentials (PasswordAuthenticator) and sslOptions (node:tls connect options), when given.
    ...readConnectionSecrets(options),
    policies: {
      // Token-aware over DC-aware round robin: requests go straight to a replica in the local DC.
      loadBalancing: new cassandra.policies.loadBalancing.DefaultLoadBalancingPolicy({
        localDc: options.localDataCenter,
      }),
      retry: new BoundedRetryPolicy(),
      reconnection: new cassandra.policies.reconnection.ExponentialReconnectionPolicy(
        500,
        30_000,
        true,
      ),
    },
    socketOptions: {
      connectTimeout: options.connectTimeoutMs,
      readTimeout: options.attemptTimeoutMs,
    },
    queryOptions: {
      prepare: true,
      consistency: CONSISTENCY_CODES[options.readConsistency],
      serialConsistency: CONSISTENCY_CODES[options.serialConsistency],
      // Safe default: a statement not marked otherwise is never retried after it may have run.
      isIdempotent: false,
    },
    // No anonymous usage reports leave the process.
    monitorReporting: { enabled: false },
  };
}
