/**
 * createHttpServer's bounds under abuse, against a real listening server on loopback and raw
 * sockets: a body trickled past the request timeout and a silent connection get `408
 * REQUEST_TIMEOUT` and are closed; a kept-alive connection is closed after its timeout; a handler
 * slower than the idle timeout is not cut off, while a client that stops reading is; exactly
 * `requestsInFlightMax` requests are handled and one more gets `503 OVERLOADED` with Retry-After
 * (health checks exempt, completed and aborted requests counted out); exactly `connectionsMax`
 * connections are served and one more gets `503 OVERLOADED` on the raw socket; bodies past the
 * limit get `413 BODY_TOO_LARGE` (not a reset), long path parameters `414 URL_TOO_LONG`, other
 * media types `415`, large headers `431`, a wrong method `405`, and a closing server `503`. Small
 * option values keep it fast; nothing here asserts how fast anything is.
 */
import t, { type Test } from 'tap';
import { connect, type Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import {
  DEFAULT_HTTP_SERVER_OPTIONS,
  createHttpServer,
  httpServerLoad,
  resolveHttpServerOptions,
  type HttpServerOptions,
} from '../../transport/http-server.js';
import { REQUEST_BODY_BYTES_LIMIT } from '../../protocol/index.js';

interface Served {
  app: FastifyInstance;
  port: number;
  /** Requests that reached the /hold handler. */
  held: { entered: number; release: () => void; entering: (count: number) => Promise<void> };
}

/** A listening server with a few test routes; /hold answers only once `held.release()` is called. */
async function serve(t: Test, options: Partial<HttpServerOptions> = {}): Promise<Served> {
  const app = createHttpServer(options);
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const waiters: { count: number; resolve: () => void }[] = [];
  const held = {
    entered: 0,
    release: () => release(),
    entering: (count: number) =>
      new Promise<void>((resolve) => {
        if (held.entered >= count) resolve();
        else waiters.push({ count, resolve });
      }),
  };
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.post('/echo', async (request) => ({ echoed: request.body ?? null }));
  app.get<{ Params: { id: string } }>('/p/:id', async (request) => ({
    length: request.params.id.length,
  }));
  app.get('/hold', async () => {
    held.entered += 1;
    for (const waiter of waiters.filter((w) => held.entered >= w.count)) waiter.resolve();
    await gate;
    return { held: true };
  });
  app.get('/slow', async () => {
    await new Promise((resolve) => setTimeout(resolve, 400));
    return { slow: true };
  });
  app.get('/large', async (_request, reply) =>
    reply.header('content-type', 'text/plain').send(Buffer.alloc(64 * 1024 * 1024, 120)),
  );
  await app.listen({ host: '127.0.0.1', port: 0 });
  t.teardown(async () => {
    release();
    await app.close();
  });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('not listening');
  return { app, port: address.port, held };
}

interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

/** Parses every complete HTTP/1.1 response in `text` (content-length framed). */
function parseAnswers(text: string): RawAnswer[] {
  const answers: RawAnswer[] = [];
  let rest = text;
  while (rest.length > 0) {
    const headEnd = rest.indexOf('\r\n\r\n');
    if (headEnd < 0) break;
    const [statusLine = '', ...lines] = rest.slice(0, headEnd).split('\r\n');
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const colon = line.indexOf(':');
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    const length = Number(headers['content-length'] ?? 0);
    const bodyText = rest.slice(headEnd + 4, headEnd + 4 + length);
    let body: unknown = bodyText;
    try {
      body = JSON.parse(bodyText);
    } catch {
      // not JSON: kept as text
    }
    answers.push({ status: Number(statusLine.split(' ')[1]), headers, body });
    rest = rest.slice(headEnd + 4 + length);
  }
  return answers;
}

/** Opens a raw connection, lets `act` write on it, and collects everything until it closes. */
function exchange(
  port: number,
  act: (socket: Socket) => void,
): Promise<{ text: string; answers: RawAnswer[] }> {
  return new Promise((resolve) => {
    let text = '';
    const socket = connect(port, '127.0.0.1', () => act(socket));
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => (text += chunk));
    // Writing into a connection the server has closed may fail; what arrived is what counts.
    socket.on('error', () => undefined);
    socket.on('close', () => resolve({ text, answers: parseAnswers(text) }));
  });
}

/** A connection kept open: send requests on it and wait for each answer. */
async function openConnection(port: number): Promise<{
  socket: Socket;
  ask: (request: string) => Promise<RawAnswer>;
  closed: Promise<void>;
}> {
  const socket = connect(port, '127.0.0.1');
  socket.setEncoding('latin1');
  socket.on('error', () => undefined);
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  let text = '';
  let waiting: (() => void) | undefined;
  socket.on('data', (chunk: string) => {
    text += chunk;
    waiting?.();
  });
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  return {
    socket,
    closed,
    ask: (request) =>
      new Promise((resolve, reject) => {
        text = '';
        const check = () => {
          const [answer] = parseAnswers(text);
          const headEnd = text.indexOf('\r\n\r\n');
          if (answer === undefined || headEnd < 0) return;
          const length = Number(answer.headers['content-length'] ?? 0);
          if (Buffer.byteLength(text, 'latin1') < headEnd + 4 + length) return;
          waiting = undefined;
          resolve(answer);
        };
        waiting = check;
        socket.once('close', () => reject(new Error('closed before the answer')));
        socket.write(request);
      }),
  };
}

const get = (path: string, extra = '') => `GET ${path} HTTP/1.1\r\nhost: test\r\n${extra}\r\n`;
const post = (path: string, body: string, type = 'application/json') =>
  `POST ${path} HTTP/1.1\r\nhost: test\r\ncontent-type: ${type}\r\n` +
  `content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;

/** One request on its own connection (closed by the client after the answer). */
async function ask(port: number, request: string): Promise<RawAnswer> {
  const connection = await openConnection(port);
  try {
    return await connection.ask(request);
  } finally {
    connection.socket.destroy();
  }
}

/** Waits for a condition that the server reaches on its own (bounded; no speed asserted). */
async function until(condition: () => boolean, what: string): Promise<void> {
  for (let attempt = 0; attempt < 500; attempt += 1) {
    if (condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`never: ${what}`);
}

const errorOf = (answer: RawAnswer) => (answer.body as { error?: { code?: string } }).error;

t.test('options: defaults frozen, checked once, relations enforced', async (t) => {
  t.same(DEFAULT_HTTP_SERVER_OPTIONS, {
    headersTimeoutMs: 10_000,
    requestTimeoutMs: 30_000,
    keepAliveTimeoutMs: 72_000,
    connectionIdleTimeoutMs: 30_000,
    headersBytesMax: 16_384,
    pathParamCharsMax: 256,
    connectionsMax: 10_000,
    requestsInFlightMax: 1_000,
    overloadRetryAfterSeconds: 1,
    unlimitedPaths: ['/healthz'],
  });
  t.ok(Object.isFrozen(DEFAULT_HTTP_SERVER_OPTIONS));
  t.ok(Object.isFrozen(DEFAULT_HTTP_SERVER_OPTIONS.unlimitedPaths));
  t.same(resolveHttpServerOptions({ requestsInFlightMax: 5 }).requestsInFlightMax, 5);
  const refused = (given: Record<string, unknown>, option: string) =>
    t.throws(
      () => resolveHttpServerOptions(given as Partial<HttpServerOptions>),
      { code: 'INVALID_OPTION', message: new RegExp(`"${option}"`) },
      `${JSON.stringify(given).slice(0, 60)} is refused`,
    );
  refused({ nope: 1 }, 'nope');
  refused({ headersTimeoutMs: 9 }, 'headersTimeoutMs');
  refused({ headersTimeoutMs: 2_000, requestTimeoutMs: 1_999 }, 'headersTimeoutMs');
  refused({ pathParamCharsMax: 128 }, 'pathParamCharsMax');
  refused({ headersBytesMax: 4_095 }, 'headersBytesMax');
  refused({ connectionsMax: 0 }, 'connectionsMax');
  refused({ requestsInFlightMax: 0 }, 'requestsInFlightMax');
  refused({ requestsInFlightMax: 1.5 }, 'requestsInFlightMax');
  refused({ overloadRetryAfterSeconds: 0 }, 'overloadRetryAfterSeconds');
  refused({ unlimitedPaths: ['healthz'] }, 'unlimitedPaths');
  refused({ unlimitedPaths: '/healthz' }, 'unlimitedPaths');
  t.doesNotThrow(() =>
    resolveHttpServerOptions({ headersTimeoutMs: 2_000, requestTimeoutMs: 2_000 }),
  );
  t.doesNotThrow(() => resolveHttpServerOptions({ pathParamCharsMax: 129 }));
  t.throws(() => createHttpServer({ connectionsMax: -1 }), { code: 'INVALID_OPTION' });
});

t.test(
  'a body trickled past requestTimeoutMs gets 408 REQUEST_TIMEOUT, then the close',
  async (t) => {
    const { app, port } = await serve(t, { headersTimeoutMs: 150, requestTimeoutMs: 400 });
    let timer: NodeJS.Timeout | undefined;
    const { answers } = await exchange(port, (socket) => {
      socket.write(
        'POST /echo HTTP/1.1\r\nhost: test\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n"',
      );
      // A byte every 50 ms: the connection is never idle, but the body never completes in time.
      timer = setInterval(() => socket.writable && socket.write(' '), 50);
    });
    clearInterval(timer);
    t.equal(answers.length, 1, 'one answer');
    t.equal(answers[0]?.status, 408);
    t.equal(answers[0]?.headers.connection, 'close');
    t.equal(errorOf(answers[0] as RawAnswer)?.code, 'REQUEST_TIMEOUT', 'the catalogue body');
    await until(() => httpServerLoad(app).requestsInFlight === 0, 'the request is counted out');
    await until(() => httpServerLoad(app).connections === 0, 'the connection is counted out');
  },
);

t.test('a body trickled but complete within requestTimeoutMs is served', async (t) => {
  const { port } = await serve(t, { headersTimeoutMs: 500, requestTimeoutMs: 3_000 });
  const body = '{"a":1}';
  const { answers } = await exchange(port, (socket) => {
    socket.write(
      `POST /echo HTTP/1.1\r\nhost: test\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n`,
    );
    let sent = 0;
    const timer = setInterval(() => {
      socket.write(body[sent] ?? '');
      sent += 1;
      if (sent >= body.length) clearInterval(timer);
    }, 20);
  });
  t.equal(answers[0]?.status, 200);
  t.same(answers[0]?.body, { echoed: { a: 1 } });
});

t.test('a silent connection, or headers that never end, get 408 and are closed', async (t) => {
  const { app, port } = await serve(t, { headersTimeoutMs: 200, requestTimeoutMs: 400 });
  const [silent, slowHeaders] = await Promise.all([
    exchange(port, () => undefined),
    exchange(port, (socket) => {
      socket.write('GET /healthz HTTP/1.1\r\n');
      const timer = setInterval(
        () => (socket.writable ? socket.write('x-a: b\r\n') : undefined),
        40,
      );
      socket.once('close', () => clearInterval(timer));
    }),
  ]);
  for (const [name, { answers }] of [
    ['silent', silent],
    ['slow headers', slowHeaders],
  ] as const) {
    t.equal(answers.length, 1, `${name}: one answer`);
    t.equal(answers[0]?.status, 408, `${name}: 408`);
    t.equal(errorOf(answers[0] as RawAnswer)?.code, 'REQUEST_TIMEOUT', `${name}: catalogue body`);
  }
  await until(() => httpServerLoad(app).connections === 0, 'both connections are counted out');
});

t.test(
  'a kept-alive connection is closed after keepAliveTimeoutMs with nothing sent',
  async (t) => {
    const { app, port } = await serve(t, { keepAliveTimeoutMs: 100 });
    const connection = await openConnection(port);
    const answer = await connection.ask(get('/healthz'));
    t.equal(answer.status, 200);
    t.match(answer.headers['keep-alive'] ?? '', /timeout=/, 'the timeout is advertised');
    const more: string[] = [];
    connection.socket.on('data', (chunk: string) => more.push(chunk));
    await connection.closed;
    t.same(more, [], 'closed without another word');
    await until(() => httpServerLoad(app).connections === 0, 'counted out');
  },
);

t.test('the idle timeout never cuts a handler that is still working', async (t) => {
  // /slow answers after 400 ms; the connection is idle for all of it.
  const { port } = await serve(t, { connectionIdleTimeoutMs: 100 });
  const answer = await ask(port, get('/slow'));
  t.equal(answer.status, 200);
  t.same(answer.body, { slow: true });
});

t.test('a client that stops reading its answer is closed after the idle timeout', async (t) => {
  const { app, port } = await serve(t, { connectionIdleTimeoutMs: 200 });
  const socket = connect(port, '127.0.0.1');
  socket.on('error', () => undefined);
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  socket.write(get('/large'));
  socket.pause(); // 64 MiB: far more than loopback buffers hold; the server's writes stall
  t.teardown(() => socket.destroy());
  await until(() => httpServerLoad(app).connections === 1, 'the connection is open');
  await until(() => httpServerLoad(app).connections === 0, 'the stalled connection is closed');
  t.pass('closed by the server');
});

t.test('in flight: exactly requestsInFlightMax pass, one more gets 503 OVERLOADED', async (t) => {
  const { app, port, held } = await serve(t, {
    requestsInFlightMax: 3,
    overloadRetryAfterSeconds: 7,
  });
  const load = httpServerLoad(app);
  const holding = [1, 2, 3].map(() => ask(port, get('/hold')));
  await held.entering(3);
  t.equal(load.requestsInFlight, 3, 'three at the limit, all handled');

  const refused = await ask(port, get('/hold'));
  t.equal(refused.status, 503);
  t.equal(refused.headers['retry-after'], '7', 'Retry-After in seconds');
  t.equal(refused.headers.connection, 'close');
  t.equal(errorOf(refused)?.code, 'OVERLOADED');
  t.match(errorOf(refused), { message: /3 requests/ });
  const refusedPost = await ask(port, post('/echo', '{"a":1}'));
  t.equal(refusedPost.status, 503, 'a body is not even read');
  t.equal(held.entered, 3, 'no handler ran for the refused requests');
  t.equal(load.requestsRefused, 2);

  const health = await ask(port, get('/healthz'));
  t.equal(health.status, 200, '/healthz stays answerable at the limit');
  t.equal(load.requestsInFlight, 3, 'and is not counted');

  held.release();
  for (const answer of await Promise.all(holding)) t.equal(answer.status, 200);
  await until(() => load.requestsInFlight === 0, 'completed requests are counted out');
  t.equal((await ask(port, post('/echo', '{"b":2}'))).status, 200, 'served again');
});

t.test('in flight: a request whose client went away is counted out', async (t) => {
  const { app, port, held } = await serve(t, { requestsInFlightMax: 2 });
  const load = httpServerLoad(app);
  const first = await openConnection(port);
  const second = await openConnection(port);
  void first.ask(get('/hold')).catch(() => undefined);
  void second.ask(get('/hold')).catch(() => undefined);
  await held.entering(2);
  t.equal((await ask(port, get('/p/x'))).status, 503, 'full');
  first.socket.destroy();
  await until(() => load.requestsInFlight === 1, 'the aborted request is counted out');
  t.equal((await ask(port, get('/p/x'))).status, 200, 'its place is free');
  second.socket.destroy();
  await until(() => load.requestsInFlight === 0, 'both counted out');
});

t.test(
  'connections: exactly connectionsMax are served, one more gets 503 and is closed',
  async (t) => {
    const { app, port } = await serve(t, { connectionsMax: 2, overloadRetryAfterSeconds: 3 });
    const load = httpServerLoad(app);
    const first = await openConnection(port);
    const second = await openConnection(port);
    t.equal((await first.ask(get('/healthz'))).status, 200);
    t.equal((await second.ask(get('/healthz'))).status, 200, 'two at the limit, both served');
    t.equal(load.connections, 2);

    const third = await exchange(port, (socket) => socket.write(get('/healthz')));
    t.equal(third.answers.length, 1, 'one answer, then the close');
    t.equal(third.answers[0]?.status, 503);
    t.equal(third.answers[0]?.headers['retry-after'], '3');
    t.equal(third.answers[0]?.headers.connection, 'close');
    t.equal(errorOf(third.answers[0] as RawAnswer)?.code, 'OVERLOADED');
    const silentThird = await exchange(port, () => undefined);
    t.equal(silentThird.answers[0]?.status, 503, 'refused even before it says anything');
    t.equal(load.connectionsRefused, 2);
    t.equal(load.connections, 2, 'refused connections are not counted');

    t.equal((await first.ask(get('/healthz'))).status, 200, 'the accepted ones still work');
    first.socket.destroy();
    await until(() => load.connections === 1, 'a closed connection is counted out');
    const fourth = await openConnection(port);
    t.equal((await fourth.ask(get('/healthz'))).status, 200, 'and a new one takes its place');
    fourth.socket.destroy();
    second.socket.destroy();
  },
);

t.test('bodies past the limit get 413 BODY_TOO_LARGE, not a reset', async (t) => {
  const { port } = await serve(t);
  const bodyOfSize = (bytes: number) => `"${'a'.repeat(bytes - 2)}"`;
  const atLimit = await ask(port, post('/echo', bodyOfSize(REQUEST_BODY_BYTES_LIMIT)));
  t.equal(atLimit.status, 200, 'exactly the limit is parsed');
  const pastLimit = await ask(port, post('/echo', bodyOfSize(REQUEST_BODY_BYTES_LIMIT + 1)));
  t.equal(pastLimit.status, 413, 'one byte more is refused');
  t.equal(errorOf(pastLimit)?.code, 'BODY_TOO_LARGE');
  t.match(errorOf(pastLimit), { message: new RegExp(String(REQUEST_BODY_BYTES_LIMIT)) });

  const big = bodyOfSize(600 * 1024);
  const whole = await exchange(port, (socket) => socket.write(post('/echo', big)));
  t.equal(whole.answers[0]?.status, 413, 'a 600 KiB body sent at once gets the answer');
  t.equal(errorOf(whole.answers[0] as RawAnswer)?.code, 'BODY_TOO_LARGE');

  const declared = await exchange(port, (socket) => {
    socket.write(
      'POST /echo HTTP/1.1\r\nhost: test\r\ncontent-type: application/json\r\n' +
        `content-length: ${100 * 1024 * 1024}\r\n\r\n`,
    );
    socket.write(big);
  });
  t.equal(declared.answers[0]?.status, 413, 'a content-length past the limit: refused up front');
  t.equal(errorOf(declared.answers[0] as RawAnswer)?.code, 'BODY_TOO_LARGE');

  const chunked = await exchange(port, (socket) => {
    socket.write(
      'POST /echo HTTP/1.1\r\nhost: test\r\ncontent-type: application/json\r\n' +
        'transfer-encoding: chunked\r\n\r\n',
    );
    socket.write(`${big.length.toString(16)}\r\n${big}\r\n0\r\n\r\n`);
  });
  t.equal(chunked.answers[0]?.status, 413, 'chunked past the limit too');
});

t.test('a path parameter past pathParamCharsMax gets 414 URL_TOO_LONG', async (t) => {
  const byDefault = await serve(t);
  const conversationId = `${'a'.repeat(64)}~${'b'.repeat(64)}`;
  const longest = await ask(byDefault.port, get(`/p/${conversationId}`));
  t.equal(longest.status, 200, 'the longest conversation id (129 characters) routes');
  t.same(longest.body, { length: 129 });
  t.equal(
    (await ask(byDefault.port, get(`/p/${'c'.repeat(256)}`))).status,
    200,
    '256: at the limit',
  );
  const past = await ask(byDefault.port, get(`/p/${'c'.repeat(257)}`));
  t.equal(past.status, 414);
  t.equal(errorOf(past)?.code, 'URL_TOO_LONG');

  const tight = await serve(t, { pathParamCharsMax: 129 });
  t.equal((await ask(tight.port, get(`/p/${'c'.repeat(129)}`))).status, 200);
  t.equal((await ask(tight.port, get(`/p/${'c'.repeat(130)}`))).status, 414);
});

t.test('a body that is not JSON gets 415 UNSUPPORTED_MEDIA_TYPE', async (t) => {
  const { port } = await serve(t);
  const plain = await ask(port, post('/echo', '{"a":1}', 'text/plain'));
  t.equal(plain.status, 415);
  t.equal(errorOf(plain)?.code, 'UNSUPPORTED_MEDIA_TYPE');
  const json = await ask(port, post('/echo', '{"a":1}', 'application/json; charset=utf-8'));
  t.equal(json.status, 200, 'application/json with a charset is JSON');
});

t.test('headers past headersBytesMax get 431 HEADERS_TOO_LARGE', async (t) => {
  const { port } = await serve(t, { headersBytesMax: 4_096 });
  const within = await ask(port, get('/healthz', `x-pad: ${'a'.repeat(3_500)}\r\n`));
  t.equal(within.status, 200);
  const { answers } = await exchange(port, (socket) =>
    socket.write(get('/healthz', `x-pad: ${'a'.repeat(4_200)}\r\n`)),
  );
  t.equal(answers[0]?.status, 431);
  t.equal(errorOf(answers[0] as RawAnswer)?.code, 'HEADERS_TOO_LARGE');
});

t.test('a wrong method gets 405 METHOD_NOT_ALLOWED with Allow; an unknown path 404', async (t) => {
  const { port } = await serve(t);
  const wrong = await ask(port, get('/echo'));
  t.equal(wrong.status, 405);
  t.equal(errorOf(wrong)?.code, 'METHOD_NOT_ALLOWED');
  t.equal(wrong.headers.allow, 'POST');
  const withParam = await ask(port, `DELETE /p/x HTTP/1.1\r\nhost: test\r\n\r\n`);
  t.equal(withParam.status, 405);
  t.equal(withParam.headers.allow, 'GET, HEAD');
  const unknown = await ask(port, get('/p/x/y'));
  t.equal(unknown.status, 404);
  t.equal(errorOf(unknown)?.code, 'NOT_FOUND');
});

t.test('a closing server answers 503 OWNER_UNAVAILABLE in the catalogue shape', async (t) => {
  const { app, port, held } = await serve(t);
  const connection = await openConnection(port);
  const first = connection.ask(get('/hold'));
  await held.entering(1);
  const closed = app.close();
  await until(() => !app.server.listening, 'the server stops listening');
  // A second request on the busy connection (pipelined) arrives while the server closes.
  let text = '';
  connection.socket.on('data', (chunk: string) => (text += chunk));
  connection.socket.write(get('/healthz'));
  held.release();
  t.equal((await first).status, 200, 'the request in progress completes');
  await connection.closed;
  await closed;
  const answers = parseAnswers(text);
  const last = answers.at(-1);
  t.equal(last?.status, 503);
  t.equal(errorOf(last as RawAnswer)?.code, 'OWNER_UNAVAILABLE');
});
