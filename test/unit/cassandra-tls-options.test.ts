/**
 * The Cassandra store's credentials and TLS options. parseCassandraOptions checks their shape (a
 * bad one is INVALID_OPTION naming it, a password never echoed, at each limit and one past it);
 * the files are read and checked when the store opens (readConnectionSecrets: an unreadable or
 * malformed one is INVALID_OPTION naming the option and the path, before any connection), and the
 * driver gets `credentials` and `sslOptions` with rejectUnauthorized always explicit (its own
 * default is false). The CLI's flags and environment variables map onto them, the password never
 * on argv. No real Cassandra with TLS here: test/store runs a plain one.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import t, { type Test } from 'tap';
import { openCassandraStore, parseCassandraOptions } from '../../store-adapter/index.js';
import { readConnectionSecrets } from '../../store-adapter/cassandra/options.js';
import { createCassandraClient } from '../../store-adapter/cassandra/client.js';
import {
  CASSANDRA_CREDENTIAL_ENV,
  addStoreFlags,
  storeOptionsFrom,
} from '../../cli/store-flags.js';
import { makeTestCertificates, toolMissing, type TestCertificates } from '../helpers/redis-tls.js';

const PASSWORD_BYTES_MAX = 4_096;
const PEM_FILE_BYTES_MAX = 1_048_576;
const ENV = CASSANDRA_CREDENTIAL_ENV;

/** Expects INVALID_OPTION from the Cassandra store naming `option`, with `message` after it. */
function refuses(
  t: Test,
  action: () => unknown,
  option: string,
  message: RegExp,
  name = `${option}: ${message.source}`,
): void {
  t.throws(
    action,
    {
      code: 'INVALID_OPTION',
      message: new RegExp(`^cassandra: option "${escape(option)}" ${message.source}`),
    },
    name,
  );
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

const parse = (raw: Record<string, unknown>) => () => parseCassandraOptions(raw);
const secrets = (raw: Record<string, unknown>) => () =>
  readConnectionSecrets(parseCassandraOptions(raw));

const opensslMissing = toolMissing('openssl');
const certificates: TestCertificates | undefined =
  opensslMissing === undefined ? makeTestCertificates(t) : undefined;
const needsCertificates = { skip: opensslMissing ?? false };
const certs = (): TestCertificates => {
  if (certificates === undefined) throw new Error('no certificates (openssl missing)');
  return certificates;
};
const file = (name: string, content: string | Buffer): string => {
  const path = join(certs().directory, name);
  writeFileSync(path, content);
  return path;
};

t.test('tls: its shape, checked without reading the files', async (t) => {
  const options = parseCassandraOptions({
    tls: {
      caFile: '/etc/chatring/ca.pem',
      certFile: '/etc/chatring/client.pem',
      keyFile: '/etc/chatring/client.key',
      serverName: 'cassandra.internal',
    },
  });
  t.same(options.tls, {
    rejectUnauthorized: true,
    caFile: '/etc/chatring/ca.pem',
    certFile: '/etc/chatring/client.pem',
    keyFile: '/etc/chatring/client.key',
    serverName: 'cassandra.internal',
  });
  t.ok(Object.isFrozen(options.tls));
  t.same(parseCassandraOptions({ tls: true }).tls, { rejectUnauthorized: true });
  t.equal(parseCassandraOptions({}).tls, false);
  refuses(t, parse({ tls: { certFile: '/x' } }), 'tls.keyFile', /is required with tls.certFile$/);
  refuses(t, parse({ tls: { keyFile: '/x' } }), 'tls.certFile', /is required with tls.keyFile$/);
  refuses(t, parse({ tls: { certFile: '' } }), 'tls.certFile', /must be a non-empty string$/);
  refuses(t, parse({ tls: { ca: '/x' } }), 'tls.ca', /is unknown; known: caFile, certFile/);
  refuses(t, parse({ tls: 'on' }), 'tls', /must be an object, got "on"$/);
  const longest = ['a'.repeat(63), 'b'.repeat(63), 'c'.repeat(63), 'd'.repeat(61)].join('.');
  t.same(parseCassandraOptions({ tls: { serverName: longest } }).tls, {
    rejectUnauthorized: true,
    serverName: longest,
  });
  for (const serverName of [`${longest}d`, '10.0.0.1', 'bad name', 42])
    refuses(
      t,
      parse({ tls: { serverName } }),
      'tls.serverName',
      /must be a DNS name/,
      String(serverName),
    );
});

t.test(
  'credentials: a username with one password source; a password 1 to 4096 bytes',
  async (t) => {
    t.equal(parseCassandraOptions({ username: 'u', password: 'p' }).password, 'p');
    t.equal(
      parseCassandraOptions({ username: 'u', password: 'p'.repeat(PASSWORD_BYTES_MAX) }).password
        ?.length,
      PASSWORD_BYTES_MAX,
    );
    t.equal(
      parseCassandraOptions({ username: 'u', passwordFile: '/run/pw' }).passwordFile,
      '/run/pw',
    );
    refuses(
      t,
      parse({ username: 'u', password: '' }),
      'password',
      /must be 1 to 4096 bytes, got 0$/,
    );
    refuses(
      t,
      parse({ username: 'u', password: `hunter2${'x'.repeat(4090)}` }),
      'password',
      /must be 1 to 4096 bytes, got 4097$/,
    );
    refuses(t, parse({ username: 'u', password: 7 }), 'password', /must be a string, got number$/);
    refuses(
      t,
      parse({ username: 'u', password: 'p', passwordFile: '/run/pw' }),
      'passwordFile',
      /cannot be given with password: give one$/,
    );
    refuses(
      t,
      parse({ username: 'u' }),
      'password',
      /is required when the other credential is given/,
    );
    refuses(t, parse({ passwordFile: '/run/pw' }), 'username', /is required when the other/);
    refuses(t, parse({ password: 'p' }), 'username', /is required when the other/);
    refuses(t, parse({ username: 'u', passwordFile: '' }), 'passwordFile', /must be a non-empty/);
    try {
      parseCassandraOptions({ username: 'u', password: `hunter2${'x'.repeat(5000)}` });
      t.fail('accepted');
    } catch (error) {
      t.notMatch((error as Error).message, /hunter2/, 'the password is not in the message');
    }
  },
);

t.test('readConnectionSecrets: no TLS, no credentials by default', async (t) => {
  t.same(readConnectionSecrets(parseCassandraOptions({})), {});
  t.same(readConnectionSecrets(parseCassandraOptions({ tls: true })), {
    sslOptions: { rejectUnauthorized: true },
  });
  t.same(
    readConnectionSecrets(
      parseCassandraOptions({
        username: 'chatring',
        password: 'p',
        tls: { rejectUnauthorized: false },
      }),
    ),
    {
      credentials: { username: 'chatring', password: 'p' },
      sslOptions: { rejectUnauthorized: false },
    },
  );
});

t.test(
  'readConnectionSecrets: the files read and checked, naming the option and the path',
  needsCertificates,
  async (t) => {
    const { caCert, clientCert, clientKey, otherKey } = certs();
    const passwordFile = file('cassandra-password', 'from-file\n');
    const read = readConnectionSecrets(
      parseCassandraOptions({
        username: 'chatring',
        passwordFile,
        tls: { caFile: caCert, certFile: clientCert, keyFile: clientKey, serverName: 'localhost' },
      }),
    );
    t.same(read.credentials, { username: 'chatring', password: 'from-file' });
    t.same(read.sslOptions, {
      rejectUnauthorized: true,
      ca: readFileSync(caCert),
      cert: readFileSync(clientCert),
      key: readFileSync(clientKey),
      servername: 'localhost',
    });

    const client = createCassandraClient(
      parseCassandraOptions({ username: 'chatring', passwordFile, tls: { caFile: caCert } }),
    );
    t.match(
      (client as unknown as { options: Record<string, unknown> }).options,
      { sslOptions: { rejectUnauthorized: true, ca: readFileSync(caCert) } },
      'the driver gets them',
    );
    t.ok(
      (client as unknown as { options: { authProvider?: unknown } }).options.authProvider,
      'and an auth provider for the credentials',
    );

    refuses(
      t,
      secrets({ tls: { caFile: '/nonexistent/ca.pem' } }),
      'tls.caFile',
      /cannot read "\/nonexistent\/ca\.pem": no such file$/,
    );
    refuses(
      t,
      secrets({ tls: { caFile: clientKey } }),
      'tls.caFile',
      /file ".*client\.key" holds no PEM certificate$/,
    );
    refuses(
      t,
      secrets({ tls: { certFile: clientKey, keyFile: clientKey } }),
      'tls.certFile',
      /file ".*client\.key" holds no PEM certificate$/,
    );
    refuses(
      t,
      secrets({ tls: { certFile: clientCert, keyFile: otherKey } }),
      'tls.keyFile',
      /file ".*other-ca\.key" is not the key of tls\.certFile/,
    );
    refuses(
      t,
      secrets({ tls: { certFile: clientCert, keyFile: file('garbage.key', 'garbage\n') } }),
      'tls.keyFile',
      /file ".*garbage\.key" holds no unencrypted PEM private key/,
    );
    const ca = readFileSync(caCert);
    const padded = (bytes: number) => Buffer.concat([ca, Buffer.alloc(bytes - ca.length, '\n')]);
    t.equal(
      (
        readConnectionSecrets(
          parseCassandraOptions({
            tls: { caFile: file('ca-max.pem', padded(PEM_FILE_BYTES_MAX)) },
          }),
        ).sslOptions?.ca as Buffer
      ).length,
      PEM_FILE_BYTES_MAX,
      'a PEM file of 1 MiB is read',
    );
    refuses(
      t,
      secrets({ tls: { caFile: file('ca-over.pem', padded(PEM_FILE_BYTES_MAX + 1)) } }),
      'tls.caFile',
      /file ".*ca-over\.pem" is larger than 1048576 bytes$/,
    );
    refuses(
      t,
      secrets({ username: 'u', passwordFile: file('pw-lines', 'hunter2\nmore\n') }),
      'passwordFile',
      /file ".*pw-lines" must hold one line$/,
    );
    refuses(
      t,
      secrets({ username: 'u', passwordFile: file('pw-over', 'p'.repeat(PASSWORD_BYTES_MAX + 1)) }),
      'passwordFile',
      /file ".*pw-over" must hold 1 to 4096 bytes, got 4097$/,
    );
    t.equal(
      readConnectionSecrets(
        parseCassandraOptions({
          username: 'u',
          passwordFile: file('pw-max', `${'p'.repeat(PASSWORD_BYTES_MAX)}\n`),
        }),
      ).credentials?.password.length,
      PASSWORD_BYTES_MAX,
    );
    refuses(
      t,
      secrets({ username: 'u', passwordFile: '/nonexistent/pw' }),
      'passwordFile',
      /cannot read "\/nonexistent\/pw": no such file$/,
    );
  },
);

t.test('opening the store: a bad file fails before any connection is tried', async (t) => {
  await t.rejects(
    openCassandraStore({ contactPoints: ['127.0.0.1:1'], tls: { caFile: '/nonexistent/ca.pem' } }),
    {
      code: 'INVALID_OPTION',
      message: 'cassandra: option "tls.caFile" cannot read "/nonexistent/ca.pem": no such file',
    },
  );
});

t.test('CLI: flags and environment variables, the password never on argv', async (t) => {
  const command = addStoreFlags(new Command()).exitOverride();
  command.parse(
    [
      '--store',
      'cassandra',
      '--cassandra-username',
      'chatring',
      '--cassandra-password-file',
      '/run/secrets/cassandra',
      '--cassandra-tls-ca-file',
      '/etc/chatring/ca.pem',
      '--cassandra-tls-cert-file',
      '/etc/chatring/client.pem',
      '--cassandra-tls-key-file',
      '/etc/chatring/client.key',
      '--cassandra-tls-server-name',
      'cassandra.internal',
      '--cassandra-options',
      JSON.stringify({ password: 'inline', tls: { rejectUnauthorized: false } }),
    ],
    { from: 'user' },
  );
  const fromFlags = storeOptionsFrom(command.opts(), { [ENV.password]: 'from-env' }, '/data');
  t.same(
    fromFlags,
    {
      kind: 'cassandra',
      cassandra: {
        username: 'chatring',
        passwordFile: '/run/secrets/cassandra',
        tls: {
          rejectUnauthorized: false,
          caFile: '/etc/chatring/ca.pem',
          certFile: '/etc/chatring/client.pem',
          keyFile: '/etc/chatring/client.key',
          serverName: 'cassandra.internal',
        },
      },
    },
    'flags win over --cassandra-options and the environment, keeping its other tls keys',
  );

  /** The raw Cassandra options the flags and environment make. */
  const store = (env: NodeJS.ProcessEnv, flags = {}) => {
    const options = storeOptionsFrom({ store: 'cassandra', ...flags }, env, '/data');
    if (options.kind !== 'cassandra') throw new Error('not cassandra');
    return options;
  };
  t.same(
    store({
      [ENV.username]: 'chatring',
      [ENV.password]: 'from-env',
      [ENV.passwordFile]: '/run/pw',
    }).cassandra,
    { username: 'chatring', password: 'from-env' },
    'the password in the environment wins over its file there',
  );
  t.same(
    store({ [ENV.username]: 'u', [ENV.passwordFile]: '/run/pw', [ENV.tlsCaFile]: '/ca.pem' })
      .cassandra,
    { username: 'u', passwordFile: '/run/pw', tls: { caFile: '/ca.pem' } },
  );
  t.same(store({ [ENV.tls]: 'true' }).cassandra, { tls: {} }, 'TLS with the system CAs');
  t.same(store({}, { cassandraTls: true }).cassandra, { tls: {} }, '--cassandra-tls');
  t.same(store({ [ENV.tls]: 'false' }).cassandra, {}, 'false leaves TLS as the options say');
  t.same(
    store({ CHATRING_CASSANDRA_OPTIONS: JSON.stringify({ tls: true }), [ENV.tlsServerName]: 'db' })
      .cassandra,
    { tls: { serverName: 'db' } },
  );
  t.throws(() => store({ [ENV.tls]: 'false', [ENV.tlsCaFile]: '/ca.pem' }), {
    code: 'INVALID_OPTION',
    message:
      'CHATRING_CASSANDRA_TLS is false, but TLS files or a server name are given (tls.caFile)',
  });
  t.throws(() => store({ [ENV.tls]: 'maybe' }), {
    code: 'INVALID_OPTION',
    message: 'CHATRING_CASSANDRA_TLS must be true or false, got "maybe"',
  });
  t.throws(
    () => store({ [ENV.password]: 'p' }),
    {
      code: 'INVALID_OPTION',
      message: /option "username" is required when the other credential is given/,
    },
    'checked at once',
  );
  t.throws(
    () =>
      store({ CHATRING_CASSANDRA_OPTIONS: JSON.stringify({ tls: 'on' }), [ENV.tlsCaFile]: '/ca' }),
    { code: 'INVALID_OPTION', message: /option "tls" must be an object/ },
    'a malformed tls in the JSON is refused, not replaced',
  );
  t.same(store({}, { cassandraTlsCaFile: '/ca.pem' }).cassandra, { tls: { caFile: '/ca.pem' } });
});
