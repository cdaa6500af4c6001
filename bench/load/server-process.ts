/**
 * A bench server as a child process (the baseline app server, the echo server, the echo proxy),
 * always stopped: `node <entry> <args>`, ready once it prints `<name> listening on <url>`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface ServerProcess {
  url: string;
  /** The child's pid: the root of the process tree whose CPU the load measures. */
  pid: number | undefined;
  stop(): Promise<void>;
}

/** `entry`: a compiled bench script, relative to dist-bench/bench/ (e.g. `baseline-app-server.js`). */
export async function startServerProcess(
  entry: string,
  name: string,
  args: string[],
): Promise<ServerProcess> {
  const path = fileURLToPath(new URL(`../${entry}`, import.meta.url));
  const child: ChildProcess = spawn(process.execPath, [path, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const url = await new Promise<string>((resolve, reject) => {
    let output = '';
    const ready = new RegExp(`${name} listening on (\\S+)`);
    child.stdout?.setEncoding('utf8').on('data', (text: string) => {
      output += text;
      const match = ready.exec(output);
      if (match?.[1] !== undefined) resolve(match[1]);
    });
    child.once('exit', (code) => reject(new Error(`${name} exited (${code}) before listening`)));
  });
  return {
    url,
    pid: child.pid,
    async stop() {
      process.off('exit', killOnExit);
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
