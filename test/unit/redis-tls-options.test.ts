/**
 * The Redis control plane's AUTH and TLS options: checked once, where they are built. A bad one is
 * INVALID_OPTION naming the option (and, for a file, the path), at each limit (a password of 1 and
 * 4096 bytes, a PEM file of 1 MiB, a DNS name of 253 characters) and one past it; a password is
 * never echoed, nor a URL's credentials. The CLI's flags and environment variables map onto them
 * (the password never needs argv). And one real test: a TLS-only redis-server that asks for a
 * client certificate and a password, which the control plane reaches with CA + client certificate
 * + password (or an ACL user), and which refuses it, with a stable error, without the client
 * certificate, with a wrong or no password, against the wrong CA or server name.
 */
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Command } from 'commander';
import t, { type Test } from 'tap';
import {
  RedisControlPlane,
  initialRing,
  resolveRedisControlPlaneOptions,
  type RedisControlPlaneOptions,
} from '../../control-plane/index.js';
import { ioredisOptions } from '../../control-plane/redis/redis-connection.js';
import {
  REDIS_CONNECTION_ENV,
  addRedisConnectionFlags,
  redisConnectionEnvironment,
  redisConnectionOptions,
  redisUrlOption,
} from '../../cli/flag-values.js';
import { CONFORMANCE_TIMINGS } from '../control-plane/control-plane-conformance.js';
import {
  RedisTlsUnsupportedError,
  makeTestCertificates,
  startTlsRedisServer,
  toolMissing,
  type TestCertificates,
} from '../helpers/redis-tls.js';

const REDIS_URL = 'redis://127.0.0.1:6379';
const PASSWORD_BYTES_MAX = 4_096;
const PEM_FILE_BYTES_MAX = 1_048_576;

const resolve = (options: Partial<RedisControlPlaneOptions>) =>
  resolveRedisControlPlaneOptions({ redisUrl: REDIS_URL, ...options });

/** Expects INVALID_OPTION from RedisControlPlane naming `option`, with `message` after it. */
function refuses(
  t: Test,
  options: Partial<RedisControlPlaneOptions>,
  option: string,
  message: RegExp,
  name = `${option}: ${message.source}`,
): void {
  t.throws(
    () => resolve(options),
    {
      code: 'INVALID_OPTION',
      message: new RegExp(`^RedisControlPlane: option "${escape(option)}" ${message.source}`),
    },
    name,
  );
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

const opensslMissing = toolMissing('openssl');
const certificates: TestCertificates | undefined =
  opensslMissing === undefined ? makeTestCertificates(t) : undefined;
const needsCertificates = { skip: opensslMissing ?? false };
/** The certificates, where a test runs only when they exist. */
const certs = (): TestCertificates => {
  if (certificates === undefined) throw new Error('no certificates (openssl missing)');
  return certificates;
};
const file = (name: string, content: string | Buffer): string => {
  const path = join(certs().directory, name);
  writeFileSync(path, content);
  return path;
};

t.test(
  'no AUTH, no TLS by default; rediss:// and tls: true verify against the system CAs',
  async (t) => {
    const plain = resolve({});
    t.equal(plain.username, undefined);
    t.equal(plain.password, undefined);
    t.equal(plain.tls, undefined);
    t.notOk('tls' in ioredisOptions('commands', plain), 'plain TCP for ioredis');
    t.same(resolve({ redisUrl: 'rediss://redis.example:6380' }).tls, { rejectUnauthorized: true });
    t.same(resolve({ tls: true }).tls, { rejectUnauthorized: true });
    t.equal(resolve({ tls: false }).tls, undefined);
    t.same(
      resolve({ redisUrl: 'rediss://redis.example:6380', tls: {} }).tls,
      { rejectUnauthorized: true },
      'an empty tls object is TLS with the system CAs',
    );
    const withUrlCredentials = resolve({ redisUrl: 'redis://app:secret@127.0.0.1:6379/2' });
    t.equal(withUrlCredentials.password, undefined, 'credentials in the URL stay in the URL');
  },
);

t.test('a password is 1 to 4096 bytes, never echoed', async (t) => {
  t.equal(resolve({ password: 'x' }).password, 'x');
  t.equal(resolve({ password: 'p'.repeat(PASSWORD_BYTES_MAX) }).password?.length, 4096);
  t.equal(
    resolve({ password: 'é'.repeat(PASSWORD_BYTES_MAX / 2) }).password?.length,
    2048,
    'counted in UTF-8 bytes',
  );
  refuses(t, { password: '' }, 'password', /must be 1 to 4096 bytes, got 0$/);
  refuses(t, { password: 's'.repeat(4097) }, 'password', /must be 1 to 4096 bytes, got 4097$/);
  refuses(
    t,
    { password: `${'é'.repeat(2048)}x` },
    'password',
    /must be 1 to 4096 bytes, got 4097$/,
  );
  refuses(t, { password: 42 as unknown as string }, 'password', /must be a string, got number$/);
  try {
    resolve({ password: `topsecret${'!'.repeat(5000)}` });
    t.fail('accepted');
  } catch (error) {
    t.notMatch((error as Error).message, /topsecret/, 'the password is not in the message');
  }
});

t.test('username: an ACL user, with a password', async (t) => {
  const options = resolve({ username: 'chatring', password: 'secret' });
  t.equal(options.username, 'chatring');
  t.match(ioredisOptions('commands', options), { username: 'chatring', password: 'secret' });
  t.equal(resolve({ username: 'u'.repeat(256), password: 'p' }).username?.length, 256);
  refuses(t, { username: 'u'.repeat(257), password: 'p' }, 'username', /must be 1-256 printable/);
  refuses(t, { username: '', password: 'p' }, 'username', /must be 1-256 printable/);
  refuses(t, { username: 'two words', password: 'p' }, 'username', /must be 1-256 printable/);
  refuses(t, { username: 'chatring' }, 'username', /needs a password/);
});

t.test('credentials come from one place', async (t) => {
  const url = 'redis://app:secret@127.0.0.1:6379';
  refuses(
    t,
    { redisUrl: url, password: 'other' },
    'password',
    /cannot be given with credentials in redisUrl/,
  );
  refuses(t, { redisUrl: url, username: 'other' }, 'username', /cannot be given with credentials/);
  refuses(
    t,
    { redisUrl: 'redis://:secret@127.0.0.1:6379', passwordFile: '/x' },
    'passwordFile',
    /cannot be given with credentials/,
  );
  refuses(
    t,
    { password: 'a', passwordFile: '/x' },
    'passwordFile',
    /cannot be given with password/,
  );
});

t.test(
  'redisUrl: redis:// or rediss://, a database at most, its credentials never shown',
  async (t) => {
    for (const redisUrl of ['http://app:hunter2@127.0.0.1:6379', 'redis:/nohost', 'rediss://', 'x'])
      t.throws(() => resolve({ redisUrl }), {
        code: 'INVALID_OPTION',
        message: /option "redisUrl" must be a redis:\/\/ or rediss:\/\/ URL/,
      });
    t.throws(() => resolve({ redisUrl: 'http://app:hunter2@127.0.0.1:6379' }), {
      message: /got "http:\/\/\*\*\*@127\.0\.0\.1:6379"$/,
    });
    t.throws(() => resolve({ redisUrl: 42 as unknown as string }), { message: /got number$/ });
    refuses(t, { redisUrl: `${REDIS_URL}?password=x` }, 'redisUrl', /must not carry a query/);
    refuses(t, { redisUrl: `${REDIS_URL}#x` }, 'redisUrl', /must not carry a query or a fragment/);
    refuses(t, { redisUrl: `${REDIS_URL}/cache` }, 'redisUrl', /may name a database number/);
    t.equal(resolve({ redisUrl: `${REDIS_URL}/15` }).redisUrl, `${REDIS_URL}/15`);
    refuses(
      t,
      { redisUrl: 'rediss://127.0.0.1:6379', tls: false },
      'tls',
      /is false but redisUrl is rediss:\/\//,
    );
  },
);

t.test('tls: its shape', async (t) => {
  refuses(t, { tls: 'yes' as unknown as boolean }, 'tls', /must be true, false or \{ caFile/);
  refuses(t, { tls: [] as unknown as boolean }, 'tls', /must be true, false .* got an array$/);
  refuses(
    t,
    { tls: { caFile: '/x', verify: true } as unknown as boolean },
    'tls.verify',
    /is unknown; known: caFile, certFile, keyFile, serverName, rejectUnauthorized$/,
  );
  refuses(t, { tls: { caFile: '' } }, 'tls.caFile', /must be a file path/);
  refuses(t, { tls: { certFile: '/x' } }, 'tls.keyFile', /is required with tls.certFile$/);
  refuses(t, { tls: { keyFile: '/x' } }, 'tls.certFile', /is required with tls.keyFile$/);
  refuses(
    t,
    { tls: { rejectUnauthorized: 'no' as unknown as boolean } },
    'tls.rejectUnauthorized',
    /must be true or false/,
  );
  t.same(resolve({ tls: { rejectUnauthorized: false } }).tls, { rejectUnauthorized: false });
});

t.test('tls.serverName: a DNS name of at most 253 characters, not an address', async (t) => {
  const longest = ['a'.repeat(63), 'b'.repeat(63), 'c'.repeat(63), 'd'.repeat(61)].join('.');
  t.equal(longest.length, 253);
  t.equal(resolve({ tls: { serverName: longest } }).tls?.servername, longest);
  t.equal(resolve({ tls: { serverName: 'redis.internal' } }).tls?.servername, 'redis.internal');
  for (const serverName of [`${longest}d`, '127.0.0.1', '::1', 'bad name', '-x.example', ''])
    refuses(t, { tls: { serverName } }, 'tls.serverName', /must be a DNS name/, serverName);
  const ioredis = ioredisOptions('subscriber', resolve({ tls: { serverName: 'localhost' } }));
  t.match(ioredis.tls, { servername: 'localhost', rejectUnauthorized: true });
});

t.test(
  'tls files: read and checked, each refusal naming the option and the path',
  needsCertificates,
  async (t) => {
    const { caCert, clientCert, clientKey, otherKey } = certs();
    const options = resolve({
      redisUrl: 'rediss://127.0.0.1:6380',
      tls: { caFile: caCert, certFile: clientCert, keyFile: clientKey, serverName: 'localhost' },
    });
    t.ok(Object.isFrozen(options.tls));
    t.same(options.tls?.ca, readFileSync(caCert));
    t.same(options.tls?.cert, readFileSync(clientCert));
    t.same(options.tls?.key, readFileSync(clientKey));
    t.match(ioredisOptions('commands', options).tls, {
      servername: 'localhost',
      rejectUnauthorized: true,
    });
    t.ok(resolve({ tls: { caFile: '/etc/ssl/certs/ca-certificates.crt' } }).tls?.ca, 'a CA bundle');

    const missing = join(certs().directory, 'missing.pem');
    refuses(
      t,
      { tls: { caFile: missing } },
      'tls.caFile',
      new RegExp(`cannot read "${escape(missing)}": no such file$`),
    );
    refuses(
      t,
      { tls: { caFile: certs().directory } },
      'tls.caFile',
      /cannot read ".*": it is a directory$/,
    );
    refuses(
      t,
      { tls: { caFile: file('empty.pem', '') } },
      'tls.caFile',
      /file ".*empty\.pem" holds no PEM certificate$/,
    );
    refuses(
      t,
      { tls: { caFile: clientKey } },
      'tls.caFile',
      /file ".*client\.key" holds no PEM certificate$/,
    );
    const broken = file(
      'broken.pem',
      '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n',
    );
    refuses(
      t,
      { tls: { caFile: broken } },
      'tls.caFile',
      /file ".*broken\.pem" holds a certificate that does not parse/,
    );
    refuses(
      t,
      { tls: { certFile: broken, keyFile: clientKey } },
      'tls.certFile',
      /file ".*broken\.pem" holds a certificate that does not parse/,
    );
    refuses(
      t,
      { tls: { certFile: clientCert, keyFile: clientCert } },
      'tls.keyFile',
      /file ".*client\.crt" holds no unencrypted PEM private key/,
    );
    refuses(
      t,
      { tls: { certFile: clientCert, keyFile: otherKey } },
      'tls.keyFile',
      /file ".*other-ca\.key" is not the key of tls\.certFile/,
    );
    const encrypted = file(
      'encrypted.key',
      (await import('node:crypto'))
        .createPrivateKey(readFileSync(clientKey))
        .export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'pass' }),
    );
    refuses(
      t,
      { tls: { certFile: clientCert, keyFile: encrypted } },
      'tls.keyFile',
      /file ".*encrypted\.key" holds no unencrypted PEM private key/,
    );

    // The limit: a CA file of exactly 1 MiB (the certificate, then padding) is read; one byte more is not.
    const ca = readFileSync(caCert);
    const padded = (bytes: number) => Buffer.concat([ca, Buffer.alloc(bytes - ca.length, '\n')]);
    t.equal(
      resolve({ tls: { caFile: file('ca-1mib.pem', padded(PEM_FILE_BYTES_MAX)) } }).tls?.ca?.length,
      PEM_FILE_BYTES_MAX,
    );
    refuses(
      t,
      { tls: { caFile: file('ca-over.pem', padded(PEM_FILE_BYTES_MAX + 1)) } },
      'tls.caFile',
      /file ".*ca-over\.pem" is larger than 1048576 bytes$/,
    );
    refuses(
      t,
      { tls: { caFile: '/dev/zero' } },
      'tls.caFile',
      /file "\/dev\/zero" is larger than/,
      'an endless file is not read to its end',
    );

    if (process.getuid?.() === 0) t.comment('running as root: an unreadable file cannot be made');
    else {
      const locked = file('locked.pem', ca);
      chmodSync(locked, 0o000);
      refuses(
        t,
        { tls: { caFile: locked } },
        'tls.caFile',
        /cannot read ".*locked\.pem": permission denied$/,
      );
    }
  },
);

t.test('passwordFile: one line, 1 to 4096 bytes, never echoed', needsCertificates, async (t) => {
  t.equal(
    resolve({ passwordFile: file('pw1', 'secret\n') }).password,
    'secret',
    'trailing newline',
  );
  t.equal(resolve({ passwordFile: file('pw2', 'secret\r\n') }).password, 'secret', 'CRLF');
  t.equal(resolve({ passwordFile: file('pw3', 'with spaces ') }).password, 'with spaces ');
  t.equal(
    resolve({ passwordFile: file('pw-max', `${'p'.repeat(PASSWORD_BYTES_MAX)}\r\n`) }).password
      ?.length,
    PASSWORD_BYTES_MAX,
  );
  refuses(
    t,
    { passwordFile: file('pw-over', 'p'.repeat(4097)) },
    'passwordFile',
    /file ".*pw-over" must hold 1 to 4096 bytes, got 4097$/,
  );
  refuses(
    t,
    { passwordFile: file('pw-empty', '\n') },
    'passwordFile',
    /file ".*pw-empty" must hold 1 to 4096 bytes, got 0$/,
  );
  refuses(
    t,
    { passwordFile: file('pw-lines', 'hunter2\nsecond\n') },
    'passwordFile',
    /file ".*pw-lines" must hold one line$/,
  );
  refuses(
    t,
    { passwordFile: '/dev/zero' },
    'passwordFile',
    /file "\/dev\/zero" must hold 1 to 4096 bytes, got 4099$/,
  );
  refuses(
    t,
    { passwordFile: '/nonexistent/pw' },
    'passwordFile',
    /cannot read "\/nonexistent\/pw": no such file$/,
  );
  refuses(t, { passwordFile: '' }, 'passwordFile', /must be a file path/);
  try {
    resolve({ passwordFile: file('pw-secret', `hunter2\n${'x'.repeat(10)}`) });
    t.fail('accepted');
  } catch (error) {
    t.notMatch((error as Error).message, /hunter2/, 'the content is not echoed');
  }
});

t.test(
  'CLI: flags and environment variables, the password never on argv',
  needsCertificates,
  async (t) => {
    const { caCert, clientCert, clientKey } = certs();
    const passwordFile = file('cli-pw', 'from-file\n');
    const url = 'rediss://127.0.0.1:6380';
    t.throws(() => redisUrlOption('http://app:hunter2@redis:6379', {}), {
      code: 'INVALID_OPTION',
      message: '--redis must be a redis:// URL, got "http://***@redis:6379"',
    });

    const command = addRedisConnectionFlags(new Command()).exitOverride();
    command.parse(
      [
        '--redis-username',
        'chatring',
        '--redis-password-file',
        passwordFile,
        '--redis-tls-ca-file',
        caCert,
        '--redis-tls-cert-file',
        clientCert,
        '--redis-tls-key-file',
        clientKey,
        '--redis-tls-server-name',
        'localhost',
      ],
      { from: 'user' },
    );
    const fromFlags = redisConnectionOptions(url, command.opts(), {
      [REDIS_CONNECTION_ENV.password]: 'from-env',
    });
    t.same(
      fromFlags,
      {
        username: 'chatring',
        passwordFile,
        tls: { caFile: caCert, certFile: clientCert, keyFile: clientKey, serverName: 'localhost' },
      },
      'every flag; the password file flag wins over CHATRING_REDIS_PASSWORD',
    );

    const env = redisConnectionEnvironment(fromFlags);
    t.equal(env[REDIS_CONNECTION_ENV.password], undefined, 'the other source is cleared');
    t.ok(REDIS_CONNECTION_ENV.password in env);
    t.same(
      redisConnectionOptions(url, {}, env),
      fromFlags,
      'a spawned member makes the same choice',
    );

    t.same(
      redisConnectionOptions(
        url,
        {},
        {
          [REDIS_CONNECTION_ENV.password]: 'from-env',
          [REDIS_CONNECTION_ENV.passwordFile]: passwordFile,
        },
      ),
      { password: 'from-env' },
      'the value wins over the file in the environment',
    );
    t.same(
      redisConnectionOptions(
        url,
        {},
        {
          [REDIS_CONNECTION_ENV.passwordFile]: passwordFile,
          [REDIS_CONNECTION_ENV.tlsCaFile]: caCert,
        },
      ),
      { passwordFile, tls: { caFile: caCert } },
    );
    t.same(redisConnectionOptions(url, {}, {}), {});

    t.same(
      redisConnectionOptions(undefined, {}, { [REDIS_CONNECTION_ENV.password]: 'x' }),
      {},
      'without Redis the variables are ignored',
    );
    t.throws(() => redisConnectionOptions(undefined, { redisTlsCaFile: caCert }, {}), {
      code: 'INVALID_OPTION',
      message: '--redis-tls-ca-file needs --redis (a Redis URL)',
    });
    t.throws(
      () => redisConnectionOptions(url, { redisTlsCaFile: '/nonexistent/ca.pem' }, {}),
      {
        code: 'INVALID_OPTION',
        message:
          'RedisControlPlane: option "tls.caFile" cannot read "/nonexistent/ca.pem": no such file',
      },
      'a bad file fails at once, naming the option and the path',
    );
    t.throws(
      () =>
        redisConnectionOptions(
          'redis://:pw@127.0.0.1:6379',
          {},
          { [REDIS_CONNECTION_ENV.password]: 'x' },
        ),
      {
        code: 'INVALID_OPTION',
        message: /option "password" cannot be given with credentials in redisUrl/,
      },
    );
  },
);

t.test(
  'a real TLS redis-server: CA + client certificate + password work; the rest is refused',
  { skip: opensslMissing ?? toolMissing('redis-server') ?? false },
  async (t) => {
    const password = 'correct horse battery staple';
    const user = { name: 'chatring', password: 'acl-user-secret' };
    const redis = await startTlsRedisServer(t, { certificates: certs(), password, user }).catch(
      (error: unknown) => {
        if (error instanceof RedisTlsUnsupportedError) return error;
        throw error;
      },
    );
    if (redis instanceof RedisTlsUnsupportedError) {
      t.plan(0, `this redis-server has no TLS support: ${redis.message.split('\n')[0]}`);
      return;
    }
    const { caCert, clientCert, clientKey, otherCaCert } = certs();
    const passwordFile = file('redis-password', `${password}\n`);
    const tls = { caFile: caCert, certFile: clientCert, keyFile: clientKey };
    let prefixes = 0;
    const open = (options: Partial<RedisControlPlaneOptions>) =>
      RedisControlPlane.open({
        redisUrl: redis.url,
        keyPrefix: `tls-${++prefixes}:`,
        initialRing: initialRing(['node-1']),
        ...CONFORMANCE_TIMINGS,
        commandTimeoutMs: 250,
        startTimeoutMs: 1_500,
        ...options,
      });

    await t.test(
      'CA + client certificate + password file: both connections, ring, heartbeat, status',
      async (t) => {
        const controlPlane = await open({ passwordFile, tls });
        t.teardown(() => controlPlane.close());
        t.equal(
          (await controlPlane.currentRing()).epoch >= 1,
          true,
          'the ring was seeded and read',
        );
        const reply = await controlPlane.heartbeat({
          nodeId: 'node-1',
          url: 'http://127.0.0.1:1',
          pid: process.pid,
        });
        t.ok(reply.ring.epoch >= 1, 'a heartbeat (a Lua script) runs over TLS');
        t.match(await controlPlane.status(), { backend: 'redis' });
      },
    );

    await t.test('an ACL user; a server name the certificate carries', async (t) => {
      const controlPlane = await open({
        username: user.name,
        password: user.password,
        tls: { ...tls, serverName: 'localhost' },
      });
      t.teardown(() => controlPlane.close());
      t.ok((await controlPlane.currentRing()).epoch >= 1);
    });

    const refusedFast = async (
      t: Test,
      options: Partial<RedisControlPlaneOptions>,
      message: RegExp,
    ) => {
      const startedAt = performance.now();
      const error = await open(options).then(
        () => undefined,
        (error: unknown) => error as Error & { code?: string },
      );
      t.equal(error?.code, 'OWNER_UNAVAILABLE');
      t.match(error?.message, message);
      t.notMatch(error?.message, /correct horse|wrong-password/, 'no password in the message');
      return performance.now() - startedAt;
    };

    await t.test(
      'without the client certificate: refused (a reset, so at the start timeout)',
      async (t) => {
        await refusedFast(
          t,
          { passwordFile, tls: { caFile: caCert } },
          new RegExp(`^Redis at 127\\.0\\.0\\.1:${redis.port} not reachable within 1500 ms`),
        );
      },
    );

    await t.test(
      'a wrong password, or none: refused at once, naming the credentials',
      async (t) => {
        const wrong = await refusedFast(
          t,
          { password: 'wrong-password', tls },
          new RegExp(
            `^Redis at 127\\.0\\.0\\.1:${redis.port} refused the credentials \\(check the password and the username\\): WRONGPASS`,
          ),
        );
        t.ok(wrong < 1_500, `before the start timeout (${Math.round(wrong)} ms)`);
        await refusedFast(t, { tls }, /refused the credentials .*: NOAUTH/);
        await refusedFast(
          t,
          { username: user.name, password, tls },
          /refused the credentials .*: WRONGPASS/,
        );
      },
    );

    await t.test(
      'the wrong CA, or a name the certificate does not carry: refused at once',
      async (t) => {
        const wrongCa = await refusedFast(
          t,
          { passwordFile, tls: { ...tls, caFile: otherCaCert } },
          /failed TLS verification \(check tls\.caFile and tls\.serverName\)/,
        );
        t.ok(wrongCa < 1_500, `before the start timeout (${Math.round(wrongCa)} ms)`);
        await refusedFast(
          t,
          { passwordFile, tls: { ...tls, serverName: 'redis.example' } },
          /failed TLS verification .*redis\.example/,
        );
      },
    );

    await t.test('plain TCP to the TLS port: refused', async (t) => {
      await refusedFast(
        t,
        { redisUrl: `redis://127.0.0.1:${redis.port}`, passwordFile },
        /not reachable within 1500 ms/,
      );
    });
  },
);
