import assert from 'node:assert/strict';
import type { MailboxSnapshot } from '../protocol/index.js';
import type { ConversationRow, StoredMessage } from '../store-adapter/index.js';

/**
 * One user's cached mailbox: the in-memory conversation and message indices. Pure data and
 * bookkeeping, no I/O. What it holds is always a contiguous newest part of what the store holds:
 *  - conversations: every conversation with lastUpdatedTimestamp >= `conversationsFrom` (all of
 *    them when `conversationsComplete`), plus rows loaded one by one (marked `pinned: false`);
 *  - per conversation, a message window: every message with sentAt >= the window's oldest (all of
 *    them when `complete`), newest first.
 * So any answer that falls inside those ranges can be served from memory without a gap.
 */

/** Bytes charged per message beyond its content: ids, numbers, object and array overhead. */
export const MESSAGE_OVERHEAD_BYTES = 320;
/** Bytes charged per conversation row. */
export const CONVERSATION_OVERHEAD_BYTES = 400;
/** Bytes charged per mailbox. */
export const MAILBOX_OVERHEAD_BYTES = 600;

export interface MessageWindow {
  /** Newest first by sentAt, contiguous. */
  messages: StoredMessage[];
  /** True when the window holds the conversation's oldest message too. */
  complete: boolean;
}

export interface CachedConversation {
  row: ConversationRow;
  window?: MessageWindow;
}

export class MailboxState {
  readonly ownerId: string;
  /** The committed mailbox version this state reflects. */
  version: number;
  readonly conversations = new Map<string, CachedConversation>();
  /** When true, `conversations` has every conversation of the user. */
  conversationsComplete: boolean;
  /** Every conversation updated at or after this is cached (meaningful when not complete). */
  conversationsFrom: number;
  #bytes = MAILBOX_OVERHEAD_BYTES;

  constructor(ownerId: string, version: number, recent: ConversationRow[], recentLimit: number) {
    this.ownerId = ownerId;
    this.version = version;
    for (const row of recent) this.#putRow(row);
    this.conversationsComplete = recent.length < recentLimit;
    this.conversationsFrom = recent.at(-1)?.lastUpdatedTimestamp ?? 0;
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** The state as a warm handoff sends it (`protocol/internal-api.ts`). */
  toSnapshot(): MailboxSnapshot {
    return {
      ownerId: this.ownerId,
      version: this.version,
      conversationsComplete: this.conversationsComplete,
      conversationsFrom: this.conversationsFrom,
      conversations: [...this.conversations.values()].map(({ row, window }) =>
        window === undefined ? { row } : { row, window },
      ),
    };
  }

  /** A state from a warm handoff; the snapshot was checked by `parseWarmBatch`. */
  static fromSnapshot(snapshot: MailboxSnapshot): MailboxState {
    const state = new MailboxState(snapshot.ownerId, snapshot.version, [], 1);
    for (const { row, window } of snapshot.conversations) {
      state.addRow(row);
      if (window !== undefined)
        state.setWindow(row.conversationId, window.messages, window.complete);
    }
    state.conversationsComplete = snapshot.conversationsComplete;
    state.conversationsFrom = snapshot.conversationsFrom;
    return state;
  }

  /** Conversations most recent first, but only the part known to be gapless. */
  contiguousConversations(): ConversationRow[] {
    const rows: ConversationRow[] = [];
    for (const { row } of this.conversations.values()) {
      if (this.conversationsComplete || row.lastUpdatedTimestamp >= this.conversationsFrom)
        rows.push(row);
    }
    return rows.sort(byRecency);
  }

  /** Adds a row fetched on its own (not part of the contiguous range). */
  addRow(row: ConversationRow): CachedConversation {
    return this.#putRow(row);
  }

  setWindow(conversationId: string, messages: StoredMessage[], complete: boolean): void {
    const cached = this.conversations.get(conversationId);
    if (cached === undefined) return;
    this.#bytes -= windowBytes(cached.window);
    cached.window = { messages, complete };
    this.#bytes += windowBytes(cached.window);
  }

  /** Records a committed change: the new row, and the message if the commit added one. */
  applyCommit(version: number, row: ConversationRow, message?: StoredMessage): void {
    // The store accepts only the next version; a state that skipped one would serve a gap as whole.
    assert.equal(version, this.version + 1, 'a commit is the next mailbox version');
    this.version = version;
    const cached = this.conversations.get(row.conversationId) ?? this.#putRow(row);
    cached.row = row;
    if (message !== undefined && cached.window !== undefined)
      this.#insertIntoWindow(cached.window, message);
  }

  /**
   * Drops the oldest messages of windows longer than `messagesMax` (old pages are reloaded from the
   * store on demand). Returns the bytes freed.
   */
  trimWindows(messagesMax: number): number {
    const before = this.#bytes;
    for (const cached of this.conversations.values()) {
      const window = cached.window;
      if (window === undefined || window.messages.length <= messagesMax) continue;
      const removed = window.messages.splice(messagesMax);
      window.complete = false;
      for (const message of removed) this.#bytes -= messageBytes(message);
    }
    return before - this.#bytes;
  }

  #putRow(row: ConversationRow): CachedConversation {
    const cached: CachedConversation = { row };
    this.conversations.set(row.conversationId, cached);
    this.#bytes += CONVERSATION_OVERHEAD_BYTES + row.snippet.length * 2;
    return cached;
  }

  #insertIntoWindow(window: MessageWindow, message: StoredMessage): void {
    const oldest = window.messages.at(-1);
    // A message older than an incomplete window would open a gap below it: leave it to the store.
    if (!window.complete && oldest !== undefined && message.sentAt < oldest.sentAt) return;
    let index = 0;
    while (index < window.messages.length && (window.messages[index]?.sentAt ?? 0) > message.sentAt)
      index += 1;
    window.messages.splice(index, 0, message);
    this.#bytes += messageBytes(message);
  }
}

export function byRecency(a: ConversationRow, b: ConversationRow): number {
  return (
    b.lastUpdatedTimestamp - a.lastUpdatedTimestamp ||
    (a.conversationId < b.conversationId ? -1 : 1)
  );
}

export function messageBytes(message: StoredMessage): number {
  return MESSAGE_OVERHEAD_BYTES + message.content.length * 2;
}

function windowBytes(window: MessageWindow | undefined): number {
  if (window === undefined) return 0;
  let bytes = 0;
  for (const message of window.messages) bytes += messageBytes(message);
  return bytes;
}
