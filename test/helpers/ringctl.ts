/** Runs the real ringctl binary (dist/cli/ringctl.js) and returns its exit code and output. */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const RINGCTL = fileURLToPath(new URL('../../dist/cli/ringctl.js', import.meta.url));

export interface RingctlRun {
  code: number;
  stdout: string;
  stderr: string;
}

export async function ringctl(
  args: string[],
  env: Record<string, string> = {},
): Promise<RingctlRun> {
  try {
    const { stdout, stderr } = await promisify(execFile)(RINGCTL, args, {
      env: { ...process.env, ...env },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}
