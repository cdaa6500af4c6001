import type cassandra from 'cassandra-driver';
import { CONSISTENCY_CODES } from './client.js';
import type { CassandraStoreOptions } from './options.js';
import type { BoundStatement } from './statements.js';

const COUNTER_OF = {
  lwt: 'lwts',
  serialRead: 'serialReads',
  read: 'reads',
  write: 'writes',
} as const satisfies Record<QueryKind, keyof CassandraStoreCounters>;

/** Rows per page when a read walks a whole partition (an owner's conversations, a bucket index). */
const PAGE_ROWS = 500;

/** What one request to Cassandra is, as counted by `QueryRunner.counters()`. */
export type QueryKind = 'lwt' | 'serialRead' | 'read' | 'write';

/**
 * Requests sent since the store opened (warm-up included), by kind: counters, which only grow
 * (a type, not an interface, so it is assignable to StoreFigures, an index signature).
 */
export type CassandraStoreCounters = {
  /** Every request sent (the sum of the four kinds below). */
  requests: number;
  /** Lightweight transactions: one Paxos round each (the commit's compare-and-set). */
  lwts: number;
  /** Reads at the serial level: a Paxos round each (only where a commit cannot know the row). */
  serialReads: number;
  /** Reads at the read level; every page of a paged read counts. */
  reads: number;
  /** Row writes: the message body, and a batch counted once. */
  writes: number;
  /** Commits re-applied from the stored intent by a process that did not know them settled. */
  rollForwards: number;
};

/** Every counter at 0: what a store counts when it opens (tests compare deltas against it). */
export function emptyCassandraStoreCounters(): CassandraStoreCounters {
  return { requests: 0, lwts: 0, serialReads: 0, reads: 0, writes: 0, rollForwards: 0 };
}

/**
 * Sees every request start and end (tests count sequential round trips with it: a request that
 * starts while none is in flight opens a new one).
 */
export interface QueryObserver {
  started(kind: QueryKind): void;
  finished(kind: QueryKind): void;
}

/**
 * Runs statements at the levels the options chose, with the idempotence flag that decides whether
 * the retry policy may repeat them (bounded-retry-policy.ts): reads and row writes are idempotent,
 * lightweight transactions are not. Every statement is prepared. Counts what it sends (`counters`).
 */
export class QueryRunner {
  readonly #client: cassandra.Client;
  readonly #observer: QueryObserver | undefined;
  readonly #counts = emptyCassandraStoreCounters();
  readonly readConsistency: number;
  readonly writeConsistency: number;
  readonly serialConsistency: number;

  constructor(
    client: cassandra.Client,
    options: Pick<
      CassandraStoreOptions,
      'readConsistency' | 'writeConsistency' | 'serialConsistency'
    >,
    observer?: QueryObserver,
  ) {
    this.#client = client;
    this.#observer = observer;
    this.readConsistency = CONSISTENCY_CODES[options.readConsistency];
    this.writeConsistency = CONSISTENCY_CODES[options.writeConsistency];
    this.serialConsistency = CONSISTENCY_CODES[options.serialConsistency];
  }

  /** A copy of the counters (plain numbers). */
  counters(): CassandraStoreCounters {
    return { ...this.#counts };
  }

  /** A commit re-applied from a stored intent (its rows are counted as writes). */
  countRollForward(): void {
    this.#counts.rollForwards += 1;
  }

  read(
    query: string,
    params: unknown[],
    consistency = this.readConsistency,
  ): Promise<cassandra.types.ResultSet> {
    const kind = consistency === this.serialConsistency ? 'serialRead' : 'read';
    return this.#counted(kind, () =>
      this.#client.execute(query, params, { prepare: true, consistency, isIdempotent: true }),
    );
  }

  /** Reads every page of a partition (or slice), PAGE_ROWS at a time, handing each row to `visit`. */
  async eachRow(
    query: string,
    params: unknown[],
    visit: (row: cassandra.types.Row) => void,
  ): Promise<void> {
    let pageState: string | undefined;
    do {
      const options = {
        prepare: true,
        consistency: this.readConsistency,
        isIdempotent: true,
        fetchSize: PAGE_ROWS,
        ...(pageState === undefined ? {} : { pageState }),
      };
      const result = await this.#counted('read', () =>
        this.#client.execute(query, params, options),
      );
      for (const row of result.rows) visit(row);
      pageState = result.pageState ?? undefined;
    } while (pageState !== undefined);
  }

  /** A lightweight transaction: Paxos at the serial level, its commit at the write level. */
  lwt(query: string, params: unknown[]): Promise<cassandra.types.ResultSet> {
    return this.#counted('lwt', () =>
      this.#client.execute(query, params, {
        prepare: true,
        consistency: this.writeConsistency,
        serialConsistency: this.serialConsistency,
        isIdempotent: false,
      }),
    );
  }

  /**
   * Row writes with write timestamp `timestamp` (the mailbox version): idempotent, and a repeat of
   * an old commit can never overwrite a newer one. `body` runs on its own, `batch` as one
   * UNLOGGED batch: the commit's intent already guarantees every row arrives (whoever does not
   * know the commit settled rolls it forward), so a logged batch's batchlog would buy nothing and
   * cost a write to two more nodes per commit, and, on three nodes, stall every commit after a
   * replica dies until gossip convicts it (~20 s: docs/cassandra-schema.md, "Replication").
   */
  async writeRows(
    timestamp: number,
    body: BoundStatement | undefined,
    batch: BoundStatement[],
  ): Promise<void> {
    const writeOptions = {
      prepare: true,
      consistency: this.writeConsistency,
      timestamp,
      isIdempotent: true,
    };
    const writes: Promise<unknown>[] = [];
    if (body !== undefined) {
      writes.push(
        this.#counted('write', () => this.#client.execute(body.query, body.params, writeOptions)),
      );
    }
    writes.push(
      this.#counted('write', () => this.#client.batch(batch, { ...writeOptions, logged: false })),
    );
    await Promise.all(writes);
  }

  async #counted<T>(kind: QueryKind, send: () => Promise<T>): Promise<T> {
    this.#counts.requests += 1;
    this.#counts[COUNTER_OF[kind]] += 1;
    this.#observer?.started(kind);
    try {
      return await send();
    } finally {
      this.#observer?.finished(kind);
    }
  }
}
