import { spawn, type ChildProcessByStdio, type SpawnOptions } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';

/**
 * Node's flags for a child process that runs a .ts file as tap runs the tests: through tsx
 * (package.json, tap's `node-arg`), transpiled on the fly, never type-checked (lint does that).
 */
export const TYPESCRIPT_EXEC_ARGV: readonly string[] = Object.freeze(['--import=tsx']);

/** Runs `file` (TypeScript) in a child Node process with piped stdin and stdout. */
export function spawnTypeScript(
  file: string,
  args: readonly string[],
  options: Pick<SpawnOptions, 'env'> = {},
): ChildProcessByStdio<Writable, Readable, null> {
  return spawn(process.execPath, [...TYPESCRIPT_EXEC_ARGV, file, ...args], {
    stdio: ['pipe', 'pipe', 'inherit'],
    ...options,
  });
}
