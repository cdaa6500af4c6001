import assert from 'node:assert/strict';
import { encodeCursor, type MailboxSnapshot } from '../protocol/index.js';
import type { ConversationRow, StoredMessage } from '../store-adapter/index.js';
import { changeJson, messageJson, summaryJson } from './message-views.js';
import type { SentKeys } from './sent-keys.js';

/**
 * One user's cached mailbox: the in-memory conversation and message indices. Pure data and
 * bookkeeping, no I/O. What it holds is always a contiguous newest part of what the store holds:
 *  - conversations: every conversation with lastUpdatedTimestamp >= `conversationsFrom` (all of
 *    them when `conversationsComplete`), plus rows loaded one by one (marked `pinned: false`);
 *  - per conversation, a message window: every message with sentAt >= the window's oldest (all of
 *    them when `complete`), newest first.
 * So any answer that falls inside those ranges can be served from memory without a gap.
 *
 * It also keeps what reads derive from that data, so a warm read copies and serialises nothing it
 * did before: the conversations in recency order (kept in order as commits move them), each
 * message's and each row's API JSON, made on first read, and the cursors of the current version.
 * Messages and rows are immutable once committed (a commit replaces a row, never edits it), so a
 * text made from one stays true for as long as it is held; every text is charged to `bytes`.
 */

/** Bytes charged per message beyond its content: ids, numbers, object and array overhead. */
export const MESSAGE_OVERHEAD_BYTES = 320;
/** Bytes charged per conversation row. */
export const CONVERSATION_OVERHEAD_BYTES = 400;
/** Bytes charged per mailbox. */
export const MAILBOX_OVERHEAD_BYTES = 600;
/** Bytes charged per cached JSON text beyond 2 per UTF-16 unit: the string header, its slot. */
export const TEXT_OVERHEAD_BYTES = 32;
/** Bytes charged per change kept for the change feed, beyond its row's snippet and its message. */
export const CHANGE_OVERHEAD_BYTES = 64;
/**
 * The changes a mailbox keeps for the change feed: the last this many versions. A watcher that
 * keeps up (each answer is at most 200 changes) is always served from them; one further behind,
 * or a cursor from before the state was loaded, is replayed from the store (`ChangeFeed`).
 */
export const FEED_CHANGES_KEPT = 256;

/** A committed change, as the change feed shows it. */
export interface LoggedChange {
  readonly version: number;
  /** The conversation's row as this change left it. */
  readonly row: ConversationRow;
  readonly message: StoredMessage | undefined;
  /** The change's API JSON (`changeJson`), made on first read. */
  text: string | undefined;
  /**
   * What the change costs beyond its text: the entry and the row it keeps, and its message unless
   * a window holds that too (charged there). A message a window trims later stays uncharged while
   * the log keeps it: at most FEED_CHANGES_KEPT of them.
   */
  readonly bytes: number;
}

export interface MessageWindow {
  /** Newest first by sentAt, contiguous. */
  messages: StoredMessage[];
  /** True when the window holds the conversation's oldest message too. */
  complete: boolean;
  /**
   * Each message's API JSON (`messageJson`), index for index with `messages`; undefined until a
   * page first shows the message (`messageTextAt`).
   */
  readonly texts: (string | undefined)[];
  /**
   * How deep reads have paged into the window (`extendWindow`): trimming keeps at least this many
   * messages, so a page once fetched from the store is kept (0 until a page reaches below the
   * window as loaded).
   */
  depth: number;
}

export interface CachedConversation {
  /** Replaced (never edited) by every commit to the conversation. */
  readonly row: ConversationRow;
  readonly window?: MessageWindow;
}

/** What the state keeps per conversation; readers see it as a `CachedConversation`. */
interface ConversationEntry {
  row: ConversationRow;
  window?: MessageWindow;
  /** The row's API JSON (`summaryJson`), made on first read, dropped when the row is replaced. */
  summaryText?: string | undefined;
  /** This conversation's messages cursor, at `cursorVersion`. */
  cursorText?: string;
  cursorVersion?: number;
}

export class MailboxState {
  readonly ownerId: string;
  readonly #conversations = new Map<string, ConversationEntry>();
  #version: number;
  #conversationsComplete: boolean;
  #conversationsFrom: number;
  /** The contiguous conversations, most recent first (`byRecency`); undefined until first asked. */
  #recencyOrder: ConversationEntry[] | undefined;
  /** The conversation list's cursor, at `#listCursorVersion`. */
  #listCursorText: string | undefined;
  #listCursorVersion = -1;
  #bytes = MAILBOX_OVERHEAD_BYTES;
  #sentKeys: SentKeys | undefined;
  /** The changes of versions (#changesFrom, #version], oldest first: consecutive versions. */
  readonly #changes: LoggedChange[] = [];
  #changesFrom: number;

  constructor(ownerId: string, version: number, recent: ConversationRow[], recentLimit: number) {
    this.ownerId = ownerId;
    this.#version = version;
    this.#changesFrom = version;
    for (const row of recent) this.#putRow(row);
    this.#conversationsComplete = recent.length < recentLimit;
    this.#conversationsFrom = recent.at(-1)?.lastUpdatedTimestamp ?? 0;
  }

  /** The committed mailbox version this state reflects. */
  get version(): number {
    return this.#version;
  }

  /** Every cached conversation (contiguous or loaded one by one), by id. */
  get conversations(): ReadonlyMap<string, CachedConversation> {
    return this.#conversations;
  }

  /** When true, `conversations` has every conversation of the user. */
  get conversationsComplete(): boolean {
    return this.#conversationsComplete;
  }

  /** Every conversation updated at or after this is cached (meaningful when not complete). */
  get conversationsFrom(): number {
    return this.#conversationsFrom;
  }

  /** What the state costs: its data, the texts made from it, and its idempotency keys. */
  get bytes(): number {
    return this.#bytes + (this.#sentKeys?.bytes ?? 0);
  }

  /**
   * The idempotency keys of the mailbox's recent messages (`SentKeys`), once the first write
   * loaded them (`MailboxLoader.sentKeysLocked`); undefined before. Not part of a warm handoff's
   * snapshot: the new owner loads its own on its first write.
   */
  get sentKeys(): SentKeys | undefined {
    return this.#sentKeys;
  }

  /** Takes the keys loaded for this state (under the user's lock, at its current version). */
  adoptSentKeys(keys: SentKeys): void {
    this.#sentKeys = keys;
  }

  /** The state as a warm handoff sends it (`protocol/internal-api.ts`). */
  toSnapshot(): MailboxSnapshot {
    return {
      ownerId: this.ownerId,
      version: this.version,
      conversationsComplete: this.conversationsComplete,
      conversationsFrom: this.conversationsFrom,
      // The window as the protocol has it: its cached texts stay here.
      conversations: [...this.#conversations.values()].map(({ row, window }) =>
        window === undefined
          ? { row }
          : { row, window: { messages: window.messages, complete: window.complete } },
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
    state.#conversationsComplete = snapshot.conversationsComplete;
    state.#conversationsFrom = snapshot.conversationsFrom;
    state.#recencyOrder = undefined;
    state.#changesFrom = snapshot.version;
    return state;
  }

  /** Conversations most recent first, but only the part known to be gapless. */
  contiguousConversations(): ConversationRow[] {
    return this.#order().map((entry) => entry.row);
  }

  /**
   * The contiguous conversations, most recent first (`byRecency`), as the state keeps them: sorted
   * once, then kept in order by every change (a commit moves one row), so a read pages it without
   * sorting or copying. Read-only, and only until the state's next change.
   */
  recencyOrder(): readonly CachedConversation[] {
    return this.#order();
  }

  /** Adds a row fetched on its own (not part of the contiguous range). */
  addRow(row: ConversationRow): CachedConversation {
    return this.#putRow(row);
  }

  setWindow(conversationId: string, messages: StoredMessage[], complete: boolean): void {
    const entry = this.#conversations.get(conversationId);
    if (entry === undefined) return;
    this.#bytes -= windowBytes(entry.window);
    const texts: (string | undefined)[] = [];
    for (let index = 0; index < messages.length; index += 1) texts.push(undefined);
    entry.window = { messages, complete, texts, depth: 0 };
    this.#bytes += windowBytes(entry.window);
  }

  /**
   * Appends the messages just below a conversation's window (fetched from the store under the
   * user's lock, so nothing can have landed between the window and them) and keeps the window at
   * least `depth` deep from now on. `complete`: the store has nothing older.
   */
  extendWindow(
    conversationId: string,
    older: StoredMessage[],
    complete: boolean,
    depth: number,
  ): void {
    const window = this.#conversations.get(conversationId)?.window;
    if (window === undefined) return;
    const oldest = window.messages.at(-1);
    assert(
      oldest === undefined || (older[0]?.sentAt ?? -Infinity) < oldest.sentAt,
      'the messages below a window are older than its oldest',
    );
    for (const message of older) {
      window.messages.push(message);
      window.texts.push(undefined);
      this.#bytes += messageBytes(message);
    }
    window.complete = complete;
    window.depth = Math.max(window.depth, depth);
  }

  /** Records a committed change: the new row, and the message if the commit added one. */
  applyCommit(version: number, row: ConversationRow, message?: StoredMessage): void {
    // The store accepts only the next version; a state that skipped one would serve a gap as whole.
    assert.equal(version, this.#version + 1, 'a commit is the next mailbox version');
    this.#version = version;
    const existing = this.#conversations.get(row.conversationId);
    const entry = existing ?? this.#putRow(row);
    if (existing !== undefined) {
      this.#unlistRecency(entry);
      this.#bytes +=
        (row.snippet.length - entry.row.snippet.length) * 2 - textBytes(entry.summaryText);
      entry.row = row;
      entry.summaryText = undefined;
      this.#listRecency(entry);
    }
    const inWindow =
      message !== undefined &&
      entry.window !== undefined &&
      this.#insertIntoWindow(entry.window, message);
    if (message !== undefined) this.#sentKeys?.add(message);
    // A message the window holds is charged there; the log only points at it.
    const bytes =
      CHANGE_OVERHEAD_BYTES +
      row.snippet.length * 2 +
      (message === undefined || inWindow ? 0 : messageBytes(message));
    this.#logChange({ version, row, message, text: undefined, bytes });
  }

  /**
   * The changes after `afterVersion`, oldest first, at most `limit`; undefined when memory does
   * not reach back that far (the state was loaded, or handed over, at a later version, or the
   * change was dropped from the `FEED_CHANGES_KEPT` kept). Read-only, until the state's next change.
   */
  changesAfter(afterVersion: number, limit: number): readonly LoggedChange[] | undefined {
    if (afterVersion < this.#changesFrom || afterVersion > this.#version) return undefined;
    const from = afterVersion - this.#changesFrom;
    return this.#changes.slice(from, from + limit);
  }

  /** The API JSON of a change of this state's log (`changesAfter`): made once, then kept. */
  changeTextOf(change: LoggedChange): string {
    if (change.text !== undefined) return change.text;
    const text = changeJson(change.version, change.row, change.message);
    change.text = text;
    this.#bytes += textBytes(text);
    return text;
  }

  /** The API JSON of the message at `index` of this state's `window`: made once, then kept. */
  messageTextAt(window: MessageWindow, index: number): string {
    const cached = window.texts[index];
    if (cached !== undefined) return cached;
    const message = window.messages[index];
    assert(message !== undefined, 'a text is asked for a message of the window');
    // Charged to this state: the window must be one of its own.
    assert(this.#conversations.get(message.conversationId)?.window === window, 'a window of ours');
    const text = messageJson(message);
    window.texts[index] = text;
    this.#bytes += textBytes(text);
    return text;
  }

  /** The API JSON of one of this state's conversations: made once per row. */
  summaryTextOf(conversation: CachedConversation): string {
    const entry = conversation as ConversationEntry;
    if (entry.summaryText !== undefined) return entry.summaryText;
    assert(this.#conversations.get(entry.row.conversationId) === entry, 'a conversation of ours');
    const text = summaryJson(entry.row);
    entry.summaryText = text;
    this.#bytes += textBytes(text);
    return text;
  }

  /**
   * The cursor of a list of this user at `version`: the conversation list (conversationId
   * undefined) or one conversation's messages. The current version's is made once and kept.
   */
  cursorAt(conversationId: string | undefined, version: number): string {
    if (version !== this.#version) return encodeCursor(this.#scope(conversationId), version);
    if (conversationId === undefined) {
      if (this.#listCursorVersion !== version || this.#listCursorText === undefined) {
        const text = encodeCursor({ userId: this.ownerId }, version);
        this.#bytes += textBytes(text) - textBytes(this.#listCursorText);
        this.#listCursorText = text;
        this.#listCursorVersion = version;
      }
      return this.#listCursorText;
    }
    const entry = this.#conversations.get(conversationId);
    // A conversation the user does not have: nothing to keep the cursor with.
    if (entry === undefined) return encodeCursor(this.#scope(conversationId), version);
    if (entry.cursorVersion !== version || entry.cursorText === undefined) {
      const text = encodeCursor(this.#scope(conversationId), version);
      this.#bytes += textBytes(text) - textBytes(entry.cursorText);
      entry.cursorText = text;
      entry.cursorVersion = version;
    }
    return entry.cursorText;
  }

  /**
   * Drops the oldest messages of windows longer than `messagesMax`, or than the depth reads paged
   * them to if deeper (old pages are reloaded from the store on demand). Returns the bytes freed.
   */
  trimWindows(messagesMax: number): number {
    const before = this.#bytes;
    for (const entry of this.#conversations.values()) {
      const window = entry.window;
      if (window === undefined) continue;
      const kept = Math.max(messagesMax, window.depth);
      if (window.messages.length <= kept) continue;
      const removed = window.messages.splice(kept);
      const removedTexts = window.texts.splice(kept);
      window.complete = false;
      for (const message of removed) this.#bytes -= messageBytes(message);
      for (const text of removedTexts) this.#bytes -= textBytes(text);
    }
    return before - this.#bytes;
  }

  #logChange(change: LoggedChange): void {
    this.#changes.push(change);
    this.#bytes += changeBytes(change);
    if (this.#changes.length <= FEED_CHANGES_KEPT) return;
    const dropped = this.#changes.shift() as LoggedChange;
    this.#bytes -= changeBytes(dropped);
    this.#changesFrom = dropped.version;
  }

  #scope(conversationId: string | undefined): { userId: string; conversationId?: string } {
    return conversationId === undefined
      ? { userId: this.ownerId }
      : { userId: this.ownerId, conversationId };
  }

  #putRow(row: ConversationRow): ConversationEntry {
    const entry: ConversationEntry = { row };
    this.#conversations.set(row.conversationId, entry);
    this.#bytes += CONVERSATION_OVERHEAD_BYTES + row.snippet.length * 2;
    this.#listRecency(entry);
    return entry;
  }

  #isContiguous(row: ConversationRow): boolean {
    return this.#conversationsComplete || row.lastUpdatedTimestamp >= this.#conversationsFrom;
  }

  #order(): ConversationEntry[] {
    if (this.#recencyOrder === undefined) {
      const order: ConversationEntry[] = [];
      for (const entry of this.#conversations.values())
        if (this.#isContiguous(entry.row)) order.push(entry);
      this.#recencyOrder = order.sort((a, b) => byRecency(a.row, b.row));
    }
    return this.#recencyOrder;
  }

  /** Puts a row in its place in the recency order, if the order is built and the row is in it. */
  #listRecency(entry: ConversationEntry): void {
    const order = this.#recencyOrder;
    if (order === undefined || !this.#isContiguous(entry.row)) return;
    // Binary search for the first row that sorts after this one.
    let low = 0;
    let high = order.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (byRecency((order[middle] as ConversationEntry).row, entry.row) < 0) low = middle + 1;
      else high = middle;
    }
    order.splice(low, 0, entry);
  }

  #unlistRecency(entry: ConversationEntry): void {
    const order = this.#recencyOrder;
    if (order === undefined) return;
    const index = order.indexOf(entry);
    if (index >= 0) order.splice(index, 1);
  }

  /** Returns whether the window took the message. */
  #insertIntoWindow(window: MessageWindow, message: StoredMessage): boolean {
    const oldest = window.messages.at(-1);
    // A message older than an incomplete window would open a gap below it: leave it to the store.
    if (!window.complete && oldest !== undefined && message.sentAt < oldest.sentAt) return false;
    let index = 0;
    while (index < window.messages.length && (window.messages[index]?.sentAt ?? 0) > message.sentAt)
      index += 1;
    window.messages.splice(index, 0, message);
    window.texts.splice(index, 0, undefined);
    this.#bytes += messageBytes(message);
    return true;
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

/** What a cached text costs (0 for none): 2 bytes per UTF-16 unit, as content is counted. */
export function textBytes(text: string | undefined): number {
  return text === undefined ? 0 : TEXT_OVERHEAD_BYTES + text.length * 2;
}

function changeBytes(change: LoggedChange): number {
  return change.bytes + textBytes(change.text);
}

function windowBytes(window: MessageWindow | undefined): number {
  if (window === undefined) return 0;
  let bytes = 0;
  for (const message of window.messages) bytes += messageBytes(message);
  for (const text of window.texts) bytes += textBytes(text);
  return bytes;
}
