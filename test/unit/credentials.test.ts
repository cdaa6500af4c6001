import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import {
  BEARER_TOKEN_CHARS_MIN,
  BEARER_TOKENS_MAX,
  CLUSTER_SECRET_BYTES_MIN,
  MEMBER_SIGNATURE_WINDOW_MS,
} from '../../protocol/index.js';
import {
  MemberSigner,
  TokenSet,
  accessOf,
  hashToken,
  isLoopback,
  processSecurity,
} from '../../transport/index.js';
import { credentialsFrom, operatorTokensFrom } from '../../cli/credential-flags.js';

const SECRET = Buffer.alloc(CLUSTER_SECRET_BYTES_MIN, 9);
const TOKEN = 'app-token-0123456789';

t.test(
  'a token set keeps hashes only, takes plain or sha256: entries, several at once',
  async (t) => {
    const tokens = TokenSet.from([TOKEN, hashToken('second-token-abcdefgh')], 'test');
    t.equal(tokens.size, 2);
    t.ok(tokens.matches(TOKEN));
    t.ok(tokens.matches('second-token-abcdefgh'), 'a token given as its hash');
    t.notOk(tokens.matches(`${TOKEN}x`));
    t.notOk(tokens.matches(''));
    t.match(hashToken(TOKEN), /^sha256:[0-9a-f]{64}$/);
  },
);

t.test('token limits: length, characters, count', async (t) => {
  const atMin = 'x'.repeat(BEARER_TOKEN_CHARS_MIN);
  t.ok(
    TokenSet.from([atMin], 'test').matches(atMin),
    `${BEARER_TOKEN_CHARS_MIN} characters is enough`,
  );
  t.throws(() => TokenSet.from([atMin.slice(1)], 'test'), {
    code: 'INVALID_OPTION',
    message: /at least 16 characters/,
  });
  t.throws(() => TokenSet.from(['has space in it ok?'], 'test'), { code: 'INVALID_OPTION' });
  const many = Array.from({ length: BEARER_TOKENS_MAX }, (_, i) => `token-number-${i}-xxxx`);
  t.equal(TokenSet.from(many, 'test').size, BEARER_TOKENS_MAX);
  t.throws(() => TokenSet.from([...many, 'one-token-too-many-x'], 'test'), {
    code: 'INVALID_OPTION',
    message: /at most 64 tokens/,
  });
});

t.test('a member signature covers method, path, member, time and body', async (t) => {
  let now = 1_000_000_000_000;
  const signer = new MemberSigner('node-1', SECRET, () => now);
  const verifier = signer.verifier();
  const body = Buffer.from('{"a":1}');
  const check = (header: string, method: string, path: string, fed: Buffer) => {
    const pending = verifier.begin(header, method, path);
    pending.update(fed);
    pending.verify();
    return pending.memberId;
  };
  const header = signer.sign('POST', '/internal/v1/deliver', body.toString());
  t.equal(check(header, 'POST', '/internal/v1/deliver', body), 'node-1');
  const forbidden = { code: 'FORBIDDEN' };
  t.throws(() => check(header, 'POST', '/internal/v1/deliver', Buffer.from('{"a":2}')), forbidden);
  t.throws(() => check(header, 'GET', '/internal/v1/deliver', body), forbidden);
  t.throws(() => check(header, 'POST', '/internal/v1/ring', body), forbidden);
  t.throws(
    () => check(header.replace('node-1', 'node-2'), 'POST', '/internal/v1/deliver', body),
    forbidden,
  );
  const other = new MemberSigner('node-1', Buffer.alloc(32, 1), () => now);
  t.throws(
    () => check(other.sign('POST', '/x', undefined), 'POST', '/x', Buffer.alloc(0)),
    forbidden,
    'another cluster secret',
  );
  for (const malformed of [
    '',
    'v1',
    'v2.node-1.1.abc',
    'v1.node 1.1.abc',
    'v1.node-1.x.abc',
    'v1.node-1.1.short',
  ])
    t.throws(() => verifier.begin(malformed, 'GET', '/'), forbidden, `malformed: ${malformed}`);

  // The clock window, at its limit both ways.
  const signedAt = now;
  const fresh = signer.sign('GET', '/control/v1/ring', undefined);
  now = signedAt + MEMBER_SIGNATURE_WINDOW_MS;
  t.equal(check(fresh, 'GET', '/control/v1/ring', Buffer.alloc(0)), 'node-1', 'at the window');
  now = signedAt + MEMBER_SIGNATURE_WINDOW_MS + 1;
  t.throws(() => verifier.begin(fresh, 'GET', '/control/v1/ring'), {
    code: 'FORBIDDEN',
    message: /clock/,
  });
  now = signedAt - MEMBER_SIGNATURE_WINDOW_MS - 1;
  t.throws(
    () => verifier.begin(fresh, 'GET', '/control/v1/ring'),
    { code: 'FORBIDDEN' },
    'from the future',
  );
});

t.test('the cluster secret has a minimum length', async (t) => {
  t.ok(new MemberSigner('a', Buffer.alloc(CLUSTER_SECRET_BYTES_MIN)));
  t.throws(() => new MemberSigner('a', Buffer.alloc(CLUSTER_SECRET_BYTES_MIN - 1)), {
    code: 'INVALID_OPTION',
  });
  t.throws(() => new MemberSigner('bad id', SECRET), { code: 'INVALID_OPTION' });
});

t.test('routes fall in classes by path; anything unlisted is a member route', async (t) => {
  t.equal(accessOf('/healthz'), 'open');
  t.equal(accessOf('/healthz?x=1'), 'open');
  t.equal(accessOf('/healthzz'), 'member');
  t.equal(accessOf('/v1/messages'), 'app');
  t.equal(accessOf('/v1/users/a/conversations?page=1'), 'app');
  t.equal(accessOf('/admin/v1/owner/a'), 'operator');
  t.equal(accessOf('/control/v1/changes/preview'), 'operator');
  t.equal(accessOf('/control/v1/status'), 'operator');
  t.equal(accessOf('/internal/v1/stats'), 'operator');
  t.equal(accessOf('/control/v1/heartbeat'), 'member');
  t.equal(accessOf('/control/v1/ring'), 'member');
  t.equal(accessOf('/internal/v1/deliver'), 'member');
  t.equal(accessOf('/anything/else'), 'member');
});

t.test(
  'beyond loopback a process needs app and operator tokens, naming where to give them',
  async (t) => {
    for (const host of ['127.0.0.1', '127.8.9.10', '::1', '[::1]', 'localhost'])
      t.ok(isLoopback(host), host);
    for (const host of ['0.0.0.0', '::', '10.0.0.1', 'example.internal', '128.0.0.1'])
      t.notOk(isLoopback(host), host);
    const credentials = { clusterSecret: SECRET };
    t.ok(
      processSecurity('test', 'node-1', '127.0.0.1', credentials).policy.appTokens === undefined,
    );
    t.throws(() => processSecurity('test', 'node-1', '0.0.0.0', credentials), {
      code: 'INVALID_OPTION',
      message: /beyond loopback, needs appTokens \(--app-tokens-file/,
    });
    t.throws(
      () => processSecurity('test', 'node-1', '0.0.0.0', { ...credentials, appTokens: [TOKEN] }),
      { code: 'INVALID_OPTION', message: /needs operatorTokens \(--operator-token-file/ },
    );
    const open = processSecurity('test', 'node-1', '0.0.0.0', {
      ...credentials,
      appTokens: [TOKEN],
      operatorTokens: ['operator-token-0123456789'],
    });
    t.ok(open.policy.operatorTokens?.matches('operator-token-0123456789'));
    t.throws(() => processSecurity('test', 'node-1', '127.0.0.1', undefined), {
      code: 'INVALID_OPTION',
      message: /clusterSecret.*--cluster-secret-file/,
    });
  },
);

t.test('credentials come from files or the environment', async (t) => {
  const directory = mkdtempSync(join(tmpdir(), 'chatring-credentials-'));
  t.teardown(() => rmSync(directory, { recursive: true, force: true }));
  const secretFile = join(directory, 'secret');
  writeFileSync(secretFile, `${'s'.repeat(40)}\n`);
  const tokensFile = join(directory, 'tokens');
  writeFileSync(tokensFile, `# apps\n${TOKEN}\n\n${hashToken('rotated-token-abcdefg')}\n`);
  const fromFiles = credentialsFrom(
    { clusterSecretFile: secretFile, appTokensFile: tokensFile },
    {},
  );
  t.equal(fromFiles.clusterSecret.toString(), 's'.repeat(40), 'trimmed');
  t.same(fromFiles.appTokens, [TOKEN, hashToken('rotated-token-abcdefg')]);
  t.equal(fromFiles.operatorTokens, undefined);
  const fromEnv = credentialsFrom(
    {},
    {
      CHATRING_CLUSTER_SECRET: 'e'.repeat(32),
      CHATRING_APP_TOKENS: `${TOKEN}, other-token-0123456789`,
      CHATRING_OPERATOR_TOKEN_FILE: tokensFile,
    },
  );
  t.same(fromEnv.appTokens, [TOKEN, 'other-token-0123456789']);
  t.same(fromEnv.operatorTokens, [TOKEN, hashToken('rotated-token-abcdefg')]);
  t.same(
    credentialsFrom(
      { clusterSecretFile: secretFile },
      { CHATRING_CLUSTER_SECRET: 'x'.repeat(32) },
    ).clusterSecret.toString(),
    's'.repeat(40),
    'a flag wins over the environment',
  );
  t.throws(() => credentialsFrom({}, {}), { code: 'INVALID_OPTION', message: /cluster secret/ });
  t.throws(() => credentialsFrom({ clusterSecretFile: join(directory, 'missing') }, {}), {
    code: 'INVALID_OPTION',
    message: /--cluster-secret-file: cannot read/,
  });
  t.same(operatorTokensFrom({}, { CHATRING_OPERATOR_TOKEN: 'op-token-0123456789' }), [
    'op-token-0123456789',
  ]);
});
