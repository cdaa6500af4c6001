/**
 * bench/echo-server.ts — the load benchmark's two physical-limit targets, what no cache tier on
 * this machine can beat:
 *
 *  - `--mode echo`: a bare node:http server. A read (`GET /v1/users/…/conversations` or
 *    `…/messages`) answers the bytes of that very page of the seeded data: built once per URL from
 *    the store on its first request (bench/lib/store-pages.ts: the baseline's reads, the product's
 *    JSON shape) and from then on a Map lookup and one write. The load's pre-warm pass asks for
 *    every URL the measured window reads, so the window is all lookups (its `cacheMisses`, read
 *    from GET /internal/v1/stats like a node's, say so).
 *  - `--mode proxy`: a node:http server that starts the echo as its own child process and forwards
 *    each request to it through an undici Pool, relaying the status and the body bytes: one
 *    trivial proxy hop (no ring, no signature, no validation). The echo being its child, the load
 *    measures the CPU of both (the process tree).
 *
 * Reads only: a send is refused (404 NOT_FOUND). Run as a child process:
 * `node dist-bench/bench/echo-server.js --mode echo|proxy --data-dir D [--port 0]`; prints
 * `echo listening on URL` (or `echo-proxy listening on URL`).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool, type Dispatcher } from 'undici';
import { ChatringError, toChatringError } from '../protocol/index.js';
import { openStore } from '../store-adapter/index.js';
import { BenchFlags } from './lib/bench-args.js';
import { readPage, type PageRoute } from './lib/store-pages.js';
import { startServerProcess, type ServerProcess } from './load/server-process.js';

/** Idle keep-alive connections stay open this long (the product's servers use the same). */
const KEEP_ALIVE_TIMEOUT_MS = 72_000;
const JSON_TYPE = 'application/json; charset=utf-8';
const PAGE_PATH = /^\/v1\/users\/([^/?]+)\/conversations(?:\/([^/?]+)\/messages)?(?:\?(.*))?$/;
const STATS_PATH = '/internal/v1/stats';

const flags = BenchFlags.parse('echo-server', 'the load benchmark’s echo and echo-proxy targets', {
  mode: { description: 'echo (answers pages) or proxy (one hop in front of an echo)', default: '' },
  'data-dir': { description: 'folder of the seeded mailboxes.sqlite', default: '' },
  port: { description: 'listen port (0: any free port)', default: '0' },
  host: { description: 'listen address', default: '127.0.0.1' },
  connections: { description: 'proxy: keep-alive connections to the echo', default: '64' },
});
const mode = flags.string('mode');
if (mode !== 'echo' && mode !== 'proxy') throw new Error('--mode must be echo or proxy');
const dataDir = flags.string('data-dir');
if (dataDir === '') throw new Error('--data-dir is required');

const { handler, close } = mode === 'echo' ? await echo() : await proxy();
const server = createServer(handler);
server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
const host = flags.string('host');
await new Promise<void>((resolve) =>
  server.listen(flags.integer('port', 0, 65_535), host, () => resolve()),
);
const name = mode === 'echo' ? 'echo' : 'echo-proxy';
console.log(`${name} listening on http://${host}:${(server.address() as AddressInfo).port}`);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    server.closeAllConnections();
    server.close();
    void close().then(() => process.exit(0));
  });
}

type Handler = (request: IncomingMessage, response: ServerResponse) => void;

/** The echo: every page's bytes, recorded from the store on the first request of its URL. */
async function echo(): Promise<{ handler: Handler; close(): Promise<void> }> {
  const store = await openStore({ kind: 'embedded', dataDir });
  const pages = new Map<string, Buffer>();
  const counters = { cacheHits: 0, cacheMisses: 0, storeLoads: 0 };
  const handler: Handler = (request, response) => {
    const url = request.url ?? '/';
    const bytes = pages.get(url);
    if (bytes !== undefined) {
      counters.cacheHits += 1;
      send(response, 200, bytes);
      return;
    }
    if (url === STATS_PATH) {
      send(response, 200, Buffer.from(JSON.stringify({ service: counters, cache: {} })));
      return;
    }
    const match = PAGE_PATH.exec(url);
    if (request.method !== 'GET' || match === null) {
      refuse(response, new ChatringError('NOT_FOUND', 'the echo serves page reads only'));
      return;
    }
    counters.cacheMisses += 1;
    counters.storeLoads += 1;
    const [, userId = '', conversationId, query = ''] = match;
    const route: PageRoute = {
      userId: decodeURIComponent(userId),
      ...(conversationId === undefined
        ? {}
        : { conversationId: decodeURIComponent(conversationId) }),
    };
    readPage(store, route, Object.fromEntries(new URLSearchParams(query))).then(
      (page) => {
        const recorded = Buffer.from(JSON.stringify(page));
        pages.set(url, recorded);
        send(response, 200, recorded);
      },
      (error: unknown) => refuse(response, toChatringError(error)),
    );
  };
  return { handler, close: () => store.close() };
}

/** One undici hop in front of an echo started as this process's child. */
async function proxy(): Promise<{ handler: Handler; close(): Promise<void> }> {
  const target: ServerProcess = await startServerProcess('echo-server.js', 'echo', [
    '--mode',
    'echo',
    '--data-dir',
    dataDir,
  ]);
  const pool = new Pool(target.url, {
    connections: flags.integer('connections', 1, 4_096),
    pipelining: 1,
    keepAliveTimeout: 30_000,
  });
  const handler: Handler = (request, response) => {
    const method = (request.method ?? 'GET') as Dispatcher.HttpMethod;
    const hasBody = method !== 'GET' && method !== 'HEAD';
    pool
      .request({
        method,
        path: request.url ?? '/',
        ...(hasBody
          ? { body: request, headers: { 'content-type': request.headers['content-type'] ?? '' } }
          : {}),
      })
      .then(async (answer) => {
        send(response, answer.statusCode, Buffer.from(await answer.body.arrayBuffer()));
      })
      .catch((error: unknown) =>
        refuse(response, new ChatringError('OWNER_UNAVAILABLE', String(error))),
      );
  };
  return {
    handler,
    async close() {
      await pool.close();
      await target.stop();
    },
  };
}

function send(response: ServerResponse, status: number, bytes: Buffer): void {
  response.writeHead(status, { 'content-type': JSON_TYPE, 'content-length': bytes.length });
  response.end(bytes);
}

function refuse(response: ServerResponse, error: ChatringError): void {
  send(response, error.status, Buffer.from(JSON.stringify(error.toBody())));
}
