import { CONTENT_BYTES_LIMIT } from '../../protocol/index.js';
import { StoreVersionConflictError, type MailboxCommit } from '../mailbox-store.js';
import type { CommitReceipt } from './group-commit.js';

/**
 * What the processes of one embedded store say to its commit server (commit-server.ts) over a
 * local stream socket: one JSON document per line (JSON.stringify escapes every newline inside a
 * string, so a line is always one whole frame). A node asks `{"i":id,"c":commit}`; the server
 * answers each id once, in any order:
 *  - `{"i":id,"k":"applied"|"resent","r":[transactions, transactionMs, lockWaitMs]}`: durable (or
 *    already stored by the same commit); the commit's share of the transaction that carried it
 *    (CommitReceipt);
 *  - `{"i":id,"k":"conflict","o":ownerId,"e":expected,"s":stored,"r":[…]}`: the compare-and-set
 *    refused it;
 *  - `{"i":id,"k":"failed","m":message,"r":[…]}`: not applied (an SQLite error, a failed transaction).
 * A refused commit rode in its transaction too, so it carries its share (zeros when no transaction
 * committed). A request without a commit, `{"i":id}`, is a ping: the server answers
 * `{"i":id,"k":"pong"}` from its event loop at once, which is how a node learns that the server
 * runs (a paused one's socket still accepts connections: the kernel does that) before it trusts
 * it with commits.
 * Text, not a binary framing: a commit is a few hundred bytes and JSON is what both ends already
 * speak; the cost measured is a few microseconds against the fsync it shares.
 */

/** A longer frame (in UTF-16 units, as JSON text) is a broken or hostile peer: the connection is
 * closed. A commit is one message (content at most CONTENT_BYTES_LIMIT bytes, up to 6× as JSON when
 * every character is escaped) and its conversation row. */
export const COMMIT_FRAME_CHARS_MAX = 8 * CONTENT_BYTES_LIMIT;

export interface CommitRequest {
  i: number;
  /** Absent: a ping. */
  c?: MailboxCommit;
}

export interface PongAnswer {
  i: number;
  k: 'pong';
}

export type CommitAnswer =
  | { i: number; k: 'applied' | 'resent'; r: Shares }
  | { i: number; k: 'conflict'; o: string; e: number; s: number; r: Shares }
  | { i: number; k: 'failed'; m: string; r: Shares };

/** A receipt's transactions, transactionMs and lockWaitMs, in that order. */
type Shares = [number, number, number];

function sharesOf(receipt: CommitReceipt): Shares {
  return [receipt.transactions, receipt.transactionMs, receipt.lockWaitMs];
}

export function encodeRequest(id: number, commit: MailboxCommit): string {
  return `${JSON.stringify({ i: id, c: commit } satisfies CommitRequest)}\n`;
}

export function encodePing(id: number): string {
  return `${JSON.stringify({ i: id } satisfies CommitRequest)}\n`;
}

export function answerPong(id: number): string {
  return `${JSON.stringify({ i: id, k: 'pong' } satisfies PongAnswer)}\n`;
}

export function answerOk(id: number, receipt: CommitReceipt): string {
  const answer: CommitAnswer = {
    i: id,
    k: receipt.resent ? 'resent' : 'applied',
    r: sharesOf(receipt),
  };
  return `${JSON.stringify(answer)}\n`;
}

export function answerFailure(id: number, error: unknown, receipt: CommitReceipt): string {
  const r = sharesOf(receipt);
  const answer: CommitAnswer =
    error instanceof StoreVersionConflictError
      ? {
          i: id,
          k: 'conflict',
          o: error.ownerId,
          e: error.expectedVersion,
          s: error.storedVersion,
          r,
        }
      : { i: id, k: 'failed', m: error instanceof Error ? error.message : String(error), r };
  return `${JSON.stringify(answer)}\n`;
}

/** The commit's share of its transaction, and for a refusal the error it stands for (the same
 * classes a local commit throws, so callers cannot tell the two paths apart). */
export function settlementOf(answer: CommitAnswer): { receipt: CommitReceipt; error?: Error } {
  const [transactions, transactionMs, lockWaitMs] = answer.r;
  const receipt = { resent: answer.k === 'resent', transactions, transactionMs, lockWaitMs };
  switch (answer.k) {
    case 'applied':
    case 'resent':
      return { receipt };
    case 'conflict':
      return { receipt, error: new StoreVersionConflictError(answer.o, answer.e, answer.s) };
    case 'failed':
      return { receipt, error: new Error(`embedded store commit server: ${answer.m}`) };
  }
}

/**
 * Splits a text stream into lines, calling `onLine` for each whole one; a chunk may end mid-line.
 * Returns false once the unfinished line is longer than `charsMax` (the caller closes the stream).
 */
export class LineSplitter {
  readonly #charsMax: number;
  readonly #onLine: (line: string) => void;
  #rest = '';

  constructor(charsMax: number, onLine: (line: string) => void) {
    this.#charsMax = charsMax;
    this.#onLine = onLine;
  }

  push(chunk: string): boolean {
    const text = this.#rest + chunk;
    let start = 0;
    for (let end = text.indexOf('\n'); end >= 0; end = text.indexOf('\n', start)) {
      this.#onLine(text.slice(start, end));
      start = end + 1;
    }
    this.#rest = start === 0 ? text : text.slice(start);
    return this.#rest.length <= this.#charsMax;
  }
}
