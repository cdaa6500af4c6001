/**
 * Proves the read path's JSON answers (issue 11, the node read path): every page a node serves,
 * from memory or from the store, is byte for byte the JSON.stringify of the response the store's
 * own data gives (same fields, values and order), whatever mix of sends, reads and mark-reads came
 * before and however small the windows and the loaded conversation lists; the texts a read keeps
 * (each message's and row's JSON, the cursors) are charged to the byte budget honestly, made once,
 * dropped with what they describe, and only for the page shown (O(page)); a page below the window
 * is fetched into it once and then served from memory; and a warm read answers with a string at
 * once, without a promise.
 */
import t, { type Test } from 'tap';
import { messageJson, toMessage, toSummary } from '../../cache-node/message-views.js';
import { CHANGE_OVERHEAD_BYTES } from '../../cache-node/mailbox-state.js';
import {
  PAGE_SIZE_MAX,
  encodeCursor,
  parseListQuery,
  type ConversationsResponse,
  type MessagesResponse,
} from '../../protocol/index.js';
import { startHarness, type Harness, type HarnessOptions } from './service-harness.js';

const users = ['alice', 'bob', 'carol', 'dave', 'erin'];

/** A small seeded generator (a linear congruential one), so a failure replays. */
function seededIntegers(seed: number): (below: number) => number {
  let value = seed;
  return (below) => {
    value = (value * 1_103_515_245 + 12_345) % 2_147_483_648;
    return value % below;
  };
}
const ALL = 100_000;

/** The messages page as the store's data makes it, as JSON text. */
async function expectedMessages(
  h: Harness,
  userId: string,
  conversationId: string,
  page: number,
  pageSize: number,
  since?: number,
): Promise<string> {
  const all = await h.embedded.messagesPage(userId, conversationId, { limit: ALL });
  const shown = since === undefined ? all : all.filter((message) => message.sentAt > since);
  const response: MessagesResponse = {
    messages: shown.slice(page * pageSize, (page + 1) * pageSize).map(toMessage),
    isDeltaUpdate: since !== undefined,
    cursor: encodeCursor({ userId, conversationId }, await h.embedded.mailboxVersion(userId)),
  };
  return JSON.stringify(response);
}

async function expectedConversations(
  h: Harness,
  userId: string,
  page: number,
  pageSize: number,
  since?: number,
): Promise<string> {
  const all = await h.embedded.recentConversations(userId, ALL);
  const shown = since === undefined ? all : all.filter((row) => row.lastUpdatedTimestamp > since);
  const response: ConversationsResponse = {
    conversations: shown.slice(page * pageSize, (page + 1) * pageSize).map(toSummary),
    isDeltaUpdate: since !== undefined,
    cursor: encodeCursor({ userId }, await h.embedded.mailboxVersion(userId)),
  };
  return JSON.stringify(response);
}

function messagesJson(
  h: Harness,
  userId: string,
  conversationId: string,
  raw: Record<string, string>,
): Promise<string> {
  return Promise.resolve(
    h.service.listMessagesJson(
      userId,
      conversationId,
      parseListQuery(raw, 50, { userId, conversationId }),
    ),
  );
}

function conversationsJson(h: Harness, userId: string, raw: Record<string, string>) {
  return Promise.resolve(
    h.service.listConversationsJson(userId, parseListQuery(raw, 20, { userId })),
  );
}

/** The node's byte count matches its cached states' own counts: nothing made by reads is free. */
function assertHonestBytes(t: Test, h: Harness, label: string): void {
  let bytes = 0;
  for (const userId of users) bytes += h.cache.peek(userId)?.bytes ?? 0;
  t.equal(h.cache.stats().bytes, bytes, `${label}: cache bytes = sum of the states' bytes`);
}

const configurations: [string, HarnessOptions][] = [
  ['defaults', {}],
  [
    'small windows and conversation lists',
    {
      cache: { windowMessagesMax: 4 },
      service: { windowMessagesLoaded: 3, recentConversationsLoaded: 2 },
    },
  ],
];

for (const [name, options] of configurations) {
  t.test(`every answer equals the store's, byte for byte (${name})`, async (t) => {
    const h = startHarness(t, options);
    const below = seededIntegers(11);
    const pick = <T>(items: T[]): T => items[below(items.length)] as T;
    let checked = 0;
    for (let step = 0; step < 160; step += 1) {
      h.clock.now += 1 + below(3);
      const sender = pick(users);
      const recipient = pick(users.filter((user) => user !== sender));
      const action = below(10);
      if (action < 4) {
        await h.send(
          sender,
          recipient,
          `s${step}`,
          `message ${step} ✓ "quoted" \\ ${'x'.repeat(step % 7)}`,
        );
        continue;
      }
      if (action === 4) {
        const [low, high] = sender < recipient ? [sender, recipient] : [recipient, sender];
        await h.service.markRead(sender, `${low}~${high}`);
        continue;
      }
      if (action === 5 && step % 20 === 0) h.service.evictWhere((user) => user === sender);
      const [low, high] = sender < recipient ? [sender, recipient] : [recipient, sender];
      const conversationId = `${low}~${high}`;
      const pageSize = pick([1, 2, 3, 5, 50]);
      const page = pick([0, 0, 0, 1, 2]);
      const since = below(2) === 0 ? undefined : h.clock.now - below(40);
      const raw: Record<string, string> = { page: String(page), pageSize: String(pageSize) };
      if (since !== undefined) raw.lastUpdatedTimestamp = String(since);
      t.equal(
        await messagesJson(h, sender, conversationId, raw),
        await expectedMessages(h, sender, conversationId, page, pageSize, since),
        `step ${step}: messages of ${sender} in ${conversationId} ${JSON.stringify(raw)}`,
      );
      t.equal(
        await conversationsJson(h, sender, raw),
        await expectedConversations(h, sender, page, pageSize, since),
        `step ${step}: conversations of ${sender} ${JSON.stringify(raw)}`,
      );
      checked += 2;
      assertHonestBytes(t, h, `step ${step}`);
    }
    t.ok(checked > 50, `${checked} answers compared`);
  });
}

t.test('a cursor with nothing new is answered from memory, same bytes as before', async (t) => {
  const h = startHarness(t);
  await h.send('alice', 'bob', 'c1');
  const first = JSON.parse(await messagesJson(h, 'alice', 'alice~bob', {})) as MessagesResponse;
  const loads = h.service.stats.storeLoads;
  const again = h.service.listMessagesJson(
    'alice',
    'alice~bob',
    parseListQuery({ cursor: first.cursor }, 50, { userId: 'alice', conversationId: 'alice~bob' }),
  );
  t.type(again, 'string', 'answered at once, no promise');
  t.equal(
    again,
    JSON.stringify({ messages: [], isDeltaUpdate: true, cursor: first.cursor }),
    'an empty delta that keeps the cursor',
  );
  const list = JSON.parse(await conversationsJson(h, 'alice', {})) as ConversationsResponse;
  t.equal(
    await conversationsJson(h, 'alice', { cursor: list.cursor }),
    JSON.stringify({ conversations: [], isDeltaUpdate: true, cursor: list.cursor }),
  );
  t.equal(h.service.stats.storeLoads, loads, 'no store read');
});

t.test('a warm read answers with a string at once; a cold one with a promise', async (t) => {
  const h = startHarness(t);
  await h.send('alice', 'bob', 'w1');
  h.service.evictWhere(() => true);
  const query = parseListQuery({}, 50, { userId: 'alice', conversationId: 'alice~bob' });
  const cold = h.service.listMessagesJson('alice', 'alice~bob', query);
  t.ok(cold instanceof Promise, 'cold: a promise');
  const warm = h.service.listMessagesJson('alice', 'alice~bob', query);
  t.equal(typeof warm, 'object', 'still loading: a promise too');
  t.equal(await warm, await cold);
  t.equal(h.service.listMessagesJson('alice', 'alice~bob', query), await cold, 'warm: a string');
  t.type(
    h.service.listConversationsJson('alice', parseListQuery({}, 20, { userId: 'alice' })),
    'string',
  );
});

t.test('texts are made once, only for the page shown, and charged', async (t) => {
  const h = startHarness(t);
  for (let index = 0; index < PAGE_SIZE_MAX; index += 1) {
    h.clock.now += 1;
    await h.send('alice', 'bob', `t${index}`);
  }
  h.service.evictWhere(() => true);
  await messagesJson(h, 'bob', 'alice~bob', { pageSize: '10', page: '3' });
  const state = h.cache.peek('bob');
  const window = state?.conversations.get('alice~bob')?.window;
  t.equal(window?.messages.length, PAGE_SIZE_MAX, 'the window loaded 200 deep');
  const made = window?.texts.flatMap((text, index) => (text === undefined ? [] : [index]));
  t.same(made, [30, 31, 32, 33, 34, 35, 36, 37, 38, 39], 'texts only for the page shown');
  t.equal(window?.texts[30], messageJson(window?.messages[30] ?? ({} as never)));
  const bytes = state?.bytes ?? 0;
  assertHonestBytes(t, h, 'charged to the cache');
  await messagesJson(h, 'bob', 'alice~bob', { pageSize: '10', page: '3' });
  t.equal(state?.bytes, bytes, 'the same page again makes nothing new');

  // A new message shifts the window; its texts move with their messages.
  h.clock.now += 1;
  await h.send('bob', 'alice', 'new');
  t.equal(window?.texts[31], messageJson(window?.messages[31] ?? ({} as never)), 'kept in step');
  t.equal(window?.texts[0], undefined, 'the new message has no text until shown');
  assertHonestBytes(t, h, 'after the commit');
});

t.test('a row’s text and the cursors follow each change', async (t) => {
  const h = startHarness(t);
  await h.send('alice', 'bob', 'r1');
  await h.send('alice', 'carol', 'r2');
  const before = await conversationsJson(h, 'bob', {});
  t.equal(before, await expectedConversations(h, 'bob', 0, 20));
  const state = h.cache.peek('bob');
  const withTexts = state?.bytes ?? 0;
  await h.service.markRead('bob', 'alice~bob');
  const after = await conversationsJson(h, 'bob', {});
  t.not(after, before, 'the unread count and the cursor changed');
  t.equal(after, await expectedConversations(h, 'bob', 0, 20));
  // The read is a commit: the feed keeps its change (an entry and the row it wrote).
  const snippet = state?.conversations.get('alice~bob')?.row.snippet ?? '';
  t.equal(
    state?.bytes,
    withTexts + CHANGE_OVERHEAD_BYTES + snippet.length * 2,
    'the old row text and cursor were un-charged, the new charged',
  );
  assertHonestBytes(t, h, 'after mark-read');
});

t.test('a page below the window is fetched into it once, then served from memory', async (t) => {
  const h = startHarness(t);
  for (let index = 0; index < PAGE_SIZE_MAX + 50; index += 1) {
    h.clock.now += 1;
    await h.send('alice', 'bob', `d${index}`);
  }
  h.service.evictWhere(() => true);
  const query = { page: '1', pageSize: String(PAGE_SIZE_MAX) };
  const first = await messagesJson(h, 'bob', 'alice~bob', query);
  t.equal(first, await expectedMessages(h, 'bob', 'alice~bob', 1, PAGE_SIZE_MAX));
  const loads = h.service.stats.storeLoads;
  const window = h.cache.peek('bob')?.conversations.get('alice~bob')?.window;
  t.equal(window?.messages.length, PAGE_SIZE_MAX + 50, 'the window now holds the deeper page');
  t.equal(window?.complete, true, 'and the oldest message');
  t.equal(await messagesJson(h, 'bob', 'alice~bob', query), first, 'the same page again');
  t.equal(h.service.stats.storeLoads, loads, 'from memory: kept once fetched');
  h.clock.now += 1;
  await h.send('bob', 'alice', 'one more');
  t.equal(window?.messages.length, PAGE_SIZE_MAX + 51, 'a send does not trim what reads paged to');
  const loadsAfterSend = h.service.stats.storeLoads;
  t.equal(
    await messagesJson(h, 'bob', 'alice~bob', query),
    await expectedMessages(h, 'bob', 'alice~bob', 1, PAGE_SIZE_MAX),
  );
  t.equal(h.service.stats.storeLoads, loadsAfterSend, 'still from memory');
  assertHonestBytes(t, h, 'charged within the budget');
});
