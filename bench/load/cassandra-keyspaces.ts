/**
 * The Cassandra targets' store: the Cassandra the tests use (harness/cassandra.ts: the one
 * CASSANDRA_CONTACT_POINTS names, else a local node started or reused on demand by
 * scripts/cassandra/cassandra.mjs), and keyspaces of the bench's own, seeded with the same data set
 * as the embedded targets and dropped afterwards. With a read-only mix the data never changes, so
 * every Cassandra target shares one keyspace (seeded once); with sends in the mix each target gets
 * a fresh one, as each embedded target gets a fresh copy of the seed.
 */
import { readFileSync } from 'node:fs';
import {
  locateCassandra,
  openScratchKeyspace,
  type CassandraLocation,
  type ScratchKeyspace,
} from '../../harness/index.js';
import { openStore } from '../../store-adapter/index.js';
import type { ChatWorkload } from '../lib/chat-workload.js';
import { seedWorkload, type SeedFigures } from '../lib/workload-seed.js';
import { locateCassandraProcesses, type StoreCpuScope } from './cassandra-process.js';
import { settings } from './load-settings.js';

/** Commits in flight while seeding a keyspace (a networked store takes many at once). */
const SEED_PARALLELISM = 64;
const KEYSPACE_PREFIX = 'chatring_bench_load';

export interface TargetKeyspace {
  scratch: ScratchKeyspace;
  /** Seeding figures when this call seeded it; undefined for a shared keyspace seeded earlier. */
  seed: SeedFigures | undefined;
  /** Drops a keyspace of the target's own; a shared one stays until close(). */
  release(): Promise<void>;
}

/** Which Cassandra the targets ran on, for load.json. */
export interface CassandraUsed {
  contactPoints: string[];
  /** The local node of scripts/cassandra (absent when CASSANDRA_CONTACT_POINTS named one). */
  localNode?: {
    pid: number;
    /** True when it was already running (it keeps the JVM options it was started with). */
    reused: boolean;
    /** From its command line: `C1 only` (-XX:TieredStopAtLevel=1, the tests' fast boot) or `C1 + C2`. */
    jit: string;
  };
  /**
   * The Cassandra processes whose CPU each Cassandra target's window charges apart (their pids and
   * how they were found), or why it is not measured (cassandra-process.ts).
   */
  cpu?: StoreCpuScope;
}

/**
 * A node the bench starts runs with the full JIT (C1 + C2), as scripts/cassandra/README.md asks
 * for load tests; one already running (the tests') is reused as it is, and load.json says which.
 */
const LOAD_TEST_JVM_OPTS = '-XX:TieredStopAtLevel=4';

export class BenchCassandra {
  readonly #workload: ChatWorkload;
  readonly #freshPerTarget: boolean;
  #location: Promise<CassandraLocation> | undefined;
  #shared: Promise<ScratchKeyspace> | undefined;
  #used: CassandraUsed | undefined;
  #storeCpu: Promise<StoreCpuScope> | undefined;

  constructor(workload: ChatWorkload) {
    this.#workload = workload;
    this.#freshPerTarget = settings.mix.send > 0;
  }

  /**
   * A keyspace seeded with the workload. Throws (once for all targets: the failure is kept) when
   * Cassandra cannot be found or started, or seeding fails.
   */
  async keyspaceFor(): Promise<TargetKeyspace> {
    if (this.#freshPerTarget) {
      const { scratch, seed } = await this.#seeded();
      return { scratch, seed, release: () => drop(scratch) };
    }
    let seed: SeedFigures | undefined;
    this.#shared ??= this.#seeded().then((seeded) => {
      seed = seeded.seed;
      return seeded.scratch;
    });
    return { scratch: await this.#shared, seed, release: async () => undefined };
  }

  /** The Cassandra the targets used (undefined when none was located). */
  used(): CassandraUsed | undefined {
    return this.#used;
  }

  /**
   * The Cassandra JVM(s) whose CPU the targets' windows read, or why not: found once, after the
   * first keyspace (keyspaceFor) located Cassandra.
   */
  async storeCpu(): Promise<StoreCpuScope> {
    return (await this.#storeCpu) ?? { notMeasured: 'Cassandra was not located' };
  }

  /** Drops the shared keyspace, if one was made. */
  async close(): Promise<void> {
    const shared = await this.#shared?.catch(() => undefined);
    if (shared !== undefined) await drop(shared);
  }

  async #seeded(): Promise<{ scratch: ScratchKeyspace; seed: SeedFigures }> {
    process.env.CHATRING_CASSANDRA_JVM_OPTS ??= LOAD_TEST_JVM_OPTS;
    this.#location ??= locateCassandra().then((location) => {
      const node = location.localNode;
      this.#used = {
        contactPoints: location.contactPoints,
        ...(node === undefined ? {} : { localNode: { ...node, jit: jitOf(node.pid) } }),
      };
      console.log(
        `cassandra: ${location.contactPoints.join(',')}${this.#used.localNode === undefined ? '' : ` (local node pid ${node?.pid ?? '?'}, ${node?.reused === true ? 'already running' : 'started'}, JIT ${this.#used.localNode.jit})`}`,
      );
      return location;
    });
    const location = await this.#location;
    const scratch = await openScratchKeyspace(location, KEYSPACE_PREFIX);
    this.#storeCpu ??= locateCassandraProcesses(location, async () => {
      const peers = await scratch.client.execute('SELECT peer FROM system.peers');
      return peers.rowLength;
    })
      .catch((error: unknown): StoreCpuScope => ({ notMeasured: (error as Error).message }))
      .then((cpu) => {
        if (this.#used !== undefined) this.#used.cpu = cpu;
        console.log(
          'pids' in cpu
            ? `cassandra: its CPU is measured over each Cassandra target's window: pid ${cpu.pids.join(', ')}, ${cpu.scope}`
            : `cassandra: its CPU is not measured: ${cpu.notMeasured}`,
        );
        return cpu;
      });
    try {
      const seed = await seedWorkload(
        await openStore({ kind: 'cassandra', cassandra: scratch.storeOptions() }),
        this.#workload,
        settings,
        SEED_PARALLELISM,
      );
      console.log(
        `cassandra: seeded keyspace ${scratch.keyspace}: ${seed.messages} messages (${seed.commits} commits) in ${seed.seconds.toFixed(1)} s`,
      );
      return { scratch, seed };
    } catch (error) {
      await drop(scratch);
      throw error;
    }
  }
}

/** The JIT a JVM runs with, from the last -XX:TieredStopAtLevel on its command line. */
function jitOf(pid: number): string {
  try {
    const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    const level = args
      .filter((arg) => arg.startsWith('-XX:TieredStopAtLevel='))
      .at(-1)
      ?.split('=')[1];
    return level === undefined || level === '4'
      ? 'C1 + C2'
      : `C1 only (TieredStopAtLevel=${level})`;
  } catch {
    return 'unknown';
  }
}

async function drop(scratch: ScratchKeyspace): Promise<void> {
  await scratch
    .drop()
    .catch((error: unknown) =>
      console.error(
        `cassandra: could not drop keyspace ${scratch.keyspace}: ${(error as Error).message}`,
      ),
    );
}
