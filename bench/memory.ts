/**
 * bench/memory.ts — what a cached user and a cached message cost in heap, against the raw payload
 * and against the cache's own estimate (MailboxCache.stats().bytes, which drives its LRU budget).
 *
 * In one process (needs --expose-gc; it re-runs itself with the flag if missing) it fills a real
 * MailboxCache with MailboxState objects: N users, each with C conversations (rows), then M
 * messages per user spread over those conversations (message windows). The heap delta after a full
 * GC, over the counts, gives bytes per user (with its rows) and bytes per message. Every string is
 * made fresh, like strings read back from the store, so nothing is shared that would not be.
 *
 * Baselines in the same run: the raw payload (content UTF-8 bytes, and the message as JSON), and
 * the cache's estimate. An estimate below the real heap means the byte budget under-counts: a node
 * would use more memory than --cache-bytes-max.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { conversationIdOf, orderedPair } from '../protocol/index.js';
import { MailboxCache, MailboxState } from '../cache-node/index.js';
import type { ConversationRow, StoredMessage } from '../store-adapter/index.js';
import { BenchFlags } from './lib/bench-args.js';
import type { MemoryResultRow } from './lib/bench-results.js';
import { machineLine } from './lib/machine.js';
import { startReport, writeReport } from './lib/result-files.js';
import { SeededRandom } from './lib/seeded-random.js';
import { fixed, renderTable, type Cell } from './lib/text-table.js';

if (typeof globalThis.gc !== 'function') {
  // Re-run with the flag rather than measure garbage.
  const self = fileURLToPath(import.meta.url);
  const child = spawnSync(
    process.execPath,
    ['--expose-gc', ...process.execArgv, self, ...process.argv.slice(2)],
    { stdio: 'inherit' },
  );
  process.exit(child.status ?? 1);
}

const flags = BenchFlags.parse(
  'memory',
  'heap bytes per cached user and message vs payload and the cache estimate',
  {
    users: { description: 'cached users N', default: '2000' },
    messages: { description: 'cached messages per user M', default: '100' },
    conversations: {
      description: 'conversations per user C (M is spread over them)',
      default: '5',
    },
    'content-bytes': {
      description: 'message content sizes to try, UTF-8 bytes',
      default: '16,140,1024',
    },
    charsets: {
      description: 'content alphabets: ascii (1-byte strings in V8) and/or cyrillic (2-byte)',
      default: 'ascii,cyrillic',
    },
    seed: { description: 'seed of the generated content', default: '1' },
  },
);
const settings = {
  users: flags.integer('users', 1, 1_000_000),
  messages: flags.integer('messages', 0, 100_000),
  conversations: flags.integer('conversations', 1, 1_000),
  contentBytes: flags.integerList('content-bytes', 2, 65_534),
  charsets: flags.string('charsets').split(',').filter(Boolean) as Charset[],
  seed: flags.integer('seed', 0, 2 ** 31),
};
for (const charset of settings.charsets)
  if (charset !== 'ascii' && charset !== 'cyrillic')
    throw new Error(`--charsets: unknown "${charset}"`);
if (settings.messages / settings.conversations > 200)
  throw new Error(
    'messages / conversations must be at most 200 (the default window cap), or windows get trimmed',
  );

type Charset = 'ascii' | 'cyrillic';

/** One measured row: the report's shape, with the charset narrowed to what this bench measures. */
type MemoryRow = MemoryResultRow & { charset: Charset };

const gc = globalThis.gc as () => void;
const ALPHABETS: Record<Charset, string> = {
  ascii: 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,!?',
  cyrillic: 'абвгдеёжзийклмнопрстуфхцчшщъыьэюяАБВГДЕЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯ',
};

main();

function main(): void {
  const report = startReport<{ rows: MemoryRow[] }>(
    'memory',
    settings,
    'raw payload (content UTF-8 bytes; the message as JSON) and the cache estimate MailboxCache.stats().bytes, in the same run',
  );
  console.log(`memory benchmark — ${machineLine(report.machine)}`);
  console.log(
    `settings: ${settings.users} users × ${settings.conversations} conversations × ${settings.messages} messages, content ${settings.contentBytes.join('/')} bytes, ${settings.charsets.join('/')}\n`,
  );
  const rows: MemoryRow[] = [];
  for (const charset of settings.charsets) {
    for (const contentBytes of settings.contentBytes) rows.push(measure(contentBytes, charset));
  }
  printTable(rows);
  report.notes.push(
    'heap/user: a MailboxState with its conversation rows (no messages), over N users. heap/msg: the further heap of the message windows, over N×M messages.',
    'estimate: what MailboxCache.stats().bytes charges (MESSAGE_OVERHEAD_BYTES + 2 bytes per content char; rows and mailboxes likewise). heap÷est > 1 means the node uses more heap than its cacheBytesMax says.',
    'V8 keeps ASCII-only strings at 1 byte per char and others at 2; the estimate charges 2 per char for both.',
    'Each field string is fresh (as read from the store); messages inserted by a send share strings with the request and may cost a little less.',
  );
  for (const note of report.notes) console.log(`note: ${note}`);
  const path = writeReport({ ...report, results: { rows } });
  console.log(`\nwrote ${path}`);
}

/**
 * One configuration: users with their rows, then their message windows, the settled heap after
 * each phase. It stays whole because everything it builds must stay reachable until the last
 * heap reading.
 */
function measure(contentBytes: number, charset: Charset): MemoryRow {
  const random = new SeededRandom(settings.seed + contentBytes);
  const heapBefore = settledHeap();
  const cache = new MailboxCache(
    { cacheBytesMax: Number.MAX_SAFE_INTEGER, windowMessagesMax: 200 },
    () => false,
  );
  const userIds = Array.from(
    { length: settings.users },
    (_, index) => `user${String(index + 1).padStart(7, '0')}`,
  );
  const perUser = new Map<string, { state: MailboxState; conversationIds: string[] }>();
  const clock = Date.now() - 86_400_000;

  // Phase 1: users with their conversation rows.
  for (const [index, userId] of userIds.entries()) {
    const rows: ConversationRow[] = [];
    const conversationIds: string[] = [];
    for (let conversation = 0; conversation < settings.conversations; conversation += 1) {
      const peer = `peer${String(index * settings.conversations + conversation).padStart(8, '0')}`;
      const conversationId = fresh(conversationIdOf(userId, peer));
      conversationIds.push(conversationId);
      rows.push({
        conversationId,
        participants: orderedPair(fresh(userId), fresh(peer)),
        snippet: fresh(text(random, charset, Math.min(contentBytes, 200)).slice(0, 100)),
        lastUpdatedTimestamp: clock + conversation,
        unreadCount: conversation,
        version: settings.messages + conversation,
      });
    }
    const state = new MailboxState(
      fresh(userId),
      settings.messages + settings.conversations,
      rows,
      200,
    );
    cache.put(state);
    perUser.set(userId, { state, conversationIds });
  }
  const heapUsers = settledHeap();
  const estimateUsers = cache.stats().bytes;

  // Phase 2: message windows.
  let rawContentBytes = 0;
  let rawJsonBytes = 0;
  for (const [userId, { state, conversationIds }] of perUser) {
    const windows = conversationIds.map(() => [] as StoredMessage[]);
    for (let sequence = 0; sequence < settings.messages; sequence += 1) {
      const slot = sequence % conversationIds.length;
      const conversationId = conversationIds[slot] ?? '';
      const [first, second] = conversationId.split('~') as [string, string];
      const outgoing = sequence % 2 === 0;
      const message: StoredMessage = {
        messageId: fresh(randomUuidLike(random)),
        conversationId: fresh(conversationId),
        senderId: fresh(outgoing ? userId : first === userId ? second : first),
        recipientId: fresh(outgoing ? (first === userId ? second : first) : userId),
        content: text(random, charset, contentBytes),
        clientMessageId: fresh(`client-${randomUuidLike(random)}`),
        sentAt: clock + sequence,
        version: sequence + 1,
      };
      rawContentBytes += Buffer.byteLength(message.content, 'utf8');
      rawJsonBytes += Buffer.byteLength(JSON.stringify(message), 'utf8');
      windows[slot]?.unshift(message); // newest first
    }
    conversationIds.forEach((conversationId, slot) =>
      state.setWindow(conversationId, windows[slot] ?? [], true),
    );
    cache.recharge(state);
  }
  const heapAll = settledHeap();
  const estimateAll = cache.stats().bytes;
  const messageCount = settings.users * settings.messages;
  if (cache.stats().users !== settings.users)
    throw new Error('the cache evicted users; the measurement is void');

  const heapPerUser = (heapUsers - heapBefore) / settings.users;
  const heapPerMessage = messageCount === 0 ? Number.NaN : (heapAll - heapUsers) / messageCount;
  const row: MemoryRow = {
    contentBytes,
    charset,
    users: settings.users,
    conversations: settings.conversations,
    messages: messageCount,
    heapPerUserBytes: heapPerUser,
    estimatePerUserBytes: estimateUsers / settings.users,
    heapPerMessageBytes: heapPerMessage,
    estimatePerMessageBytes:
      messageCount === 0 ? Number.NaN : (estimateAll - estimateUsers) / messageCount,
    rawContentBytes: rawContentBytes / Math.max(1, messageCount),
    rawJsonBytes: rawJsonBytes / Math.max(1, messageCount),
    heapOverJson: heapPerMessage / (rawJsonBytes / Math.max(1, messageCount)),
    heapOverEstimate: (heapAll - heapBefore) / estimateAll,
    messagesPerGiB: 2 ** 30 / heapPerMessage,
  };
  // Keep everything reachable until measured, then let it go before the next configuration.
  if (perUser.size !== settings.users || cache.stats().users === 0) throw new Error('unreachable');
  perUser.clear();
  cache.clear();
  return row;
}

/** Heap after full collections, once it stops shrinking. */
function settledHeap(): number {
  let previous = Number.POSITIVE_INFINITY;
  for (let round = 0; round < 6; round += 1) {
    gc();
    const used = process.memoryUsage().heapUsed;
    if (Math.abs(previous - used) < 64 * 1024) return used;
    previous = used;
  }
  return previous;
}

/** A new flat string with the same text (as the store driver would hand back). */
function fresh(value: string): string {
  return Buffer.from(value, 'utf8').toString('utf8');
}

/** `bytes` UTF-8 bytes of random text from the alphabet (Cyrillic letters are 2 bytes each). */
function text(random: SeededRandom, charset: Charset, bytes: number): string {
  const alphabet = ALPHABETS[charset];
  const characters = charset === 'ascii' ? bytes : Math.max(1, Math.floor(bytes / 2));
  let result = '';
  for (let index = 0; index < characters; index += 1)
    result += alphabet[random.integerBelow(alphabet.length)];
  return fresh(result);
}

function randomUuidLike(random: SeededRandom): string {
  const hex = () => random.nextUint32().toString(16).padStart(8, '0');
  const a = hex();
  const b = hex();
  const c = hex();
  const d = hex();
  return `${a}-${b.slice(0, 4)}-${b.slice(4)}-${c.slice(0, 4)}-${c.slice(4)}${d}`;
}

function printTable(rows: MemoryRow[]): void {
  const headers = [
    'content B',
    'charset',
    'users',
    'messages',
    'heap/user',
    'est/user',
    'heap/msg',
    'est/msg',
    'content raw',
    'JSON raw',
    'heap÷JSON',
    'heap÷est',
    'msgs/GiB',
  ];
  const body: Cell[][] = rows.map((row) => [
    row.contentBytes,
    row.charset,
    row.users,
    row.messages,
    fixed(row.heapPerUserBytes, 0),
    fixed(row.estimatePerUserBytes, 0),
    fixed(row.heapPerMessageBytes, 0),
    fixed(row.estimatePerMessageBytes, 0),
    fixed(row.rawContentBytes, 0),
    fixed(row.rawJsonBytes, 0),
    `${fixed(row.heapOverJson, 2)}x`,
    `${fixed(row.heapOverEstimate, 2)}x`,
    fixed(row.messagesPerGiB, 0),
  ]);
  console.log(renderTable(headers, body));
  console.log('');
}
