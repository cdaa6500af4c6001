/**
 * Finds a Cassandra for tests and benchmarks and gives a caller a keyspace of its own. Where:
 * CASSANDRA_CONTACT_POINTS if set (the local data center from CHATRING_CASSANDRA_LOCAL_DATA_CENTER,
 * as the product reads it, or the older CASSANDRA_LOCAL_DATA_CENTER), else the local node that
 * scripts/cassandra/cassandra.mjs starts or reuses. The caller drops its keyspace when done
 * (test/helpers ties that to the test's teardown). Creating a keyspace costs a few seconds of
 * schema agreement, so a test file makes one, not one per test.
 */
import cassandra from 'cassandra-driver';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { repositoryRoot } from './repository-root.js';

/** Start-up of a fresh node on a 2-core box takes ~30 s; a first download takes longer. */
const CASSANDRA_START_TIMEOUT_MS = 240_000;
const DROP_KEYSPACE_TIMEOUT_MS = 60_000;
const DEFAULT_LOCAL_DATA_CENTER = 'datacenter1';

export interface CassandraLocation {
  contactPoints: string[];
  localDataCenter: string;
  /**
   * The local node scripts/cassandra/cassandra.mjs started (`reused`: false) or found running
   * (true); absent for the Cassandra CASSANDRA_CONTACT_POINTS names.
   */
  localNode?: { pid: number; reused: boolean };
}

export interface ScratchKeyspace extends CassandraLocation {
  /** `<prefix>_<random>`: unique to its user. */
  keyspace: string;
  /** A plain driver client, for looking at or writing rows behind the store's back. */
  client: cassandra.Client;
  /** Raw store options for this keyspace, plus `extra` (e.g. a tiny `messageBucketMs`). */
  storeOptions(extra?: Record<string, unknown>): Record<string, unknown>;
  /** `chatring start` flags that put a cluster's store in this keyspace. */
  storeArgs(extra?: Record<string, unknown>): string[];
  /** Drops the keyspace and closes the client; a second call does nothing. */
  drop(): Promise<void>;
}

/** The part of scripts/cassandra/cassandra.mjs used here (it is plain JS, without types). */
interface CassandraScript {
  ensureCassandra(options: {
    timeoutMs: number;
    startedFor?: string;
  }): Promise<{ contactPoint: string; localDataCenter?: string; pid: number; reused: boolean }>;
}

/**
 * What a local node the test harness starts is recorded as being for: the suite's `after` step
 * (test/suite/after.mjs) stops such a node, and only such a node.
 */
export const CASSANDRA_STARTED_FOR_TESTS = 'tests';

/** The Cassandra the environment names, or undefined when CASSANDRA_CONTACT_POINTS is unset. */
export function cassandraFromEnvironment(): CassandraLocation | undefined {
  const contactPoints = (process.env.CASSANDRA_CONTACT_POINTS ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  if (contactPoints.length === 0) return undefined;
  return { contactPoints, localDataCenter: localDataCenterFromEnvironment() };
}

/**
 * The environment's Cassandra, or a local node started (or reused) on demand; `startedFor` is
 * recorded with a node this call starts (see CASSANDRA_STARTED_FOR_TESTS).
 */
export async function locateCassandra(startedFor?: string): Promise<CassandraLocation> {
  const fromEnvironment = cassandraFromEnvironment();
  if (fromEnvironment !== undefined) return fromEnvironment;
  // A computed specifier: TypeScript does not look for types of a plain .mjs script.
  const scriptUrl = pathToFileURL(join(repositoryRoot(), 'scripts', 'cassandra', 'cassandra.mjs'));
  const script = (await import(scriptUrl.href)) as CassandraScript;
  const node = await script.ensureCassandra({
    timeoutMs: CASSANDRA_START_TIMEOUT_MS,
    ...(startedFor === undefined ? {} : { startedFor }),
  });
  return {
    contactPoints: [node.contactPoint],
    localDataCenter: node.localDataCenter ?? localDataCenterFromEnvironment(),
    localNode: { pid: node.pid, reused: node.reused },
  };
}

/**
 * A keyspace name `<prefix>_<random>` on `location`, with a connected client. The store under test
 * creates the keyspace and its tables on open; this only names it and drops it afterwards.
 */
export async function openScratchKeyspace(
  location: CassandraLocation,
  prefix: string,
): Promise<ScratchKeyspace> {
  const { contactPoints, localDataCenter } = location;
  const keyspace = `${prefix.replace(/[^a-z0-9_]/g, '_')}_${randomBytes(4).toString('hex')}`;
  const client = new cassandra.Client({ contactPoints, localDataCenter });
  await client.connect();
  const storeOptions = (extra: Record<string, unknown> = {}) => ({
    contactPoints,
    localDataCenter,
    keyspace,
    ...extra,
  });
  let dropped: Promise<void> | undefined;
  return {
    contactPoints,
    localDataCenter,
    keyspace,
    client,
    storeOptions,
    storeArgs: (extra) => [
      '--store',
      'cassandra',
      '--cassandra-options',
      JSON.stringify(storeOptions(extra)),
    ],
    drop() {
      dropped ??= (async () => {
        try {
          await client.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`, [], {
            readTimeout: DROP_KEYSPACE_TIMEOUT_MS,
          });
        } finally {
          await client.shutdown();
        }
      })();
      return dropped;
    },
  };
}

function localDataCenterFromEnvironment(): string {
  return (
    process.env.CHATRING_CASSANDRA_LOCAL_DATA_CENTER ??
    process.env.CASSANDRA_LOCAL_DATA_CENTER ??
    DEFAULT_LOCAL_DATA_CENTER
  );
}
