/**
 * App and operator tokens on a real local cluster: without a token 401, with a wrong one 403, with
 * the right one the request is served; ringctl works with the operator token; and a member told to
 * listen beyond loopback without tokens refuses to start, naming the flag.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { request } from 'undici';
import t from 'tap';
import { ApiClient, CHATRING_ENTRY, TemporaryDirectory } from '../../harness/index.js';
import { hashToken } from '../../transport/index.js';
import { bootCluster } from '../helpers/local-cluster.js';
import { ringctl } from '../helpers/ringctl.js';

const APP_TOKEN = 'app-token-for-the-tests-0001';
const ROTATED_APP_TOKEN = 'app-token-for-the-tests-0002';
const OPERATOR_TOKEN = 'operator-token-for-the-tests-01';

async function statusOf(
  url: string,
  authorization?: string,
): Promise<[number, string | undefined]> {
  const response = await request(url, {
    headers: authorization === undefined ? {} : { authorization },
  });
  const body = (await response.body.json().catch(() => ({}))) as { error?: { code?: string } };
  return [response.statusCode, body.error?.code];
}

t.test(
  'with tokens configured: none 401, wrong 403, right served; ringctl with the operator token',
  async (t) => {
    const cluster = await bootCluster(t, {
      standbys: 1,
      env: {
        // One app token as its hash (what a server's configuration should hold), one plain.
        CHATRING_APP_TOKENS: `${hashToken(APP_TOKEN)},${ROTATED_APP_TOKEN}`,
        CHATRING_OPERATOR_TOKEN: hashToken(OPERATOR_TOKEN),
      },
    });
    const conversations = `${cluster.url}/v1/users/alice/conversations`;
    t.same(await statusOf(conversations), [401, 'UNAUTHENTICATED'], 'no app token');
    t.same(
      await statusOf(conversations, 'Bearer wrong-token-0123456789'),
      [403, 'FORBIDDEN'],
      'wrong',
    );
    t.same(
      await statusOf(conversations, `Bearer ${OPERATOR_TOKEN}`),
      [403, 'FORBIDDEN'],
      'an operator token is not an app token',
    );
    t.same(await statusOf(conversations, 'Basic abc'), [403, 'FORBIDDEN'], 'not a bearer token');
    t.same(await statusOf(conversations, `Bearer ${APP_TOKEN}`), [200, undefined]);
    t.same(
      await statusOf(conversations, `Bearer ${ROTATED_APP_TOKEN}`),
      [200, undefined],
      'both tokens of a rotation',
    );
    t.same(await statusOf(`${cluster.url}/healthz`), [200, undefined], 'liveness stays open');
    t.same(
      await statusOf(`${cluster.url}/v1/ring`),
      [401, 'UNAUTHENTICATED'],
      'the public ring is an app route',
    );
    t.same(await statusOf(`${cluster.url}/v1/ring`, `Bearer ${APP_TOKEN}`), [200, undefined]);

    // Sends go through with the token, including the node-to-node delivery behind them.
    const api = new ApiClient(cluster.url, { bearerToken: APP_TOKEN });
    t.teardown(() => api.close());
    t.equal((await api.send('alice', 'bob', 'hello', 'c1')).status, 201);
    t.same(
      (await api.messages('bob', 'alice~bob')).body.messages.map((m) => m.content),
      ['hello'],
    );
    // A node's public routes take the same app tokens (clients may call an owner directly).
    const node = (await cluster.status()).nodes.find((n) => n.state === 'serving');
    t.same(await statusOf(`${node?.url}/v1/users/alice/conversations`), [401, 'UNAUTHENTICATED']);

    const status = `${cluster.url}/control/v1/status`;
    t.same(await statusOf(status), [401, 'UNAUTHENTICATED'], 'no operator token');
    t.same(
      await statusOf(status, `Bearer ${APP_TOKEN}`),
      [403, 'FORBIDDEN'],
      'an app token is not an operator token',
    );
    t.same(await statusOf(status, `Bearer ${OPERATOR_TOKEN}`), [200, undefined]);

    const router = ['--router', cluster.url];
    const refused = await ringctl([...router, 'status'], {});
    t.equal(refused.code, 1);
    t.match(refused.stderr, /ringctl: UNAUTHENTICATED: /);
    const wrong = await ringctl([...router, 'status'], {
      CHATRING_OPERATOR_TOKEN: 'wrong-token-0123456789',
    });
    t.match(wrong.stderr, /ringctl: FORBIDDEN: /);
    const withToken = { CHATRING_OPERATOR_TOKEN: OPERATOR_TOKEN };
    t.equal((await ringctl([...router, 'status'], withToken)).code, 0);
    t.equal((await ringctl([...router, 'owner', 'alice'], withToken)).code, 0);
    const added = await ringctl([...router, '--json', 'add', 'standby-1'], withToken);
    t.equal(added.code, 0, added.stderr);
    t.ok(
      (await cluster.ring()).slots.some((a) => a.nodeId === 'standby-1'),
      'the change happened',
    );
  },
);

t.test(
  'a member told to listen beyond loopback without tokens refuses to start, naming the flag',
  async (t) => {
    const directory = new TemporaryDirectory('chatring-security-');
    t.teardown(() => directory.dispose());
    const run = async (args: string[], env: Record<string, string>) => {
      try {
        await promisify(execFile)(process.execPath, [CHATRING_ENTRY, ...args], {
          env: { ...process.env, ...env },
          timeout: 20_000,
        });
        return { code: 0, stderr: '' };
      } catch (error) {
        return error as { code: number; stderr: string };
      }
    };
    const secret = { CHATRING_CLUSTER_SECRET: 'a-cluster-secret-of-at-least-32-bytes' };
    const router = ['router', '--host', '0.0.0.0', '--port', '0', '--data-dir', directory.path];
    const noTokens = await run(router, secret);
    t.equal(noTokens.code, 2);
    t.match(noTokens.stderr, /beyond loopback, needs appTokens \(--app-tokens-file/);
    const noOperator = await run(router, { ...secret, CHATRING_APP_TOKENS: APP_TOKEN });
    t.match(noOperator.stderr, /needs operatorTokens \(--operator-token-file/);
    const node = [
      'node',
      '--node-id',
      'node-1',
      '--host',
      '0.0.0.0',
      '--control-plane-url',
      'http://127.0.0.1:9',
      '--data-dir',
      directory.path,
    ];
    t.match((await run(node, secret)).stderr, /beyond loopback, needs appTokens/);
    const noSecret = await run(['router', '--port', '0', '--data-dir', directory.path], {});
    t.equal(noSecret.code, 2);
    t.match(
      noSecret.stderr,
      /INVALID_OPTION: a member needs the cluster secret: --cluster-secret-file/,
    );
  },
);
