import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { EmbeddedStore, type MailboxStore } from '../../store-adapter/index.js';
import type { ChatWorkload } from './chat-workload.js';
import { MailboxSeeder, randomText } from './mailbox-seeder.js';
import { SeededRandom } from './seeded-random.js';

/** What seeding wrote, for the benchmark's report. */
export interface SeedFigures {
  messages: number;
  commits: number;
  seconds: number;
  conversations: number;
}

export interface SeedSettings {
  seed: number;
  /** Messages written to each contact pair, alternating sender. */
  seedMessages: number;
  contentBytes: number;
}

/** Writes the workload's conversations (each pair `seedMessages` times) and closes the store. */
export async function seedWorkload(
  store: MailboxStore,
  workload: ChatWorkload,
  settings: SeedSettings,
  parallelism: number,
): Promise<SeedFigures> {
  const started = performance.now();
  const random = new SeededRandom(settings.seed + 1);
  const seeder = new MailboxSeeder(store, Date.now() - 86_400_000, parallelism);
  const pairs = workload.pairs();
  try {
    for (let round = 0; round < settings.seedMessages; round += 1) {
      for (const [a, b] of pairs) {
        const [sender, recipient] = round % 2 === 0 ? [a, b] : [b, a];
        await seeder.send(sender, recipient, randomText(random, settings.contentBytes));
      }
    }
    await seeder.flush();
  } finally {
    await store.close();
  }
  return {
    messages: seeder.messages,
    commits: seeder.commits,
    seconds: (performance.now() - started) / 1_000,
    conversations: pairs.length,
  };
}

/**
 * An embedded store in `directory` seeded with the workload, for every target or scenario to copy.
 * NORMAL, not FULL: seeding is setup, not measured; the measured stores run with their default.
 */
export async function seedEmbeddedStore(
  directory: string,
  workload: ChatWorkload,
  settings: SeedSettings,
): Promise<SeedFigures> {
  return seedWorkload(openSeedStore(directory), workload, settings, 1);
}

/** The embedded store of a seed in `directory` (created if missing), for seeding: NORMAL, not FULL. */
export function openSeedStore(directory: string): EmbeddedStore {
  mkdirSync(directory, { recursive: true });
  return new EmbeddedStore({ path: join(directory, 'mailboxes.sqlite'), synchronous: 'NORMAL' });
}

/** Copies a seeded embedded store (with its WAL files) into a data dir. */
export function copyEmbeddedSeed(from: string, to: string): void {
  mkdirSync(to, { recursive: true });
  for (const suffix of ['', '-wal', '-shm']) {
    const source = join(from, `mailboxes.sqlite${suffix}`);
    if (existsSync(source)) copyFileSync(source, join(to, `mailboxes.sqlite${suffix}`));
  }
}
