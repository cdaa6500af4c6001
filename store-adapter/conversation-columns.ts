import type { ConversationRow } from './mailbox-store.js';

/**
 * A conversation row's columns after `owner_id`, in the order both stores' `conversations` tables
 * are written and read by (embedded/schema.ts, cassandra/schema.ts). One list beside the one
 * function that binds values in its order, so a statement's columns and its values cannot drift
 * apart in one store and not the other.
 */
export const CONVERSATION_COLUMNS =
  'conversation_id, participant_a, participant_b, snippet, last_updated, unread_count, version';

/**
 * The values an upsert of `row` into `ownerId`'s conversations binds, in the order of
 * `owner_id, ${CONVERSATION_COLUMNS}`. Plain numbers serve both stores: SQLite keeps them as
 * INTEGER, and Cassandra's driver, its statements prepared, encodes them as the columns' bigint
 * and int (every value is a safe integer; the read side converts Longs back, row-mappers.ts).
 */
export function conversationRowValues(
  ownerId: string,
  row: ConversationRow,
): [string, string, string, string, string, number, number, number] {
  return [
    ownerId,
    row.conversationId,
    row.participants[0],
    row.participants[1],
    row.snippet,
    row.lastUpdatedTimestamp,
    row.unreadCount,
    row.version,
  ];
}
