/**
 * Proves the public API's input validation (protocol/validation.ts) rejects every bad input of
 * DESIGN.md with its exact catalogue code and accepts everything up to each limit: send bodies
 * (shape, fields, types, user ids up to 64 characters, self messages, content strictly under
 * 65,536 UTF-8 bytes for 1- to 4-byte characters, clientMessageId up to 128 characters), list
 * queries (defaults, pageSize clamping, paging depth, cursors) and the mark-read body.
 */
import t, { type Test } from 'tap';
import {
  CONTENT_BYTES_LIMIT,
  PAGE_INDEX_MAX,
  PAGE_OFFSET_MAX,
  encodeCursor,
  parseListQuery,
  parseMarkReadBody,
  parseSendRequest,
  type ErrorCode,
} from '../../protocol/index.js';

type Tap = Test;

function expectCode(t: Tap, run: () => unknown, code: ErrorCode, what: string): void {
  t.throws(run, { name: 'ChatringError', code }, `${what} → ${code}`);
}

const valid = { senderId: 'alice', recipientId: 'bob', content: 'hi', clientMessageId: 'c-1' };
const send = (overrides: Record<string, unknown>) => ({ ...valid, ...overrides });
const without = (field: keyof typeof valid) => {
  const body: Record<string, unknown> = { ...valid };
  delete body[field];
  return body;
};

t.test('a valid send request is returned as typed, unchanged', async (t) => {
  t.same(parseSendRequest(valid), valid);
  t.same(
    parseSendRequest(send({ content: '' })),
    { ...valid, content: '' },
    'empty content is allowed',
  );
});

t.test('INVALID_BODY for anything but a plain object', async (t) => {
  for (const body of [null, undefined, [], [valid], 'text', 42, true]) {
    expectCode(
      t,
      () => parseSendRequest(body),
      'INVALID_BODY',
      JSON.stringify(body) ?? 'undefined',
    );
  }
});

t.test('UNKNOWN_FIELD for a field the API does not define, before anything else', async (t) => {
  expectCode(t, () => parseSendRequest(send({ extra: 1 })), 'UNKNOWN_FIELD', 'extra field');
  expectCode(
    t,
    () => parseSendRequest({ sender: 'alice' }),
    'UNKNOWN_FIELD',
    'misspelt field with the rest missing',
  );
  expectCode(
    t,
    () => parseSendRequest(JSON.parse('{"__proto__": {}, "senderId": "alice"}')),
    'UNKNOWN_FIELD',
    '__proto__ as a JSON key',
  );
});

t.test('MISSING_FIELD for each absent field', async (t) => {
  for (const field of ['senderId', 'recipientId', 'content', 'clientMessageId'] as const) {
    expectCode(t, () => parseSendRequest(without(field)), 'MISSING_FIELD', `no ${field}`);
  }
  expectCode(t, () => parseSendRequest({}), 'MISSING_FIELD', 'empty object');
});

t.test('INVALID_FIELD for a field of the wrong type', async (t) => {
  for (const field of ['senderId', 'recipientId', 'content', 'clientMessageId'] as const) {
    for (const value of [1, null, true, {}, ['x']]) {
      expectCode(
        t,
        () => parseSendRequest(send({ [field]: value })),
        'INVALID_FIELD',
        `${field}: ${JSON.stringify(value)}`,
      );
    }
  }
});

t.test('INVALID_USER_ID for bad ids; 1 and 64 characters accepted', async (t) => {
  const id64 = 'a'.repeat(64);
  const id65 = 'a'.repeat(65);
  t.equal(parseSendRequest(send({ senderId: id64 })).senderId, id64, '64 characters accepted');
  t.equal(parseSendRequest(send({ recipientId: 'Z' })).recipientId, 'Z', '1 character accepted');
  t.equal(
    parseSendRequest(send({ senderId: 'A-z_0-9' })).senderId,
    'A-z_0-9',
    'the whole alphabet',
  );
  for (const field of ['senderId', 'recipientId'] as const) {
    for (const bad of [id65, '', 'al ice', 'al~ice', 'alicé', 'a/b', 'a.b', 'a\n']) {
      expectCode(
        t,
        () => parseSendRequest(send({ [field]: bad })),
        'INVALID_USER_ID',
        `${field} ${JSON.stringify(bad.length > 20 ? `${bad.length} chars` : bad)}`,
      );
    }
  }
});

t.test('SELF_MESSAGE when sender and recipient are the same user', async (t) => {
  expectCode(
    t,
    () => parseSendRequest(send({ recipientId: 'alice' })),
    'SELF_MESSAGE',
    'alice to alice',
  );
  t.equal(
    parseSendRequest(send({ recipientId: 'Alice' })).recipientId,
    'Alice',
    'ids are case-sensitive',
  );
});

t.test('clientMessageId: 1-128 printable ASCII characters', async (t) => {
  t.equal(
    parseSendRequest(send({ clientMessageId: 'x'.repeat(128) })).clientMessageId.length,
    128,
    '128 accepted',
  );
  t.equal(
    parseSendRequest(send({ clientMessageId: '!~' })).clientMessageId,
    '!~',
    'printable punctuation accepted',
  );
  expectCode(
    t,
    () => parseSendRequest(send({ clientMessageId: 'x'.repeat(129) })),
    'INVALID_FIELD',
    '129 characters',
  );
  expectCode(t, () => parseSendRequest(send({ clientMessageId: '' })), 'INVALID_FIELD', 'empty');
  expectCode(
    t,
    () => parseSendRequest(send({ clientMessageId: 'a b' })),
    'INVALID_FIELD',
    'a space',
  );
  expectCode(
    t,
    () => parseSendRequest(send({ clientMessageId: 'é' })),
    'INVALID_FIELD',
    'non-ASCII',
  );
});

t.test(
  'content must be fewer than 65,536 UTF-8 bytes, whatever the character widths',
  async (t) => {
    t.equal(CONTENT_BYTES_LIMIT, 65_536);
    const cases: { name: string; accepted: string; rejected: string }[] = [
      { name: 'ASCII (1 byte)', accepted: 'a'.repeat(65_535), rejected: 'a'.repeat(65_536) },
      // é is 2 bytes: 32,767 × 2 + 1 = 65,535 and 32,768 × 2 = 65,536.
      { name: 'é (2 bytes)', accepted: 'é'.repeat(32_767) + 'a', rejected: 'é'.repeat(32_768) },
      // € is 3 bytes: 21,845 × 3 = 65,535; one more ASCII byte reaches the limit.
      { name: '€ (3 bytes)', accepted: '€'.repeat(21_845), rejected: '€'.repeat(21_845) + 'a' },
      // 😀 is 4 bytes (two UTF-16 units): 16,383 × 4 + 3 = 65,535; + 4 = 65,536.
      {
        name: '😀 (4 bytes)',
        accepted: '😀'.repeat(16_383) + 'abc',
        rejected: '😀'.repeat(16_383) + 'abcd',
      },
      // A 4-byte character that crosses the limit: 65,531 + 4 = 65,535, and 65,532 + 4 = 65,536.
      {
        name: 'a 4-byte character at the edge',
        accepted: 'a'.repeat(65_531) + '😀',
        rejected: 'a'.repeat(65_532) + '😀',
      },
    ];
    for (const { name, accepted, rejected } of cases) {
      t.equal(
        Buffer.byteLength(accepted, 'utf8'),
        65_535,
        `${name}: the accepted case is 65,535 bytes`,
      );
      t.equal(
        Buffer.byteLength(rejected, 'utf8'),
        65_536,
        `${name}: the rejected case is 65,536 bytes`,
      );
      t.equal(
        parseSendRequest(send({ content: accepted })).content,
        accepted,
        `${name}: 65,535 bytes accepted`,
      );
      expectCode(
        t,
        () => parseSendRequest(send({ content: rejected })),
        'CONTENT_TOO_LARGE',
        `${name}: 65,536 bytes`,
      );
    }
    t.throws(
      () => parseSendRequest(send({ content: 'a'.repeat(65_536) })),
      { code: 'CONTENT_TOO_LARGE', status: 413 },
      'CONTENT_TOO_LARGE is a 413',
    );
  },
);

t.test(
  'checks run in a fixed order: shape, fields, types, ids, clientMessageId, self, size',
  async (t) => {
    const huge = 'a'.repeat(70_000);
    expectCode(
      t,
      () => parseSendRequest(send({ content: 5, extra: 1 })),
      'UNKNOWN_FIELD',
      'unknown beats wrong type',
    );
    expectCode(
      t,
      () => parseSendRequest({ ...without('content'), senderId: 5 }),
      'INVALID_FIELD',
      'the first field in order decides',
    );
    expectCode(
      t,
      () => parseSendRequest(send({ senderId: 'x y', recipientId: 'x y' })),
      'INVALID_USER_ID',
      'bad id beats self message',
    );
    expectCode(
      t,
      () => parseSendRequest(send({ recipientId: 'alice', content: huge })),
      'SELF_MESSAGE',
      'self message beats size',
    );
  },
);

const listScope = { userId: 'alice' };
const conversationScope = { userId: 'alice', conversationId: 'alice~bob' };

t.test('parseListQuery: defaults', async (t) => {
  t.same(parseListQuery({}, 20, listScope), { kind: 'page', page: 0, pageSize: 20 });
  t.same(parseListQuery(undefined, 50, conversationScope), { kind: 'page', page: 0, pageSize: 50 });
  t.same(parseListQuery({ page: '3', pageSize: '10' }, 20, listScope), {
    kind: 'page',
    page: 3,
    pageSize: 10,
  });
  t.same(parseListQuery({ lastUpdatedTimestamp: '1700000000000' }, 20, listScope), {
    kind: 'since-timestamp',
    page: 0,
    pageSize: 20,
    lastUpdatedTimestamp: 1_700_000_000_000,
  });
  t.same(parseListQuery({ lastUpdatedTimestamp: '0' }, 20, listScope), {
    kind: 'since-timestamp',
    page: 0,
    pageSize: 20,
    lastUpdatedTimestamp: 0,
  });
});

t.test('parseListQuery: pageSize is clamped to 1..200', async (t) => {
  const pageSizeOf = (pageSize: string) =>
    (parseListQuery({ pageSize }, 20, listScope) as { pageSize: number }).pageSize;
  t.equal(pageSizeOf('0'), 1, '0 → 1');
  t.equal(pageSizeOf('-5'), 1, '-5 → 1');
  t.equal(pageSizeOf('1'), 1, '1 kept');
  t.equal(pageSizeOf('200'), 200, '200 kept');
  t.equal(pageSizeOf('201'), 200, '201 → 200');
  t.equal(pageSizeOf('9999999999999999'), 200, 'a 16-digit size → 200');
});

t.test('parseListQuery: INVALID_QUERY for malformed parameters', async (t) => {
  const bad: Record<string, unknown>[] = [
    { pageSize: '1.5' },
    { pageSize: 'ten' },
    { pageSize: '' },
    { pageSize: ['10', '20'] },
    { pageSize: '1e3' },
    { page: '0x10' },
    { page: '+1' },
    { page: '12345678901234567' },
    { page: '-1' },
    { page: String(PAGE_INDEX_MAX + 1) },
    { lastUpdatedTimestamp: '-1' },
    { lastUpdatedTimestamp: 'yesterday' },
    { sort: 'asc' },
    { PAGE: '1' },
  ];
  for (const query of bad)
    expectCode(
      t,
      () => parseListQuery(query, 20, listScope),
      'INVALID_QUERY',
      JSON.stringify(query),
    );
});

t.test('parseListQuery: PAGE_OUT_OF_RANGE exactly past PAGE_OFFSET_MAX', async (t) => {
  t.equal(PAGE_OFFSET_MAX, 10_000);
  t.same(
    parseListQuery({ page: '10000', pageSize: '1' }, 20, listScope),
    { kind: 'page', page: 10_000, pageSize: 1 },
    'offset 10,000 accepted',
  );
  expectCode(
    t,
    () => parseListQuery({ page: '10001', pageSize: '1' }, 20, listScope),
    'PAGE_OUT_OF_RANGE',
    'offset 10,001',
  );
  t.same(
    parseListQuery({ page: '50', pageSize: '200' }, 20, listScope),
    { kind: 'page', page: 50, pageSize: 200 },
    '50 × 200 = 10,000 accepted',
  );
  expectCode(
    t,
    () => parseListQuery({ page: '51', pageSize: '200' }, 20, listScope),
    'PAGE_OUT_OF_RANGE',
    '51 × 200',
  );
  t.same(
    parseListQuery({ page: '500' }, 20, listScope),
    { kind: 'page', page: 500, pageSize: 20 },
    'the default page size counts: 500 × 20',
  );
  expectCode(
    t,
    () => parseListQuery({ page: '501' }, 20, listScope),
    'PAGE_OUT_OF_RANGE',
    '501 × 20 (default size)',
  );
  expectCode(
    t,
    () =>
      parseListQuery({ page: '10001', pageSize: '1', lastUpdatedTimestamp: '5' }, 20, listScope),
    'PAGE_OUT_OF_RANGE',
    'also on a timestamp delta',
  );
  expectCode(
    t,
    () => parseListQuery({ page: String(PAGE_INDEX_MAX), pageSize: '1' }, 20, listScope),
    'PAGE_OUT_OF_RANGE',
    'page at PAGE_INDEX_MAX',
  );
});

t.test('parseListQuery: cursors', async (t) => {
  const listCursor = encodeCursor(listScope, 42);
  const conversationCursor = encodeCursor(conversationScope, 7);
  t.same(parseListQuery({ cursor: listCursor }, 20, listScope), {
    kind: 'since-cursor',
    pageSize: 20,
    afterVersion: 42,
  });
  t.same(
    parseListQuery({ cursor: conversationCursor, pageSize: '500' }, 50, conversationScope),
    { kind: 'since-cursor', pageSize: 200, afterVersion: 7 },
    'pageSize still clamped',
  );
  expectCode(
    t,
    () => parseListQuery({ cursor: listCursor, page: '0' }, 20, listScope),
    'INVALID_QUERY',
    'cursor + page',
  );
  expectCode(
    t,
    () => parseListQuery({ cursor: listCursor, lastUpdatedTimestamp: '1' }, 20, listScope),
    'INVALID_QUERY',
    'cursor + lastUpdatedTimestamp',
  );
  expectCode(
    t,
    () => parseListQuery({ cursor: '' }, 20, listScope),
    'INVALID_QUERY',
    'empty cursor',
  );
  expectCode(
    t,
    () => parseListQuery({ cursor: listCursor }, 20, { userId: 'bob' }),
    'INVALID_CURSOR',
    'another user',
  );
  expectCode(
    t,
    () => parseListQuery({ cursor: listCursor }, 20, conversationScope),
    'INVALID_CURSOR',
    'list cursor on messages',
  );
  expectCode(
    t,
    () => parseListQuery({ cursor: conversationCursor }, 20, listScope),
    'INVALID_CURSOR',
    'messages cursor on the list',
  );
  expectCode(
    t,
    () =>
      parseListQuery({ cursor: conversationCursor }, 20, {
        userId: 'alice',
        conversationId: 'alice~carol',
      }),
    'INVALID_CURSOR',
    'another conversation',
  );
  for (const garbage of [
    'garbage',
    'e30',
    '!!!!',
    Buffer.from('{"v":1,"u":"alice","after":-1}').toString('base64url'),
  ]) {
    expectCode(
      t,
      () => parseListQuery({ cursor: garbage }, 20, listScope),
      'INVALID_CURSOR',
      `garbage cursor ${garbage}`,
    );
  }
});

t.test('parseMarkReadBody: {} or nothing', async (t) => {
  for (const body of [undefined, null, '', {}])
    t.doesNotThrow(
      () => parseMarkReadBody(body),
      `${JSON.stringify(body) ?? 'undefined'} accepted`,
    );
  expectCode(t, () => parseMarkReadBody({ unreadCount: 0 }), 'UNKNOWN_FIELD', 'a field');
  for (const body of [[], 'x', 1, true])
    expectCode(t, () => parseMarkReadBody(body), 'INVALID_BODY', JSON.stringify(body));
});

t.test('content must be well-formed Unicode: a lone surrogate is INVALID_FIELD', async (t) => {
  const send = (content: string) =>
    parseSendRequest({ senderId: 'alice', recipientId: 'bob', content, clientMessageId: 'c1' });
  for (const content of ['x\udc00y', '\ud83d', 'end\ud800', '\udfff\ud83d'])
    t.throws(() => send(content), { code: 'INVALID_FIELD', message: /well-formed Unicode/ });
  t.equal(send('pair 😀 ok').content, 'pair 😀 ok', 'a surrogate pair is fine');
  t.equal(send('').content, '', 'empty content is fine');
});
