/**
 * The metrics flags of `chatring router` and `chatring node` become their options: `--metrics`
 * (else CHATRING_METRICS; left out: the component's default, on), and the metrics tokens from
 * `--metrics-token-file` (one per line, blanks and `#` comments skipped), else
 * CHATRING_METRICS_TOKEN (comma-separated), else CHATRING_METRICS_TOKEN_FILE; a value that is not a
 * boolean and a file that cannot be read are INVALID_OPTION naming where they came from.
 */
import t from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { nodeOptionsFrom, routerOptionsFrom } from '../../cli/member-options.js';
import { TemporaryDirectory } from '../../harness/index.js';

const SECRET_ENV = { CHATRING_CLUSTER_SECRET: 'a-cluster-secret-of-at-least-32-bytes!!' };
const TOKEN_A = 'metrics-token-number-one-0001';
const TOKEN_B = 'metrics-token-number-two-0002';

const router = (flags: Record<string, string>, env: Record<string, string> = {}) =>
  routerOptionsFrom({ dataDir: '/tmp/unused', ...flags }, { ...SECRET_ENV, ...env });

t.test('--metrics and CHATRING_METRICS; left out, the default', async (t) => {
  t.notOk('metrics' in router({}), 'left to startRouter (on)');
  t.equal(router({ metrics: 'false' }).metrics, false);
  t.equal(router({}, { CHATRING_METRICS: 'false' }).metrics, false);
  t.equal(router({ metrics: 'true' }, { CHATRING_METRICS: 'false' }).metrics, true, 'flag wins');
  t.throws(() => router({ metrics: 'maybe' }), { code: 'INVALID_OPTION', message: /--metrics/ });
  t.throws(() => router({}, { CHATRING_METRICS: 'maybe' }), {
    code: 'INVALID_OPTION',
    message: /CHATRING_METRICS/,
  });
  const node = nodeOptionsFrom(
    {
      nodeId: 'node-1',
      dataDir: '/tmp/unused',
      controlPlaneUrl: 'http://127.0.0.1:1',
      metrics: '0',
    },
    SECRET_ENV,
  );
  t.equal(node.metrics, false, 'the node takes it too');
});

t.test('metrics tokens: a file, the environment, none', async (t) => {
  const directory = new TemporaryDirectory('chatring-metrics-flags-');
  t.teardown(() => directory.dispose());
  const file = join(directory.path, 'metrics-tokens');
  writeFileSync(file, `# Prometheus\n${TOKEN_A}\n\n  ${TOKEN_B}  \n`);
  t.notOk('metricsTokens' in router({}), 'none: /metrics stays open');
  t.same(router({ metricsTokenFile: file }).metricsTokens, [TOKEN_A, TOKEN_B]);
  t.same(router({}, { CHATRING_METRICS_TOKEN: `${TOKEN_A}, ${TOKEN_B}` }).metricsTokens, [
    TOKEN_A,
    TOKEN_B,
  ]);
  t.same(router({}, { CHATRING_METRICS_TOKEN_FILE: file }).metricsTokens, [TOKEN_A, TOKEN_B]);
  t.same(
    router({ metricsTokenFile: file }, { CHATRING_METRICS_TOKEN: 'ignored-when-a-file-is-given' })
      .metricsTokens,
    [TOKEN_A, TOKEN_B],
    'the flag wins',
  );
  t.throws(() => router({ metricsTokenFile: join(directory.path, 'missing') }), {
    code: 'INVALID_OPTION',
    message: /--metrics-token-file: cannot read/,
  });
  t.throws(() => router({}, { CHATRING_METRICS_TOKEN_FILE: join(directory.path, 'missing') }), {
    code: 'INVALID_OPTION',
    message: /CHATRING_METRICS_TOKEN_FILE: cannot read/,
  });
});
