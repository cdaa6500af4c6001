/**
 * Structured logs on a real local cluster: one send followed by its request id from the router's
 * line to the coordinator's and to the other owner's (the deliver between nodes), with no message
 * content and no credential in any line; lifecycle events (lease acquired, ring adopted) logged.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { eventually, TemporaryDirectory } from '../../harness/index.js';
import { bootCluster } from '../helpers/local-cluster.js';

interface LogLine {
  member: string;
  level: string;
  msg: string;
  requestId?: string;
  route?: string;
  status?: number;
  [field: string]: unknown;
}

/** The members' JSON lines from the launcher's output (`[member] {...}`). */
function logLines(path: string): LogLine[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .map((line) => /^\[[\w-]+\] (\{.*\})$/.exec(line)?.[1])
    .filter((json): json is string => json !== undefined)
    .map((json) => JSON.parse(json) as LogLine);
}

t.test('one send is followed by its request id across router and both owners', async (t) => {
  const logs = new TemporaryDirectory('chatring-test-logs-');
  t.teardown(() => logs.dispose());
  const logPath = join(logs.path, 'cluster.log');
  const appToken = 'app-token-that-must-never-be-logged';
  const cluster = await bootCluster(t, {
    logPath,
    env: {
      CHATRING_LOG_LEVEL: 'info',
      CHATRING_LOG_FORMAT: 'json',
      CHATRING_APP_TOKENS: appToken,
    },
  });

  // Two users on different nodes, so the send crosses from the coordinator to the other owner.
  let pair: [string, string] | undefined;
  for (let index = 0; pair === undefined && index < 200; index += 1) {
    const [a, b] = [`log-a${index}`, `log-b${index}`];
    if ((await cluster.ownerOf(a)).nodeId !== (await cluster.ownerOf(b)).nodeId) pair = [a, b];
  }
  if (pair === undefined) throw new Error('no pair of users on two nodes');
  const [sender, recipient] = pair;
  const coordinator = (await cluster.ownerOf(sender < recipient ? sender : recipient)).nodeId;
  const other = (await cluster.ownerOf(sender < recipient ? recipient : sender)).nodeId;
  const content = 'a secret message body 7f3a';
  const requestId = 'trace-7f3a-send';
  const answer = await fetch(`${cluster.url}/v1/messages`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${appToken}`,
      'x-request-id': requestId,
    },
    body: JSON.stringify({
      senderId: sender,
      recipientId: recipient,
      content,
      clientMessageId: 'c1',
    }),
  });
  t.equal(answer.status, 201);

  const traced = await eventually('the send logged by the router and both owners', async () => {
    const lines = logLines(logPath).filter((line) => line.requestId === requestId);
    const members = new Set(lines.map((line) => line.member));
    return members.has('router') && members.has(coordinator) && members.has(other)
      ? lines
      : undefined;
  });
  const at = (member: string) => traced.find((line) => line.member === member);
  t.match(at('router'), { route: '/v1/messages', status: 201, level: 'info', msg: 'answered' });
  t.match(at(coordinator), { route: '/v1/messages', status: 201 }, 'the coordinator answered it');
  t.match(
    at(other),
    { route: '/internal/v1/deliver', status: 200 },
    'the other owner wrote its copy',
  );

  const everything = readFileSync(logPath, 'utf8');
  t.notOk(everything.includes(content), 'no message content in any line');
  t.notOk(everything.includes(appToken), 'no app token in any line');

  const lines = logLines(logPath);
  t.ok(
    lines.some((line) => line.member === coordinator && line.msg === 'lease acquired'),
    'lifecycle: the lease',
  );
  t.ok(
    lines.some((line) => line.member === coordinator && line.msg === 'ring adopted'),
    'lifecycle: the ring',
  );
  t.ok(lines.every((line) => typeof line.time === 'number' && typeof line.level === 'string'));
});

t.test('a request without an id gets one, and reads are not logged at info', async (t) => {
  const logs = new TemporaryDirectory('chatring-test-logs-');
  t.teardown(() => logs.dispose());
  const logPath = join(logs.path, 'cluster.log');
  const cluster = await bootCluster(t, {
    nodes: 1,
    standbys: 0,
    logPath,
    env: { CHATRING_LOG_LEVEL: 'info', CHATRING_LOG_FORMAT: 'json' },
  });
  const send = await fetch(`${cluster.url}/v1/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ senderId: 'u1', recipientId: 'u2', content: 'x', clientMessageId: 'c' }),
  });
  t.equal(send.status, 201);
  const read = await fetch(`${cluster.url}/v1/users/u1/conversations`);
  t.equal(read.status, 200);
  const [routerLine, nodeLine] = await eventually('the send on router and node', async () => {
    const sends = logLines(logPath).filter((line) => line.route === '/v1/messages');
    const router = sends.find((line) => line.member === 'router');
    const node = sends.find((line) => line.member === 'node-1');
    return router === undefined || node === undefined ? undefined : [router, node];
  });
  t.match(routerLine.requestId, /^[\w-]+-\w+$/, 'the router made an id');
  t.equal(nodeLine.requestId, routerLine.requestId, 'and the node carries it');
  t.notOk(
    logLines(logPath).some((line) => line.route === '/v1/users/:userId/conversations'),
    'a successful read is debug, not info',
  );
});
