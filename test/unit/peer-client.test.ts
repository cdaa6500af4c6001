/**
 * The one client policy between chatring processes, against real HTTP stand-ins on loopback: a peer
 * that is down or misses the deadline is OWNER_UNAVAILABLE (retryable, cause kept); a refusal
 * carries its catalogue error through `call`; a refusal without one, or an answer that is not JSON,
 * is INTERNAL; `send` hands back any status; NDJSON streams arrive line by line.
 */
import t, { type Test } from 'tap';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ChatringError } from '../../protocol/index.js';
import { PeerClient } from '../../transport/index.js';

async function peer(
  t: Test,
  handler: (request: IncomingMessage, response: ServerResponse) => void,
): Promise<string> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function client(t: Test, timeoutMs = 2_000): PeerClient {
  const created = new PeerClient('test', { timeoutMs });
  t.teardown(() => created.close());
  return created;
}

t.test('a 2xx answer is the result; the request body goes as JSON', async (t) => {
  const url = await peer(t, (request, response) => {
    let text = '';
    request.on('data', (chunk) => (text += String(chunk)));
    request.on('end', () => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(
        JSON.stringify({ echoed: JSON.parse(text), type: request.headers['content-type'] }),
      );
    });
  });
  const answer = await client(t).call(url, { method: 'POST', path: '/x', body: { a: 1 } });
  t.same(answer, { echoed: { a: 1 }, type: 'application/json' });
});

t.test('a refusal throws the catalogue error its body carries', async (t) => {
  const url = await peer(t, (_request, response) => {
    response.writeHead(409, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ error: { code: 'EPOCH_CONFLICT', message: 'moved first' } }));
  });
  const peers = client(t);
  await t.rejects(peers.call(url, { method: 'GET', path: '/x' }), {
    code: 'EPOCH_CONFLICT',
    message: 'moved first',
  });
  t.same(await peers.send(url, { method: 'GET', path: '/x' }), {
    statusCode: 409,
    body: { error: { code: 'EPOCH_CONFLICT', message: 'moved first' } },
  });
});

t.test(
  'a refusal without a catalogue body, or an answer that is not JSON, is INTERNAL',
  async (t) => {
    const url = await peer(t, (request, response) => {
      response.writeHead(request.url === '/text' ? 200 : 500);
      response.end(request.url === '/text' ? 'not json' : JSON.stringify({ oops: true }));
    });
    const peers = client(t);
    await t.rejects(peers.call(url, { method: 'GET', path: '/boom' }), {
      code: 'INTERNAL',
      message: /GET \/boom answered 500/,
    });
    await t.rejects(peers.call(url, { method: 'GET', path: '/text' }), {
      code: 'INTERNAL',
      message: /other than JSON/,
    });
  },
);

t.test('a peer that is down is OWNER_UNAVAILABLE with the cause kept', async (t) => {
  const url = await peer(t, () => undefined);
  const closed = url.replace(/:\d+$/, ':1');
  const error = await client(t)
    .call(closed, { method: 'GET', path: '/x' })
    .catch((caught: unknown) => caught);
  t.ok(error instanceof ChatringError);
  t.match(error, { code: 'OWNER_UNAVAILABLE', retryable: true, message: /test: GET .*\/x failed/ });
  t.ok((error as ChatringError).cause !== undefined, 'the cause is kept');
});

t.test(
  'a silent peer misses the deadline: OWNER_UNAVAILABLE, per-request deadline honoured',
  async (t) => {
    const url = await peer(t, () => undefined); // never answers
    const peers = client(t, 60_000);
    const started = performance.now();
    await t.rejects(peers.call(url, { method: 'GET', path: '/slow', timeoutMs: 200 }), {
      code: 'OWNER_UNAVAILABLE',
    });
    t.ok(performance.now() - started < 30_000, 'the request deadline, not the client default');
  },
);

t.test('NDJSON answers arrive line by line; a refused stream throws its error', async (t) => {
  const url = await peer(t, (request, response) => {
    if (request.url === '/refused') {
      response.writeHead(404, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ error: { code: 'UNKNOWN_NODE', message: 'ghost' } }));
      return;
    }
    response.writeHead(200, { 'content-type': 'application/x-ndjson' });
    response.write('{"progress":1}\n{"progress"');
    setTimeout(() => response.end(':2}\n{"result":"done"}'), 20);
  });
  const peers = client(t);
  const lines: unknown[] = [];
  await peers.callLines(url, { method: 'POST', path: '/stream', body: {} }, (line) =>
    lines.push(line),
  );
  t.same(lines, [{ progress: 1 }, { progress: 2 }, { result: 'done' }]);
  await t.rejects(
    peers.callLines(url, { method: 'POST', path: '/refused', body: {} }, () => undefined),
    { code: 'UNKNOWN_NODE', message: 'ghost' },
  );
});

t.test('options are checked where the client is built', async (t) => {
  t.throws(() => new PeerClient('test', { timeoutMs: 0 }), {
    code: 'INVALID_OPTION',
    message: /PeerClient: option "timeoutMs"/,
  });
  t.throws(() => new PeerClient('test', { retries: 3 } as never), { code: 'INVALID_OPTION' });
});

t.test(
  'at most connectionsPerPeer + queuedPerPeerMax requests per peer; one more is OVERLOADED',
  async (t) => {
    const held: ServerResponse[] = [];
    let arrived = 0;
    const url = await peer(t, (_request, response) => {
      arrived += 1;
      held.push(response);
    });
    const limited = new PeerClient('test', {
      timeoutMs: 5_000,
      connectionsPerPeer: 1,
      queuedPerPeerMax: 2,
    });
    t.teardown(() => limited.close());
    const get = () => limited.send(url, { method: 'GET', path: '/slow' });
    const underWay = [get(), get(), get()]; // one on the connection, two waiting: at the limit
    await t.rejects(get(), { code: 'OVERLOADED' }, 'the fourth is refused at once, not queued');
    while (arrived < 1) await new Promise((resolve) => setTimeout(resolve, 10));
    const answer = (response: ServerResponse) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end('{}');
    };
    // Answer them one by one as they reach the single connection; a slot then frees for one more.
    for (let answered = 0; answered < 3; answered += 1) {
      while (held.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
      answer(held.shift() as ServerResponse);
    }
    for (const result of await Promise.all(underWay)) t.equal(result.statusCode, 200);
    const after = get();
    while (held.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    answer(held.shift() as ServerResponse);
    t.equal((await after).statusCode, 200, 'slots are given back when requests end');
    t.equal(arrived, 4, 'the refused request never reached the peer');
  },
);
