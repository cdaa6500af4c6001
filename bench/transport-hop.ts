/**
 * bench/transport-hop.ts — which transport should the router use to reach nodes? (issue 11: "consider
 * undici pipelining or HTTP/2 to nodes if it measures better").
 *
 * The same trivial hop measured four ways in one run, each a closed loop of `--concurrency` callers
 * reading a 1 KB JSON answer for `--duration-s` seconds:
 *  - `direct`: callers straight to an HTTP/1.1 backend (no hop: the floor);
 *  - `h1-pool`: through a node:http proxy that forwards over an undici Pool of keep-alive
 *    connections (what the router does today);
 *  - `h1-pipelined`: the same Pool with few connections and HTTP/1.1 pipelining;
 *  - `h2c`: the proxy forwards over one cleartext HTTP/2 session (undici H2CClient) to a node:http2
 *    backend, every request a stream on it;
 *  - `link`: the proxy forwards over a member link (transport/link: one connection, binary frames,
 *    writes coalesced per event-loop turn) to a chatring HTTP server serving links: what the router
 *    does since this comparison.
 * For each: ops/s, and CPU per op of the proxy and backend processes (from /proc), so the figure is
 * the hop's own cost. The transport that wins here is the only one worth wiring into PeerClient.
 *
 *   node dist-bench/bench/transport-hop.js [--duration-s 8] [--concurrency 16]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createH2Server } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { H2CClient, Pool, type Dispatcher } from 'undici';
import {
  MemberLinks,
  createHttpServer,
  linkCredentials,
  serveMemberLinks,
} from '../transport/index.js';
import { MemberSigner, installAccessControl } from '../transport/security/index.js';
import { BenchFlags } from './lib/bench-args.js';
import { describeMachine, machineLine } from './lib/machine.js';
import { cpuSeconds } from './lib/process-cpu.js';
import { fixed, renderTable } from './lib/text-table.js';

const ANSWER = Buffer.from(
  JSON.stringify({
    messages: Array.from({ length: 5 }, (_, index) => ({
      messageId: `00000000-0000-4000-8000-00000000000${index}`,
      conversationId: 'alice~bob',
      senderId: 'alice',
      recipientId: 'bob',
      content: 'x'.repeat(100),
      clientMessageId: `c-${index}`,
      sentAt: 1_700_000_000_000 + index,
    })),
    cursor: 'y'.repeat(40),
  }),
);
/** The link variant's cluster secret (its proxy signs the link's upgrade as a member). */
const LINK_SECRET = Buffer.from('transport-hop-bench-secret-of-32-bytes!');
const VARIANTS = ['direct', 'h1-pool', 'h1-pipelined', 'h2c', 'link'] as const;
type Variant = (typeof VARIANTS)[number];

const flags = BenchFlags.parse('transport-hop', 'one proxy hop over HTTP/1.1, pipelined, h2c', {
  role: { description: 'internal: driver, backend-h1, backend-h2, proxy', default: 'driver' },
  backend: { description: 'internal: the proxy’s backend URL', default: '' },
  dispatch: { description: 'internal: h1-pool, h1-pipelined or h2c', default: 'h1-pool' },
  'duration-s': { description: 'measured seconds per variant', default: '8' },
  'warmup-s': { description: 'unmeasured seconds first', default: '2' },
  concurrency: { description: 'closed-loop callers', default: '16' },
});
const role = flags.string('role');

if (role === 'backend-h1') {
  const server = createServer((_request, response) => {
    response.writeHead(200, {
      'content-type': 'application/json',
      'content-length': ANSWER.length,
    });
    response.end(ANSWER);
  });
  server.keepAliveTimeout = 72_000;
  listen(server, 'backend');
} else if (role === 'backend-h2') {
  const server = createH2Server({ peerMaxConcurrentStreams: 1_000 });
  server.on('stream', (stream) => {
    stream.respond({ ':status': 200, 'content-type': 'application/json' });
    stream.end(ANSWER);
  });
  listen(server, 'backend');
} else if (role === 'backend-link') {
  const app = createHttpServer();
  const policy = {
    members: new MemberSigner('backend', LINK_SECRET).verifier(),
    appTokens: undefined,
    operatorTokens: undefined,
  };
  installAccessControl(app, policy);
  serveMemberLinks(app, policy, () => ({
    route: '/v1/page',
    run: () => ({ status: 200, body: ANSWER }),
  }));
  await app.listen({ port: 0, host: '127.0.0.1' });
  console.log(
    `backend listening on http://127.0.0.1:${(app.server.address() as AddressInfo).port}`,
  );
  process.once('SIGTERM', () => process.exit(0));
} else if (role === 'proxy') {
  const forward = forwarderFor(flags.string('dispatch'), flags.string('backend'));
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    forward(request.url ?? '/')
      .then(({ statusCode, bytes }) => {
        response.writeHead(statusCode, {
          'content-type': 'application/json',
          'content-length': bytes.length,
        });
        response.end(bytes);
      })
      .catch(() => {
        response.writeHead(502).end();
      });
  });
  server.keepAliveTimeout = 72_000;
  listen(server, 'proxy');
} else {
  await drive();
}

/** How the proxy sends a path to the backend and gets its answer's status and bytes. */
function forwarderFor(
  dispatch: string,
  backend: string,
): (path: string) => Promise<{ statusCode: number; bytes: Buffer }> {
  if (dispatch === 'link') {
    const links = new MemberLinks('proxy', {
      credentials: linkCredentials(new MemberSigner('proxy', LINK_SECRET), undefined),
      timeoutMs: 5_000,
      inFlightMax: 10_000,
      fallback: () => Promise.reject(new Error('the backend serves no member links')),
    });
    return (path) => links.relay(backend, { method: 'GET', path });
  }
  const dispatcher = dispatcherFor(dispatch, backend);
  return async (path) => {
    const { statusCode, body } = await dispatcher.request({ method: 'GET', path });
    return { statusCode, bytes: Buffer.from(await body.arrayBuffer()) };
  };
}

function dispatcherFor(dispatch: string, backend: string): Dispatcher {
  if (dispatch === 'h1-pool') return new Pool(backend, { connections: 64 });
  if (dispatch === 'h1-pipelined') return new Pool(backend, { connections: 4, pipelining: 16 });
  if (dispatch === 'h2c') return new H2CClient(backend, { maxConcurrentStreams: 1_000 });
  throw new Error(`unknown --dispatch ${dispatch}`);
}

function listen(
  server: ReturnType<typeof createServer> | ReturnType<typeof createH2Server>,
  name: string,
): void {
  server.listen(0, '127.0.0.1', () => {
    console.log(`${name} listening on http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  });
  process.once('SIGTERM', () => process.exit(0));
}

async function drive(): Promise<void> {
  const durationS = flags.integer('duration-s', 1, 600);
  const warmupS = flags.integer('warmup-s', 0, 600);
  const concurrency = flags.integer('concurrency', 1, 1_024);
  console.log(
    `transport-hop: ${machineLine(describeMachine())}; ${concurrency} callers, ${durationS} s each`,
  );
  const rows = [];
  let directOps = 0;
  for (const variant of VARIANTS) {
    const processes = await startVariant(variant);
    try {
      const entry = processes.at(-1) as Started;
      const pool = new Pool(entry.url, { connections: concurrency });
      await closedLoop(pool, concurrency, warmupS);
      const cpuBefore = processes.map((started) => cpuSeconds(started.pid) ?? Number.NaN);
      const started = performance.now();
      const ops = await closedLoop(pool, concurrency, durationS);
      const seconds = (performance.now() - started) / 1_000;
      const cpu = processes.reduce(
        (sum, process, index) =>
          sum + (cpuSeconds(process.pid) ?? Number.NaN) - (cpuBefore[index] ?? 0),
        0,
      );
      await pool.close();
      const opsPerSecond = ops / seconds;
      if (variant === 'direct') directOps = opsPerSecond;
      rows.push([
        variant,
        fixed(opsPerSecond, 0),
        fixed((cpu / ops) * 1e6, 1),
        fixed(opsPerSecond / directOps, 2),
      ]);
    } finally {
      for (const process of processes) process.child.kill('SIGTERM');
    }
  }
  console.log(renderTable(['variant', 'ops/s', 'server CPU µs/op', '÷ direct'], rows));
}

interface Started {
  url: string;
  pid: number;
  child: ChildProcess;
}

/** The processes behind a variant, backend first; the last is what the callers reach. */
async function startVariant(variant: Variant): Promise<Started[]> {
  const backend = await start(
    [
      '--role',
      variant === 'h2c' ? 'backend-h2' : variant === 'link' ? 'backend-link' : 'backend-h1',
    ],
    'backend',
  );
  if (variant === 'direct') return [backend];
  const proxy = await start(
    ['--role', 'proxy', '--dispatch', variant, '--backend', backend.url],
    'proxy',
  );
  return [backend, proxy];
}

async function start(args: string[], name: string): Promise<Started> {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  process.once('exit', () => child.kill('SIGKILL'));
  const url = await new Promise<string>((resolve, reject) => {
    let output = '';
    child.stdout?.setEncoding('utf8').on('data', (text: string) => {
      output += text;
      const match = new RegExp(`${name} listening on (\\S+)`).exec(output);
      if (match?.[1] !== undefined) resolve(match[1]);
    });
    child.once('exit', (code) => reject(new Error(`${name} exited (${code})`)));
  });
  return { url, pid: child.pid as number, child };
}

/** `callers` loops each reading until `seconds` pass; returns the answers counted. */
async function closedLoop(pool: Pool, callers: number, seconds: number): Promise<number> {
  const end = performance.now() + seconds * 1_000;
  let ops = 0;
  await Promise.all(
    Array.from({ length: callers }, async () => {
      while (performance.now() < end) {
        const { statusCode, body } = await pool.request({ method: 'GET', path: '/v1/page' });
        await body.arrayBuffer();
        if (statusCode !== 200) throw new Error(`answer ${statusCode}`);
        ops += 1;
      }
    }),
  );
  return ops;
}
