/**
 * Issue 11's page-size check: "pageSize 200 from a warm cache reads the store 0 times (counted)
 * and costs ≤ 3× pageSize 20". The seed gets a few deep conversations (more messages than the
 * largest page), apart from the workload's users; after the router target's measured window, on
 * the same cluster, each deep mailbox is read once (its message window loads, 200 deep), then a
 * closed loop reads their first page at the load's page size and at 200, --page-check-s each, in
 * alternated windows (ABBA, PAGE_CHECK_ROUNDS pairs): measured one after the other, the ratio
 * swung from 2.1× to 3.5× between runs, as whatever else the box did (the targets before it,
 * Cassandra's compactions, the JIT and the heap settling) fell on one page size only.
 * The cost is the cluster's CPU per read (and the throughput) of one page size over the other;
 * the store loads are the nodes' `storeLoads` from the first window to the last, both page sizes
 * together (the goal is 0 for each: a total of 0 proves it for both).
 */
import { PAGE_SIZE_MAX, conversationIdOf } from '../../protocol/index.js';
import type { PlannedOperation } from '../lib/chat-workload.js';
import type { NodeCounters } from '../../harness/index.js';
import { MailboxSeeder, randomText } from '../lib/mailbox-seeder.js';
import { runOperations, type OperationPass } from '../lib/operation-call.js';
import { SeededRandom } from '../lib/seeded-random.js';
import { openSeedStore, type SeedSettings } from '../lib/workload-seed.js';
import { driveAlternated, type DrivePlan } from './closed-loop-drive.js';
import type { LoadTarget } from './load-results.js';
import { settings } from './load-settings.js';

/** Deep conversations seeded (two mailboxes each). */
const DEEP_CONVERSATIONS = 16;
/** Messages in each: more than the largest page, so a page of PAGE_SIZE_MAX is full. */
const DEEP_MESSAGES = PAGE_SIZE_MAX + 20;
const WARMUP_S = 1;
/** Alternated pairs of windows (ABBA...): each window is --page-check-s ÷ this. */
const PAGE_CHECK_ROUNDS = 4;

/** One page size's measured window. */
export interface PageSizeRun {
  pageSize: number;
  measuredSeconds: number;
  opsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  /** Cluster CPU ÷ successful reads, µs (absent where CPU is not measured). */
  cpuUsPerOp?: number;
  /**
   * The nodes' storeLoads and cacheMisses from the check's first measured window to its last (both
   * page sizes: the windows alternate): 0 from a warm cache.
   */
  storeLoads: number;
  cacheMisses: number;
}

export interface PageSizeCheck {
  target: string;
  conversations: number;
  mailboxes: number;
  messagesPerConversation: number;
  /** The reads that warmed the deep mailboxes (one page of PAGE_SIZE_MAX each) before the runs. */
  warm: OperationPass;
  small: PageSizeRun;
  large: PageSizeRun;
}

/** The deep mailboxes: both participants of each deep conversation. */
export function deepMailboxes(): { userId: string; conversationId: string }[] {
  return Array.from({ length: DEEP_CONVERSATIONS }, (_, index) => {
    const pair = ['a', 'b'].map((side) => `deep${String(index + 1).padStart(3, '0')}${side}`);
    const [a = '', b = ''] = pair;
    return [a, b].map((userId) => ({ userId, conversationId: conversationIdOf(a, b) }));
  }).flat();
}

/** Adds the deep conversations to the embedded seed in `directory`. */
export async function seedDeepConversations(
  directory: string,
  seedSettings: SeedSettings,
): Promise<void> {
  const store = openSeedStore(directory);
  const random = new SeededRandom(seedSettings.seed + 2);
  const seeder = new MailboxSeeder(store, Date.now() - 86_400_000);
  try {
    const mailboxes = deepMailboxes();
    for (let round = 0; round < DEEP_MESSAGES; round += 1) {
      for (let index = 0; index < mailboxes.length; index += 2) {
        const a = mailboxes[index]?.userId ?? '';
        const b = mailboxes[index + 1]?.userId ?? '';
        const [sender, recipient] = round % 2 === 0 ? [a, b] : [b, a];
        await seeder.send(sender, recipient, randomText(random, seedSettings.contentBytes));
      }
    }
    await seeder.flush();
  } finally {
    await store.close();
  }
}

/** Warms the deep mailboxes, then measures the load's page size and PAGE_SIZE_MAX in turn. */
export async function checkPageSizes(
  targetName: string,
  target: LoadTarget,
  readCounters: () => Promise<NodeCounters>,
  cpu: { rootPid: number | undefined; scope: string },
): Promise<PageSizeCheck> {
  const mailboxes = deepMailboxes();
  const readsAt = (pageSize: number): PlannedOperation[] =>
    mailboxes.map(({ userId, conversationId }) => ({
      kind: 'messages',
      userId,
      conversationId,
      pageSize,
    }));
  const warm = await runOperations(readsAt(PAGE_SIZE_MAX), settings.concurrency, (operation) =>
    target.call(operation),
  );
  const plan = (pageSize: number): DrivePlan => {
    const operations = readsAt(pageSize);
    return {
      concurrency: settings.concurrency,
      warmupS: WARMUP_S,
      durationS: settings.pageCheckS,
      stream: (index) => {
        let position = index;
        return {
          next: () => operations[(position += 1) % operations.length] as PlannedOperation,
        };
      },
    };
  };
  const side = (pageSize: number) => ({ target, plan: plan(pageSize), readCounters, cpu });
  const sizes = [settings.pageSize, PAGE_SIZE_MAX] as const;
  const outcomes = await driveAlternated([side(sizes[0]), side(sizes[1])], PAGE_CHECK_ROUNDS);
  const [small, large] = sizes.map((pageSize, index): PageSizeRun => {
    const { result, counters } = outcomes[index] as (typeof outcomes)[number];
    const messages = result.byOperation.messages;
    const delta = (name: keyof NodeCounters) =>
      (counters.after?.[name] ?? 0) - (counters.before?.[name] ?? 0);
    return {
      pageSize,
      measuredSeconds: result.measuredSeconds,
      opsPerSecond: result.throughputOpsPerSecond,
      p50Ms: messages?.p50Ms ?? Number.NaN,
      p99Ms: messages?.p99Ms ?? Number.NaN,
      errors: messages?.errors ?? 0,
      ...(result.cpuUsPerOp === undefined ? {} : { cpuUsPerOp: result.cpuUsPerOp }),
      storeLoads: delta('storeLoads'),
      cacheMisses: delta('cacheMisses'),
    };
  }) as [PageSizeRun, PageSizeRun];
  return {
    target: targetName,
    conversations: DEEP_CONVERSATIONS,
    mailboxes: mailboxes.length,
    messagesPerConversation: DEEP_MESSAGES,
    warm,
    small,
    large,
  };
}
