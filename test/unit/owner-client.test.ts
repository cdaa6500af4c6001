/**
 * OwnerClient's retry loop against a real HTTP node stand-in on loopback: it retries a refusing
 * owner until its budget runs out, but stops at once when the caller's `stopRetrying` says its
 * reason to wait is gone (the release-stall regression: a coordinator being handed over must not
 * hold its user's lock for the whole budget). A caller's own deadline (`deadlineAtMs`) ends the
 * call by then whatever the budget and attempt timeout: retries, a silent owner, a ring refresh
 * that never ends; without one, the budget still starts at the first retry (the router's use).
 */
import t, { type Test } from 'tap';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ChatringError, DELIVER_PATH, type Clock } from '../../protocol/index.js';
import {
  MemberSigner,
  OwnerClient,
  createHttpServer,
  installAccessControl,
  serveMemberLinks,
} from '../../transport/index.js';
import { RingView } from '../../ring/index.js';
import { ringTo } from '../helpers/one-slot-ring.js';

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

/** Timing bounds are loose on purpose: they prove a deadline holds, never how fast anything is. */
const DEADLINE_MS = 300;
const SLACK_MS = 1_000;

/** A node that takes every request and never answers. */
async function silentNode(t: Test) {
  let requests = 0;
  const server = createServer(() => {
    requests += 1;
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { ring: ringTo(url), requests: () => requests };
}

/** Milliseconds `run` took to settle (it must reject), and its error. */
async function timedRefusal(run: () => Promise<unknown>) {
  const started = performance.now();
  const error = await run().then(
    () => new Error('expected a refusal, the call succeeded'),
    (refusal: unknown) => refusal,
  );
  return { error, elapsedMs: performance.now() - started };
}

t.test('a per-call deadline ends a refused call by then, whatever the retry budget', async (t) => {
  const node = await refusingNode(t);
  const client = new OwnerClient(
    () => node.ring,
    async () => undefined,
    { retryBudgetMs: 60_000 },
  );
  t.teardown(() => client.close());
  const { error, elapsedMs } = await timedRefusal(() =>
    client.call('alice', { method: 'GET', path: '/x' }, undefined, {
      deadlineAtMs: performance.now() + DEADLINE_MS,
    }),
  );
  t.match(error, { code: 'OWNER_UNAVAILABLE' }, 'the owner is unavailable');
  t.ok(elapsedMs < DEADLINE_MS + SLACK_MS, `ended in ${Math.round(elapsedMs)} ms`);
  t.ok(node.requests() > 1, `retried (${node.requests()} attempts)`);
});

t.test('a per-call deadline cuts the attempt timeout of a silent owner', async (t) => {
  const node = await silentNode(t);
  const client = new OwnerClient(
    () => node.ring,
    async () => undefined,
    { retryBudgetMs: 60_000, attemptTimeoutMs: 60_000 },
  );
  t.teardown(() => client.close());
  const request = { method: 'GET', path: '/x' } as const;
  const calls = {
    call: () =>
      client.call('alice', request, undefined, { deadlineAtMs: performance.now() + DEADLINE_MS }),
    relay: () => client.relay('alice', request, { deadlineAtMs: performance.now() + DEADLINE_MS }),
    // The same deadline counted from the call's start (how a node bounds its deliveries).
    within: () => client.call('alice', request, undefined, { withinMs: DEADLINE_MS }),
  };
  for (const [name, run] of Object.entries(calls)) {
    const { error, elapsedMs } = await timedRefusal(run);
    t.match(error, { code: 'OWNER_UNAVAILABLE' }, `${name}: the owner is unavailable`);
    t.ok(elapsedMs < DEADLINE_MS + SLACK_MS, `${name}: ended in ${Math.round(elapsedMs)} ms`);
  }
});

t.test('a ring refresh that never ends does not hold a call past its deadline', async (t) => {
  const node = await refusingNode(t);
  const client = new OwnerClient(
    () => node.ring,
    () => new Promise<void>(() => undefined),
    { retryBudgetMs: 60_000 },
  );
  t.teardown(() => client.close());
  const { error, elapsedMs } = await timedRefusal(() =>
    client.call('alice', { method: 'GET', path: '/x' }, undefined, {
      deadlineAtMs: performance.now() + DEADLINE_MS,
    }),
  );
  t.match(error, { code: 'OWNER_UNAVAILABLE' });
  t.ok(elapsedMs < DEADLINE_MS + SLACK_MS, `ended in ${Math.round(elapsedMs)} ms`);
});

t.test('a deadline already past sends nothing', async (t) => {
  const node = await refusingNode(t);
  const client = new OwnerClient(
    () => node.ring,
    async () => undefined,
  );
  t.teardown(() => client.close());
  await t.rejects(
    client.call('alice', { method: 'GET', path: '/x' }, undefined, {
      deadlineAtMs: performance.now(),
    }),
    { code: 'OWNER_UNAVAILABLE' },
  );
  t.equal(node.requests(), 0, 'no attempt');
});

/** A clock that moves only when slept on: the retry schedule becomes exact. */
function steppedClock(): Clock {
  let nowMs = 0;
  return {
    monotonicNow: () => nowMs,
    wallNow: () => nowMs,
    sleep: async (ms: number) => {
      nowMs += ms;
    },
  };
}

t.test(
  'retries on a stepped clock: a per-call deadline stops before it, the budget (no deadline) is unchanged',
  async (t) => {
    // Backoff 50, 100, 200, 400, 400 ms. With a 1,000 ms deadline from the call's start, attempts
    // start at 0, 50, 150, 350 and 750; the next backoff is cut to 250 ms, reaches the deadline,
    // and no attempt starts there. The budget alone (the router's use) starts at the first retry
    // and is checked before each backoff only, so a sixth attempt starts at 1,150.
    const node = await refusingNode(t);
    const clock = steppedClock();
    const client = new OwnerClient(
      () => node.ring,
      async () => undefined,
      { retryBudgetMs: 1_000 },
      clock,
    );
    t.teardown(() => client.close());
    const request = { method: 'GET', path: '/x' } as const;
    await t.rejects(
      client.call('alice', request, undefined, { deadlineAtMs: clock.monotonicNow() + 1_000 }),
      { code: 'OWNER_UNAVAILABLE' },
    );
    t.equal(node.requests(), 5, 'five attempts within the deadline');
    t.equal(clock.monotonicNow(), 1_000, 'ended at the deadline, not after it');
    const before = node.requests();
    await t.rejects(client.relay('alice', request), { code: 'OWNER_UNAVAILABLE' });
    t.equal(node.requests() - before, 6, 'six attempts under the budget alone, as before');
  },
);

t.test(
  'a delivery rides the link to a node that serves it there, and HTTP to one of the release before',
  async (t) => {
    const secret = Buffer.from('a-cluster-secret-of-at-least-32-bytes!!');
    const signer = new MemberSigner('node-1', secret);
    const deliverer = async (linkDelivery: boolean) => {
      const over: string[] = [];
      const app = createHttpServer({});
      const policy = {
        members: signer.verifier(),
        appTokens: undefined,
        operatorTokens: undefined,
      };
      installAccessControl(app, policy);
      serveMemberLinks(app, policy, (request) =>
        linkDelivery && request.path === DELIVER_PATH
          ? {
              route: DELIVER_PATH,
              run: () => {
                over.push('link');
                return { status: 200, body: Buffer.from('{"over":"link"}') };
              },
            }
          : undefined,
      );
      app.post(DELIVER_PATH, async () => {
        over.push('http');
        return { over: 'http' };
      });
      await app.listen({ port: 0, host: '127.0.0.1' });
      t.teardown(() => app.close());
      const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
      return { ring: ringTo(url), over };
    };
    for (const [linkDelivery, expected] of [
      [true, 'link'],
      [false, 'http'],
    ] as const) {
      const node = await deliverer(linkDelivery);
      const client = new OwnerClient(
        () => node.ring,
        async () => undefined,
        { signer },
      );
      t.teardown(() => client.close());
      const answer = await client.call('bob', { method: 'POST', path: DELIVER_PATH, body: {} });
      t.same([answer.statusCode, answer.body], [200, { over: expected }], `over ${expected}`);
      t.same(node.over, [expected], 'asked once, where it is served');
    }
  },
);

t.test(
  'a ring that moves the user abandons the call at a silent owner and asks the new one',
  async (t) => {
    const secret = Buffer.from('a-cluster-secret-of-at-least-32-bytes!!');
    const signer = new MemberSigner('router-1', secret);
    const policy = { members: signer.verifier(), appTokens: undefined, operatorTokens: undefined };
    /** A node serving `/v1/x` on links: silent (a paused process) or answering with its name. */
    const node = async (name: string, silent: boolean) => {
      const app = createHttpServer({});
      installAccessControl(app, policy);
      serveMemberLinks(app, policy, () => ({
        route: '/v1/x',
        run: () =>
          silent
            ? new Promise(() => undefined)
            : { status: 200, body: Buffer.from(JSON.stringify({ from: name })) },
      }));
      await app.listen({ port: 0, host: '127.0.0.1' });
      t.teardown(() => app.close());
      return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    };
    const paused = ringTo(await node('paused', true));
    const standby = new RingView({ ...ringTo(await node('standby', false)).config, epoch: 2 });
    let ring = paused;
    const client = new OwnerClient(
      () => ring,
      async () => undefined,
      { signer, attemptTimeoutMs: 30_000 },
    );
    t.teardown(() => client.close());
    const startedAt = performance.now();
    const call = client.call('alice', { method: 'GET', path: '/v1/x' });
    await new Promise((resolve) => setTimeout(resolve, 200));
    ring = standby; // the standby took the slot
    t.equal(client.ringMoved(standby), 1, 'the call in flight to the old owner is abandoned');
    const answer = await call;
    t.same(answer.body, { from: 'standby' }, 'and answered by the new owner');
    t.ok(performance.now() - startedAt < 5_000, 'long before the 30 s attempt timeout');
    t.equal(client.ringMoved(standby), 0, 'nothing left to abandon');
  },
);
