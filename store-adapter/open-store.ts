import { join } from 'node:path';
import { EmbeddedStore } from './embedded-store.js';
import type { MailboxStore } from './mailbox-store.js';

/** How a process picks its store. */
export type StoreOptions = { kind: 'embedded'; dataDir: string };

export async function openStore(options: StoreOptions): Promise<MailboxStore> {
  return new EmbeddedStore({ path: join(options.dataDir, 'mailboxes.sqlite') });
}
