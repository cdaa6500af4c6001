/**
 * bench/baseline-app-server.ts — the baseline bench/load.ts compares chatring against: a stateless
 * app server that reads and writes the store directly, with no cache and no owner. It serves the
 * same three calls (send, conversations, messages) on the same store as the cluster it is compared
 * with — the EmbeddedStore (same file format, same durability: synchronous=FULL) or Cassandra (the
 * same store options, in a keyspace of its own) — and answers in the same JSON shapes.
 *
 *  - conversations / messages: every request reads mailboxVersion + recentConversations /
 *    messagesPage from the store (bench/lib/store-pages.ts);
 *  - send: messageByClientId on both mailboxes (idempotency), then a compare-and-set commit on each
 *    (the higher id first, like chatring). With no owner and no per-user lock, two sends to one
 *    mailbox can race between reading its version and committing; the loser gets
 *    StoreVersionConflictError and retries from the start, as a stateless fleet would have to.
 *
 * Run as a child process: `node dist-bench/bench/baseline-app-server.js --data-dir D [--port 0]`,
 * or `--store cassandra --cassandra-options '{"contactPoints":[...],"keyspace":...}'` (the raw
 * store options, as `chatring start --cassandra-options` takes them); prints
 * `baseline listening on URL`.
 */
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import Fastify from 'fastify';
import {
  ChatringError,
  REQUEST_BODY_BYTES_LIMIT,
  SNIPPET_CHARS_MAX,
  conversationIdOf,
  orderedPair,
  parseSendRequest,
  toChatringError,
  type Message,
  type SendMessageRequest,
  type SendMessageResponse,
} from '../protocol/index.js';
import {
  StoreVersionConflictError,
  openStore,
  type ConversationRow,
  type MailboxStore,
  type StoreOptions,
} from '../store-adapter/index.js';
import { BenchFlags } from './lib/bench-args.js';
import { readPage, STORE_READS_PER_PAGE, toMessage } from './lib/store-pages.js';

/** Retries of a send that lost a compare-and-set race; bounded like everything else. */
const SEND_ATTEMPTS_MAX = 16;

interface BaselineStats {
  sends: number;
  duplicates: number;
  versionConflicts: number;
  storeReads: number;
  storeCommits: number;
}

const flags = BenchFlags.parse(
  'baseline-app-server',
  'stateless app server on the store, no cache (the load baseline)',
  {
    store: { description: 'embedded or cassandra', default: 'embedded' },
    'data-dir': { description: 'folder of mailboxes.sqlite (--store embedded)', default: '' },
    'cassandra-options': {
      description: 'the Cassandra store options as a JSON object (--store cassandra)',
      default: '',
    },
    port: { description: 'listen port (0: any free port)', default: '0' },
    host: { description: 'listen address', default: '127.0.0.1' },
  },
);
const store = await openStore(storeOptions());
const stats: BaselineStats = {
  sends: 0,
  duplicates: 0,
  versionConflicts: 0,
  storeReads: 0,
  storeCommits: 0,
};
const app = Fastify({ bodyLimit: REQUEST_BODY_BYTES_LIMIT, logger: false });
app.setErrorHandler((error, _request, reply) => {
  const mapped =
    error instanceof StoreVersionConflictError
      ? new ChatringError('STORE_UNAVAILABLE', error.message)
      : toChatringError(error);
  void reply.code(mapped.status).send(mapped.toBody());
});

app.get('/healthz', async () => ({ status: 'ok' }));
// The store's own figures under the names nodes use (counters and gauges apart), so the bench
// reads both alike.
app.get('/internal/v1/stats', async () => {
  const storeStats = store.stats?.();
  return {
    baseline: stats,
    storeCounters: storeStats?.counters ?? {},
    storeGauges: storeStats?.gauges ?? {},
  };
});

app.post('/v1/messages', async (request, reply) => {
  const result = await send(store, parseSendRequest(request.body));
  return reply.code(result.duplicate ? 200 : 201).send(result);
});

app.get<{ Params: { userId: string } }>('/v1/users/:userId/conversations', async (request) => {
  const page = await readPage(store, { userId: request.params.userId }, request.query);
  stats.storeReads += STORE_READS_PER_PAGE;
  return page;
});

app.get<{ Params: { userId: string; conversationId: string } }>(
  '/v1/users/:userId/conversations/:conversationId/messages',
  async (request) => {
    const page = await readPage(store, request.params, request.query);
    stats.storeReads += STORE_READS_PER_PAGE;
    return page;
  },
);

const host = flags.string('host');
await app.listen({ host, port: flags.integer('port', 0, 65_535) });
console.log(`baseline listening on http://${host}:${(app.server.address() as AddressInfo).port}`);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void app
      .close()
      .then(() => store.close())
      .then(() => process.exit(0));
  });
}

function storeOptions(): StoreOptions {
  const kind = flags.string('store');
  if (kind === 'embedded') {
    const dataDir = flags.string('data-dir');
    if (dataDir === '') throw new Error('--data-dir is required with --store embedded');
    return { kind, dataDir };
  }
  if (kind !== 'cassandra') throw new Error(`--store must be embedded or cassandra, got "${kind}"`);
  const options = JSON.parse(flags.string('cassandra-options') || 'null') as unknown;
  if (typeof options !== 'object' || options === null || Array.isArray(options))
    throw new Error('--cassandra-options must be a JSON object with --store cassandra');
  return { kind, cassandra: options as Record<string, unknown> };
}

async function send(
  target: MailboxStore,
  request: SendMessageRequest,
): Promise<SendMessageResponse> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await sendOnce(target, request);
    } catch (error) {
      if (!(error instanceof StoreVersionConflictError) || attempt >= SEND_ATTEMPTS_MAX)
        throw error;
      stats.versionConflicts += 1;
    }
  }
}

async function sendOnce(
  target: MailboxStore,
  request: SendMessageRequest,
): Promise<SendMessageResponse> {
  const [lower, higher] = orderedPair(request.senderId, request.recipientId);
  const conversationId = conversationIdOf(request.senderId, request.recipientId);
  const existingHigher = await target.messageByClientId(
    higher,
    request.senderId,
    request.clientMessageId,
  );
  const existingLower = await target.messageByClientId(
    lower,
    request.senderId,
    request.clientMessageId,
  );
  stats.storeReads += 2;
  if (existingHigher !== undefined && existingLower !== undefined) {
    stats.duplicates += 1;
    return { message: toMessage(existingLower), duplicate: true };
  }
  let message: Message;
  if (existingHigher !== undefined) {
    message = toMessage(existingHigher); // an earlier attempt wrote the higher copy only: finish it
  } else {
    const rows = await Promise.all([
      target.conversation(higher, conversationId),
      target.conversation(lower, conversationId),
    ]);
    stats.storeReads += 2;
    const lastSentAt = Math.max(0, ...rows.map((row) => row?.lastUpdatedTimestamp ?? 0));
    message = {
      ...request,
      messageId: randomUUID(),
      conversationId,
      sentAt: Math.max(Date.now(), lastSentAt + 1),
    };
    await commitCopy(target, higher, message);
  }
  await commitCopy(target, lower, message);
  stats.sends += 1;
  return { message, duplicate: false };
}

/** One mailbox copy: read version and row, compare-and-set commit. */
async function commitCopy(target: MailboxStore, ownerId: string, message: Message): Promise<void> {
  const version = (await target.mailboxVersion(ownerId)) + 1;
  const previous = await target.conversation(ownerId, message.conversationId);
  stats.storeReads += 2;
  const isLatest = previous === undefined || message.sentAt > previous.lastUpdatedTimestamp;
  const conversation: ConversationRow = {
    conversationId: message.conversationId,
    participants: orderedPair(message.senderId, message.recipientId),
    snippet: isLatest
      ? Array.from(message.content).slice(0, SNIPPET_CHARS_MAX).join('')
      : previous.snippet,
    lastUpdatedTimestamp: isLatest ? message.sentAt : previous.lastUpdatedTimestamp,
    unreadCount: (previous?.unreadCount ?? 0) + (message.recipientId === ownerId ? 1 : 0),
    version,
  };
  await target.commit({
    kind: 'message',
    ownerId,
    version,
    commitId: randomUUID(),
    conversation,
    message,
  });
  stats.storeCommits += 1;
}
