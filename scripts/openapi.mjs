#!/usr/bin/env node
/**
 * Writes docs/openapi.json from protocol/openapi.ts (as built into dist/ by `npm run build`):
 * 2-space JSON with a trailing newline, laid out by prettier. `npm run openapi` builds first, then runs this.
 * `--check` writes nothing and exits 1 when the committed file differs from a fresh build.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import prettier from 'prettier';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const target = join(root, 'docs', 'openapi.json');
const { buildOpenApiDocument } = await import(join(root, 'dist', 'protocol', 'openapi.js'));
// Formatted as `npm run lint` (prettier --check) wants it: 2-space JSON, a trailing newline.
const text = await prettier.format(JSON.stringify(buildOpenApiDocument(), null, 2), {
  ...(await prettier.resolveConfig(target)),
  filepath: target,
});

if (process.argv.includes('--check')) {
  let committed = '';
  try {
    committed = readFileSync(target, 'utf8');
  } catch {
    // absent: differs
  }
  if (committed !== text) {
    console.error('docs/openapi.json is out of date: run `npm run openapi` and commit it');
    process.exit(1);
  }
  console.log('docs/openapi.json is up to date');
} else {
  writeFileSync(target, text);
  console.log(`wrote ${target}`);
}
