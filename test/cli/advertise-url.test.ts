/**
 * Where a member says it can be reached: `--advertise-url`, checked; a wildcard listen address
 * (0.0.0.0, ::) without one is refused before anything binds, naming the flag; a router listening
 * on every interface with an advertised URL says so and serves there.
 */
import { execFile, spawn } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import t from 'tap';
import { CHATRING_ENTRY, TemporaryDirectory } from '../../harness/index.js';
import { NODE_URL_CHARS_LIMIT, advertisedUrl } from '../../protocol/index.js';

const TOKENS = {
  CHATRING_CLUSTER_SECRET: 'a-cluster-secret-of-at-least-32-bytes',
  CHATRING_APP_TOKENS: 'app-token-for-the-advertise-test',
  CHATRING_OPERATOR_TOKEN: 'operator-token-for-the-advertise-test',
};

t.test('advertisedUrl: the given URL, else where it listens; wildcards need one', async (t) => {
  t.equal(advertisedUrl('x', '127.0.0.1', 8080, undefined), 'http://127.0.0.1:8080');
  t.equal(advertisedUrl('x', '::1', 8080, undefined), 'http://[::1]:8080');
  t.equal(
    advertisedUrl('x', '0.0.0.0', 8080, 'https://chat-7.internal:9443'),
    'https://chat-7.internal:9443',
  );
  t.equal(advertisedUrl('x', '::', 1, 'http://10.0.0.7:8080/'), 'http://10.0.0.7:8080');
  for (const host of ['0.0.0.0', '::'])
    t.throws(() => advertisedUrl('x', host, 8080, undefined), {
      code: 'INVALID_OPTION',
      message: /--advertise-url/,
    });
  for (const bad of ['10.0.0.7:8080', 'ftp://h:1', 'http://h:1/path', 'http://user@h:1', ''])
    t.throws(() => advertisedUrl('x', '0.0.0.0', 8080, bad), { code: 'INVALID_OPTION' }, bad);
});

t.test('advertisedUrl: at most NODE_URL_CHARS_LIMIT characters, as a ring can carry', async (t) => {
  /** An origin of exactly `chars` characters: http:// + a host of 63-char labels + :8080. */
  const originOf = (chars: number): string => {
    const hostChars = chars - 'http://'.length - ':8080'.length;
    const labels = ('a'.repeat(62) + '.').repeat(Math.ceil(hostChars / 63));
    return `http://${labels.slice(0, hostChars - 1)}b:8080`;
  };
  const atLimit = originOf(NODE_URL_CHARS_LIMIT);
  t.equal(atLimit.length, NODE_URL_CHARS_LIMIT);
  t.equal(advertisedUrl('x', '0.0.0.0', 1, atLimit), atLimit, 'at the limit: accepted');
  t.throws(
    () => advertisedUrl('x', '0.0.0.0', 1, originOf(NODE_URL_CHARS_LIMIT + 1)),
    { code: 'INVALID_OPTION', message: /at most 2048 characters/ },
    'one past the limit: refused, not cut',
  );
});

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

t.test('chatring router on 0.0.0.0: refused without --advertise-url, served with it', async (t) => {
  const directory = new TemporaryDirectory('chatring-advertise-');
  t.teardown(() => directory.dispose());
  const port = await freePort();
  const args = [
    'router',
    '--host',
    '0.0.0.0',
    '--port',
    String(port),
    '--data-dir',
    directory.path,
  ];
  const refused = await promisify(execFile)(process.execPath, [CHATRING_ENTRY, ...args], {
    env: { ...process.env, ...TOKENS },
    timeout: 20_000,
  }).then(
    () => ({ code: 0, stderr: '' }),
    (error: unknown) => error as { code: number; stderr: string },
  );
  t.equal(refused.code, 2);
  t.match(refused.stderr, /INVALID_OPTION: .*0\.0\.0\.0.*--advertise-url/);

  const advertised = `http://127.0.0.1:${port}`;
  const router = spawn(process.execPath, [CHATRING_ENTRY, ...args, '--advertise-url', advertised], {
    env: { ...process.env, ...TOKENS },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.teardown(() => {
    router.kill('SIGKILL');
  });
  const line = await new Promise<string>((resolve, reject) => {
    let output = '';
    router.stdout.setEncoding('utf8').on('data', (text: string) => {
      output += text;
      const match = /router listening on (\S+)/.exec(output);
      if (match?.[1] !== undefined) resolve(match[1]);
    });
    router.once('exit', (code) => reject(new Error(`router exited ${code}: ${output}`)));
  });
  t.equal(line, advertised, 'it says where others reach it');
  const health = await fetch(`${advertised}/healthz`);
  t.equal(health.status, 200, 'and serves there');
});
