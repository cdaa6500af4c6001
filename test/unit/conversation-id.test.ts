/**
 * Proves a conversation id is derived from the pair alone (both orders, every node, same id), that
 * participantsOf rejects malformed ids and non-participants with INVALID_CONVERSATION_ID, and that
 * orderedPair / peerOf agree with the id.
 */
import t from 'tap';
import { conversationIdOf, orderedPair, participantsOf, peerOf } from '../../protocol/index.js';

t.test('the id depends on the pair only, not on who sends', async (t) => {
  t.equal(conversationIdOf('alice', 'bob'), 'alice~bob');
  t.equal(conversationIdOf('bob', 'alice'), 'alice~bob');
  const pairs: [string, string][] = [
    ['A', 'a'],
    ['user-1', 'user_1'],
    ['0', 'z'],
    ['x'.repeat(64), 'y'.repeat(64)],
    ['Zed', 'abe'],
  ];
  for (const [a, b] of pairs) {
    t.equal(conversationIdOf(a, b), conversationIdOf(b, a), `${a.slice(0, 8)} / ${b.slice(0, 8)}`);
    t.same(
      participantsOf(conversationIdOf(a, b), a),
      orderedPair(a, b),
      'participantsOf reads back the ordered pair',
    );
  }
});

t.test('orderedPair puts the lower id first (the lock order of a send)', async (t) => {
  t.same(orderedPair('bob', 'alice'), ['alice', 'bob']);
  t.same(orderedPair('alice', 'bob'), ['alice', 'bob']);
  t.same(orderedPair('Bob', 'alice'), ['Bob', 'alice'], 'code-unit order: upper case sorts first');
});

t.test('participantsOf accepts either participant', async (t) => {
  t.same(participantsOf('alice~bob', 'alice'), ['alice', 'bob']);
  t.same(participantsOf('alice~bob', 'bob'), ['alice', 'bob']);
});

t.test('participantsOf: INVALID_CONVERSATION_ID for a malformed id', async (t) => {
  const malformed = [
    '',
    'alice',
    'alice~',
    '~bob',
    'bob~alice', // not in ascending order
    'alice~alice', // a user with themself
    'alice~bob~carol',
    'alice-bob',
    'al ice~bob',
    `${'a'.repeat(65)}~bob`,
    'alice~bob ',
  ];
  for (const id of malformed) {
    t.throws(
      () => participantsOf(id, 'alice'),
      { code: 'INVALID_CONVERSATION_ID', status: 400 },
      JSON.stringify(id),
    );
  }
});

t.test('participantsOf: INVALID_CONVERSATION_ID for a user not in the conversation', async (t) => {
  t.throws(() => participantsOf('alice~bob', 'carol'), { code: 'INVALID_CONVERSATION_ID' });
  t.throws(
    () => participantsOf('alice~bob', 'Alice'),
    { code: 'INVALID_CONVERSATION_ID' },
    'case-sensitive',
  );
});

t.test('peerOf names the other participant', async (t) => {
  t.equal(peerOf(['alice', 'bob'], 'alice'), 'bob');
  t.equal(peerOf(['alice', 'bob'], 'bob'), 'alice');
});
