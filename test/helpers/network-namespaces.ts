/**
 * Hosts on one machine for tests of what crosses a network: each host is a Linux network namespace
 * with its own address on a private /24, joined to the others by a veth pair into one bridge in the
 * test process's namespace, as machines on one switch. The test process itself is a host too (the
 * bridge's first address: the app server), and can put more addresses on the bridge for servers it
 * runs in-process (`addLocalAddress`: the store's forwarder).
 *
 * Failures are made the way a network makes them:
 * - `cut(a, b)` drops every packet between two hosts, both ways, with iptables in the namespace(s)
 *   (DROP, not REJECT: a partition is silence, so connects and requests hang until their timeouts);
 * - `isolate(host)` takes its link down: it reaches nobody and nobody reaches it;
 * - `addLatency(host, ms)` delays its outgoing packets with `tc netem`, where the kernel has netem.
 * Every rule goes away with `heal` / `rejoin` / `removeLatency`, and the whole topology (namespaces,
 * links, the bridge, its FORWARD rule) with the test's teardown, or on the test process's exit if
 * it dies first.
 *
 * Needs root, iproute2 and iptables (`.ci/run` installs the last two when missing). Where network
 * namespaces cannot be created at all, `createNetwork` answers why and the test file skips with
 * that reason printed.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import type { Test } from 'tap';

/**
 * Names carry the making process's pid (`crb<pid>Z<n>`, base 36: interface names are at most 15
 * bytes), so a later test can remove what a test process killed outright (SIGKILL, a tap timeout)
 * left behind: namespaces, links and the bridge's FORWARD rule.
 */
const NETWORK_ID_SEPARATOR = 'Z';
let networksMade = 0;

/** Commands a teardown has not run yet, run synchronously if the test process exits first. */
const pendingCleanUps = new Set<() => void>();
const cleanUpAll = () => {
  for (const cleanUp of pendingCleanUps) cleanUp();
};
process.once('exit', cleanUpAll);
// tap's timeout sends SIGALRM, then SIGKILL 500 ms later: no 'exit' event, no teardown. The
// clean-up is synchronous and takes ~100 ms, so it fits; what SIGKILL itself leaves, the next
// network sweeps (sweepAbandoned).
process.once('SIGALRM', cleanUpAll);

export interface NetworkHost {
  readonly name: string;
  readonly address: string;
  /** The host's namespace; undefined for the test process's own addresses. */
  readonly namespace: string | undefined;
}

export interface Network {
  /** The test process's own first address (the app server's). */
  readonly local: NetworkHost;
  host(name: string): NetworkHost;
  /** Another address of the test process, for a server it runs itself. */
  addLocalAddress(name: string): NetworkHost;
  /** Spawns `command` inside the host's namespace (root: no other isolation). */
  spawn(host: NetworkHost, command: string, args: string[], env?: NodeJS.ProcessEnv): ChildProcess;
  /** Every packet between the two dropped, both ways (at least one must be a namespace host). */
  cut(a: NetworkHost, b: NetworkHost): void;
  heal(a: NetworkHost, b: NetworkHost): void;
  /** The host's link down: a symmetric partition from everyone. */
  isolate(host: NetworkHost): void;
  rejoin(host: NetworkHost): void;
  /** `tc netem` delay on the host's outgoing packets; false where the kernel has no netem. */
  addLatency(host: NetworkHost, delayMs: number): boolean;
  removeLatency(host: NetworkHost): void;
}

/** Whether namespaces work here: undefined if they do, else why not (for the skip message). */
export function networkNamespacesUnavailable(): string | undefined {
  if (process.platform !== 'linux')
    return `network namespaces need Linux (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return 'network namespaces need root';
  for (const tool of ['ip', 'iptables'])
    try {
      execFileSync(tool, ['-V'], { stdio: 'ignore' });
    } catch {
      return `${tool} is not installed (apt-get install -y ${tool === 'ip' ? 'iproute2' : 'iptables'})`;
    }
  const probe = `crprobe${randomBytes(3).toString('hex')}`;
  try {
    run('ip', ['netns', 'add', probe]);
    run('ip', ['netns', 'del', probe]);
  } catch (error) {
    return `cannot create a network namespace: ${(error as Error).message.split('\n')[0]}`;
  }
  return undefined;
}

/** The hosts `names`, each in its own namespace; all removed at the test's teardown. */
export function createNetwork(t: Test, names: string[]): Network {
  sweepAbandoned();
  const id = `${process.pid.toString(36)}${NETWORK_ID_SEPARATOR}${(networksMade++).toString(36)}`;
  const subnet = freeSubnet();
  const bridge = `crb${id}`;
  const hosts = new Map<string, NetworkHost>();
  const devices = new Map<string, string>();
  const latency = new Set<string>();
  const localAddresses: string[] = [];
  let nextAddress = 1;
  const take = () => `${subnet}.${nextAddress++}`;

  const cleanUp = () => {
    pendingCleanUps.delete(cleanUp);
    for (const host of hosts.values())
      if (host.namespace !== undefined) removeNamespace(host.namespace);
    attempt('iptables', forwardRule('-D', bridge));
    attempt('ip', ['link', 'del', bridge]);
  };
  pendingCleanUps.add(cleanUp);
  t.teardown(cleanUp);

  try {
    run('ip', ['link', 'add', bridge, 'type', 'bridge']);
    // Bridged frames pass the host's iptables FORWARD chain when br_netfilter is loaded; a machine
    // whose policy is DROP (Docker sets it) would silently partition everything.
    run('iptables', forwardRule('-I', bridge));
    const local: NetworkHost = { name: 'local', address: take(), namespace: undefined };
    run('ip', ['addr', 'add', `${local.address}/24`, 'dev', bridge]);
    run('ip', ['link', 'set', bridge, 'up']);
    hosts.set(local.name, local);
    localAddresses.push(local.address);
    names.forEach((name, index) => {
      const host: NetworkHost = { name, address: take(), namespace: `cr${id}-${name}` };
      const namespace = host.namespace ?? '';
      const outside = `cr${id}v${index}`;
      run('ip', ['netns', 'add', namespace]);
      run('ip', [
        'link',
        'add',
        outside,
        'type',
        'veth',
        'peer',
        'name',
        'eth0',
        'netns',
        namespace,
      ]);
      run('ip', ['link', 'set', outside, 'master', bridge, 'up']);
      inside(host, ['ip', 'addr', 'add', `${host.address}/24`, 'dev', 'eth0']);
      inside(host, ['ip', 'link', 'set', 'eth0', 'up']);
      inside(host, ['ip', 'link', 'set', 'lo', 'up']);
      hosts.set(name, host);
      devices.set(name, outside);
    });
  } catch (error) {
    cleanUp();
    throw error;
  }

  const namespaceOf = (host: NetworkHost) => {
    if (host.namespace === undefined)
      throw new Error(`${host.name} is the test process's own address: give a namespace host`);
    return host;
  };
  const dropRules = (action: '-I' | '-D', a: NetworkHost, b: NetworkHost) => {
    for (const [self, other] of [
      [a, b],
      [b, a],
    ] as const) {
      if (self.namespace === undefined) continue;
      inside(self, ['iptables', action, 'INPUT', '-s', other.address, '-j', 'DROP']);
      inside(self, ['iptables', action, 'OUTPUT', '-d', other.address, '-j', 'DROP']);
    }
  };

  return {
    local: hosts.get('local') ?? { name: 'local', address: '', namespace: undefined },
    host(name) {
      const host = hosts.get(name);
      if (host === undefined) throw new Error(`no host ${name} in this network`);
      return host;
    },
    addLocalAddress(name) {
      const host: NetworkHost = { name, address: take(), namespace: undefined };
      run('ip', ['addr', 'add', `${host.address}/24`, 'dev', bridge]);
      hosts.set(name, host);
      return host;
    },
    spawn(host, command, args, env = process.env) {
      const [file, argv] =
        host.namespace === undefined
          ? [command, args]
          : ['ip', ['netns', 'exec', host.namespace, command, ...args]];
      // `ip netns exec` execs the command in place, so the child's pid is the member's own.
      return spawn(file, argv, { stdio: ['ignore', 'pipe', 'pipe'], env });
    },
    cut(a, b) {
      if (a.namespace === undefined && b.namespace === undefined)
        throw new Error('cut needs at least one namespace host');
      dropRules('-I', a, b);
    },
    heal: (a, b) => dropRules('-D', a, b),
    isolate: (host) => inside(namespaceOf(host), ['ip', 'link', 'set', 'eth0', 'down']),
    rejoin: (host) => inside(namespaceOf(host), ['ip', 'link', 'set', 'eth0', 'up']),
    addLatency(host, delayMs) {
      try {
        inside(namespaceOf(host), [
          'tc',
          'qdisc',
          'add',
          'dev',
          'eth0',
          'root',
          'netem',
          'delay',
          `${delayMs}ms`,
        ]);
        latency.add(host.name);
        return true;
      } catch {
        return false; // "Specified qdisc kind is unknown": this kernel was built without netem
      }
    },
    removeLatency(host) {
      if (!latency.delete(host.name)) return;
      inside(namespaceOf(host), ['tc', 'qdisc', 'del', 'dev', 'eth0', 'root']);
    },
  };
}

/**
 * The first line of output that matches, from a spawned process (stdout and stderr). Its listeners
 * stay, keeping the pipes drained for the process's life (a full pipe would stall it), with the
 * last 8,000 characters for a failure message.
 */
export async function waitForOutput(
  child: ChildProcess,
  pattern: RegExp,
  timeoutMs: number,
  describe: string,
): Promise<RegExpExecArray> {
  let text = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${describe}: no ${pattern} within ${timeoutMs} ms:\n${text}`)),
      timeoutMs,
    );
    const onData = (chunk: string) => {
      text = (text + chunk).slice(-8_000);
      const match = pattern.exec(text);
      if (match === null) return;
      clearTimeout(timer);
      resolve(match);
    };
    child.stdout?.setEncoding('utf8').on('data', onData);
    child.stderr?.setEncoding('utf8').on('data', onData);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${describe} exited (${signal ?? code}) before ${pattern}:\n${text}`));
    });
  });
}

/** SIGKILL, then waits for the exit (nothing to wait for if it had already gone). */
export async function killProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGKILL');
  await exited;
}

/** Removes the networks of test processes that are gone (see NETWORK_ID_SEPARATOR). */
function sweepAbandoned(): void {
  const bridges = execFileSync('ip', ['-o', 'link', 'show', 'type', 'bridge'], {
    encoding: 'utf8',
  });
  const namespaces = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  const pattern = new RegExp(`^\\d+: crb(([0-9a-z]+)${NETWORK_ID_SEPARATOR}[0-9a-z]+)[:@]`, 'gm');
  for (const [, id = '', pid36 = ''] of bridges.matchAll(pattern)) {
    if (processAlive(Number.parseInt(pid36, 36))) continue;
    for (const [namespace = ''] of namespaces.matchAll(new RegExp(`^cr${id}-\\S+`, 'gm')))
      removeNamespace(namespace);
    attempt('iptables', forwardRule('-D', `crb${id}`));
    attempt('ip', ['link', 'del', `crb${id}`]);
  }
}

/**
 * Kills what still runs in the namespace (a member the test's teardown never reached would
 * otherwise run on, namespace or not), then removes it.
 */
function removeNamespace(namespace: string): void {
  let pids = '';
  try {
    pids = execFileSync('ip', ['netns', 'pids', namespace], { encoding: 'utf8' });
  } catch {
    return; // already gone
  }
  for (const pid of pids.split(/\s+/).filter(Boolean))
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      // exited meanwhile
    }
  attempt('ip', ['netns', 'del', namespace]);
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function forwardRule(action: '-I' | '-D', bridge: string): string[] {
  return [action, 'FORWARD', '-i', bridge, '-o', bridge, '-j', 'ACCEPT'];
}

function inside(host: NetworkHost, argv: string[]): void {
  const [command = '', ...args] = argv;
  run('ip', ['netns', 'exec', host.namespace ?? '', command, ...args]);
}

function run(command: string, args: string[]): void {
  try {
    execFileSync(command, args, { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? '';
    throw new Error(`${command} ${args.join(' ')}: ${stderr.trim() || (error as Error).message}`, {
      cause: error,
    });
  }
}

function attempt(command: string, args: string[]): void {
  try {
    execFileSync(command, args, { stdio: 'ignore' });
  } catch {
    // already gone
  }
}

/** A 10.x.y.0/24 that no interface of this machine is on. */
function freeSubnet(): string {
  const taken = execFileSync('ip', ['-4', '-o', 'addr'], { encoding: 'utf8' });
  for (;;) {
    const [x = 0, y = 0] = randomBytes(2);
    const subnet = `10.${100 + (x % 150)}.${y}`;
    if (!taken.includes(` ${subnet}.`)) return subnet;
  }
}
