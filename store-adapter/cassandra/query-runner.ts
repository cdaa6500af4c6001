import type cassandra from 'cassandra-driver';
import { CONSISTENCY_CODES } from './client.js';
import type { CassandraStoreOptions } from './options.js';
import type { BoundStatement } from './statements.js';

/** Rows per page when a read walks a whole partition (an owner's conversations, a bucket index). */
const PAGE_ROWS = 500;

/**
 * Runs statements at the levels the options chose, with the idempotence flag that decides whether
 * the retry policy may repeat them (bounded-retry-policy.ts): reads and row writes are idempotent,
 * lightweight transactions are not. Every statement is prepared.
 */
export class QueryRunner {
  readonly #client: cassandra.Client;
  readonly readConsistency: number;
  readonly writeConsistency: number;
  readonly serialConsistency: number;

  constructor(
    client: cassandra.Client,
    options: Pick<
      CassandraStoreOptions,
      'readConsistency' | 'writeConsistency' | 'serialConsistency'
    >,
  ) {
    this.#client = client;
    this.readConsistency = CONSISTENCY_CODES[options.readConsistency];
    this.writeConsistency = CONSISTENCY_CODES[options.writeConsistency];
    this.serialConsistency = CONSISTENCY_CODES[options.serialConsistency];
  }

  read(
    query: string,
    params: unknown[],
    consistency = this.readConsistency,
  ): Promise<cassandra.types.ResultSet> {
    return this.#client.execute(query, params, { prepare: true, consistency, isIdempotent: true });
  }

  /** Reads every page of a partition (or slice), PAGE_ROWS at a time, handing each row to `visit`. */
  async eachRow(
    query: string,
    params: unknown[],
    visit: (row: cassandra.types.Row) => void,
  ): Promise<void> {
    let pageState: string | undefined;
    do {
      const result = await this.#client.execute(query, params, {
        prepare: true,
        consistency: this.readConsistency,
        isIdempotent: true,
        fetchSize: PAGE_ROWS,
        ...(pageState === undefined ? {} : { pageState }),
      });
      for (const row of result.rows) visit(row);
      pageState = result.pageState ?? undefined;
    } while (pageState !== undefined);
  }

  /** A lightweight transaction: Paxos at the serial level, its commit at the write level. */
  lwt(query: string, params: unknown[]): Promise<cassandra.types.ResultSet> {
    return this.#client.execute(query, params, {
      prepare: true,
      consistency: this.writeConsistency,
      serialConsistency: this.serialConsistency,
      isIdempotent: false,
    });
  }

  /**
   * Row writes with write timestamp `timestamp` (the mailbox version): idempotent, and a repeat of
   * an old commit can never overwrite a newer one. `body` runs on its own, `batch` as one logged
   * batch (Cassandra replays a logged batch to the end once any of it is written).
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
    if (body !== undefined)
      writes.push(this.#client.execute(body.query, body.params, writeOptions));
    writes.push(this.#client.batch(batch, { ...writeOptions, logged: true }));
    await Promise.all(writes);
  }
}
