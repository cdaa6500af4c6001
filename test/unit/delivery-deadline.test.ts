/**
 * The coordinator's delivery deadline at its limit (DELIVERY_DEADLINE_MS, 4 s, retries included):
 * the other owner answering just inside it is a delivered copy; answering just past it, the
 * coordinator gives up at the deadline itself (OWNER_UNAVAILABLE, retryable), not when the answer
 * finally comes, so the user lock it holds is freed in time (ARCHITECTURE.md, "Timeouts nest").
 * A real OwnerClient over HTTP to a stand-in owner that answers late (the deadline is applied
 * around each attempt, the same for a request and a link frame).
 */
import t, { type Test } from 'tap';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DELIVERY_DEADLINE_MS, PeerDelivery } from '../../cache-node/peer-delivery.js';
import { conversationIdOf, DELIVER_PATH, type Message } from '../../protocol/index.js';
import { OwnerClient } from '../../transport/index.js';
import { ringTo } from '../helpers/one-slot-ring.js';

/** How far inside and past the deadline the stand-in answers; timers on a loaded box drift less. */
const MARGIN_MS = 400;
/** What ending "at the deadline" tolerates (timers, a loaded machine). */
const SLACK_MS = 250;

/** An owner that answers every delivery with the copy as proposed, `delayMs` after it came. */
async function lateOwner(t: Test, delayMs: number) {
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      const timer = setTimeout(() => {
        if (request.url !== DELIVER_PATH) {
          response.writeHead(404).end();
          return;
        }
        const { message } = JSON.parse(body) as { message: Message };
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ message, duplicate: false }));
      }, delayMs);
      response.on('close', () => clearTimeout(timer));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function delivery(t: Test, url: string): PeerDelivery {
  // Budgets far beyond the deadline, so only the deadline can end the call. Plain HTTP: the
  // deadline is kept around an attempt whatever carries it (link frame or request), and the
  // stand-in speaks no link protocol.
  const owners = new OwnerClient(
    () => ringTo(url),
    async () => undefined,
    { retryBudgetMs: 60_000, attemptTimeoutMs: 60_000, memberLinks: false },
  );
  t.teardown(() => owners.close());
  return new PeerDelivery(() => false, owners, { assertServing: () => undefined });
}

const message: Message = {
  messageId: 'm-1',
  conversationId: conversationIdOf('alice', 'bob'),
  senderId: 'alice',
  recipientId: 'bob',
  content: 'at the limit',
  clientMessageId: 'c-1',
  sentAt: Date.now(),
};

t.test(
  `an answer ${MARGIN_MS} ms inside the ${DELIVERY_DEADLINE_MS} ms deadline is delivered`,
  async (t) => {
    const url = await lateOwner(t, DELIVERY_DEADLINE_MS - MARGIN_MS);
    const started = performance.now();
    const answer = await delivery(t, url).deliver(message);
    t.same(answer, { message, duplicate: false }, 'the copy as the owner stored it');
    t.ok(performance.now() - started >= DELIVERY_DEADLINE_MS - MARGIN_MS, 'it waited for it');
  },
);

t.test(`an answer ${MARGIN_MS} ms past the deadline is given up on at the deadline`, async (t) => {
  const url = await lateOwner(t, DELIVERY_DEADLINE_MS + MARGIN_MS);
  const started = performance.now();
  const error = await delivery(t, url)
    .deliver(message)
    .then(
      () => new Error('delivered after the deadline'),
      (refusal: unknown) => refusal,
    );
  const elapsedMs = performance.now() - started;
  t.match(error, { code: 'OWNER_UNAVAILABLE' }, 'retryable: the client sends again');
  t.ok(
    elapsedMs >= DELIVERY_DEADLINE_MS - SLACK_MS && elapsedMs < DELIVERY_DEADLINE_MS + SLACK_MS,
    `ended at the deadline: ${Math.round(elapsedMs)} ms`,
  );
});
