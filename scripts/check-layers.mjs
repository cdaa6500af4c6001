#!/usr/bin/env node
/**
 * Dependencies point one way, the way requests flow (ARCHITECTURE.md, "Layers"):
 *
 *   protocol ← ring ← {store-adapter, transport} ← {control-plane, client} ← cache-node ← router ← cli ← harness ← {test, bench}
 *
 * A folder may import its own files and any folder of a lower rank, never one of its own rank or
 * above. Run by `npm run lint` and by test/unit/layering.test.ts; exits 1 and names every import
 * that breaks the rule. `--root DIR` checks another tree (the test uses it on a planted violation).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Rank of each top-level folder; equal ranks are peers and may not import each other. */
export const LAYER_RANKS = Object.freeze({
  protocol: 0,
  ring: 1,
  'store-adapter': 2,
  transport: 2,
  'control-plane': 3,
  client: 3,
  'cache-node': 4,
  router: 5,
  cli: 6,
  harness: 7,
  test: 8,
  bench: 8,
});

const IMPORT_PATTERN =
  /(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+|\bexport\s+\*\s+from\s*)['"]([^'"]+)['"]/gm;

function sourceFiles(directory) {
  const files = [];
  for (const name of readdirSync(directory)) {
    if (name === 'node_modules' || name === 'results' || name.startsWith('.')) continue;
    const path = join(directory, name);
    if (statSync(path).isDirectory()) files.push(...sourceFiles(path));
    else if (/\.(ts|mts|js|mjs)$/.test(name) && !name.endsWith('.d.ts')) files.push(path);
  }
  return files;
}

/** Every import that points up or sideways, as `file:line imports 'spec' (from → to)`. */
export function findLayerViolations(root) {
  const violations = [];
  for (const [folder, rank] of Object.entries(LAYER_RANKS)) {
    const top = join(root, folder);
    let files;
    try {
      files = sourceFiles(top);
    } catch {
      continue; // the folder does not exist in this tree
    }
    for (const file of files) {
      const text = readFileSync(file, 'utf8');
      for (const match of text.matchAll(IMPORT_PATTERN)) {
        const specifier = match[1];
        if (!specifier.startsWith('.')) continue; // a package, not ours
        const target = relative(root, resolve(dirname(file), specifier));
        const targetFolder = target.split(sep)[0];
        if (targetFolder === folder || !(targetFolder in LAYER_RANKS)) continue;
        if (LAYER_RANKS[targetFolder] < rank) continue;
        const line = text.slice(0, match.index).split('\n').length;
        violations.push(
          `${relative(root, file)}:${line} imports '${specifier}' (${folder} → ${targetFolder}: ${
            LAYER_RANKS[targetFolder] === rank ? 'a peer' : 'a higher layer'
          })`,
        );
      }
    }
  }
  return violations;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const rootFlag = process.argv.indexOf('--root');
  const root = resolve(
    rootFlag >= 0
      ? process.argv[rootFlag + 1]
      : join(dirname(fileURLToPath(import.meta.url)), '..'),
  );
  const violations = findLayerViolations(root);
  if (violations.length > 0) {
    console.error(`One-way layering broken (${violations.length}):\n  ${violations.join('\n  ')}`);
    process.exit(1);
  }
  console.log('layers: every import points down');
}
