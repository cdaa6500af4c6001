/**
 * Proves MailboxState keeps a gapless newest part of a mailbox and counts its bytes: message
 * windows stay newest first whatever order commits arrive in; a message older than an incomplete
 * window is left out (it would open a gap) but goes into a complete one; trimming drops the oldest
 * and marks the window incomplete; byte accounting returns exactly to its baseline after windows
 * are trimmed or emptied; the contiguous conversation list covers only what is known gapless, and
 * the recency order kept by each change equals a full sort.
 */
import t from 'tap';
import {
  CHANGE_OVERHEAD_BYTES,
  CONVERSATION_OVERHEAD_BYTES,
  MAILBOX_OVERHEAD_BYTES,
  MESSAGE_OVERHEAD_BYTES,
  MailboxState,
  byRecency,
  messageBytes,
} from '../../cache-node/mailbox-state.js';
import { message, row } from './mailbox-fixtures.js';

const conversation = 'alice~bob';
const sentAts = (state: MailboxState) =>
  state.conversations.get(conversation)?.window?.messages.map((m) => m.sentAt);

function stateWithWindow(windowSentAts: number[], complete: boolean): MailboxState {
  const state = new MailboxState(
    'alice',
    10,
    [row('alice', 'bob', Math.max(0, ...windowSentAts))],
    200,
  );
  state.setWindow(
    conversation,
    windowSentAts.map((sentAt) => message('bob', 'alice', sentAt)),
    complete,
  );
  return state;
}

t.test('a new state: rows, version, completeness and bytes', async (t) => {
  const empty = new MailboxState('alice', 0, [], 200);
  t.equal(empty.bytes, MAILBOX_OVERHEAD_BYTES);
  t.ok(empty.conversationsComplete, 'fewer rows than the limit: the list is complete');
  t.equal(empty.conversationsFrom, 0);

  const rows = [row('alice', 'bob', 300, { snippet: 'hey' }), row('alice', 'carol', 200)];
  const full = new MailboxState('alice', 7, rows, 2);
  t.equal(full.version, 7);
  t.notOk(full.conversationsComplete, 'as many rows as the limit: maybe more in the store');
  t.equal(full.conversationsFrom, 200, 'everything from the oldest loaded row on is cached');
  t.equal(full.bytes, MAILBOX_OVERHEAD_BYTES + 2 * CONVERSATION_OVERHEAD_BYTES + 'hey'.length * 2);
});

t.test('window insertion keeps newest first, whatever order commits arrive in', async (t) => {
  const state = stateWithWindow([50, 30, 10], true);
  state.applyCommit(11, row('alice', 'bob', 60), message('alice', 'bob', 60));
  state.applyCommit(12, row('alice', 'bob', 60), message('alice', 'bob', 40));
  state.applyCommit(13, row('alice', 'bob', 60), message('alice', 'bob', 5));
  t.same(
    sentAts(state),
    [60, 50, 40, 30, 10, 5],
    'a complete window takes any message in its place',
  );
  t.equal(state.version, 13);
});

t.test('a late message older than an incomplete window is not inserted (no gap)', async (t) => {
  const state = stateWithWindow([50, 30], false);
  const before = state.bytes;
  const late = message('carol', 'alice', 20, { conversationId: conversation });
  state.applyCommit(11, row('alice', 'bob', 50), late);
  t.same(sentAts(state), [50, 30], 'older than the window: left to the store');
  t.equal(
    state.bytes,
    before + CHANGE_OVERHEAD_BYTES + messageBytes(late),
    'charged only as the change the feed keeps (no window holds it)',
  );
  t.equal(state.version, 11, 'the version still moves');
  state.applyCommit(12, row('alice', 'bob', 50), message('bob', 'alice', 40));
  t.same(sentAts(state), [50, 40, 30], 'inside the window: inserted in place');
  state.applyCommit(
    13,
    row('alice', 'bob', 50),
    message('bob', 'alice', 30, { messageId: 'same-time' }),
  );
  t.same(sentAts(state), [50, 40, 30, 30], 'at the oldest time: inserted (no gap)');
});

t.test('a commit to a conversation without a window only updates the row', async (t) => {
  const state = new MailboxState('alice', 1, [row('alice', 'bob', 10)], 200);
  const before = state.bytes;
  const sent = message('bob', 'alice', 20);
  state.applyCommit(2, row('alice', 'bob', 20, { unreadCount: 1 }), sent);
  t.equal(
    state.conversations.get(conversation)?.window,
    undefined,
    'no window is made up from one message',
  );
  t.equal(state.conversations.get(conversation)?.row.unreadCount, 1);
  t.equal(
    state.bytes,
    before + CHANGE_OVERHEAD_BYTES + messageBytes(sent),
    'the message is charged once, to the change the feed keeps',
  );
});

t.test('a commit to an unknown conversation adds its row', async (t) => {
  const state = new MailboxState('alice', 1, [], 200);
  state.applyCommit(2, row('alice', 'dave', 20));
  t.ok(state.conversations.has('alice~dave'));
  t.equal(
    state.bytes,
    MAILBOX_OVERHEAD_BYTES + CONVERSATION_OVERHEAD_BYTES + CHANGE_OVERHEAD_BYTES,
  );
});

t.test('trimming drops the oldest messages and marks the window incomplete', async (t) => {
  const state = stateWithWindow([90, 80, 70, 60, 50], true);
  const perMessage = messageBytes(message('bob', 'alice', 90));
  const freed = state.trimWindows(3);
  t.same(sentAts(state), [90, 80, 70]);
  t.equal(state.conversations.get(conversation)?.window?.complete, false);
  t.equal(freed, 2 * perMessage, 'reports the bytes it freed');
  t.equal(state.trimWindows(3), 0, 'trimming again frees nothing');
  t.equal(state.conversations.get(conversation)?.window?.complete, false);

  const short = stateWithWindow([20, 10], true);
  short.trimWindows(2);
  t.equal(
    short.conversations.get(conversation)?.window?.complete,
    true,
    'a window at the limit stays complete',
  );
});

t.test('byte accounting returns to its baseline after windows are emptied', async (t) => {
  const state = new MailboxState(
    'alice',
    3,
    [row('alice', 'bob', 100), row('alice', 'carol', 90)],
    200,
  );
  const baseline = state.bytes;
  const messages = [
    message('bob', 'alice', 100, { content: 'x'.repeat(1000) }),
    message('alice', 'bob', 95),
  ];
  state.setWindow('alice~bob', messages, true);
  state.setWindow('alice~carol', [message('carol', 'alice', 90, { content: '😀' })], true);
  const expected =
    messages.reduce((sum, m) => sum + MESSAGE_OVERHEAD_BYTES + m.content.length * 2, 0) +
    MESSAGE_OVERHEAD_BYTES +
    4;
  t.equal(state.bytes, baseline + expected, 'windows charge overhead + 2 bytes per UTF-16 unit');
  state.applyCommit(4, row('alice', 'bob', 110), message('bob', 'alice', 110));
  // alice~bob is now [110, 100 (1,000 chars), 95]; trimming to 1 drops the last two.
  t.equal(
    state.trimWindows(1),
    2 * MESSAGE_OVERHEAD_BYTES + 1000 * 2 + 'text at 95'.length * 2,
    'trim frees the dropped messages',
  );
  state.setWindow('alice~bob', [], true);
  state.setWindow('alice~carol', [], true);
  // What stays is the commit's change, kept for the feed (its message was the window's to charge).
  const kept = baseline + CHANGE_OVERHEAD_BYTES;
  t.equal(state.bytes, kept, 'back to the baseline');
  state.setWindow('alice~bob', messages, true);
  state.setWindow('alice~bob', [], true);
  t.equal(state.bytes, kept, 'replacing a window un-charges the old one');
  state.setWindow('alice~nobody', messages, true);
  t.equal(state.bytes, kept, 'a window for an unknown conversation is ignored');
});

t.test('contiguous conversations: only the gapless part, most recent first', async (t) => {
  const state = new MailboxState(
    'alice',
    5,
    [row('alice', 'bob', 300), row('alice', 'carol', 200)],
    2,
  );
  state.addRow(row('alice', 'dave', 50));
  t.same(
    state.contiguousConversations().map((r) => r.conversationId),
    ['alice~bob', 'alice~carol'],
    'a row loaded on its own, older than the range, is not listed (the rows between are unknown)',
  );
  state.applyCommit(6, row('alice', 'dave', 400));
  t.same(
    state.contiguousConversations().map((r) => r.conversationId),
    ['alice~dave', 'alice~bob', 'alice~carol'],
    'a new message brings it to the top',
  );

  const complete = new MailboxState('alice', 5, [row('alice', 'bob', 300)], 200);
  complete.applyCommit(6, row('alice', 'erin', 100));
  t.same(
    complete.contiguousConversations().map((r) => r.conversationId),
    ['alice~bob', 'alice~erin'],
    'a complete list lists everything',
  );
});

t.test('byRecency: newest first, ties broken by conversation id', async (t) => {
  const rows = [row('alice', 'carol', 10), row('alice', 'bob', 10), row('alice', 'dave', 20)];
  t.same(
    rows.sort(byRecency).map((r) => r.conversationId),
    ['alice~dave', 'alice~bob', 'alice~carol'],
  );
});

t.test(
  'the recency order, kept by each change, equals a full sort of the gapless rows',
  async (t) => {
    const peers = ['bob', 'carol', 'dave', 'erin', 'frank', 'gina', 'hank'];
    const state = new MailboxState(
      'alice',
      1,
      [row('alice', 'bob', 500), row('alice', 'carol', 400), row('alice', 'dave', 300)],
      3,
    );
    const sorted = () =>
      [...state.conversations.values()]
        .map((cached) => cached.row)
        .filter((r) => r.lastUpdatedTimestamp >= state.conversationsFrom)
        .sort(byRecency)
        .map((r) => r.conversationId);
    const order = () => state.recencyOrder().map((cached) => cached.row.conversationId);
    t.same(order(), sorted(), 'built by sorting on first use');
    let value = 7;
    for (let step = 0; step < 200; step += 1) {
      value = (value * 1_103_515_245 + 12_345) % 2_147_483_648;
      const peer = peers[value % peers.length] as string;
      const current = state.conversations.get(`alice~${peer}`)?.row;
      // Timestamps only grow; ties (a mark-read keeps its row's) exercise the id order.
      const timestamp = (current?.lastUpdatedTimestamp ?? 250) + (value % 3 === 0 ? 0 : value % 50);
      if (value % 11 === 0 && current === undefined)
        state.addRow(row('alice', peer, 100 + (value % 400)));
      else state.applyCommit(state.version + 1, row('alice', peer, timestamp));
      t.same(order(), sorted(), `after step ${step}`);
    }
    t.equal(state.contiguousConversations().length, order().length);
  },
);
