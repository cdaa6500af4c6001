/**
 * Proves the parsers of the bodies chatring's processes send each other (protocol/
 * internal-validation.ts) accept every valid body up to each limit and refuse each wrong field with
 * its catalogue code (INVALID_BODY, MISSING_FIELD, INVALID_FIELD, and the public API's codes for
 * message fields), never a TypeError; unknown fields are dropped (a rolling upgrade may add some),
 * never passed on; and the node's internal routes answer a malformed body with 400 and the code.
 * Defence in depth (issue 10): a member's body cannot wedge a node: ring epochs, sizes and node
 * URLs, warm batch counts, window order and versions are bounded, each tested at its limit.
 */
import t, { type Test } from 'tap';
import {
  LEASE_MS_MAX,
  LEASE_MS_MIN,
  CONTENT_BYTES_LIMIT,
  DELIVER_CLOCK_SKEW_MS_MAX,
  NODE_URL_CHARS_LIMIT,
  RING_EPOCH_MAX,
  RING_SLOTS_LIMIT,
  RING_VIRTUAL_NODES_LIMIT,
  SLOT_WEIGHT_MAX,
  SNIPPET_CHARS_MAX,
  UNREAD_COUNT_MAX,
  VIRTUAL_NODES_PER_WEIGHT_LIMIT,
  WARM_BATCH_SNAPSHOTS_LIMIT,
  WARM_SNAPSHOT_CONVERSATIONS_LIMIT,
  WINDOW_MESSAGES_LIMIT,
  assertClockWindow,
  conversationIdOf,
  parseCancelRequest,
  parseDeliverRequest,
  parseDeliverResponse,
  parseNodeInfo,
  parseReleaseRequest,
  parseHeartbeatReply,
  parseRingConfig,
  parseRingPush,
  parseWarmBatch,
  type ErrorCode,
  type Message,
  type RingConfig,
} from '../../protocol/index.js';
import { MailboxState } from '../../cache-node/mailbox-state.js';
import { buildNodeServer } from '../../cache-node/node-server.js';
import type { Handoff } from '../../cache-node/handoff.js';
import type { MailboxService } from '../../cache-node/mailbox-service.js';
import { MEMBER_SIGNATURE_HEADER, MemberSigner } from '../../transport/index.js';
import { message, row } from './mailbox-fixtures.js';

function expectCode(t: Test, run: () => unknown, code: ErrorCode, what: string): void {
  t.throws(run, { name: 'ChatringError', code }, `${what} → ${code}`);
}

const proposal: Message = {
  messageId: 'm-1',
  conversationId: conversationIdOf('alice', 'bob'),
  senderId: 'alice',
  recipientId: 'bob',
  content: 'hi',
  clientMessageId: 'c-1',
  sentAt: 1_000,
};

const withMessage = (overrides: Record<string, unknown>) => ({
  message: { ...proposal, ...overrides },
});
const withoutField = (field: keyof Message) => {
  const copy: Record<string, unknown> = { ...proposal };
  delete copy[field];
  return { message: copy };
};

t.test('deliver: a valid proposal comes back typed; unknown fields are dropped', async (t) => {
  t.same(parseDeliverRequest({ message: proposal }), proposal);
  const parsed = parseDeliverRequest({ message: { ...proposal, extra: 1 }, also: true });
  t.same(parsed, proposal, 'unknown fields at either level are not passed on');
  t.notOk('extra' in parsed);
  t.same(parseDeliverRequest(withMessage({ sentAt: 0 })).sentAt, 0, 'sentAt 0');
  t.same(
    parseDeliverRequest(withMessage({ sentAt: Number.MAX_SAFE_INTEGER })).sentAt,
    Number.MAX_SAFE_INTEGER,
    'the largest safe integer',
  );
  t.same(parseDeliverRequest(withMessage({ messageId: 'm'.repeat(64) })).messageId.length, 64);
  const longest = 'x'.repeat(CONTENT_BYTES_LIMIT - 1);
  t.equal(parseDeliverRequest(withMessage({ content: longest })).content, longest);
});

t.test('deliver: every wrong field has its code', async (t) => {
  for (const body of [null, undefined, [], 'text', 42]) {
    expectCode(t, () => parseDeliverRequest(body), 'INVALID_BODY', JSON.stringify(body) ?? 'none');
  }
  expectCode(t, () => parseDeliverRequest({}), 'MISSING_FIELD', 'no message');
  expectCode(t, () => parseDeliverRequest({ message: 'x' }), 'INVALID_FIELD', 'message a string');
  expectCode(t, () => parseDeliverRequest({ message: [] }), 'INVALID_FIELD', 'message an array');
  for (const field of Object.keys(proposal) as (keyof Message)[]) {
    expectCode(t, () => parseDeliverRequest(withoutField(field)), 'MISSING_FIELD', `no ${field}`);
  }
  const cases: [Record<string, unknown>, ErrorCode][] = [
    [{ senderId: 'a b' }, 'INVALID_USER_ID'],
    [{ recipientId: 'x'.repeat(65) }, 'INVALID_USER_ID'],
    [{ senderId: 5 }, 'INVALID_FIELD'],
    [{ recipientId: 'alice' }, 'SELF_MESSAGE'],
    [{ content: 'x'.repeat(CONTENT_BYTES_LIMIT) }, 'CONTENT_TOO_LARGE'],
    [{ content: 7 }, 'INVALID_FIELD'],
    [{ clientMessageId: 'has space' }, 'INVALID_FIELD'],
    [{ messageId: '' }, 'INVALID_FIELD'],
    [{ messageId: 'm'.repeat(65) }, 'INVALID_FIELD'],
    [{ messageId: 12 }, 'INVALID_FIELD'],
    [{ messageId: 'has space' }, 'INVALID_FIELD'],
    [{ messageId: 'm\u0000' }, 'INVALID_FIELD'],
    [{ messageId: 'm\ud800' }, 'INVALID_FIELD'],
    [{ messageId: 'mé' }, 'INVALID_FIELD'],
    [{ conversationId: 'alice~carol' }, 'INVALID_CONVERSATION_ID'],
    [{ conversationId: 3 }, 'INVALID_FIELD'],
    [{ sentAt: -1 }, 'INVALID_FIELD'],
    [{ sentAt: 1.5 }, 'INVALID_FIELD'],
    [{ sentAt: '1000' }, 'INVALID_FIELD'],
    [{ sentAt: Number.MAX_SAFE_INTEGER + 1 }, 'INVALID_FIELD'],
    [{ sentAt: null }, 'INVALID_FIELD'],
  ];
  for (const [overrides, code] of cases) {
    expectCode(
      t,
      () => parseDeliverRequest(withMessage(overrides)),
      code,
      JSON.stringify(overrides),
    );
  }
});

t.test('deliver answer: the stored copy and a boolean duplicate', async (t) => {
  t.same(parseDeliverResponse({ message: proposal, duplicate: true }), {
    message: proposal,
    duplicate: true,
  });
  expectCode(t, () => parseDeliverResponse({ message: proposal }), 'MISSING_FIELD', 'no duplicate');
  expectCode(
    t,
    () => parseDeliverResponse({ message: proposal, duplicate: 'no' }),
    'INVALID_FIELD',
    'duplicate a string',
  );
});

t.test('node info: id, absolute http(s) url, optional pid', async (t) => {
  const node = { nodeId: 'node-1', url: 'http://127.0.0.1:7001' };
  t.same(parseNodeInfo(node), node);
  t.same(parseNodeInfo({ ...node, pid: 0 }), { ...node, pid: 0 });
  t.same(parseNodeInfo({ ...node, pid: 4242, role: 'x' }), { ...node, pid: 4242 }, 'extra dropped');
  t.same(parseNodeInfo({ ...node, nodeId: 'n'.repeat(64) }).nodeId.length, 64);
  for (const url of [
    'https://node.example',
    'http://[::1]:8080',
    'http://MyHost:7001', // httpUrlOf keeps the host as given
    'HTTP://node-1:7001',
  ])
    t.equal(parseNodeInfo({ ...node, url }).url, url, url);
  const longest = `http://${'h'.repeat(NODE_URL_CHARS_LIMIT - 7)}`;
  t.equal(longest.length, NODE_URL_CHARS_LIMIT);
  t.equal(parseNodeInfo({ ...node, url: longest }).url, longest, 'a url at the limit');
  expectCode(t, () => parseNodeInfo(null), 'INVALID_BODY', 'no body');
  expectCode(t, () => parseNodeInfo({ url: node.url }), 'MISSING_FIELD', 'no nodeId');
  expectCode(t, () => parseNodeInfo({ nodeId: 'node-1' }), 'MISSING_FIELD', 'no url');
  const cases: Record<string, unknown>[] = [
    { nodeId: 'n'.repeat(65) },
    { nodeId: 'node 1' },
    { nodeId: 1 },
    { url: '/relative' },
    { url: 'node-1:7001' },
    { url: 'ftp://host/' },
    { url: `${longest}p` },
    // Only a base URL: every peer call appends its own path to it.
    { url: 'https://node.example/' },
    { url: 'http://h:7001/x' },
    { url: 'http://h:7001?x=1' },
    { url: 'http://h:7001?' },
    { url: 'http://h:7001#x' },
    { url: 'http://user:secret@h:7001' },
    { url: 'http://h\\x' },
    { url: 'http://h:0' },
    { url: 'http://h :7001' },
    { url: 'http://::1:8080' },
    { url: '' },
    { url: 5 },
    { pid: -1 },
    { pid: 1.5 },
    { pid: '42' },
  ];
  for (const overrides of cases) {
    expectCode(
      t,
      () => parseNodeInfo({ ...node, ...overrides }),
      'INVALID_FIELD',
      JSON.stringify(overrides),
    );
  }
});

const ring: RingConfig = {
  epoch: 3,
  virtualNodesPerWeight: 160,
  slots: [
    { slot: 'slot-0', nodeId: 'node-1', weight: 1 },
    { slot: 'slot-1', nodeId: 'node-2', weight: SLOT_WEIGHT_MAX },
  ],
  standbys: ['node-3'],
  nodes: {
    'node-1': { nodeId: 'node-1', url: 'http://127.0.0.1:7001', pid: 11 },
    'node-2': { nodeId: 'node-2', url: 'http://127.0.0.1:7002' },
  },
};

t.test('ring: a valid ring comes back equal, optional fields only when given', async (t) => {
  t.same(parseRingConfig(ring), ring);
  t.notOk('parked' in parseRingConfig(ring));
  t.notOk('changeId' in parseRingConfig(ring));
  const full = { ...ring, parked: ['node-4'], changeId: '0b6c5b1e-2f54-4a43-a7d2-6c1c3d0e9f10' };
  t.same(parseRingConfig(full), full);
  t.same(parseRingConfig({ ...ring, future: { x: 1 } }), ring, 'an unknown field is dropped');
  t.equal(parseRingConfig({ ...ring, epoch: 0 }).epoch, 0, 'epoch 0');
  t.equal(
    parseRingConfig({ ...ring, epoch: RING_EPOCH_MAX }).epoch,
    RING_EPOCH_MAX,
    'RING_EPOCH_MAX',
  );
  t.same(
    parseRingConfig({ ...ring, slots: [] }).slots,
    [],
    'an empty ring (a control plane started without nodes holds one)',
  );
  t.same(
    parseRingConfig({ ...ring, nodes: {} }).slots,
    ring.slots,
    'slots may name nodes with no address yet (initialRing has nodes: {})',
  );
  const most = Array.from({ length: RING_SLOTS_LIMIT }, (_, index) => ({
    slot: `slot-${index}`,
    nodeId: 'node-1',
    weight: 1,
  }));
  t.equal(parseRingConfig({ ...ring, slots: most }).slots.length, RING_SLOTS_LIMIT);
  t.equal(
    parseRingConfig({ ...ring, virtualNodesPerWeight: VIRTUAL_NODES_PER_WEIGHT_LIMIT })
      .virtualNodesPerWeight,
    VIRTUAL_NODES_PER_WEIGHT_LIMIT,
  );
  const odd = parseRingConfig({
    ...ring,
    nodes: JSON.parse('{"__proto__": {"nodeId": "__proto__", "url": "http://h"}}') as unknown,
  });
  t.ok(Object.hasOwn(odd.nodes, '__proto__'), 'a node named __proto__ stays a plain entry');
  t.equal(Object.getPrototypeOf(odd.nodes), Object.prototype);
});

t.test('ring: every wrong field is INVALID_FIELD naming its path', async (t) => {
  const slot = ring.slots[0];
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ epoch: -1 }, /^epoch/],
    [{ epoch: '3' }, /^epoch/],
    [{ epoch: RING_EPOCH_MAX + 1 }, /^epoch must be an integer from 0 to 1099511627776/],
    [{ epoch: Number.MAX_SAFE_INTEGER }, /^epoch/],
    [{ virtualNodesPerWeight: 0 }, /^virtualNodesPerWeight/],
    [{ virtualNodesPerWeight: VIRTUAL_NODES_PER_WEIGHT_LIMIT + 1 }, /^virtualNodesPerWeight/],
    [{ slots: {} }, /^slots/],
    [{ slots: [{ ...slot, weight: 0 }] }, /^slots\[0\]\.weight/],
    [{ slots: [{ ...slot, weight: SLOT_WEIGHT_MAX + 1 }] }, /^slots\[0\]\.weight/],
    [{ slots: [{ ...slot, nodeId: 'bad id' }] }, /^slots\[0\]\.nodeId/],
    [{ slots: [{ ...slot, slot: '' }] }, /^slots\[0\]\.slot/],
    [{ slots: [slot, slot] }, /^slots\[1\] repeats/],
    [{ slots: Array.from({ length: RING_SLOTS_LIMIT + 1 }, () => slot) }, /^slots must have/],
    [{ standbys: 'node-3' }, /^standbys/],
    [{ standbys: ['ok', 7] }, /^standbys\[1\]/],
    [{ parked: [''] }, /^parked\[0\]/],
    [{ nodes: [] }, /^nodes/],
    [{ nodes: { 'node-1': { nodeId: 'node-2', url: 'http://h' } } }, /^nodes\.node-1 is keyed/],
    [
      { nodes: { 'node-1': { nodeId: 'node-1', url: 'h'.repeat(NODE_URL_CHARS_LIMIT + 1) } } },
      /^nodes\.node-1\.url/,
    ],
    [{ changeId: '' }, /^changeId/],
    [{ changeId: 'has space' }, /^changeId/],
  ];
  for (const [overrides, message] of cases) {
    t.throws(
      () => parseRingConfig({ ...ring, ...overrides }),
      { code: 'INVALID_FIELD', message },
      JSON.stringify(overrides).slice(0, 80),
    );
  }
  for (const field of ['epoch', 'virtualNodesPerWeight', 'slots', 'standbys', 'nodes']) {
    const copy: Record<string, unknown> = { ...ring };
    delete copy[field];
    expectCode(t, () => parseRingConfig(copy), 'MISSING_FIELD', `no ${field}`);
  }
  expectCode(t, () => parseRingConfig(null), 'INVALID_BODY', 'no ring');
});

/** A ring whose slots place `vnodesPerWeight × (weight of each slot)` virtual nodes in all. */
function ringOfWeights(vnodesPerWeight: number, weights: number[]): RingConfig {
  return {
    ...ring,
    virtualNodesPerWeight: vnodesPerWeight,
    slots: weights.map((weight, index) => ({ slot: `slot-${index}`, nodeId: 'node-1', weight })),
  };
}

t.test('ring: at most RING_VIRTUAL_NODES_LIMIT virtual nodes in all', async (t) => {
  // 16 × (655 × 100 + 36) = 2^20 exactly; 17 × (616 × 100 + 81) = 2^20 + 1.
  const atLimit = ringOfWeights(16, [...Array<number>(655).fill(100), 36]);
  t.equal(RING_VIRTUAL_NODES_LIMIT, 16 * (655 * 100 + 36));
  t.equal(parseRingConfig(atLimit).slots.length, 656, 'exactly at the limit');
  const onePast = ringOfWeights(17, [...Array<number>(616).fill(100), 81]);
  t.equal(17 * (616 * 100 + 81), RING_VIRTUAL_NODES_LIMIT + 1);
  t.throws(() => parseRingConfig(onePast), {
    code: 'INVALID_FIELD',
    message: /^slots place 1048577 virtual nodes/,
  });
  t.throws(
    () =>
      parseRingPush({
        ring: ringOfWeights(VIRTUAL_NODES_PER_WEIGHT_LIMIT, Array(1024).fill(SLOT_WEIGHT_MAX)),
      }),
    { code: 'INVALID_FIELD', message: /^ring\.slots place 102400000 virtual nodes/ },
    'every other bound at its maximum: 100 M virtual nodes, minutes of a blocked node',
  );
});

t.test('ring: a node URL that is not a plain base URL reads as "no address yet"', async (t) => {
  const entry = (url: string) => ({ ...ring, nodes: { n1: { nodeId: 'n1', url } } });
  for (const url of ['http://127.0.0.1:7001', 'https://node.example', 'http://[::1]:8080'])
    t.equal(parseRingConfig(entry(url)).nodes.n1?.url, url, `${url} kept`);
  for (const url of [
    'http://::1:8080', // what an older release wrote for an IPv6 host
    'http://evil.example/collect',
    'http://user:secret@h:7001',
    'http://h:7001?x',
    'http://h:7001#x',
    'file:///etc/passwd',
    'not a url',
    '',
  ])
    t.equal(parseRingConfig(entry(url)).nodes.n1?.url, '', `${JSON.stringify(url)} → ''`);
  t.equal(parseRingPush({ ring: entry('http://h/x') }).ring.nodes.n1?.url, '', 'pushed too');
  const longest = `http://${'h'.repeat(NODE_URL_CHARS_LIMIT - 7)}`;
  t.equal(parseRingConfig(entry(longest)).nodes.n1?.url, longest, 'a url at the limit');
  t.throws(() => parseRingConfig(entry(`${longest}h`)), {
    code: 'INVALID_FIELD',
    message: /^nodes\.n1\.url must be at most 2048/,
  });
});

t.test('ring push and release: epoch bounds, at least one slot, the change id', async (t) => {
  t.equal(parseRingPush({ ring: { ...ring, epoch: RING_EPOCH_MAX } }).ring.epoch, RING_EPOCH_MAX);
  for (const epoch of [RING_EPOCH_MAX + 1, Number.MAX_SAFE_INTEGER]) {
    t.throws(() => parseRingPush({ ring: { ...ring, epoch, slots: [] } }), {
      code: 'INVALID_FIELD',
      message: /^ring\.epoch/,
    });
    t.throws(() => parseReleaseRequest({ changeId: 'c', targetRing: { ...ring, epoch } }), {
      code: 'INVALID_FIELD',
      message: /^targetRing\.epoch/,
    });
  }
  const oneSlot = { ...ring, slots: ring.slots.slice(0, 1) };
  t.same(parseRingPush({ ring: oneSlot }).ring.slots, oneSlot.slots, 'one slot is enough');
  t.throws(() => parseRingPush({ ring: { ...ring, slots: [] } }), {
    code: 'INVALID_FIELD',
    message: /^ring\.slots must have at least one slot/,
  });
  t.throws(() => parseReleaseRequest({ changeId: 'c', targetRing: { ...ring, slots: [] } }), {
    code: 'INVALID_FIELD',
    message: /^targetRing\.slots must have at least one slot/,
  });
  t.same(
    parseReleaseRequest({ changeId: 'c', targetRing: { ...ring, changeId: 'c' } }).targetRing
      .changeId,
    'c',
  );
  t.throws(() => parseReleaseRequest({ changeId: 'c', targetRing: { ...ring, changeId: 'd' } }), {
    code: 'INVALID_FIELD',
    message: /^targetRing\.changeId is d, not the release's c/,
  });
});

t.test('release, cancel and ring push: their fields, paths in messages', async (t) => {
  const changeId = 'change-1';
  t.same(parseReleaseRequest({ changeId, targetRing: ring }), { changeId, targetRing: ring });
  t.same(parseCancelRequest({ changeId, extra: 1 }), { changeId });
  t.same(parseRingPush({ ring }), { ring });
  expectCode(t, () => parseReleaseRequest({ targetRing: ring }), 'MISSING_FIELD', 'no changeId');
  expectCode(t, () => parseReleaseRequest({ changeId }), 'MISSING_FIELD', 'no targetRing');
  t.throws(() => parseReleaseRequest({ changeId, targetRing: { ...ring, epoch: -2 } }), {
    code: 'INVALID_FIELD',
    message: /^targetRing\.epoch/,
  });
  expectCode(t, () => parseCancelRequest({ changeId: 42 }), 'INVALID_FIELD', 'changeId a number');
  expectCode(t, () => parseCancelRequest({ changeId: 'c'.repeat(129) }), 'INVALID_FIELD', '129');
  t.equal(parseCancelRequest({ changeId: 'c'.repeat(128) }).changeId.length, 128);
  expectCode(t, () => parseCancelRequest([]), 'INVALID_BODY', 'an array');
  expectCode(t, () => parseRingPush({}), 'MISSING_FIELD', 'no ring');
  t.throws(() => parseRingPush({ ring: { ...ring, slots: 'x' } }), {
    code: 'INVALID_FIELD',
    message: /^ring\.slots/,
  });
});

/** A snapshot as a node sends it: alice with two conversations, one with a window. */
function snapshotJson(): Record<string, unknown> {
  const state = new MailboxState(
    'alice',
    9,
    [row('alice', 'bob', 300, { snippet: 'hey', version: 9 }), row('alice', 'carol', 200)],
    200,
  );
  state.setWindow(
    conversationIdOf('alice', 'bob'),
    [message('bob', 'alice', 300, { version: 9 }), message('alice', 'bob', 250, { version: 8 })],
    true,
  );
  return JSON.parse(JSON.stringify(state.toSnapshot())) as Record<string, unknown>;
}

t.test('warm batch: what MailboxState sends parses back equal', async (t) => {
  const snapshot = snapshotJson();
  const batch = parseWarmBatch({ changeId: 'change-1', snapshots: [snapshot] });
  t.same(batch, { changeId: 'change-1', snapshots: [snapshot] });
  const [parsed] = batch.snapshots;
  if (parsed === undefined) throw new Error('no snapshot');
  t.equal(MailboxState.fromSnapshot(parsed).version, 9, 'and becomes a state again');
  t.same(parseWarmBatch({ changeId: 'c', snapshots: [] }).snapshots, [], 'an empty batch');
  const snippet = 'é'.repeat(SNIPPET_CHARS_MAX);
  const atLimit = snapshotJson();
  (atLimit.conversations as { row: { snippet: string } }[])[0]!.row.snippet = snippet;
  t.equal(
    parseWarmBatch({ changeId: 'c', snapshots: [atLimit] }).snapshots[0]?.conversations[0]?.row
      .snippet,
    snippet,
    'a snippet of SNIPPET_CHARS_MAX characters',
  );
});

t.test('warm batch: every wrong field has its code and path', async (t) => {
  type Snapshot = {
    ownerId: unknown;
    version: unknown;
    conversationsComplete: unknown;
    conversations: {
      row: Record<string, unknown>;
      window?: { messages: Record<string, unknown>[]; complete: unknown };
    }[];
  };
  const cases: [string, (snapshot: Snapshot) => void, ErrorCode, RegExp][] = [
    ['ownerId', (s) => void (s.ownerId = 'a b'), 'INVALID_USER_ID', /ownerId/],
    ['version', (s) => void (s.version = -1), 'INVALID_FIELD', /^snapshots\[0\]\.version/],
    [
      'conversationsComplete',
      (s) => void (s.conversationsComplete = 'yes'),
      'INVALID_FIELD',
      /conversationsComplete/,
    ],
    [
      'a conversation without the owner',
      (s) => void (s.conversations[1]!.row.conversationId = 'bob~carol'),
      'INVALID_CONVERSATION_ID',
      /not a participant/,
    ],
    [
      'participants in the wrong order',
      (s) => void (s.conversations[0]!.row.participants = ['bob', 'alice']),
      'INVALID_FIELD',
      /conversations\[0\]\.row\.participants/,
    ],
    [
      'a snippet past the limit',
      (s) => void (s.conversations[0]!.row.snippet = 'x'.repeat(SNIPPET_CHARS_MAX + 1)),
      'INVALID_FIELD',
      /row\.snippet/,
    ],
    [
      'unreadCount',
      (s) => void (s.conversations[0]!.row.unreadCount = -1),
      'INVALID_FIELD',
      /row\.unreadCount/,
    ],
    [
      'a repeated conversation',
      (s) => void s.conversations.push(s.conversations[0]!),
      'INVALID_FIELD',
      /conversations\[2\] repeats/,
    ],
    [
      'a window message of another conversation',
      (s) =>
        void s.conversations[0]!.window!.messages.push({
          ...message('alice', 'carol', 100),
        }),
      'INVALID_FIELD',
      /window\.messages\[2\] belongs to/,
    ],
    [
      'a window not newest first',
      (s) => s.conversations[0]!.window!.messages.reverse(),
      'INVALID_FIELD',
      /window\.messages\[1\]\.sentAt is not older/,
    ],
    [
      'a window message without its version',
      (s) => void delete s.conversations[0]!.window!.messages[0]!.version,
      'MISSING_FIELD',
      /window\.messages\[0\]\.version/,
    ],
    [
      'a window message with bad content',
      (s) => void (s.conversations[0]!.window!.messages[0]!.content = 5),
      'INVALID_FIELD',
      /content/,
    ],
    [
      'window.complete',
      (s) => void (s.conversations[0]!.window!.complete = 1),
      'INVALID_FIELD',
      /window\.complete/,
    ],
  ];
  for (const [what, spoil, code, message] of cases) {
    const snapshot = snapshotJson() as unknown as Snapshot;
    spoil(snapshot);
    t.throws(
      () => parseWarmBatch({ changeId: 'c', snapshots: [snapshot] }),
      { code, message },
      `${what} → ${code}`,
    );
  }
  const more: [string, (snapshot: Snapshot) => void, RegExp][] = [
    [
      'two messages at one time (sentAt strictly increases in a conversation)',
      (s) => void (s.conversations[0]!.window!.messages[1]!.sentAt = 300),
      /window\.messages\[1\]\.sentAt is not older/,
    ],
    [
      'a window message newer than its row',
      (s) => void (s.conversations[0]!.row.lastUpdatedTimestamp = 299),
      /window\.messages\[0\]\.sentAt is after the conversation's lastUpdatedTimestamp \(299\)/,
    ],
    [
      'a message version newer than its row',
      (s) => void (s.conversations[0]!.window!.messages[1]!.version = 10),
      /window\.messages\[1\]\.version must be an integer from 0 to 9/,
    ],
    [
      'a row version newer than its mailbox',
      (s) => void (s.version = 8),
      /conversations\[0\]\.row\.version is newer than its mailbox's \(8\)/,
    ],
    [
      'an unread count past the store column',
      (s) => void (s.conversations[1]!.row.unreadCount = UNREAD_COUNT_MAX + 1),
      /conversations\[1\]\.row\.unreadCount must be an integer from 0 to 2147483647/,
    ],
    [
      'a snippet with a lone surrogate',
      (s) => void (s.conversations[0]!.row.snippet = 'a\ud800'),
      /row\.snippet must be well-formed/,
    ],
    [
      'a message id that is not printable ASCII',
      (s) => void (s.conversations[0]!.window!.messages[0]!.messageId = 'm\n1'),
      /window\.messages\[0\]\.messageId/,
    ],
  ];
  for (const [what, spoil, message] of more) {
    const snapshot = snapshotJson() as unknown as Snapshot;
    spoil(snapshot);
    t.throws(
      () => parseWarmBatch({ changeId: 'c', snapshots: [snapshot] }),
      { code: 'INVALID_FIELD', message },
      what,
    );
  }
  t.throws(
    () => parseWarmBatch({ changeId: 'c', snapshots: [snapshotJson(), snapshotJson()] }),
    { code: 'INVALID_FIELD', message: /^snapshots\[1\] repeats mailbox alice/ },
    'one mailbox twice',
  );
  expectCode(t, () => parseWarmBatch({ changeId: 'c' }), 'MISSING_FIELD', 'no snapshots');
  expectCode(t, () => parseWarmBatch({ snapshots: [] }), 'MISSING_FIELD', 'no changeId');
  expectCode(t, () => parseWarmBatch({ changeId: 'c', snapshots: [1] }), 'INVALID_FIELD', 'a 1');
});

/** An empty mailbox of `ownerId`, as small as a snapshot gets. */
const emptySnapshot = (ownerId: string) => ({
  ownerId,
  version: 0,
  conversationsComplete: true,
  conversationsFrom: 0,
  conversations: [],
});

t.test('warm batch: counts at their limits', async (t) => {
  const owners = Array.from({ length: WARM_BATCH_SNAPSHOTS_LIMIT + 1 }, (_, i) => `u${i}`);
  const most = owners.slice(0, -1).map(emptySnapshot);
  t.equal(
    parseWarmBatch({ changeId: 'c', snapshots: most }).snapshots.length,
    WARM_BATCH_SNAPSHOTS_LIMIT,
    'WARM_BATCH_SNAPSHOTS_LIMIT mailboxes',
  );
  t.throws(() => parseWarmBatch({ changeId: 'c', snapshots: owners.map(emptySnapshot) }), {
    code: 'INVALID_FIELD',
    message: /^snapshots must have at most 65536 entries/,
  });

  const rows = (count: number) =>
    Array.from({ length: count }, (_, i) => ({ row: row('alice', `p${i}`, 10) }));
  const withRows = (count: number) => ({
    ...emptySnapshot('alice'),
    version: 1,
    conversations: rows(count),
  });
  t.equal(
    parseWarmBatch({ changeId: 'c', snapshots: [withRows(WARM_SNAPSHOT_CONVERSATIONS_LIMIT)] })
      .snapshots[0]?.conversations.length,
    WARM_SNAPSHOT_CONVERSATIONS_LIMIT,
    'WARM_SNAPSHOT_CONVERSATIONS_LIMIT conversations',
  );
  t.throws(
    () =>
      parseWarmBatch({
        changeId: 'c',
        snapshots: [withRows(WARM_SNAPSHOT_CONVERSATIONS_LIMIT + 1)],
      }),
    { code: 'INVALID_FIELD', message: /^snapshots\[0\]\.conversations must have at most 32768/ },
  );

  const windowOf = (count: number) => ({
    ...emptySnapshot('alice'),
    version: count,
    conversations: [
      {
        row: row('alice', 'bob', count, { version: count }),
        window: {
          complete: true,
          messages: Array.from({ length: count }, (_, i) =>
            message('bob', 'alice', count - i, { version: count - i }),
          ),
        },
      },
    ],
  });
  t.equal(
    parseWarmBatch({ changeId: 'c', snapshots: [windowOf(WINDOW_MESSAGES_LIMIT)] }).snapshots[0]
      ?.conversations[0]?.window?.messages.length,
    WINDOW_MESSAGES_LIMIT,
    'WINDOW_MESSAGES_LIMIT messages in a window',
  );
  t.throws(
    () => parseWarmBatch({ changeId: 'c', snapshots: [windowOf(WINDOW_MESSAGES_LIMIT + 1)] }),
    {
      code: 'INVALID_FIELD',
      message: /^snapshots\[0\]\.conversations\[0\]\.window\.messages must have at most 10000/,
    },
  );

  const unread = snapshotJson() as { conversations: { row: { unreadCount: number } }[] };
  unread.conversations[1]!.row.unreadCount = UNREAD_COUNT_MAX;
  t.equal(
    parseWarmBatch({ changeId: 'c', snapshots: [unread] }).snapshots[0]?.conversations[1]?.row
      .unreadCount,
    UNREAD_COUNT_MAX,
    'an unread count of UNREAD_COUNT_MAX',
  );
});

t.test('assertClockWindow: DELIVER_CLOCK_SKEW_MS_MAX ahead, an optional age behind', async (t) => {
  const now = 1_000_000;
  t.doesNotThrow(() => assertClockWindow(now + DELIVER_CLOCK_SKEW_MS_MAX, 'x.sentAt', now));
  t.throws(() => assertClockWindow(now + DELIVER_CLOCK_SKEW_MS_MAX + 1, 'x.sentAt', now), {
    code: 'INVALID_FIELD',
    message: /^x\.sentAt is 1060001, more than 60000 ms ahead of this node's clock \(1000000\)/,
  });
  t.doesNotThrow(() => assertClockWindow(0, 'x.sentAt', now), 'no age bound unless given');
  t.doesNotThrow(() => assertClockWindow(now - 500, 'x.sentAt', now, 500));
  t.throws(() => assertClockWindow(now - 501, 'x.sentAt', now, 500), {
    code: 'INVALID_FIELD',
    message: /^x\.sentAt is 999499, more than 500 ms behind/,
  });
});

t.test('the node routes answer a malformed internal body with 400 and its code', async (t) => {
  const refuse = () => {
    throw new Error('never reached: the body is refused first');
  };
  const member = new MemberSigner('node-2', Buffer.alloc(32, 7));
  const app = buildNodeServer({
    service: { deliver: refuse, releaseAllWatchers: () => undefined } as unknown as MailboxService,
    handoff: { release: refuse, acceptWarm: refuse, cancel: refuse } as unknown as Handoff,
    epoch: () => 1,
    refreshRing: async () => undefined,
    stats: () => ({}),
    adoptRing: refuse,
    access: { members: member.verifier(), appTokens: undefined, operatorTokens: undefined },
    http: {},
  });
  t.teardown(() => app.close());
  const cases: [string, unknown, ErrorCode][] = [
    ['/internal/v1/deliver', { message: { ...proposal, sentAt: 'soon' } }, 'INVALID_FIELD'],
    ['/internal/v1/deliver', [], 'INVALID_BODY'],
    ['/internal/v1/handoff/release', { changeId: 'c' }, 'MISSING_FIELD'],
    ['/internal/v1/handoff/release', { changeId: 'c', targetRing: { epoch: 1 } }, 'MISSING_FIELD'],
    ['/internal/v1/handoff/warm', { changeId: 'c', snapshots: [{}] }, 'MISSING_FIELD'],
    ['/internal/v1/handoff/cancel', { changeId: null }, 'INVALID_FIELD'],
    ['/internal/v1/ring', { ring: { ...ring, nodes: null } }, 'INVALID_FIELD'],
    ['/internal/v1/ring', 'null', 'INVALID_BODY'],
    // The attacks of issue 10: a ring that would wedge a node, a proposal no clock produced.
    [
      '/internal/v1/ring',
      { ring: { ...ring, epoch: Number.MAX_SAFE_INTEGER, slots: [] } },
      'INVALID_FIELD',
    ],
    ['/internal/v1/ring', { ring: { ...ring, slots: [] } }, 'INVALID_FIELD'],
    [
      '/internal/v1/handoff/release',
      { changeId: 'c', targetRing: { ...ring, epoch: RING_EPOCH_MAX + 1 } },
      'INVALID_FIELD',
    ],
    [
      '/internal/v1/handoff/warm',
      { changeId: 'c', snapshots: [emptySnapshot('alice'), emptySnapshot('alice')] },
      'INVALID_FIELD',
    ],
  ];
  for (const [url, body, code] of cases) {
    const payload = typeof body === 'string' ? body : JSON.stringify(body);
    const response = await app.inject({
      method: 'POST',
      url,
      headers: {
        'content-type': 'application/json',
        [MEMBER_SIGNATURE_HEADER]: member.sign('POST', url, payload),
      },
      payload,
    });
    t.equal(response.statusCode, 400, `${url} ${JSON.stringify(body).slice(0, 60)}`);
    t.equal((response.json() as { error: { code: string } }).error.code, code);
  }
});

t.test(
  'heartbeat reply: the ring parsed, the lease within its bounds (a garbled lease never fences open)',
  async (t) => {
    t.same(parseHeartbeatReply({ ring, leaseMs: 3_000 }), { ring, leaseMs: 3_000 });
    t.same(parseHeartbeatReply({ ring, leaseMs: LEASE_MS_MIN }).leaseMs, LEASE_MS_MIN);
    t.same(parseHeartbeatReply({ ring, leaseMs: LEASE_MS_MAX }).leaseMs, LEASE_MS_MAX);
    for (const leaseMs of [LEASE_MS_MIN - 1, LEASE_MS_MAX + 1, 'soon', null, 1.5])
      t.throws(
        () => parseHeartbeatReply({ ring, leaseMs }),
        { code: 'INVALID_FIELD' },
        String(leaseMs),
      );
    t.throws(() => parseHeartbeatReply({ ring }), { code: 'MISSING_FIELD' });
    t.throws(() => parseHeartbeatReply({ ring: { epoch: 1 }, leaseMs: 3_000 }), {
      code: 'MISSING_FIELD',
    });
    t.throws(() => parseHeartbeatReply('ok'), { code: 'INVALID_BODY' });
  },
);

t.test(
  'a ring entry written by an older release (a URL a heartbeat would refuse) still reads, without its address',
  async (t) => {
    const old = { ...ring, nodes: { n1: { nodeId: 'n1', url: 'http://::1:8080' } } };
    const parsed = parseRingConfig(old);
    t.same(parsed.slots, ring.slots, 'the ring reads');
    t.equal(
      parsed.nodes.n1?.url,
      '',
      'the entry reads as "no address yet" (nothing is sent there)',
    );
    t.throws(() => parseNodeInfo({ nodeId: 'n1', url: 'http://::1:8080' }), {
      code: 'INVALID_FIELD',
    });
  },
);
