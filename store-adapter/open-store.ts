import { join } from 'node:path';
import { openCassandraStore } from './cassandra/index.js';
import { EmbeddedStore } from './embedded/index.js';
import type { MailboxStore } from './mailbox-store.js';

/** How a process picks its store: the embedded default, or Cassandra (raw options, validated by the store). */
export type StoreOptions =
  { kind: 'embedded'; dataDir: string } | { kind: 'cassandra'; cassandra: Record<string, unknown> };

export async function openStore(options: StoreOptions): Promise<MailboxStore> {
  if (options.kind === 'cassandra') return openCassandraStore(options.cassandra);
  return new EmbeddedStore({ path: join(options.dataDir, 'mailboxes.sqlite') });
}
