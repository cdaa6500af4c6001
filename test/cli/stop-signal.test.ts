/**
 * `chatring start` stopped by SIGTERM stops every member it started, however early the signal
 * comes: the launcher's handler is in place before anything starts. Before, a SIGTERM while the
 * members were starting killed the launcher outright (exit by signal 15) and left the router, the
 * nodes and the standby running with no parent (the first test fails so on the code before); one
 * sent by a fast reader the moment the launcher said "data in" did too (seen from a Python driver;
 * the second test guards that moment).
 */
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import t, { type Test } from 'tap';
import { CHATRING_ENTRY, TemporaryDirectory } from '../../harness/index.js';
import { killGroup, spawnGroupLeader } from '../../harness/process-group.js';

/** Whether any process of the group led by `pid` is still alive. */
function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Starts a launcher, sends it SIGTERM at the first output line `when` accepts, awaits its exit. */
async function stopAt(t: Test, when: (line: string) => boolean) {
  const dataDir = new TemporaryDirectory('chatring-stop-signal-');
  t.teardown(() => dataDir.dispose());
  const launcher = spawnGroupLeader(
    process.execPath,
    [CHATRING_ENTRY, 'start', '--port', '0', '--data-dir', dataDir.path],
    { stdio: ['ignore', 'pipe', 'ignore'] },
  );
  t.teardown(() => killGroup(launcher, 'SIGKILL'));
  const exited = once(launcher, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  const lines: string[] = [];
  // Sent from the line handler itself, as soon as the launcher has written the line.
  await new Promise<void>((resolve) =>
    createInterface({ input: launcher.stdout! }).on('line', (line) => {
      lines.push(line);
      if (when(line) && !launcher.killed) {
        launcher.kill('SIGTERM');
        resolve();
      }
    }),
  );
  const [code, signal] = await exited;
  return { code, signal, lines, pid: launcher.pid! };
}

t.test('SIGTERM while the members start: the start completes, then all of it stops', async (t) => {
  const stopped = await stopAt(t, (line) => line.startsWith('[router] router listening on'));
  t.same({ code: stopped.code, signal: stopped.signal }, { code: 0, signal: null }, 'a clean exit');
  t.ok(
    stopped.lines.some((line) => line.startsWith('data in ')),
    'the start finished before the stop',
  );
  // The members are in the launcher's process group, and it waited for each to exit.
  t.notOk(groupAlive(stopped.pid), 'no member left running');
});

t.test(
  'SIGTERM right after "data in": every member stops, then the launcher exits 0',
  async (t) => {
    const stopped = await stopAt(t, (line) => line.startsWith('data in '));
    t.same(
      { code: stopped.code, signal: stopped.signal },
      { code: 0, signal: null },
      'a clean exit',
    );
    t.notOk(groupAlive(stopped.pid), 'no member left running');
  },
);
