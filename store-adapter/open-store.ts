import { join } from 'node:path';
import { openCassandraStore, type CassandraStoreHooks } from './cassandra/index.js';
import { EmbeddedStore } from './embedded/index.js';
import type { MailboxStore } from './mailbox-store.js';

/** How a process picks its store: the embedded default, or Cassandra (raw options, validated by the store). */
export type StoreOptions =
  | { kind: 'embedded'; dataDir: string; commitServer?: string }
  | { kind: 'cassandra'; cassandra: Record<string, unknown> };

/**
 * Fault injection for the store a process opens (tests' failpoints), per store kind. Only the
 * Cassandra store has steps inside a commit to stop at (intent, then rows); the embedded store
 * commits in one transaction and takes none, so a caller that arms Cassandra hooks on it must
 * refuse to start (Failpoints.storeHooks does) rather than count on them.
 */
export interface StoreHooks {
  cassandra?: CassandraStoreHooks;
}

export async function openStore(
  options: StoreOptions,
  hooks: StoreHooks = {},
): Promise<MailboxStore> {
  if (options.kind === 'cassandra') return openCassandraStore(options.cassandra, hooks.cassandra);
  return new EmbeddedStore({
    path: embeddedStorePath(options.dataDir),
    commitServer: options.commitServer,
  });
}

/** The embedded store's file in a data directory. */
export function embeddedStorePath(dataDir: string): string {
  return join(dataDir, 'mailboxes.sqlite');
}
