/**
 * Sending through a real local cluster (router + 3 nodes + standby, separate processes): idempotent
 * retries, ordering, concurrency between two users, and every bad input refused with its code and
 * nothing stored.
 */
import type { Test } from 'tap';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { REQUEST_BODY_BYTES_LIMIT, conversationIdOf, type Message } from '../../protocol/index.js';
import { ApiClient, uniqueUser } from '../../harness/index.js';
import type { BootCluster } from '../helpers/cluster-stores.js';

/** Refusals a client sends again with the same clientMessageId (the catalogue's retryable sends). */
const RETRYABLE_SEND_CODES = new Set([
  'USER_BUSY',
  'STORE_UNAVAILABLE',
  'OWNER_UNAVAILABLE',
  'OVERLOADED',
]);
const SEND_ATTEMPTS_MAX = 20;

export async function sendSuite(t: Test, boot: BootCluster): Promise<void> {
  const cluster = await boot(t);
  const api = new ApiClient(cluster.url);
  t.teardown(() => api.close());

  async function allMessages(userId: string, conversationId: string): Promise<Message[]> {
    const response = await api.messages(userId, conversationId, '?pageSize=200');
    return response.body.messages;
  }

  t.test(
    'a retry with the same clientMessageId returns the same message, 200 and duplicate:true',
    async (t) => {
      const [alice, bob] = [uniqueUser('alice'), uniqueUser('bob')];
      const first = await api.send(alice, bob, 'hello', 'retry-1');
      t.equal(first.status, 201);
      t.equal(first.body.duplicate, false);
      for (let attempt = 0; attempt < 3; attempt += 1) {
        const again = await api.send(alice, bob, 'hello', 'retry-1');
        t.equal(again.status, 200);
        t.equal(again.body.duplicate, true);
        t.same(again.body.message, first.body.message, 'same messageId and sentAt');
      }
      t.equal((await allMessages(alice, conversationIdOf(alice, bob))).length, 1);
      t.equal((await allMessages(bob, conversationIdOf(alice, bob))).length, 1);
    },
  );

  t.test(
    '20 concurrent sends with one clientMessageId store one message in each mailbox',
    async (t) => {
      for (const [sender, recipient] of [
        [uniqueUser('a'), uniqueUser('z')],
        [uniqueUser('z'), uniqueUser('a')],
      ] as const) {
        const results = await Promise.all(
          Array.from({ length: 20 }, () => api.send(sender, recipient, 'once', 'concurrent-1')),
        );
        t.same(
          results.map((r) => r.status).sort(),
          [...Array(19).fill(200), 201].sort(),
          'one 201, nineteen 200',
        );
        t.equal(new Set(results.map((r) => r.body.message.messageId)).size, 1, 'one messageId');
        t.equal(new Set(results.map((r) => r.body.message.sentAt)).size, 1, 'one sentAt');
        const conversationId = conversationIdOf(sender, recipient);
        t.equal((await allMessages(sender, conversationId)).length, 1);
        t.equal((await allMessages(recipient, conversationId)).length, 1);
      }
    },
  );

  t.test(
    '30 sequential sends appear in send order with strictly increasing sentAt, same in both mailboxes',
    async (t) => {
      const [alice, bob] = [uniqueUser('alice'), uniqueUser('bob')];
      const acked: Message[] = [];
      for (let i = 0; i < 30; i += 1) {
        const [from, to] = i % 3 === 0 ? [bob, alice] : [alice, bob];
        acked.push((await api.send(from, to, `message ${i}`)).body.message);
      }
      const conversationId = conversationIdOf(alice, bob);
      for (const owner of [alice, bob]) {
        const newestFirst = await allMessages(owner, conversationId);
        t.same(
          newestFirst.map((m) => m.messageId),
          acked.map((m) => m.messageId).reverse(),
          `order in ${owner}'s mailbox`,
        );
        const sentAts = newestFirst.map((m) => m.sentAt).reverse();
        t.ok(
          sentAts.every((sentAt, i) => i === 0 || sentAt > (sentAts[i - 1] ?? 0)),
          'strictly increasing',
        );
      }
    },
  );

  t.test(
    '100 concurrent sends between two users: nothing lost, nothing doubled, strictly ordered',
    async (t) => {
      const [alice, bob] = [uniqueUser('alice'), uniqueUser('bob')];
      // 100 sends on one user's lock: on a slow store some wait past the lock bound and are
      // refused USER_BUSY (retryable). A client sends those again with the same clientMessageId,
      // as the contract says; the retry must be stored once (201, or 200 if the first landed).
      const sendUntilAcknowledged = async (
        from: string,
        to: string,
        content: string,
        id: string,
      ) => {
        for (let attempt = 0; ; attempt += 1) {
          const response = await api.send(from, to, content, id);
          const retryable = RETRYABLE_SEND_CODES.has(response.errorCode ?? '');
          if (!retryable || attempt === SEND_ATTEMPTS_MAX - 1) return { response, attempt };
          await sleep(50 * (attempt + 1));
        }
      };
      const results = await Promise.all(
        Array.from({ length: 100 }, (_, i) =>
          i % 2 === 0
            ? sendUntilAcknowledged(alice, bob, `a${i}`, `c${i}`)
            : sendUntilAcknowledged(bob, alice, `b${i}`, `c${i}`),
        ),
      );
      const retried = results.filter(({ attempt }) => attempt > 0).length;
      t.same(
        results
          .filter(
            ({ response, attempt }) =>
              response.status !== 201 && !(attempt > 0 && response.status === 200),
          )
          .map(({ response }) => `${response.status} ${response.errorCode}`),
        [],
        `every send acknowledged (${retried} sent again after a retryable refusal)`,
      );
      if (results.some(({ response }) => response.status !== 201 && response.status !== 200))
        return;
      const responses = results.map(({ response }) => response);
      const conversationId = conversationIdOf(alice, bob);
      const acknowledged = new Set(responses.map((r) => r.body.message.messageId));
      const copies: Message[][] = [];
      for (const owner of [alice, bob]) {
        const messages = await allMessages(owner, conversationId);
        copies.push(messages);
        t.equal(messages.length, 100, `${owner} has 100`);
        t.same(
          new Set(messages.map((m) => m.messageId)),
          acknowledged,
          'exactly the acknowledged messages',
        );
        const sentAts = messages.map((m) => m.sentAt);
        t.ok(
          sentAts.every((sentAt, i) => i === 0 || sentAt < (sentAts[i - 1] ?? Infinity)),
          'strictly decreasing newest-first',
        );
      }
      t.same(copies[0], copies[1], 'both mailboxes hold identical copies in identical order');
      const conversations = await api.conversations(bob);
      t.equal(
        conversations.body.conversations[0]?.unreadCount,
        50,
        "bob's unread count counts alice's 50",
      );
    },
  );

  t.test(
    'content limit: 65,535 UTF-8 bytes accepted, 65,536 refused with 413, multi-byte included',
    async (t) => {
      const [alice, bob] = [uniqueUser('alice'), uniqueUser('bob')];
      const cases: [string, string, number][] = [
        ['ascii at the limit', 'a'.repeat(65_535), 201],
        ['ascii one over', 'a'.repeat(65_536), 413],
        ['2-byte at the limit', 'é'.repeat(32_767) + 'a', 201],
        ['2-byte one over', 'é'.repeat(32_768), 413],
        ['3-byte at the limit', '€'.repeat(21_845), 201],
        ['3-byte one over', '€'.repeat(21_845) + 'a', 413],
        ['4-byte at the limit', '😀'.repeat(16_383) + 'abc', 201],
        ['4-byte one over', '😀'.repeat(16_384), 413],
      ];
      for (const [name, content, status] of cases) {
        const response = await api.send(alice, bob, content, `limit-${name.replaceAll(' ', '-')}`);
        t.equal(response.status, status, name);
        if (status === 201)
          t.equal(response.body.message.content, content, `${name}: stored byte for byte`);
        else
          t.equal(
            (response.body as unknown as { error: { code: string } }).error.code,
            'CONTENT_TOO_LARGE',
            name,
          );
      }
      t.equal(
        (await allMessages(alice, conversationIdOf(alice, bob))).length,
        4,
        'only the four accepted were stored',
      );
    },
  );

  t.test('bad input gets its status and code and stores nothing', async (t) => {
    const [alice, bob] = [uniqueUser('alice'), uniqueUser('bob')];
    const valid = { senderId: alice, recipientId: bob, content: 'x', clientMessageId: 'bad-input' };
    const cases: [string, unknown, number, string][] = [
      ['unknown field', { ...valid, extra: 1 }, 400, 'UNKNOWN_FIELD'],
      ['missing field', { senderId: alice, recipientId: bob, content: 'x' }, 400, 'MISSING_FIELD'],
      ['wrong type', { ...valid, content: 42 }, 400, 'INVALID_FIELD'],
      ['null content', { ...valid, content: null }, 400, 'INVALID_FIELD'],
      ['bad sender id', { ...valid, senderId: 'has space' }, 400, 'INVALID_USER_ID'],
      ['65-char id', { ...valid, recipientId: 'x'.repeat(65) }, 400, 'INVALID_USER_ID'],
      ['empty id', { ...valid, senderId: '' }, 400, 'INVALID_USER_ID'],
      ['sender is recipient', { ...valid, recipientId: alice }, 400, 'SELF_MESSAGE'],
      ['array body', [valid], 400, 'INVALID_BODY'],
      ['string body', 'hello', 400, 'INVALID_BODY'],
    ];
    for (const [name, body, status, code] of cases) {
      const response = await api.call<{ error: { code: string; message: string } }>(
        'POST',
        '/v1/messages',
        body,
      );
      t.equal(response.status, status, name);
      t.equal(response.body.error.code, code, name);
      t.type(response.body.error.message, 'string');
    }
    const malformed = await api.call<{ error: { code: string } }>(
      'POST',
      '/v1/messages',
      undefined,
      '{"senderId":',
    );
    t.equal(malformed.status, 400);
    t.equal(malformed.body.error.code, 'INVALID_BODY');
    const huge = await api.call<{ error: { code: string } }>(
      'POST',
      '/v1/messages',
      undefined,
      JSON.stringify({ ...valid, content: 'a'.repeat(600_000) }),
    );
    t.equal(huge.status, 413, 'a body past the body limit is refused before parsing');
    t.equal(huge.body.error.code, 'BODY_TOO_LARGE');
    // Exactly at the body limit the body is parsed (and refused for its unknown field); one byte
    // more and it is refused before parsing.
    const bodyOfSize = (bytes: number) => {
      const skeleton = JSON.stringify({ ...valid, padding: '' });
      return JSON.stringify({ ...valid, padding: 'p'.repeat(bytes - Buffer.byteLength(skeleton)) });
    };
    const atLimit = await api.call<{ error: { code: string } }>(
      'POST',
      '/v1/messages',
      undefined,
      bodyOfSize(REQUEST_BODY_BYTES_LIMIT),
    );
    t.equal(atLimit.body.error.code, 'UNKNOWN_FIELD', 'a body of exactly the limit is parsed');
    const pastLimit = await api.call<{ error: { code: string } }>(
      'POST',
      '/v1/messages',
      undefined,
      bodyOfSize(REQUEST_BODY_BYTES_LIMIT + 1),
    );
    t.equal(pastLimit.status, 413, 'one byte past the limit is refused');
    t.equal(pastLimit.body.error.code, 'BODY_TOO_LARGE');
    t.equal(
      (await api.conversations(alice)).body.conversations.length,
      0,
      'nothing stored for the sender',
    );
    t.equal(
      (await api.conversations(bob)).body.conversations.length,
      0,
      'nothing stored for the recipient',
    );
    const a64 = 'a'.repeat(64);
    t.equal((await api.send(a64, bob, 'x')).status, 201, 'a 64-character id is accepted');
  });

  t.test('unknown routes and bad path ids answer with the error body', async (t) => {
    const notFound = await api.call<{ error: { code: string } }>('GET', '/v1/nope');
    t.equal(notFound.status, 404);
    t.equal(notFound.body.error.code, 'NOT_FOUND');
    const badUser = await api.call<{ error: { code: string } }>(
      'GET',
      '/v1/users/bad%20id/conversations',
    );
    t.equal(badUser.status, 400);
    t.equal(badUser.body.error.code, 'INVALID_USER_ID');
    const notParticipant = await api.messages('carol', 'alice~bob');
    t.equal(notParticipant.status, 400);
    t.equal(
      (notParticipant.body as unknown as { error: { code: string } }).error.code,
      'INVALID_CONVERSATION_ID',
    );
    const health = await api.call('GET', '/healthz');
    t.equal(health.status, 200);
  });

  t.test('user ids that are Object.prototype keys work end to end and harm no one', async (t) => {
    // Once, `GET /v1/users/__proto__/conversations` polluted Object.prototype through hashring's
    // plain-object cache, and users `value`, `next`, `before` got 500 from then on.
    const tricky = ['__proto__', 'constructor', 'toString', 'value', 'next', 'before'];
    for (const userId of tricky)
      t.equal((await api.conversations(userId)).status, 200, `${userId} reads`);
    const clientMessageId = `proto-${Date.now()}`;
    const sent = await api.send('value', '__proto__', 'hi', clientMessageId);
    t.equal(sent.status, 201);
    const conversationId = conversationIdOf('value', '__proto__');
    for (const userId of ['__proto__', 'value']) {
      const messages = await allMessages(userId, conversationId);
      t.ok(
        messages.some((message) => message.messageId === sent.body.message.messageId),
        `${userId} has the message`,
      );
    }
    for (const userId of ['next', 'before'])
      t.equal((await api.send(userId, uniqueUser('peer'), 'x')).status, 201, `${userId} sends`);
  });

  t.test(
    'content that is not well-formed Unicode, or a body that is not UTF-8, stores nothing',
    async (t) => {
      // Once, "x\udc00y" was acknowledged and cached as sent while the store kept U+FFFD, so cache and
      // store (and the two copies) differed; invalid UTF-8 bytes were silently replaced.
      const alice = uniqueUser('alice');
      const bob = uniqueUser('bob');
      const lone = await api.send(alice, bob, 'x\udc00y', 'lone-1');
      t.equal(lone.status, 400);
      t.equal((lone.body as unknown as { error: { code: string } }).error.code, 'INVALID_FIELD');
      const json = `{"senderId":"${alice}","recipientId":"${bob}","content":"x\xff\xfey","clientMessageId":"bytes-1"}`;
      const bytes = Buffer.from(json, 'latin1'); // 0xff 0xfe: never valid UTF-8
      const response = await request(`${cluster.url}/v1/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: bytes,
      });
      const answer = (await response.body.json()) as { error: { code: string } };
      t.equal(response.statusCode, 400);
      t.equal(answer.error.code, 'INVALID_BODY');
      for (const userId of [alice, bob])
        t.same(
          (await api.conversations(userId)).body.conversations,
          [],
          `nothing stored for ${userId}`,
        );
    },
  );

  t.test(
    'errors fastify and the HTTP parser answer themselves have the catalogue shape',
    async (t) => {
      const answer = async (path: string, headers: Record<string, string> = {}) => {
        const response = await request(`${cluster.url}${path}`, { headers });
        return { status: response.statusCode, body: (await response.body.json()) as unknown };
      };
      const badUrl = await answer('/v1/users/%E0%A4%A/conversations');
      t.equal(badUrl.status, 400);
      t.match(badUrl.body, { error: { code: 'INVALID_URL', message: /not a valid url/ } });
      const longUrl = await answer(`/v1/users/${'a'.repeat(20_000)}/conversations`);
      t.equal(longUrl.status, 431);
      t.match(longUrl.body, { error: { code: 'HEADERS_TOO_LARGE' } });
      const bigHeader = await answer('/healthz', { 'x-big': 'a'.repeat(20_000) });
      t.equal(bigHeader.status, 431);
      t.match(bigHeader.body, { error: { code: 'HEADERS_TOO_LARGE' } });
      const port = Number(new URL(cluster.url).port);
      const raw = await new Promise<string>((resolve, reject) => {
        let text = '';
        const socket = connect(port, '127.0.0.1', () => socket.write('GARBAGE\r\n\r\n'));
        socket.on('data', (chunk) => (text += String(chunk)));
        socket.on('end', () => resolve(text));
        socket.on('error', reject);
      });
      t.match(raw, /^HTTP\/1\.1 400 /, 'malformed HTTP gets a 400');
      t.match(raw, /"code":"MALFORMED_REQUEST"/);
    },
  );
}
