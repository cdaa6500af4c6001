/**
 * Where members listen and what they advertise (issue 15, "Addresses"): `--listen HOST:PORT` on
 * `chatring router` and `chatring node` (or `--host` and `--port`, never both ways), hosts and
 * `--advertise-url` checked with the flag's name, limits at the limit; `chatring start
 * --router-host` and `--node-hosts` place each member on its address, and a real cluster placed on
 * 127.0.0.2-4 (all loopback on Linux) advertises, listens and serves exactly there.
 */
import { execFile, spawn } from 'node:child_process';
import { connect } from 'node:net';
import { promisify } from 'node:util';
import t from 'tap';
import { resolveClusterOptions } from '../../cli/cluster-options.js';
import { nodeOptionsFrom, routerOptionsFrom } from '../../cli/member-options.js';
import {
  ApiClient,
  CHATRING_ENTRY,
  TemporaryDirectory,
  eventually,
  uniqueUser,
} from '../../harness/index.js';
import { advertisedUrl, conversationIdOf } from '../../protocol/index.js';
import { resolveRouterOptions } from '../../router/index.js';
import { bootCluster } from '../helpers/local-cluster.js';

/** Members always need the cluster secret; these tests are about the address flags. */
const SECRET_ENV = { CHATRING_CLUSTER_SECRET: 'a-cluster-secret-of-at-least-32-bytes' };

const router = (flags: Record<string, string>) =>
  routerOptionsFrom({ dataDir: '/nonexistent', ...flags }, SECRET_ENV);
const node = (flags: Record<string, string>) =>
  nodeOptionsFrom(
    {
      nodeId: 'node-1',
      controlPlaneUrl: 'http://127.0.0.1:8080',
      dataDir: '/nonexistent',
      ...flags,
    },
    SECRET_ENV,
  );

/** A host name of exactly `chars` characters, in labels of `label` characters (the last shorter). */
function hostNameOf(chars: number, label = 63): string {
  const labels: string[] = [];
  for (let left = chars; left > 0; left -= label + 1)
    labels.push('a'.repeat(Math.min(label, left)));
  return labels.join('.');
}

t.test(
  'defaults are unchanged: 127.0.0.1, the router on 8080, a node on any free port',
  async (t) => {
    const routerOptions = resolveRouterOptions(router({}));
    t.equal(routerOptions.host, '127.0.0.1');
    t.equal(routerOptions.port, 8080);
    t.equal(routerOptions.advertiseUrl, undefined);
    t.match(node({}), { host: '127.0.0.1', port: 0, advertiseUrl: undefined });
  },
);

t.test('--listen HOST:PORT is --host and --port in one; IPv6 in brackets', async (t) => {
  for (const [listen, host, port] of [
    ['127.0.0.2:0', '127.0.0.2', 0],
    ['10.0.3.7:65535', '10.0.3.7', 65_535],
    ['[::1]:8080', '::1', 8080],
    ['[2001:db8::7]:7000', '2001:db8::7', 7000],
    ['localhost:1', 'localhost', 1],
    ['chat-7.internal:9443', 'chat-7.internal', 9443],
    [`${hostNameOf(253)}:1`, hostNameOf(253), 1],
  ] as const) {
    t.match(router({ listen }), { host, port }, `router ${listen}`);
    t.match(node({ listen }), { host, port }, `node ${listen}`);
  }
  t.match(router({ host: '[::1]', port: '0' }), { host: '::1', port: 0 }, '--host [::1]: bare');
  t.match(node({ host: 'chat-7.internal' }), { host: 'chat-7.internal', port: 0 });
});

t.test('a bad listen address is INVALID_OPTION naming its flag', async (t) => {
  const bad = {
    listen: [
      '127.0.0.1', // no port
      ':8080', // no host
      '127.0.0.1:',
      '127.0.0.1:65536', // one past the port limit
      '127.0.0.1:-1',
      '127.0.0.1:http',
      '::1:8080', // IPv6 without brackets
      '::1',
      '[127.0.0.1]:80', // brackets are for IPv6
      '[chat]:80',
      '[fe80::1%eth0]:80', // a zone id no URL can carry
      'bad_host:80',
      'a..b:80',
      '-a:80',
      'a-:80',
      '127.1:80', // reads as an IPv4 number
      '10.0.0.256:80',
      `${'a'.repeat(64)}:80`, // one past the label limit
      `${hostNameOf(254)}:80`, // one past the name limit
    ],
    host: ['', 'bad_host', 'a b', '[127.0.0.1]', 'http://h', hostNameOf(254), 'a'.repeat(64)],
    port: ['65536', '-1', '80x', ''],
  } as const;
  for (const [flag, values] of Object.entries(bad))
    for (const value of values)
      for (const [member, options] of [
        ['router', router],
        ['node', node],
      ] as const)
        t.throws(
          () => options({ [flag]: value }),
          { code: 'INVALID_OPTION', message: new RegExp(`^--${flag}\\b`) },
          `${member} --${flag} "${value}"`,
        );
  t.equal(router({ listen: `${'a'.repeat(63)}:80` }).host, 'a'.repeat(63), 'label at the limit');
});

t.test('--listen with --host or --port is refused: one way or the other', async (t) => {
  for (const other of [{ host: '127.0.0.1' }, { port: '8080' }, { host: '::1', port: '1' }])
    for (const options of [router, node])
      t.throws(() => options({ listen: '127.0.0.2:0', ...other }), {
        code: 'INVALID_OPTION',
        message: /^--listen .*--(host|port) or --listen, not both/,
      });
});

t.test('--advertise-url: http(s)://host:port and nothing else', async (t) => {
  for (const url of [
    'http://10.0.3.7:8080',
    'https://chat-7.internal:9443/',
    'http://[::1]:1',
    'http://127.0.0.1:65535',
    `http://${hostNameOf(253)}:1`,
  ]) {
    t.equal(router({ advertiseUrl: url }).advertiseUrl, url, url);
    t.equal(node({ advertiseUrl: url }).advertiseUrl, url, url);
  }
  for (const url of [
    'http://10.0.3.7', // no port: would silently mean 80
    'https://chat-7.internal',
    '10.0.3.7:8080',
    'ftp://h:1',
    'http://h:1/path',
    'http://h:1?q=1',
    'http://h:1#f',
    'http://user@h:1',
    'http://user:pw@h:1',
    'http://h:0',
    'http://h:65536',
    'http://0.0.0.0:8080', // nobody can be sent there
    'http://[::]:8080',
    'http://bad_host:1',
    `http://${hostNameOf(254)}:1`,
    '',
  ])
    for (const options of [router, node])
      t.throws(
        () => options({ advertiseUrl: url }),
        { code: 'INVALID_OPTION', message: /^--advertise-url / },
        url,
      );
});

t.test('a wildcard listen address needs --advertise-url, as the member checks', async (t) => {
  // The member refuses it before binding, after its credentials check (test/security/tokens.test.ts
  // wants a member on every interface without tokens told about the tokens first).
  for (const flags of [
    { listen: '0.0.0.0:8080' },
    { listen: '[::]:8080' },
    { host: '0.0.0.0' },
    { host: '::' },
    { host: '0:0::0' },
  ])
    for (const options of [router, node]) {
      const { host = '', port = 0 } = options(flags);
      t.throws(() => advertisedUrl('chatring', host, port, undefined), {
        code: 'INVALID_OPTION',
        message: /every interface.*--advertise-url/,
      });
      const advertiseUrl = 'http://10.0.3.7:8080';
      t.equal(options({ ...flags, advertiseUrl }).advertiseUrl, advertiseUrl);
    }
});

t.test('chatring start: --router-host and --node-hosts, else their variables', async (t) => {
  const defaults = resolveClusterOptions({}, {});
  t.equal(defaults.routerHost, '127.0.0.1');
  t.same(defaults.nodeHosts, ['127.0.0.1']);
  const placed = resolveClusterOptions(
    { routerHost: '127.0.0.2', nodeHosts: '127.0.0.3,[::1],node-7.internal' },
    {},
  );
  t.equal(placed.routerHost, '127.0.0.2');
  t.same(placed.nodeHosts, ['127.0.0.3', '::1', 'node-7.internal']);
  t.ok(Object.isFrozen(placed.nodeHosts));
  const env = { CHATRING_ROUTER_HOST: '127.0.0.5', CHATRING_NODE_HOSTS: '127.0.0.6,127.0.0.7' };
  t.equal(resolveClusterOptions({}, env).routerHost, '127.0.0.5');
  t.same(resolveClusterOptions({}, env).nodeHosts, ['127.0.0.6', '127.0.0.7']);
  t.equal(resolveClusterOptions({ routerHost: '127.0.0.2' }, env).routerHost, '127.0.0.2');
});

t.test('chatring start: bad hosts are INVALID_OPTION naming the flag', async (t) => {
  // 3 nodes and 1 standby by default: four hosts at most, one per member.
  t.equal(resolveClusterOptions({ nodeHosts: 'a,b,c,d' }, {}).nodeHosts.length, 4);
  t.equal(
    resolveClusterOptions({ nodeHosts: 'a,b,c,d,e,f', nodes: '5', standbys: '1' }, {}).nodeHosts
      .length,
    6,
  );
  for (const [flags, flag] of [
    [{ nodeHosts: 'a,b,c,d,e' }, '--node-hosts'],
    [{ nodeHosts: 'a,b', nodes: '1', standbys: '0' }, '--node-hosts'],
    [{ nodeHosts: '127.0.0.3,,127.0.0.4' }, '--node-hosts'],
    [{ nodeHosts: '127.0.0.3,' }, '--node-hosts'],
    [{ nodeHosts: '0.0.0.0' }, '--node-hosts'],
    [{ nodeHosts: '127.0.0.3,::' }, '--node-hosts'],
    [{ nodeHosts: '127.0.0.1:8080' }, '--node-hosts'],
    [{ routerHost: '0.0.0.0' }, '--router-host'],
    [{ routerHost: '[::]' }, '--router-host'],
    [{ routerHost: 'bad_host' }, '--router-host'],
    [{ routerHost: '' }, '--router-host'],
    [{ routerHost: hostNameOf(254) }, '--router-host'],
  ] as const)
    t.throws(
      () => resolveClusterOptions(flags, {}),
      { code: 'INVALID_OPTION', message: new RegExp(`^${flag} `) },
      JSON.stringify(flags),
    );
  t.throws(() => resolveClusterOptions({}, { CHATRING_ROUTER_HOST: '0.0.0.0' }), {
    code: 'INVALID_OPTION',
    message: /^--router-host /,
  });
});

/** What a spawned `chatring` exits with and prints on stderr, when it exits by itself. */
async function refusal(args: string[], env: NodeJS.ProcessEnv) {
  return promisify(execFile)(process.execPath, [CHATRING_ENTRY, ...args], {
    env,
    timeout: 20_000,
  }).then(
    () => ({ code: 0, stderr: '' }),
    (error: unknown) => error as { code: number; stderr: string },
  );
}

t.test('the command lines refuse with exit code 2 and the flag name', async (t) => {
  const directory = new TemporaryDirectory('chatring-addresses-');
  t.teardown(() => directory.dispose());
  const env = { ...process.env, ...SECRET_ENV };
  const both = await refusal(
    ['router', '--listen', '127.0.0.2:0', '--port', '0', '--data-dir', directory.path],
    env,
  );
  t.equal(both.code, 2);
  t.match(both.stderr, /^chatring: INVALID_OPTION: --listen .*not both/m);
  const node = await refusal(
    [
      'node',
      '--node-id',
      'node-1',
      '--listen',
      '::1:0',
      '--control-plane-url',
      'http://127.0.0.1:1',
      '--data-dir',
      directory.path,
    ],
    env,
  );
  t.equal(node.code, 2);
  t.match(node.stderr, /^chatring: INVALID_OPTION: --listen must put an IPv6 host in brackets/m);
  // `--advertise` is `--advertise-url` (commander would refuse an unknown flag with exit code 1).
  const alias = await refusal(
    ['router', '--advertise', 'http://10.0.3.7', '--data-dir', directory.path],
    env,
  );
  t.equal(alias.code, 2);
  t.match(
    alias.stderr,
    /^chatring: INVALID_OPTION: --advertise-url must be http\(s\):\/\/host:port/m,
  );
  const tokens = {
    CHATRING_APP_TOKENS: 'app-token-for-the-addresses-test',
    CHATRING_OPERATOR_TOKEN: 'operator-token-for-the-addresses-test',
  };
  const everywhere = await refusal(['router', '--listen', '[::]:0', '--data-dir', directory.path], {
    ...env,
    ...tokens,
  });
  t.equal(everywhere.code, 2);
  t.match(everywhere.stderr, /^chatring: INVALID_OPTION: .*every interface.*--advertise-url/m);
  // Beyond loopback without app and operator tokens: refused by the launcher before any member.
  const untokened = Object.fromEntries(
    Object.entries(env).filter(([name]) => !/^CHATRING_(APP|OPERATOR)_TOKEN/.test(name)),
  );
  const start = await refusal(
    ['start', '--router-host', '10.255.0.1', '--data-dir', directory.path],
    untokened,
  );
  t.equal(start.code, 2);
  t.match(
    start.stderr,
    /^chatring: INVALID_OPTION: --router-host 10\.255\.0\.1 is beyond loopback/m,
  );
});

t.test('chatring router --listen 127.0.0.2:0 listens and says so there', async (t) => {
  const directory = new TemporaryDirectory('chatring-addresses-');
  t.teardown(() => directory.dispose());
  const child = spawn(
    process.execPath,
    [CHATRING_ENTRY, 'router', '--listen', '127.0.0.2:0', '--data-dir', directory.path],
    { env: { ...process.env, ...SECRET_ENV }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  t.teardown(() => {
    child.kill('SIGKILL');
  });
  const url = await new Promise<string>((resolve, reject) => {
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => {
      output += text;
      const match = /^router listening on (\S+)$/m.exec(output);
      if (match?.[1] !== undefined) resolve(match[1]);
    });
    child.once('exit', (code) => reject(new Error(`router exited ${code}: ${output}`)));
  });
  t.match(url, /^http:\/\/127\.0\.0\.2:[1-9]\d*$/);
  t.equal((await fetch(`${url}/healthz`)).status, 200);
});

/** Whether anything accepts a TCP connection at host:port. */
async function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * The TCP sockets listening on `port`, as `ss -ltnp` shows them: local address and owning pid.
 * Other processes may listen on the same port at other addresses (the kernel hands out a port
 * per address), so a member's own sockets are told apart by its pid.
 */
async function listenersOn(port: number): Promise<{ address: string; pid: number }[]> {
  const { stdout } = await promisify(execFile)('ss', ['-Hltnp', `sport = :${port}`]);
  return stdout
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => ({
      address: line.trim().split(/\s+/)[3] ?? '',
      pid: Number(/pid=(\d+)/.exec(line)?.[1]),
    }));
}

t.test('a cluster placed on 127.0.0.2-4 advertises, listens and serves there', async (t) => {
  const cluster = await bootCluster(t, {
    nodes: 3,
    standbys: 1,
    routerHost: '127.0.0.2',
    nodeHosts: ['127.0.0.3', '127.0.0.4'],
  });
  const routerUrl = new URL(cluster.url);
  t.equal(routerUrl.hostname, '127.0.0.2', 'the router says it is on its host');

  // Nodes, then standbys, each on the next host of the list, cycling; each advertises its own.
  const expected = {
    'node-1': '127.0.0.3',
    'node-2': '127.0.0.4',
    'node-3': '127.0.0.3',
    'standby-1': '127.0.0.4',
  };
  // Start-up waits for the slots' nodes; a standby registers (and gets a URL) at its first
  // heartbeat, which may come a moment later.
  const status = await eventually('every node to have registered its URL', async () => {
    const current = await cluster.status();
    return current.nodes.length === Object.keys(expected).length &&
      current.nodes.every((entry) => entry.url !== '')
      ? current
      : undefined;
  });
  const ring = await cluster.ring();
  t.same(
    Object.fromEntries(status.nodes.map((entry) => [entry.nodeId, new URL(entry.url).hostname])),
    expected,
    'the status lists each node at its own address',
  );
  for (const [nodeId, host] of Object.entries(expected)) {
    const url = ring.nodes[nodeId]?.url ?? '';
    t.equal(new URL(url).hostname, host, `the ring sends callers of ${nodeId} to ${host}`);
  }

  // Each member listens on its address and nowhere else on its port (not 127.0.0.1, not every
  // interface); a node's socket is its own process's.
  const members = [
    ['router', '127.0.0.2', Number(routerUrl.port), undefined],
    ...status.nodes.map((entry) => {
      const url = new URL(entry.url);
      return [entry.nodeId, url.hostname, Number(url.port), entry.pid] as const;
    }),
  ] as const;
  for (const [member, host, port, pid] of members) {
    const listeners = await listenersOn(port);
    const own = listeners.find((listener) => listener.address === `${host}:${port}`);
    t.ok(own, `${member}: ss shows a socket listening at ${host}:${port}`);
    if (pid !== undefined) t.equal(own?.pid, pid, `${member}: the socket is its process's`);
    t.same(
      listeners.filter((listener) => listener.pid === own?.pid).map(({ address }) => address),
      [`${host}:${port}`],
      `${member}: its process listens on port ${port} at ${host} only`,
    );
    t.equal(await accepts(host, port), true, `${member} accepts at ${host}:${port}`);
    // Another process may hold 127.0.0.1 on the same port (ss shows it): then it answers, not us.
    if (!listeners.some((listener) => listener.address === `127.0.0.1:${port}`))
      t.equal(await accepts('127.0.0.1', port), false, `${member}: nothing at 127.0.0.1:${port}`);
  }

  // And the router reaches its nodes there: a message sent and read back through it.
  const api = new ApiClient(cluster.url);
  t.teardown(() => api.close());
  const [alice, bob] = [uniqueUser('alice'), uniqueUser('bob')];
  const sent = await api.send(alice, bob, 'from 127.0.0.2', 'addresses-1');
  t.equal(sent.status, 201);
  const read = await api.messages(bob, conversationIdOf(alice, bob));
  t.equal(read.status, 200);
  t.same(
    read.body.messages.map((message) => [message.messageId, message.content]),
    [[sent.body.message.messageId, 'from 127.0.0.2']],
    'the recipient reads it',
  );
});
