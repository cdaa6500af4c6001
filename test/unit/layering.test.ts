/**
 * The one-way layering (ARCHITECTURE.md, "Layers") holds over the whole tree, and the check that
 * guards it really fails: planted upward and sideways imports in a scratch tree are each reported.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const script = fileURLToPath(new URL('../../scripts/check-layers.mjs', import.meta.url));

function check(root?: string) {
  const args = root === undefined ? [script] : [script, '--root', root];
  return spawnSync(process.execPath, args, { encoding: 'utf8' });
}

t.test('every import in the tree points down', async (t) => {
  const result = check();
  t.equal(result.status, 0, result.stderr);
});

t.test('an import of a higher layer or of a peer is reported, one line each', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'chatring-layers-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const write = (path: string, text: string) => {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), text);
  };
  write('protocol/index.ts', 'export const x = 1;\n');
  write('router/index.ts', "import { x } from '../protocol/index.js';\nexport const y = x;\n");
  write('cache-node/up.ts', "import { y } from '../router/index.js';\nexport const z = y;\n");
  write('transport/side.ts', "export { w } from '../store-adapter/index.js';\n");
  write('store-adapter/index.ts', "export const w = await import('../cli/main.js');\n");
  write('cli/main.ts', "import '../cache-node/up.js';\n");
  const result = check(root);
  t.equal(result.status, 1);
  t.match(
    result.stderr,
    /cache-node\/up\.ts:1 imports '\.\.\/router\/index\.js' \(cache-node → router: a higher layer\)/,
  );
  t.match(
    result.stderr,
    /transport\/side\.ts:1 imports '\.\.\/store-adapter\/index\.js' \(transport → store-adapter: a peer\)/,
  );
  t.match(result.stderr, /store-adapter\/index\.ts:1 imports '\.\.\/cli\/main\.js'/);
  t.notMatch(result.stderr, /router\/index\.ts/, 'a downward import is fine');
  t.notMatch(result.stderr, /cli\/main\.ts/, 'the top may import anything below it');
});
