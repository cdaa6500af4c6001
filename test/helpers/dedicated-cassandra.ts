/**
 * A Cassandra of one test file's own, for tests that stop and restart it (an outage test must not
 * take down the shared node that other test files use). It runs scripts/cassandra/cassandra.mjs as
 * a child process (`start` / `stop`) with CHATRING_CASSANDRA_RUN_DIR set to a fresh temp folder, so
 * data, logs and the state file are its own while the downloaded jars are shared.
 *
 * The script starts again on the ports of its last start when they are still free, but another
 * process may take one meanwhile, and then the restarted node answers on a new CQL port that a
 * running cluster (its contact point fixed at boot) could never find. So that the test never depends
 * on that, the cluster connects to `contactPoint`, a plain TCP forwarder
 * in the test process on a port that stays the same for the test's life. `stop()` first closes the
 * forwarder's listener (new connections are refused, as by a stopped node) and then really stops
 * Cassandra with the script (SIGTERM; its open connections close as Cassandra goes down).
 * `start()` really starts Cassandra again on the same run dir (data kept), then listens on the same
 * forwarder port again, now forwarding to the new CQL port. To the cluster that is exactly a
 * Cassandra that went away and came back on its address.
 *
 * Clean-up: the test's teardown stops the node and deletes the run dir. A small watchdog process
 * does the same if the test process dies without its teardown (a tap timeout, SIGKILL), because the
 * JVM is detached and would otherwise outlive it.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Test } from 'tap';
import { TcpForwarder } from './tcp-forwarder.js';

const SCRIPT = fileURLToPath(new URL('../../scripts/cassandra/cassandra.mjs', import.meta.url));
const HOST = '127.0.0.1';
/** Boot is 5–8 s here; a first download of the jars (shared cache) takes about a minute more. */
const START_TIMEOUT_S = 240;
const run = promisify(execFile);

export interface DedicatedCassandra {
  /** Where this node keeps data, logs and its state file. */
  readonly runDir: string;
  /** `127.0.0.1:<forwarder port>`: give this to the cluster; it stays valid across restarts. */
  readonly contactPoint: string;
  readonly localDataCenter: string;
  /** The real node now: pid and CQL port (new at every start), or undefined while stopped. */
  current(): { pid: number; nativePort: number } | undefined;
  /** Refuses new connections, then stops Cassandra with the script (SIGTERM, SIGKILL after 30 s). */
  stop(): Promise<{ ms: number; scriptLog: string }>;
  /** Starts Cassandra again on the same run dir and forwards to its new CQL port. */
  start(): Promise<{ ms: number; nativePort: number; scriptLog: string }>;
}

interface NodeState {
  pid: number;
  nativePort: number;
  localDataCenter?: string;
}

export async function startDedicatedCassandra(t: Test): Promise<DedicatedCassandra> {
  const runDir = mkdtempSync(join(tmpdir(), 'chatring-dedicated-cassandra-'));
  const env = { ...process.env, CHATRING_CASSANDRA_RUN_DIR: runDir };
  const watchdog = startWatchdog(runDir, env);
  let node: NodeState | undefined;

  const script = async (command: 'start' | 'stop') => {
    const args = [
      SCRIPT,
      command,
      ...(command === 'start' ? ['--timeout', `${START_TIMEOUT_S}`] : []),
    ];
    try {
      const { stdout, stderr } = await run(process.execPath, args, { env, encoding: 'utf8' });
      return { stdout, stderr };
    } catch (error) {
      const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
      throw new Error(`cassandra.mjs ${command} failed (run dir ${runDir}):\n${stdout}${stderr}`, {
        cause: error,
      });
    }
  };
  const readState = (): NodeState =>
    JSON.parse(readFileSync(join(runDir, 'state.json'), 'utf8')) as NodeState;

  const forwarder = new TcpForwarder(HOST, HOST);
  let teardownDone = false;
  const teardown = async () => {
    if (teardownDone) return;
    teardownDone = true;
    forwarder.close();
    // If `stop` fails, the run dir (with the state file) and the watchdog stay, so the watchdog
    // can still stop the node once this process is gone.
    await script('stop');
    node = undefined;
    rmSync(runDir, { recursive: true, force: true });
    watchdog.kill('SIGKILL');
  };
  t.teardown(teardown);

  const start = async () => {
    const t0 = performance.now();
    const { stderr } = await script('start');
    node = readState();
    await forwarder.listen(node.nativePort);
    return {
      ms: Math.round(performance.now() - t0),
      nativePort: node.nativePort,
      scriptLog: stderr,
    };
  };
  try {
    await start();
  } catch (error) {
    await teardown().catch(() => undefined);
    throw error;
  }

  return {
    runDir,
    contactPoint: `${HOST}:${forwarder.port}`,
    localDataCenter: node?.localDataCenter ?? 'datacenter1',
    current: () =>
      node === undefined ? undefined : { pid: node.pid, nativePort: node.nativePort },
    async stop() {
      const t0 = performance.now();
      forwarder.stopListening();
      const { stderr } = await script('stop');
      node = undefined;
      forwarder.dropConnections();
      return { ms: Math.round(performance.now() - t0), scriptLog: stderr };
    },
    start,
  };
}

/**
 * A detached process that, once the test process is gone, stops this Cassandra with the script
 * and deletes its run dir. The teardown kills it after doing the same itself.
 */
function startWatchdog(runDir: string, env: NodeJS.ProcessEnv) {
  const code = `
    const { execFileSync } = require('node:child_process');
    const { rmSync } = require('node:fs');
    const [parent, script, runDir] = process.argv.slice(1);
    const alive = () => { try { process.kill(Number(parent), 0); return true; } catch { return false; } };
    setInterval(() => {
      if (alive()) return;
      try { execFileSync(process.execPath, [script, 'stop'], { stdio: 'ignore' }); } catch {}
      rmSync(runDir, { recursive: true, force: true });
      process.exit(0);
    }, 500);
  `;
  const child = spawn(process.execPath, ['-e', code, String(process.pid), SCRIPT, runDir], {
    env,
    detached: true,
    stdio: 'ignore',
  });
  child.unref();
  return child;
}
