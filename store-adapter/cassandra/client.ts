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
 * The CQL port every contact point names, when they all name the same one: the cluster's. Mixed or
 * absent ports leave the driver's default (9042) for the nodes it discovers.
 */
export function sharedPort(contactPoints: readonly string[]): number | undefined {
  const ports = new Set(contactPoints.map((point) => /:(\d+)$/.exec(point)?.[1]));
  const [only] = ports;
  return ports.size === 1 && only !== undefined ? Number(only) : undefined;
}

/**
 * A driver client (not yet connected) configured from validated options. Reads the password file
 * and the TLS files: one that cannot be read or is malformed fails here with INVALID_OPTION.
 */
export function createCassandraClient(options: CassandraStoreOptions): cassandra.Client {
  return new cassandra.Client(clientOptions(options));
}

function clientOptions(options: CassandraStoreOptions): cassandra.DseClientOptions {
  const port = sharedPort(options.contactPoints);
  return {
    contactPoints: [...options.contactPoints],
    // The driver dials every node it discovers (system.peers) on this port, not on the contact
    // point's: a cluster whose nodes serve CQL elsewhere than 9042 was half reachable.
    ...(port === undefined ? {} : { protocolOptions: { port } }),
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
