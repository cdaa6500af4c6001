/**
 * One ChatringClient call ends by its `deadlineMs`, however the owner or router fails: an owner
 * that never answers (each attempt's 5 s timeout is cut to the time left), an owner that always
 * refuses with a retryable code (the owner client's ring-following retries and the client's own
 * retries share the one deadline), a router that never answers the ring or a routed call. Loopback
 * stand-ins, no cluster. Bounds are loose on purpose (deadline + 1 s): they prove the deadline
 * holds, never how fast anything is.
 */
import t, { type Test } from 'tap';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ChatringClient, ChatringError, type PublicRing } from '../../client/index.js';

const DEADLINE_MS = 300;
const SLACK_MS = 1_000;

type Handler = (request: IncomingMessage, response: ServerResponse) => void;

/** A loopback HTTP server running `handler`, counting requests; always closed at teardown. */
async function listen(t: Test, handler: Handler) {
  let requests = 0;
  const server = createServer((request, response) => {
    requests += 1;
    handler(request, response);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests: () => requests,
    /** Ends the requests it holds, so that a client's close need not wait for their timeouts. */
    dropConnections: () => server.closeAllConnections(),
  };
}

type Stand = Awaited<ReturnType<typeof listen>>;

const SILENT: Handler = () => undefined;

function refusing(code: string): Handler {
  return (_request, response) => {
    response.writeHead(503, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ error: { code, message: `always ${code}` } }));
  };
}

/** A router that publishes a one-node ring whose only node answers at `nodeUrl`. */
function publishing(nodeUrl: string): Handler {
  const ring: PublicRing = {
    epoch: 1,
    virtualNodesPerWeight: 10,
    slots: [{ slot: 'slot-0', nodeId: 'n', weight: 1 }],
    nodes: { n: { url: nodeUrl } },
  };
  return (_request, response) => {
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify(ring));
  };
}

/** The error one call with a fresh client ends with, and how long it took. */
async function timedCall(
  t: Test,
  stands: Stand[],
  options: ConstructorParameters<typeof ChatringClient>[0],
): Promise<{ error: unknown; elapsedMs: number }> {
  const client = new ChatringClient(options);
  t.teardown(() => {
    for (const stand of stands) stand.dropConnections();
    return client.close();
  });
  const started = performance.now();
  const error = await client.conversations('alice').then(
    () => new Error('expected a refusal, the call succeeded'),
    (refusal: unknown) => refusal,
  );
  return { error, elapsedMs: performance.now() - started };
}

function assertWithinDeadline(t: Test, elapsedMs: number): void {
  t.ok(elapsedMs < DEADLINE_MS + SLACK_MS, `ended in ${Math.round(elapsedMs)} ms`);
}

t.test('an owner that never answers: OWNER_UNAVAILABLE by the deadline', async (t) => {
  const node = await listen(t, SILENT);
  const router = await listen(t, publishing(node.url));
  const { error, elapsedMs } = await timedCall(t, [node, router], {
    routerUrls: [router.url],
    deadlineMs: DEADLINE_MS,
    attemptTimeoutMs: 5_000,
  });
  t.match(error, { code: 'OWNER_UNAVAILABLE' });
  assertWithinDeadline(t, elapsedMs);
  t.ok(node.requests() >= 1, 'the owner was called');
});

t.test(
  'an owner that always refuses OWNER_UNAVAILABLE: retried, then refused by the deadline',
  async (t) => {
    const node = await listen(t, refusing('OWNER_UNAVAILABLE'));
    const router = await listen(t, publishing(node.url));
    const { error, elapsedMs } = await timedCall(t, [node, router], {
      routerUrls: [router.url],
      deadlineMs: DEADLINE_MS,
    });
    t.match(error, { code: 'OWNER_UNAVAILABLE' });
    assertWithinDeadline(t, elapsedMs);
    t.ok(node.requests() > 1, `retried (${node.requests()} attempts)`);
  },
);

t.test(
  'an owner that always refuses STORE_UNAVAILABLE: retried, then refused by the deadline',
  async (t) => {
    const node = await listen(t, refusing('STORE_UNAVAILABLE'));
    const router = await listen(t, publishing(node.url));
    const { error, elapsedMs } = await timedCall(t, [node, router], {
      routerUrls: [router.url],
      deadlineMs: DEADLINE_MS,
    });
    t.ok(error instanceof ChatringError, 'a ChatringError');
    t.match(error, { code: 'STORE_UNAVAILABLE' }, 'the owner’s own code');
    assertWithinDeadline(t, elapsedMs);
    t.ok(node.requests() > 1, `retried (${node.requests()} attempts)`);
  },
);

t.test(
  'an owner that refuses STORE_UNAVAILABLE once and then falls silent: its refusal, by the deadline',
  async (t) => {
    let calls = 0;
    const refuse = refusing('STORE_UNAVAILABLE');
    // The first call is refused (and every link upgrade, so the calls come over HTTP); then
    // nothing answers, so the deadline cuts an attempt short: the call still ends with the
    // owner's refusal.
    const node = await listen(t, (request, response) => {
      if (request.headers.upgrade !== undefined) return refuse(request, response);
      calls += 1;
      if (calls === 1) refuse(request, response);
    });
    const router = await listen(t, publishing(node.url));
    const { error, elapsedMs } = await timedCall(t, [node, router], {
      routerUrls: [router.url],
      deadlineMs: DEADLINE_MS,
    });
    t.match(error, { code: 'STORE_UNAVAILABLE' }, 'the refusal, not the timeout after it');
    assertWithinDeadline(t, elapsedMs);
  },
);

t.test('a router that never answers the ring: OWNER_UNAVAILABLE by the deadline', async (t) => {
  const router = await listen(t, SILENT);
  const { error, elapsedMs } = await timedCall(t, [router], {
    routerUrls: [router.url],
    deadlineMs: DEADLINE_MS,
  });
  t.match(error, { code: 'OWNER_UNAVAILABLE' });
  assertWithinDeadline(t, elapsedMs);
});

t.test('router mode, a router that never answers: OWNER_UNAVAILABLE by the deadline', async (t) => {
  const router = await listen(t, SILENT);
  const { error, elapsedMs } = await timedCall(t, [router], {
    routerUrls: [router.url],
    mode: 'router',
    deadlineMs: DEADLINE_MS,
  });
  t.match(error, { code: 'OWNER_UNAVAILABLE' });
  assertWithinDeadline(t, elapsedMs);
});

t.test('deadlineMs 0 leaves no time: refused at once, nothing sent', async (t) => {
  for (const mode of ['direct', 'router'] as const) {
    const router = await listen(t, SILENT);
    const { error } = await timedCall(t, [router], {
      routerUrls: [router.url],
      mode,
      deadlineMs: 0,
    });
    t.match(error, { code: 'OWNER_UNAVAILABLE' }, mode);
    t.equal(router.requests(), 0, `${mode}: no request`);
  }
});
