/**
 * The attacks of issue 10, replayed against a real local cluster started as `npm start` starts it
 * (launcher, router, nodes and a standby as separate processes on loopback): each is refused with a
 * stable code and changes nothing, neither the ring nor any mailbox.
 */
import { connect } from 'node:net';
import { request } from 'undici';
import t from 'tap';
import { CONTROL_PLANE_PATHS } from '../../control-plane/index.js';
import { DELIVER_PATH, HANDOFF_PATHS, type RingConfig } from '../../protocol/index.js';
import {
  MEMBER_SIGNATURE_HEADER,
  MemberLinks,
  MemberSigner,
  linkCredentials,
} from '../../transport/index.js';
import { ApiClient, eventually } from '../../harness/index.js';
import { bootCluster, type TestCluster } from '../helpers/local-cluster.js';

interface Answer {
  status: number;
  code: string | undefined;
  headers: Record<string, string | string[] | undefined>;
}

/** One raw request, signed by `signer` when given; answers the status and the catalogue code. */
async function call(
  baseUrl: string,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
  signer?: MemberSigner,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const text = body === undefined ? undefined : JSON.stringify(body);
  const response = await request(`${baseUrl}${path}`, {
    method,
    headers: {
      ...(text === undefined ? {} : { 'content-type': 'application/json' }),
      ...(signer === undefined
        ? {}
        : { [MEMBER_SIGNATURE_HEADER]: signer.sign(method, path, text) }),
      ...headers,
    },
    ...(text === undefined ? {} : { body: text }),
  });
  const raw = await response.body.text();
  let code: string | undefined;
  try {
    code = (JSON.parse(raw) as { error?: { code?: string } }).error?.code;
  } catch {
    code = undefined;
  }
  return { status: response.statusCode, code, headers: response.headers };
}

async function nodeUrls(cluster: TestCluster): Promise<Record<string, string>> {
  const status = await cluster.status();
  return Object.fromEntries(status.nodes.filter((n) => n.url !== '').map((n) => [n.nodeId, n.url]));
}

/** The parts of the ring an attack must not move. */
function ringShape(ring: RingConfig): unknown {
  return {
    epoch: ring.epoch,
    slots: ring.slots,
    standbys: ring.standbys,
    nodes: Object.keys(ring.nodes).sort(),
  };
}

/** Headers, then a body a byte at a time: what the server answers before it closes the socket. */
function trickle(baseUrl: string, path: string): Promise<string> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let answer = '';
    socket.setEncoding('utf8');
    socket.on('data', (text: string) => (answer += text));
    socket.on('error', reject);
    socket.on('close', () => {
      clearInterval(timer);
      resolve(answer);
    });
    socket.write(
      `POST ${path} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{`,
    );
    // Declared last; the close handler above runs only after this (the socket connects later).
    const timer = setInterval(() => socket.writable && socket.write(' '), 200);
  });
}

t.test('every forged member call is refused and changes nothing', async (t) => {
  // Short HTTP timeouts, so the trickled body below is cut off within seconds.
  const cluster = await bootCluster(t, {
    env: {
      CHATRING_HTTP_OPTIONS: JSON.stringify({ headersTimeoutMs: 1_000, requestTimeoutMs: 2_000 }),
    },
  });
  const api = new ApiClient(cluster.url);
  t.teardown(() => api.close());
  const sent = await api.send('alice', 'bob', 'hi', 'm1');
  t.equal(sent.status, 201);
  // The launcher's standby registers with its first heartbeat (epoch + 1), which the cluster's
  // readiness does not wait for: the ring the attacks must not move is the one after it.
  const ringBefore = await eventually('the standby to register', async () => {
    const ring = await cluster.ring();
    return ring.standbys.includes('standby-1') ? ring : undefined;
  });
  const nodes = await nodeUrls(cluster);
  const nodeUrl = nodes['node-1'] ?? '';
  const stranger = new MemberSigner('node-1', Buffer.alloc(32, 0x5a)); // a guessed secret
  const member = (id: string) => new MemberSigner(id, cluster.clusterSecret);

  const heartbeat = { nodeId: 'node-2', url: 'http://127.0.0.1:9', pid: 1 };
  const hb = CONTROL_PLANE_PATHS.heartbeat;
  const unsigned = await call(cluster.url, 'POST', hb, heartbeat);
  t.match(unsigned, { status: 401, code: 'UNAUTHENTICATED' }, 'heartbeat without a signature');
  t.match(unsigned.headers['www-authenticate'], /Bearer/);
  t.match(
    await call(cluster.url, 'POST', hb, heartbeat, stranger),
    { status: 403, code: 'FORBIDDEN' },
    'wrong secret',
  );
  t.match(
    await call(cluster.url, 'POST', hb, heartbeat, member('node-1')),
    { status: 403, code: 'FORBIDDEN' },
    'a member heartbeating as another',
  );
  t.match(
    await call(
      cluster.url,
      'POST',
      hb,
      { nodeId: 'intruder', url: 'http://127.0.0.1:9' },
      member('intruder'),
    ),
    { status: 403, code: 'UNKNOWN_MEMBER' },
    'a member nobody admitted',
  );
  // The signature covers the body: a captured heartbeat with another URL does not verify.
  const captured = member('node-2').sign(
    'POST',
    hb,
    JSON.stringify({ nodeId: 'node-2', url: nodes['node-2'] }),
  );
  t.match(
    await call(cluster.url, 'POST', hb, heartbeat, undefined, {
      [MEMBER_SIGNATURE_HEADER]: captured,
    }),
    { status: 403, code: 'FORBIDDEN' },
    'a signature replayed over another body',
  );
  t.match(
    await call(cluster.url, 'GET', CONTROL_PLANE_PATHS.ring),
    { status: 401 },
    'the ring is for members',
  );

  const forgedRing = { ring: { ...ringBefore, epoch: Number.MAX_SAFE_INTEGER, slots: [] } };
  t.match(
    await call(nodeUrl, 'POST', HANDOFF_PATHS.ring, forgedRing),
    { status: 401, code: 'UNAUTHENTICATED' },
    'ring push',
  );
  t.match(await call(nodeUrl, 'POST', HANDOFF_PATHS.ring, forgedRing, stranger), {
    status: 403,
    code: 'FORBIDDEN',
  });
  const deliver = {
    message: {
      messageId: 'forged',
      conversationId: 'alice~bob',
      senderId: 'mallory',
      recipientId: 'bob',
      content: 'forged',
      clientMessageId: 'x',
      sentAt: Number.MAX_SAFE_INTEGER,
    },
  };
  for (const target of Object.values(nodes))
    t.match(
      await call(target, 'POST', DELIVER_PATH, deliver),
      { status: 401 },
      `deliver to ${target}`,
    );
  // Deliveries ride links between nodes; a link opened without a member's signature (as any app
  // may open one) carries the public API only.
  const appLinks = new MemberLinks('attacker', {
    credentials: linkCredentials(undefined, undefined),
    timeoutMs: 5_000,
    inFlightMax: 10,
    fallback: () => Promise.reject(new Error('the link was refused: this test needs it open')),
  });
  t.teardown(() => appLinks.close());
  for (const target of Object.values(nodes)) {
    const answer = await appLinks.relay(target, {
      method: 'POST',
      path: DELIVER_PATH,
      body: deliver,
    });
    t.match(
      { status: answer.statusCode, body: JSON.parse(answer.bytes.toString('utf8')) as unknown },
      { status: 401, body: { error: { code: 'UNAUTHENTICATED' } } },
      `deliver on an app's link to ${target}`,
    );
  }
  for (const path of [HANDOFF_PATHS.release, HANDOFF_PATHS.warm, HANDOFF_PATHS.cancel])
    t.match(
      await call(nodeUrl, 'POST', path, { changeId: 'c' }, stranger),
      { status: 403 },
      `handoff ${path}`,
    );

  // A body trickled a byte at a time is cut off with 408, on the router and on a node.
  for (const [where, url, path] of [
    ['router', cluster.url, '/v1/messages'],
    ['node', nodeUrl, '/v1/messages'],
  ] as const) {
    const started = performance.now();
    const answer = await trickle(url, path);
    t.match(answer, /^HTTP\/1\.1 408 /, `${where}: 408 for a trickled body`);
    t.match(answer, /"code":"REQUEST_TIMEOUT"/);
    t.ok(performance.now() - started < 20_000, `${where}: cut off, not held open`);
  }

  t.same(ringShape(await cluster.ring()), ringShape(ringBefore), 'the ring did not move');
  const stats = await call(nodeUrl, 'GET', '/internal/v1/stats', undefined, member('harness'));
  t.equal(stats.status, 200);
  for (const user of ['alice', 'bob']) {
    const listed = await api.messages(user, 'alice~bob');
    t.same(
      listed.body.messages.map((m) => m.content),
      ['hi'],
      `${user}'s mailbox unchanged`,
    );
  }
});

t.test('an operator admits a member before it may join, and removes it', async (t) => {
  const cluster = await bootCluster(t, { standbys: 0 });
  const newcomer = new MemberSigner('node-9', cluster.clusterSecret);
  const heartbeat = { nodeId: 'node-9', url: 'http://127.0.0.1:9' };
  const hb = CONTROL_PLANE_PATHS.heartbeat;
  t.match(await call(cluster.url, 'POST', hb, heartbeat, newcomer), {
    status: 403,
    code: 'UNKNOWN_MEMBER',
  });
  const { RING_CHANGE_PATHS } = await import('../../control-plane/index.js');
  const admit = await call(cluster.url, 'POST', RING_CHANGE_PATHS.apply, {
    change: { action: 'member-add', nodeId: 'node-9' },
  });
  t.equal(admit.status, 200);
  t.match(await call(cluster.url, 'POST', hb, heartbeat, newcomer), { status: 200 });
  t.ok((await cluster.ring()).standbys.includes('node-9'), 'its first heartbeat made it a standby');
  const remove = await call(cluster.url, 'POST', RING_CHANGE_PATHS.apply, {
    change: { action: 'member-remove', nodeId: 'node-9' },
  });
  t.equal(remove.status, 200);
  const ring = await cluster.ring();
  t.notOk(ring.standbys.includes('node-9'));
  t.notOk(Object.hasOwn(ring.nodes, 'node-9'), 'forgotten');
  t.match(await call(cluster.url, 'POST', hb, heartbeat, newcomer), {
    status: 403,
    code: 'UNKNOWN_MEMBER',
  });
});
