/**
 * CPU time of a process tree, read from Linux's /proc: a root pid and every descendant (found by
 * following the ppid of each /proc/<pid>/stat), each with its utime + stime (clock ticks, turned
 * into seconds with `getconf CLK_TCK`, 100 if that fails).
 *
 * What it does not see: a process that exits between two samples takes its CPU time with it (its
 * parent's cutime/cstime are not read), so over a window only processes alive at its end are
 * counted — those alive at both ends by their difference, those started inside it in full. Where
 * there is no /proc (macOS, Windows) every function returns undefined, and callers print
 * "cpu: not measured".
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';

const PROC = '/proc';
const DEFAULT_CLOCK_TICKS = 100;

/** One process of a tree at one instant. */
export interface ProcessCpuSample {
  pid: number;
  ppid: number;
  /** The executable's name as /proc/<pid>/stat gives it (comm, at most 15 characters). */
  command: string;
  /** Start time in clock ticks after boot: with the pid, it tells a reused pid apart. */
  startTicks: number;
  cpuSeconds: number;
}

/**
 * What a process of a tree is, from its command line: a chatring member by its role (`launcher`
 * for `chatring start`, `router`, or a node by its `--node-id`), anything else by its command.
 */
export function processLabel(pid: number, command: string): string {
  let args: string[];
  try {
    args = readFileSync(`${PROC}/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return command;
  }
  const entry = args.findIndex((arg) => /chatring\.js$/.test(arg));
  const role = entry < 0 ? undefined : args[entry + 1];
  if (role === 'start') return 'launcher';
  const flag = args.indexOf('--node-id');
  if (role === 'node') return (flag < 0 ? undefined : args[flag + 1]) ?? 'node';
  return role ?? command;
}

/** A process tree's CPU at one instant, keyed by pid and start time. */
export type ProcessTreeSnapshot = Map<string, ProcessCpuSample>;

let clockTicks: number | undefined;

/** `getconf CLK_TCK` (the unit of utime/stime), read once; 100 when getconf is missing. */
export function clockTicksPerSecond(): number {
  if (clockTicks !== undefined) return clockTicks;
  try {
    const value = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    clockTicks = Number.isInteger(value) && value > 0 ? value : DEFAULT_CLOCK_TICKS;
  } catch {
    clockTicks = DEFAULT_CLOCK_TICKS;
  }
  return clockTicks;
}

export function procAvailable(): boolean {
  return existsSync(`${PROC}/self/stat`);
}

/**
 * Parses /proc/<pid>/stat. The command (field 2) is in parentheses and may itself hold spaces and
 * parentheses, so the fields are counted from the last ')'.
 */
export function parseStat(text: string, ticksPerSecond: number): ProcessCpuSample | undefined {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return undefined;
  const pid = Number(text.slice(0, open).trim());
  // After ')': field 3 (state) is index 0, so field n is index n - 3.
  const fields = text
    .slice(close + 1)
    .trim()
    .split(/\s+/);
  const ppid = Number(fields[4 - 3]);
  const utime = Number(fields[14 - 3]);
  const stime = Number(fields[15 - 3]);
  const startTicks = Number(fields[22 - 3]);
  if (![pid, ppid, utime, stime, startTicks].every(Number.isFinite)) return undefined;
  return {
    pid,
    ppid,
    command: text.slice(open + 1, close),
    startTicks,
    cpuSeconds: (utime + stime) / ticksPerSecond,
  };
}

/** Every process /proc lists now; undefined without /proc. */
function readProcessTable(): Map<number, ProcessCpuSample> | undefined {
  if (!procAvailable()) return undefined;
  const ticks = clockTicksPerSecond();
  const table = new Map<number, ProcessCpuSample>();
  for (const entry of readdirSync(PROC)) {
    if (!/^\d+$/.test(entry)) continue;
    let text: string;
    try {
      text = readFileSync(`${PROC}/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited while we read the table
    }
    const sample = parseStat(text, ticks);
    if (sample !== undefined) table.set(sample.pid, sample);
  }
  return table;
}

/**
 * The root and all its descendants as they are now; undefined without /proc or when the root is
 * gone.
 */
export function processTree(rootPid: number): ProcessCpuSample[] | undefined {
  const table = readProcessTable();
  const root = table?.get(rootPid);
  if (table === undefined || root === undefined) return undefined;
  const children = new Map<number, ProcessCpuSample[]>();
  for (const sample of table.values()) {
    if (sample.pid === rootPid) continue;
    const siblings = children.get(sample.ppid) ?? [];
    siblings.push(sample);
    children.set(sample.ppid, siblings);
  }
  const tree: ProcessCpuSample[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const next = queue.shift() as ProcessCpuSample;
    tree.push(next);
    queue.push(...(children.get(next.pid) ?? []));
  }
  return tree;
}

/** CPU seconds (user + system) used so far by the root and its living descendants. */
export function cpuSeconds(rootPid: number): number | undefined {
  return processTree(rootPid)?.reduce((sum, sample) => sum + sample.cpuSeconds, 0);
}

export function snapshotTree(rootPid: number): ProcessTreeSnapshot | undefined {
  const tree = processTree(rootPid);
  if (tree === undefined) return undefined;
  return new Map(tree.map((sample) => [`${sample.pid}@${sample.startTicks}`, sample]));
}

/** What a tree used between two snapshots. */
export interface TreeCpuUsage {
  cpuSeconds: number;
  /** Processes counted: alive at the end. */
  processes: number;
  /** Processes of the first snapshot gone by the second: their CPU in the window is not counted. */
  exited: number;
  /** Processes started inside the window (counted in full). */
  started: number;
  /** CPU seconds by process label (processLabel; processes with one label are added up). */
  byProcess: Record<string, number>;
}

/**
 * CPU seconds between two snapshots of one tree: a process in both counts its difference, one
 * started in between counts all of its time, one that exited counts nothing.
 */
export function cpuBetween(before: ProcessTreeSnapshot, after: ProcessTreeSnapshot): TreeCpuUsage {
  let seconds = 0;
  let started = 0;
  const byProcess: Record<string, number> = {};
  for (const [key, sample] of after) {
    const earlier = before.get(key);
    if (earlier === undefined) started += 1;
    const used = sample.cpuSeconds - (earlier?.cpuSeconds ?? 0);
    seconds += used;
    const label = labelOf(key, sample);
    byProcess[label] = (byProcess[label] ?? 0) + used;
  }
  let exited = 0;
  for (const key of before.keys()) if (!after.has(key)) exited += 1;
  return { cpuSeconds: seconds, processes: after.size, exited, started, byProcess };
}

/** Labels by pid@start: a command line is read once per process. */
const LABELS = new Map<string, string>();

function labelOf(key: string, sample: ProcessCpuSample): string {
  let label = LABELS.get(key);
  if (label === undefined) {
    label = processLabel(sample.pid, sample.command);
    LABELS.set(key, label);
  }
  return label;
}

/**
 * Cassandra targets only: the CPU time (user + system, /proc/<pid>/stat) of the local Cassandra
 * JVM over the same measured window — the store's own cores, apart from the system under test's.
 * Cassandra's background work in the window (compaction, flushes, gossip, GC) is in it, charged to
 * the target. `storeCpuScope` says which process; `storeCpuNotMeasured` why there is no figure (a
 * remote contact point, a cluster partly elsewhere, no /proc, a restart inside the window). The
 * load bench writes these fields and the report reads them (bench/load/load-results.ts,
 * bench/lib/bench-results.ts).
 */
export interface StoreCpuFigures {
  storeCpuSeconds?: number;
  /** storeCpuSeconds ÷ measuredSeconds. */
  storeCpuCores?: number;
  /** storeCpuSeconds ÷ successful operations, in µs. */
  storeCpuUsPerOp?: number;
  /** storeCpuSeconds ÷ successful sends, in µs (reads of the mix riding along). */
  storeCpuUsPerSend?: number;
  storeCpuScope?: string;
  storeCpuNotMeasured?: string;
}
