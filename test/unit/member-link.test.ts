/**
 * Member links (transport/link), against a real createHttpServer on loopback: frames survive any
 * cut of the byte stream and refuse what is not theirs; a link carries many requests at once and
 * matches each answer to its request; it is opened only by a valid member signature; a request
 * on it meets the server's in-flight limit and closing like an HTTP one; a link that dies fails
 * what it carried with OWNER_UNAVAILABLE and the next request opens a new one; a request with no
 * answer in time fails as a timeout while the link stays; a peer without links is called over
 * HTTP; the client's own bound refuses with OVERLOADED; a peer gone silent (a partition) ends its
 * link after the silence limit, not the request timeout, while a slow peer answers the probe and
 * keeps it.
 */
import t, { type Test } from 'tap';
import { request as httpRequest } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { ChatringError } from '../../protocol/index.js';
import { createHttpServer, httpServerLoad } from '../../transport/http-server.js';
import {
  MEMBER_SIGNATURE_HEADER,
  MemberSigner,
  TokenSet,
  installAccessControl,
} from '../../transport/security/index.js';
import { serveMemberLinks, type LinkRoutes } from '../../transport/link/link-server.js';
import {
  LINK_TIMEOUT_CODE,
  MemberLinks,
  linkCredentials,
} from '../../transport/link/link-client.js';
import {
  FrameReader,
  LINK_PROBE_PATH,
  MEMBER_LINK_PATH,
  MEMBER_LINK_PROTOCOL,
  decodeAnswer,
  decodeRequest,
  encodeAnswer,
  encodeRequest,
} from '../../transport/link/link-frames.js';
import { PeerClient, type PeerRequest, type RawPeerResponse } from '../../transport/index.js';

const SECRET = Buffer.from('a-cluster-secret-of-at-least-32-bytes!!');
const OTHER_SECRET = Buffer.from('another-cluster-secret-of-32-bytes-or-more');

t.test('frames: a request and an answer come back as they went, cut anywhere', async (t) => {
  const request = {
    method: 'POST' as const,
    path: '/v1/users/al%C3%ADce/conversations?pageSize=20&cursor=abc',
    headers: { 'x-chatring-epoch': '7', 'x-request-id': 'r-1' },
    body: Buffer.from(JSON.stringify({ content: 'héllo 👋' })),
  };
  const frames = Buffer.concat([
    encodeRequest(1, request),
    encodeRequest(0xffffffff, { ...request, method: 'GET', headers: {}, body: Buffer.alloc(0) }),
  ]);
  for (const cut of [1, 3, 7, 8, 9, frames.length - 1]) {
    const seen: [number, ReturnType<typeof decodeRequest>][] = [];
    const reader = new FrameReader(1_024, (id, payload) => seen.push([id, decodeRequest(payload)]));
    reader.push(frames.subarray(0, cut));
    reader.push(frames.subarray(cut));
    t.equal(reader.pendingBytes, 0, `cut at ${cut}: nothing left over`);
    t.same(
      seen.map(([id, decoded]) => [id, decoded.method, decoded.path, decoded.headers]),
      [
        [1, 'POST', request.path, request.headers],
        [0xffffffff, 'GET', request.path, {}],
      ],
    );
    t.equal(seen[0]?.[1].body.toString('utf8'), request.body.toString('utf8'));
  }
  // Byte by byte, too.
  const answers: [number, number, string][] = [];
  const reader = new FrameReader(1_024, (id, payload) => {
    const answer = decodeAnswer(payload);
    answers.push([id, answer.status, answer.body.toString('utf8')]);
  });
  const answerBytes = Buffer.concat([
    ...encodeAnswer(9, 201, Buffer.from('{"a":1}')),
    ...encodeAnswer(10, 503, Buffer.alloc(0)),
  ]);
  for (const byte of answerBytes) reader.push(Buffer.from([byte]));
  t.same(answers, [
    [9, 201, '{"a":1}'],
    [10, 503, ''],
  ]);
});

t.test('frames: a frame past the limit, or malformed, is refused', async (t) => {
  const frame = encodeRequest(1, { method: 'GET', path: '/x', headers: {}, body: Buffer.alloc(0) });
  const payloadBytes = frame.length - 8;
  new FrameReader(payloadBytes, () => undefined).push(frame); // at the limit: read
  t.throws(() => new FrameReader(payloadBytes - 1, () => undefined).push(frame), {
    code: 'INTERNAL',
  });
  t.throws(() => decodeRequest(Buffer.from([9, 0, 0, 0])), { code: 'INTERNAL' });
  t.throws(() => decodeRequest(Buffer.from([0, 0, 9, 47, 0])), { code: 'INTERNAL' });
  t.throws(() => decodeRequest(Buffer.from([0, 0, 1, 47, 1, 4, 97])), { code: 'INTERNAL' });
});

interface LinkServer {
  app: FastifyInstance;
  url: string;
  /** Requests the routes saw, in arrival order. */
  seen: string[];
  /** Every connection the server holds, links included. */
  sockets: Set<Socket>;
}

/**
 * A server with member links whose routes answer `GET /echo/X` with X, `GET /slow/X` after a
 * release, `POST /body` with the body it got, and know nothing else.
 */
async function linkServer(
  t: Test,
  options: {
    requestsInFlightMax?: number;
    /** The server's HTTP timeouts, all set to this (ms), to show a link outlives them. */
    httpTimeoutsMs?: number;
    links?: boolean;
    held?: (() => void)[];
    appTokens?: string[];
  } = {},
): Promise<LinkServer> {
  const timeoutsMs = options.httpTimeoutsMs;
  const app = createHttpServer({
    ...(options.requestsInFlightMax === undefined
      ? {}
      : { requestsInFlightMax: options.requestsInFlightMax }),
    ...(timeoutsMs === undefined
      ? {}
      : {
          headersTimeoutMs: timeoutsMs,
          requestTimeoutMs: timeoutsMs,
          keepAliveTimeoutMs: timeoutsMs,
          connectionIdleTimeoutMs: timeoutsMs,
        }),
  });
  const policy = {
    members: new MemberSigner('node-1', SECRET).verifier(),
    appTokens:
      options.appTokens === undefined ? undefined : TokenSet.from(options.appTokens, 'app'),
    operatorTokens: undefined,
  };
  installAccessControl(app, policy);
  const seen: string[] = [];
  const routes: LinkRoutes = (request, caller) => {
    const [, , kind, value = ''] = request.path.split('/');
    if (kind === 'caller')
      return {
        route: '/v1/caller',
        run: () => ({ status: 200, body: Buffer.from(JSON.stringify({ caller })) }),
      };
    if (kind === 'members-only') {
      if (caller !== 'member') throw new ChatringError('UNAUTHENTICATED', 'members only');
      return { route: '/v1/members-only', run: () => ({ status: 204, body: Buffer.alloc(0) }) };
    }
    if (kind === 'echo')
      return {
        route: '/v1/echo/:value',
        run: () => {
          seen.push(request.path);
          return { status: 200, body: Buffer.from(JSON.stringify({ value })) };
        },
      };
    if (kind === 'slow')
      return {
        route: '/v1/slow/:value',
        run: () =>
          new Promise((resolve) => {
            seen.push(request.path);
            options.held?.push(() =>
              resolve({ status: 200, body: Buffer.from(JSON.stringify({ value })) }),
            );
          }),
      };
    if (kind === 'rid')
      return {
        route: '/v1/rid',
        run: (_request, requestId) => ({
          status: 200,
          body: Buffer.from(JSON.stringify({ requestId })),
        }),
      };
    if (kind === 'big')
      return {
        route: '/v1/big',
        run: () => {
          seen.push(request.path);
          return { status: 200, body: Buffer.alloc(1024 * 1024, 0x61) };
        },
      };
    if (kind === 'body' && request.method === 'POST')
      return {
        route: '/v1/body',
        run: () => ({ status: 201, body: request.body }),
      };
    if (kind === 'throw')
      return {
        route: '/v1/throw',
        run: () => {
          throw new ChatringError('NOT_OWNER', 'moved');
        },
      };
    return undefined;
  };
  if (options.links !== false) serveMemberLinks(app, policy, routes);
  app.get('/v1/echo/:value', async (request) => ({
    value: (request.params as { value: string }).value,
    over: 'http',
  }));
  const sockets = new Set<Socket>();
  app.server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  t.teardown(() => app.close());
  const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  return { app, url, seen, sockets };
}

function links(
  t: Test,
  options: {
    secret?: Buffer;
    timeoutMs?: number;
    inFlightMax?: number;
    silenceLimitMs?: number;
    /** An app client: this bearer token (or none: null) instead of a member signature. */
    appToken?: string | null;
  } = {},
): { links: MemberLinks; fallbacks: PeerRequest[] } {
  const signer =
    options.appToken === undefined
      ? new MemberSigner('router-1', options.secret ?? SECRET)
      : undefined;
  const bearerToken = options.appToken ?? undefined;
  const peers = new PeerClient('test', { signer, bearerToken });
  const fallbacks: PeerRequest[] = [];
  const created = new MemberLinks('test', {
    credentials: linkCredentials(signer, bearerToken),
    timeoutMs: options.timeoutMs ?? 2_000,
    inFlightMax: options.inFlightMax ?? 1_000,
    ...(options.silenceLimitMs === undefined ? {} : { silenceLimitMs: options.silenceLimitMs }),
    fallback: (url, peerRequest) => {
      fallbacks.push(peerRequest);
      return peers.relay(url, peerRequest);
    },
  });
  t.teardown(async () => {
    await created.close();
    await peers.close();
  });
  return { links: created, fallbacks };
}

function json(answer: RawPeerResponse): unknown {
  return JSON.parse(answer.bytes.toString('utf8'));
}

t.test('one link carries many requests at once; each answer reaches its caller', async (t) => {
  const server = await linkServer(t);
  const { links: client, fallbacks } = links(t);
  const answers = await Promise.all(
    Array.from({ length: 500 }, (_, index) =>
      client.relay(server.url, { method: 'GET', path: `/v1/echo/${index}` }),
    ),
  );
  t.same(
    answers.map((answer) => [answer.statusCode, json(answer)]),
    Array.from({ length: 500 }, (_, index) => [200, { value: String(index) }]),
  );
  t.equal(client.openLinks, 1, 'one link to the peer');
  t.same(fallbacks, [], 'nothing went over HTTP');
  const body = { text: 'x'.repeat(300_000), emoji: '👋' };
  const echoed = await client.relay(server.url, { method: 'POST', path: '/v1/body', body });
  t.equal(echoed.statusCode, 201);
  t.same(json(echoed), body, 'a body of 300 kB goes and comes back whole');
  const refused = await client.relay(server.url, { method: 'GET', path: '/v1/throw' });
  t.same(
    [refused.statusCode, json(refused)],
    [421, { error: { code: 'NOT_OWNER', message: 'moved' } }],
  );
  const unknown = await client.relay(server.url, { method: 'GET', path: '/v1/nothing' });
  t.equal(unknown.statusCode, 404);
  t.equal(httpServerLoad(server.app).requestsInFlight, 0, 'every request left the count');
  // Request ids, as over HTTP: the caller's when it sent one, else one made by the server.
  const given = await client.relay(server.url, {
    method: 'GET',
    path: '/v1/rid',
    headers: { 'x-request-id': 'from-the-router-1' },
  });
  t.same(json(given), { requestId: 'from-the-router-1' });
  const made = json(await client.relay(server.url, { method: 'GET', path: '/v1/rid' })) as {
    requestId: string;
  };
  t.match(made.requestId, /^[\w-]{8,}$/, `one made: ${made.requestId}`);
});

t.test(
  'a link opens only with a valid member signature (or, below, an app credential)',
  async (t) => {
    const server = await linkServer(t, { appTokens: ['an-app-token-for-the-link-test'] });
    const upgrade = (headers: Record<string, string>): Promise<number> =>
      new Promise((resolve, reject) => {
        const request = httpRequest(`${server.url}${MEMBER_LINK_PATH}`, {
          headers: { connection: 'upgrade', upgrade: MEMBER_LINK_PROTOCOL, ...headers },
        });
        request.on('upgrade', (response, socket) => {
          socket.destroy();
          resolve(response.statusCode ?? 0);
        });
        request.on('response', (response) => {
          response.resume();
          resolve(response.statusCode ?? 0);
        });
        request.on('error', reject);
        request.end();
      });
    t.equal(await upgrade({}), 401, 'neither signed nor an app token');
    t.equal(
      await upgrade({
        [MEMBER_SIGNATURE_HEADER]: new MemberSigner('router-1', OTHER_SECRET).sign(
          'GET',
          MEMBER_LINK_PATH,
          undefined,
        ),
      }),
      403,
      'signed with another secret',
    );
    t.equal(
      await upgrade({
        [MEMBER_SIGNATURE_HEADER]: new MemberSigner('router-1', SECRET).sign(
          'GET',
          '/other',
          undefined,
        ),
      }),
      403,
      'a signature over another path',
    );
    t.equal(
      await upgrade({
        [MEMBER_SIGNATURE_HEADER]: new MemberSigner('router-1', SECRET).sign(
          'GET',
          MEMBER_LINK_PATH,
          undefined,
        ),
      }),
      101,
      'a member',
    );
    // A client with the wrong secret gets the refusal over HTTP, never a link.
    const { links: wrong, fallbacks } = links(t, { secret: OTHER_SECRET });
    const answer = await wrong.relay(server.url, { method: 'GET', path: '/v1/echo/1' });
    t.equal(answer.statusCode, 403);
    t.equal(fallbacks.length, 1);
    t.same(server.seen, [], 'no route ran');
  },
);

t.test('an app opens a link with what /v1 asks of it: an app token where configured', async (t) => {
  const APP_TOKEN = 'an-app-token-for-the-link-test';
  const guarded = await linkServer(t, { appTokens: [APP_TOKEN] });
  const { links: app, fallbacks } = links(t, { appToken: APP_TOKEN });
  t.same(json(await app.relay(guarded.url, { method: 'GET', path: '/v1/echo/1' })), { value: '1' });
  t.same(fallbacks, [], 'over a link');
  const { links: wrong, fallbacks: wrongFallbacks } = links(t, { appToken: 'not-the-app-token' });
  t.equal((await wrong.relay(guarded.url, { method: 'GET', path: '/v1/echo/2' })).statusCode, 403);
  const { links: none, fallbacks: noneFallbacks } = links(t, { appToken: null });
  t.equal((await none.relay(guarded.url, { method: 'GET', path: '/v1/echo/3' })).statusCode, 401);
  t.same(
    [wrongFallbacks.length, noneFallbacks.length],
    [1, 1],
    'refused links: the refusal came over HTTP',
  );
  t.same(guarded.seen, ['/v1/echo/1'], 'no route ran for a refused caller');
  // Without app tokens /v1 takes anyone (loopback only), and so does a link.
  const open = await linkServer(t);
  const { links: anonymous, fallbacks: anonymousFallbacks } = links(t, { appToken: null });
  t.same(json(await anonymous.relay(open.url, { method: 'GET', path: '/v1/echo/4' })), {
    value: '4',
  });
  t.same(anonymousFallbacks, []);
});

t.test(
  'routes know who opened the link, and a route refused to that caller answers the refusal',
  async (t) => {
    const server = await linkServer(t);
    const { links: member } = links(t);
    const { links: app, fallbacks } = links(t, { appToken: null });
    t.same(json(await member.relay(server.url, { method: 'GET', path: '/v1/caller' })), {
      caller: 'member',
    });
    t.same(json(await app.relay(server.url, { method: 'GET', path: '/v1/caller' })), {
      caller: 'app',
    });
    const allowed = await member.relay(server.url, { method: 'POST', path: '/v1/members-only' });
    t.equal(allowed.statusCode, 204, "a member's link may");
    const refused = await app.relay(server.url, { method: 'POST', path: '/v1/members-only' });
    t.equal(refused.statusCode, 401, "an app's link may not");
    t.match(json(refused), { error: { code: 'UNAUTHENTICATED' } });
    t.same(fallbacks, [], 'over links, not HTTP');
    t.equal(app.openLinks, 1, 'the refusal leaves the link open for what the caller may do');
  },
);

t.test(
  'a caller that sends and never reads: the server stops reading, then catches up',
  async (t) => {
    const server = await linkServer(t);
    const socket = await new Promise<Socket>((resolve, reject) => {
      const request = httpRequest(`${server.url}${MEMBER_LINK_PATH}`, {
        headers: {
          connection: 'upgrade',
          upgrade: MEMBER_LINK_PROTOCOL,
          [MEMBER_SIGNATURE_HEADER]: new MemberSigner('router-1', SECRET).sign(
            'GET',
            MEMBER_LINK_PATH,
            undefined,
          ),
        },
      });
      request.on('upgrade', (_response, upgraded: Socket) => resolve(upgraded));
      request.on('error', reject);
      request.end();
    });
    t.teardown(() => socket.destroy());
    const requests = 200;
    for (let id = 1; id <= requests; id += 1)
      socket.write(
        encodeRequest(id, { method: 'GET', path: '/v1/big', headers: {}, body: Buffer.alloc(0) }),
      );
    await new Promise((resolve) => setTimeout(resolve, 500));
    const answeredUnread = server.seen.length;
    t.ok(
      answeredUnread < requests / 2,
      `${answeredUnread} of ${requests} answers of 1 MiB made while nobody read them`,
    );
    const ids: number[] = [];
    const reader = new FrameReader(2 * 1024 * 1024, (id, payload) => {
      t.equal(decodeAnswer(payload).body.length, 1024 * 1024);
      ids.push(id);
    });
    socket.on('data', (chunk: Buffer) => reader.push(chunk));
    while (ids.length < requests) await new Promise((resolve) => setTimeout(resolve, 10));
    t.same(
      ids,
      Array.from({ length: requests }, (_, index) => index + 1),
      'then every answer, in order',
    );
  },
);

t.test('the in-flight limit and closing hold for link requests', async (t) => {
  const held: (() => void)[] = [];
  const server = await linkServer(t, { requestsInFlightMax: 2, held });
  const { links: client } = links(t);
  const slow = [1, 2].map((index) =>
    client.relay(server.url, { method: 'GET', path: `/v1/slow/${index}` }),
  );
  while (held.length < 2) await new Promise((resolve) => setTimeout(resolve, 5));
  const refused = await client.relay(server.url, { method: 'GET', path: '/v1/echo/3' });
  t.equal(refused.statusCode, 503);
  t.match(json(refused), { error: { code: 'OVERLOADED' } });
  t.equal(httpServerLoad(server.app).requestsRefused, 1);
  for (const release of held) release();
  t.same((await Promise.all(slow)).map(json), [{ value: '1' }, { value: '2' }]);
  // Closing: a request already under way finishes, a new one is told to go elsewhere.
  held.length = 0;
  const underWay = client.relay(server.url, { method: 'GET', path: '/v1/slow/4' });
  while (held.length < 1) await new Promise((resolve) => setTimeout(resolve, 5));
  const closed = server.app.close();
  await new Promise((resolve) => setTimeout(resolve, 20));
  const late = await client.relay(server.url, { method: 'GET', path: '/v1/echo/5' });
  t.equal(late.statusCode, 503);
  t.match(json(late), { error: { code: 'OWNER_UNAVAILABLE' } });
  // A new link to a closing server is refused 503: the request goes over HTTP, where the server
  // answers what it answers every request now.
  const { links: newcomer, fallbacks } = links(t);
  const refusedLink = await newcomer.relay(server.url, { method: 'GET', path: '/v1/echo/6' });
  t.equal(refusedLink.statusCode, 503);
  t.match(json(refusedLink), { error: { code: 'OWNER_UNAVAILABLE' } });
  t.equal(fallbacks.length, 1, 'over HTTP');
  held[0]?.();
  t.same(json(await underWay), { value: '4' }, 'the request under way was answered');
  await closed;
});

t.test('a link that dies fails what it carried; the next request opens a new one', async (t) => {
  const held: (() => void)[] = [];
  const server = await linkServer(t, { held });
  const { links: client } = links(t);
  const carried = client.relay(server.url, { method: 'GET', path: '/v1/slow/1' });
  while (held.length < 1) await new Promise((resolve) => setTimeout(resolve, 5));
  // The node's side of every connection goes away, as when its process dies.
  for (const socket of server.sockets) socket.destroy();
  await t.rejects(carried, { code: 'OWNER_UNAVAILABLE' });
  const again = await client.relay(server.url, { method: 'GET', path: '/v1/echo/2' });
  t.same(json(again), { value: '2' });
});

t.test('no answer in time: that request fails as a timeout, the link stays', async (t) => {
  const held: (() => void)[] = [];
  const server = await linkServer(t, { held });
  const { links: client } = links(t, { timeoutMs: 100 });
  const started = performance.now();
  const error = await client
    .relay(server.url, { method: 'GET', path: '/v1/slow/1' })
    .catch((caught: unknown) => caught);
  const waitedMs = performance.now() - started;
  t.match(error, { code: 'OWNER_UNAVAILABLE', cause: { code: LINK_TIMEOUT_CODE } });
  t.ok(waitedMs >= 100 && waitedMs < 1_000, `failed after ${Math.round(waitedMs)} ms`);
  held[0]?.(); // its late answer is dropped
  t.same(json(await client.relay(server.url, { method: 'GET', path: '/v1/echo/2' })), {
    value: '2',
  });
  t.equal(client.openLinks, 1);
});

t.test(
  'a peer that never answers the upgrade: the request times out, the link is dropped',
  async (t) => {
    const silent = createNetServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    t.teardown(() => new Promise<void>((resolve) => silent.close(() => resolve())));
    silent.on('connection', (socket) => t.teardown(() => socket.destroy()));
    const url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
    const { links: client, fallbacks } = links(t, { timeoutMs: 100 });
    await t.rejects(client.relay(url, { method: 'GET', path: '/v1/echo/1' }), {
      code: 'OWNER_UNAVAILABLE',
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    t.equal(client.openLinks, 0, 'the half-open link is gone');
    t.same(fallbacks, [], 'a silent peer is not taken for one without links');
  },
);

t.test("a link outlives the server's HTTP timeouts: it idles between bursts", async (t) => {
  const server = await linkServer(t, { httpTimeoutsMs: 200 });
  const { links: client } = links(t);
  t.same(json(await client.relay(server.url, { method: 'GET', path: '/v1/echo/1' })), {
    value: '1',
  });
  // Idle for longer than every HTTP timeout, and Node's checking interval.
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  t.same(json(await client.relay(server.url, { method: 'GET', path: '/v1/echo/2' })), {
    value: '2',
  });
  t.equal(client.openLinks, 1, 'the same link');
  t.equal(server.sockets.size, 1, 'one connection all along');
});

t.test('a peer without member links is called over HTTP', async (t) => {
  const server = await linkServer(t, { links: false });
  const { links: client, fallbacks } = links(t);
  const first = await client.relay(server.url, { method: 'GET', path: '/v1/echo/1' });
  t.same(json(first), { value: '1', over: 'http' });
  const second = await client.relay(server.url, { method: 'GET', path: '/v1/echo/2' });
  t.same(json(second), { value: '2', over: 'http' });
  t.equal(fallbacks.length, 2, 'both over HTTP; the refusal is remembered');
});

t.test("the client's bound: one request past it is OVERLOADED, not sent", async (t) => {
  const held: (() => void)[] = [];
  const server = await linkServer(t, { held });
  const { links: client } = links(t, { inFlightMax: 2 });
  const underWay = [1, 2].map((index) =>
    client.relay(server.url, { method: 'GET', path: `/v1/slow/${index}` }),
  );
  await t.rejects(client.relay(server.url, { method: 'GET', path: '/v1/slow/3' }), {
    code: 'OVERLOADED',
  });
  while (held.length < 2) await new Promise((resolve) => setTimeout(resolve, 5));
  for (const release of held) release();
  await Promise.all(underWay);
  t.same(server.seen, ['/v1/slow/1', '/v1/slow/2']);
});

t.test('requests for users the ring moved are abandoned at once; the link stays', async (t) => {
  const held: (() => void)[] = [];
  const server = await linkServer(t, { held });
  const { links: client } = links(t, { timeoutMs: 30_000 });
  const forBob = client.relay(server.url, { method: 'GET', path: '/v1/slow/bob', userId: 'bob' });
  const forAlice = client.relay(server.url, {
    method: 'GET',
    path: '/v1/slow/alice',
    userId: 'alice',
  });
  await eventuallyTrue(() => held.length === 2);
  const startedAt = performance.now();
  t.equal(
    client.abandonMoved((url, userId) => url === server.url && userId === 'bob'),
    1,
    'one request abandoned',
  );
  const refused = await forBob.then(
    () => undefined,
    (error: unknown) => error,
  );
  t.ok(performance.now() - startedAt < 1_000, 'at once, not at its 30 s timeout');
  t.match(refused, { code: 'OWNER_UNAVAILABLE', message: /moved bob/ });
  for (const release of held) release();
  t.same(json(await forAlice), { value: 'alice' }, "another user's request is answered");
  t.equal(client.openLinks, 1, 'on the same link');
  t.same(json(await client.relay(server.url, { method: 'GET', path: '/v1/echo/after' })), {
    value: 'after',
  });
});

t.test('held requests do not count against the link’s in-flight bound', async (t) => {
  const held: (() => void)[] = [];
  const server = await linkServer(t, { held });
  const { links: client } = links(t, { inFlightMax: 2 });
  const waits = Array.from({ length: 5 }, (_, index) =>
    client.relay(server.url, { method: 'GET', path: `/v1/slow/w${index}`, held: true }),
  );
  await eventuallyTrue(() => held.length === 5);
  const counted = [
    client.relay(server.url, { method: 'GET', path: '/v1/slow/a' }),
    client.relay(server.url, { method: 'GET', path: '/v1/slow/b' }),
  ];
  await eventuallyTrue(() => held.length === 7);
  const third = await client.relay(server.url, { method: 'GET', path: '/v1/echo/c' }).then(
    () => 'answered',
    (error: unknown) => (error as ChatringError).code,
  );
  t.equal(third, 'OVERLOADED', 'the bound still holds for requests that answer at once');
  for (const release of held) release();
  t.equal((await Promise.all([...waits, ...counted])).length, 7, 'everything else answered');
});

async function eventuallyTrue(check: () => boolean): Promise<void> {
  const deadline = performance.now() + 5_000;
  while (!check()) {
    if (performance.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

t.test(
  'a peer gone silent ends its link after the silence limit; its requests then fail at once for a while',
  async (t) => {
    const server = await linkServer(t);
    const { links: client } = links(t, { timeoutMs: 10_000, silenceLimitMs: 300 });
    t.same(json(await client.relay(server.url, { method: 'GET', path: '/v1/echo/1' })), {
      value: '1',
    });
    // The peer's side stops reading and answering, as when a partition drops every packet.
    for (const socket of server.sockets) socket.pause();
    const started = performance.now();
    const error = await client
      .relay(server.url, { method: 'GET', path: '/v1/echo/2' })
      .catch((caught: unknown) => caught);
    const waitedMs = performance.now() - started;
    t.match(error, { code: 'OWNER_UNAVAILABLE', message: /silence limit/ });
    t.ok(waitedMs >= 300 && waitedMs < 5_000, `failed after ${Math.round(waitedMs)} ms, not 10 s`);
    t.equal(client.openLinks, 0, 'the silent link is closed');
    const shunnedAt = performance.now();
    await t.rejects(client.relay(server.url, { method: 'GET', path: '/v1/echo/3' }), {
      code: 'OWNER_UNAVAILABLE',
      message: /answered nothing/,
    });
    // "at once": well under the 10 s request timeout; the message already says it was not sent.
    t.ok(performance.now() - shunnedAt < 500, 'the next request fails at once, unsent');
    for (const socket of server.sockets) socket.resume();
    await new Promise((resolve) => setTimeout(resolve, 1_050));
    t.same(json(await client.relay(server.url, { method: 'GET', path: '/v1/echo/4' })), {
      value: '4',
    });
  },
);

t.test(
  'a slow peer answers the probe and keeps its link; held requests are silent by design',
  async (t) => {
    const held: (() => void)[] = [];
    const server = await linkServer(t, { held });
    // The probe goes out at half the limit and its answer must be read before the limit: the
    // server shares this process, so the limit leaves room for a stall of a loaded machine.
    const SILENCE_LIMIT_MS = 600;
    const { links: client } = links(t, { timeoutMs: 10_000, silenceLimitMs: SILENCE_LIMIT_MS });
    const slow = client.relay(server.url, { method: 'GET', path: '/v1/slow/s' });
    const watch = client.relay(server.url, { method: 'GET', path: '/v1/slow/w', held: true });
    await eventuallyTrue(() => held.length === 2);
    await new Promise((resolve) => setTimeout(resolve, 3 * SILENCE_LIMIT_MS));
    for (const release of held) release();
    t.same(json(await slow), { value: 's' }, 'the slow request is answered on the same link');
    t.same(json(await watch), { value: 'w' });
    t.equal(client.openLinks, 1, 'the link stayed');

    const onlyHeld = client.relay(server.url, { method: 'GET', path: '/v1/slow/h', held: true });
    await eventuallyTrue(() => held.length === 3);
    await new Promise((resolve) => setTimeout(resolve, 3 * SILENCE_LIMIT_MS));
    held[2]?.();
    t.same(
      json(await onlyHeld),
      { value: 'h' },
      'a link with only held requests is never probed out',
    );
  },
);

t.test('a probe is answered by the link server itself, not a route', async (t) => {
  const server = await linkServer(t);
  const { links: client } = links(t);
  const answer = await client.relay(server.url, { method: 'GET', path: LINK_PROBE_PATH });
  t.equal(answer.statusCode, 204);
  t.same(server.seen, [], 'no route saw it');
});
