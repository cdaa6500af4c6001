/**
 * OwnerClient's retry loop against a real HTTP node stand-in on loopback: it retries a refusing
 * owner until its budget runs out, but stops at once when the caller's `stopRetrying` says its
 * reason to wait is gone (the release-stall regression: a coordinator being handed over must not
 * hold its user's lock for the whole budget).
 */
import t, { type Test } from 'tap';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ChatringError } from '../../protocol/index.js';
import { OwnerClient } from '../../transport/index.js';
import { RingView } from '../../ring/index.js';

/** A one-slot ring whose only node, `n`, answers at `url`. */
function ringTo(url: string): RingView {
  return new RingView({
    epoch: 1,
    virtualNodesPerWeight: 10,
    slots: [{ slot: 'slot-0', nodeId: 'n', weight: 1 }],
    standbys: [],
    nodes: { n: { nodeId: 'n', url } },
  });
}

async function refusingNode(t: Test, answer = 'refuse' as 'refuse' | 'garble' | 'empty') {
  let requests = 0;
  const server = createServer((_request, response) => {
    requests += 1;
    if (answer !== 'refuse') {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(answer === 'garble' ? '{"cut off' : '');
      return;
    }
    response.writeHead(503, { 'content-type': 'application/json' });
    response.end(
      JSON.stringify({ error: { code: 'OWNER_UNAVAILABLE', message: 'being handed over' } }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { ring: ringTo(url), requests: () => requests };
}

t.test('a refusing owner is retried until the budget is spent', async (t) => {
  const node = await refusingNode(t);
  const client = new OwnerClient(
    () => node.ring,
    async () => undefined,
    { retryBudgetMs: 300 },
  );
  t.teardown(() => client.close());
  await t.rejects(client.call('alice', { method: 'GET', path: '/x' }), {
    code: 'OWNER_UNAVAILABLE',
  });
  t.ok(node.requests() > 1, `retried (${node.requests()} attempts)`);
});

t.test('stopRetrying ends the loop before the next attempt, with its own error', async (t) => {
  const node = await refusingNode(t);
  const client = new OwnerClient(
    () => node.ring,
    async () => undefined,
    { retryBudgetMs: 60_000 },
  );
  t.teardown(() => client.close());
  const stop = new ChatringError('OWNER_UNAVAILABLE', 'the coordinator is being handed over');
  await t.rejects(
    client.call('alice', { method: 'GET', path: '/x' }, () => stop),
    stop,
  );
  t.equal(node.requests(), 1, 'one attempt, no retry');
});

t.test(
  'an answer that is not JSON, or empty, is retried and ends as OWNER_UNAVAILABLE',
  async (t) => {
    for (const answer of ['garble', 'empty'] as const) {
      const node = await refusingNode(t, answer);
      const client = new OwnerClient(
        () => node.ring,
        async () => undefined,
        { retryBudgetMs: 300 },
      );
      t.teardown(() => client.close());
      await t.rejects(client.call('alice', { method: 'GET', path: '/x' }), {
        code: 'OWNER_UNAVAILABLE',
      });
      t.ok(node.requests() > 1, `${answer}: retried (${node.requests()} attempts)`);
    }
  },
);

t.test(
  'relay hands back the bytes as sent: a 2xx unparsed, a refusal retried or relayed',
  async (t) => {
    const answers = [
      [421, '{"error":{"code":"NOT_OWNER","message":"moved"}}'],
      [200, '{"conversations":[],"isDeltaUpdate":false,"cursor":"c1"}'],
      [400, '{"error":{"code":"INVALID_QUERY","message":"bad"}}'],
      [200, 'not json, relayed as is'],
    ] as const;
    let next = 0;
    const server = createServer((_request, response) => {
      const [status, body] = answers[next++ % answers.length] ?? [500, ''];
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const ring = ringTo(url);
    const client = new OwnerClient(
      () => ring,
      async () => undefined,
      { retryBudgetMs: 5_000 },
    );
    t.teardown(() => client.close());
    const first = await client.relay('alice', { method: 'GET', path: '/x' });
    t.equal(first.statusCode, 200, 'NOT_OWNER was retried');
    t.equal(first.bytes.toString(), answers[1][1], 'the bytes exactly as the node sent them');
    const refused = await client.relay('alice', { method: 'GET', path: '/x' });
    t.equal(refused.statusCode, 400, 'a refusal that is not retryable is relayed');
    t.equal(refused.bytes.toString(), answers[2][1]);
    const odd = await client.relay('alice', { method: 'GET', path: '/x' });
    t.equal(odd.bytes.toString(), answers[3][1], 'a 2xx is never parsed, so never judged');
    t.equal(next, 4, 'one retry in all');
  },
);
