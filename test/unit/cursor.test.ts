/**
 * Proves the gapless cursor token round-trips its version and is scoped: a cursor only decodes for
 * the user and the list (conversation list, or one conversation's messages) it was issued for;
 * tampered, foreign or malformed tokens give INVALID_CURSOR.
 */
import t from 'tap';
import { decodeCursor, encodeCursor } from '../../protocol/index.js';

const listScope = { userId: 'alice' };
const conversationScope = { userId: 'alice', conversationId: 'alice~bob' };
const forge = (document: unknown) =>
  Buffer.from(JSON.stringify(document), 'utf8').toString('base64url');

t.test('round trip for both scopes and any safe version', async (t) => {
  for (const version of [0, 1, 42, 2 ** 31, Number.MAX_SAFE_INTEGER]) {
    t.equal(
      decodeCursor(encodeCursor(listScope, version), listScope),
      version,
      `list, version ${version}`,
    );
    t.equal(
      decodeCursor(encodeCursor(conversationScope, version), conversationScope),
      version,
      `conversation, version ${version}`,
    );
  }
});

t.test('the token is URL-safe and opaque (base64url, no padding)', async (t) => {
  const token = encodeCursor(
    { userId: 'u'.repeat(64), conversationId: `${'a'.repeat(64)}~${'u'.repeat(64)}` },
    123_456,
  );
  t.match(token, /^[A-Za-z0-9_-]+$/);
});

t.test('the same scope and version always give the same token', async (t) => {
  t.equal(encodeCursor(conversationScope, 9), encodeCursor({ ...conversationScope }, 9));
});

t.test('scope checks: another user or another list → INVALID_CURSOR', async (t) => {
  const listCursor = encodeCursor(listScope, 5);
  const conversationCursor = encodeCursor(conversationScope, 5);
  t.throws(
    () => decodeCursor(listCursor, { userId: 'bob' }),
    { code: 'INVALID_CURSOR' },
    'list cursor, other user',
  );
  t.throws(
    () => decodeCursor(conversationCursor, { userId: 'bob', conversationId: 'alice~bob' }),
    { code: 'INVALID_CURSOR' },
    'other participant',
  );
  t.throws(
    () => decodeCursor(listCursor, conversationScope),
    { code: 'INVALID_CURSOR' },
    'list cursor on messages',
  );
  t.throws(
    () => decodeCursor(conversationCursor, listScope),
    { code: 'INVALID_CURSOR' },
    'messages cursor on the list',
  );
  t.throws(
    () => decodeCursor(conversationCursor, { userId: 'alice', conversationId: 'alice~carol' }),
    { code: 'INVALID_CURSOR' },
    'other conversation',
  );
});

t.test('malformed or forged tokens → INVALID_CURSOR', async (t) => {
  const bad: [string, string][] = [
    ['not base64 JSON', 'garbage'],
    ['empty', ''],
    ['JSON null', forge(null)],
    ['JSON string', forge('alice')],
    ['JSON array', forge([1, 'alice', 3])],
    ['no version field', forge({ u: 'alice', after: 1 })],
    ['unknown token version', forge({ v: 2, u: 'alice', after: 1 })],
    ['negative after', forge({ v: 1, u: 'alice', after: -1 })],
    ['fractional after', forge({ v: 1, u: 'alice', after: 1.5 })],
    ['string after', forge({ v: 1, u: 'alice', after: '1' })],
    ['unsafe after', forge({ v: 1, u: 'alice', after: 2 ** 53 })],
    ['missing after', forge({ v: 1, u: 'alice' })],
    ['missing user', forge({ v: 1, after: 1 })],
  ];
  for (const [name, token] of bad)
    t.throws(() => decodeCursor(token, listScope), { code: 'INVALID_CURSOR', status: 400 }, name);
});
