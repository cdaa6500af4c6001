/**
 * Child processes that each lead a process group of their own (spawned detached), so that killing
 * the group takes the child and everything it started — a launcher's router and nodes too — even
 * when the child itself cannot clean up. Every group still alive when this process ends is killed
 * with SIGKILL: on a normal exit, on an uncaught error, and on SIGINT/SIGTERM (Ctrl-C, a tap
 * timeout), after which this process exits with 128 + the signal's number. A test or benchmark
 * that fails half-way therefore never leaves a cluster behind.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

const SIGNAL_NUMBERS = { SIGINT: 2, SIGTERM: 15 } as const;

const groups = new Set<ChildProcess>();
let hooksInstalled = false;

/** Installed on the first spawn, so that merely importing the harness changes nothing. */
function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  // Synchronous, since an 'exit' listener cannot wait.
  process.once('exit', () => killAllGroups());
  for (const signal of Object.keys(SIGNAL_NUMBERS) as (keyof typeof SIGNAL_NUMBERS)[]) {
    process.once(signal, () => {
      killAllGroups();
      process.exit(128 + SIGNAL_NUMBERS[signal]);
    });
  }
}

function killAllGroups(): void {
  for (const child of groups) killGroup(child, 'SIGKILL');
}

/** Spawns `command` as the leader of a new process group, reaped when this process ends. */
export function spawnGroupLeader(
  command: string,
  args: readonly string[],
  options: Omit<SpawnOptions, 'detached'>,
): ChildProcess {
  installHooks();
  const child = spawn(command, args, { ...options, detached: true });
  groups.add(child);
  return child;
}

/** Sends `signal` to the child's whole group; a group that is gone already is no error. */
export function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // the group is gone already
  }
}

/** The group is stopped: the exit hooks no longer need to reap it. */
export function forgetGroup(child: ChildProcess): void {
  groups.delete(child);
}

/** The child itself has exited (its group may live on). */
export function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}
