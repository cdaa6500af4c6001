import { ChatringError } from './errors.js';

/**
 * The gapless cursor. Every change the owner commits to a mailbox gets the next mailbox version;
 * a cursor names the last version a client has seen, scoped to the list it came from (the
 * conversation list, or one conversation's messages) so a cursor cannot be replayed against
 * another list. Opaque to clients: base64url of a small JSON document.
 */
export interface CursorScope {
  userId: string;
  /** Absent for the conversation list; the conversation for its messages. */
  conversationId?: string;
}

interface CursorDocument {
  v: 1;
  u: string;
  c?: string;
  after: number;
}

export function encodeCursor(scope: CursorScope, afterVersion: number): string {
  const document: CursorDocument = { v: 1, u: scope.userId, after: afterVersion };
  if (scope.conversationId !== undefined) document.c = scope.conversationId;
  return Buffer.from(JSON.stringify(document), 'utf8').toString('base64url');
}

/** Returns the version the cursor stands at; throws INVALID_CURSOR when it is not ours or not for this list. */
export function decodeCursor(cursor: string, scope: CursorScope): number {
  let document: Partial<CursorDocument>;
  try {
    document = JSON.parse(
      Buffer.from(cursor, 'base64url').toString('utf8'),
    ) as Partial<CursorDocument>;
  } catch {
    throw new ChatringError('INVALID_CURSOR', 'cursor is not a token this API issued');
  }
  const wellFormed =
    typeof document === 'object' &&
    document !== null &&
    document.v === 1 &&
    Number.isSafeInteger(document.after) &&
    (document.after ?? -1) >= 0;
  if (!wellFormed)
    throw new ChatringError('INVALID_CURSOR', 'cursor is not a token this API issued');
  if (document.u !== scope.userId || document.c !== scope.conversationId) {
    throw new ChatringError('INVALID_CURSOR', 'cursor was issued for another user or list');
  }
  return document.after as number;
}
