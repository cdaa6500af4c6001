import type { Message } from '../../protocol/index.js';
import { conversationRowValues } from '../conversation-columns.js';
import type { MailboxCommit } from '../mailbox-store.js';
import type { BucketLayout } from './buckets.js';
import type { BoundStatement, CqlStatements } from './statements.js';

/**
 * The rows one commit writes, split the way they are sent: the message body as a statement of its
 * own, every small row in one unlogged batch (one request). The body stays out of the batch because
 * a 64 KiB message would exceed Cassandra's default batch_size_fail_threshold (50 KiB); the intent,
 * not the batch, is what guarantees that all the rows arrive.
 */
export interface CommitRows {
  body: BoundStatement | undefined;
  batch: BoundStatement[];
}

export function commitRows(
  statements: CqlStatements,
  buckets: BucketLayout,
  commit: MailboxCommit,
): CommitRows {
  const { ownerId, version, conversation: c } = commit;
  const batch: BoundStatement[] = [
    {
      query: statements.upsertConversation,
      params: conversationRowValues(ownerId, c),
    },
    {
      query: statements.insertConversationChange,
      params: [ownerId, buckets.versionBucket(version), version, c.conversationId],
    },
  ];
  if (commit.kind !== 'message') return { body: undefined, batch };
  batch.push(...messageIndexRows(statements, buckets, ownerId, version, commit.message));
  return { body: messageRow(statements, buckets, ownerId, version, commit.message), batch };
}

function messageRow(
  statements: CqlStatements,
  buckets: BucketLayout,
  ownerId: string,
  version: number,
  m: Message,
): BoundStatement {
  return {
    query: statements.insertMessage,
    params: [
      ownerId,
      buckets.sentBucket(m.sentAt),
      m.conversationId,
      m.sentAt,
      m.messageId,
      m.senderId,
      m.recipientId,
      m.content,
      m.clientMessageId,
      version,
    ],
  };
}

/** The rows that find a message: bucket indexes, the cursor's change log, the idempotency index. */
function messageIndexRows(
  statements: CqlStatements,
  buckets: BucketLayout,
  ownerId: string,
  version: number,
  m: Message,
): BoundStatement[] {
  const sentBucket = buckets.sentBucket(m.sentAt);
  const versionBucket = buckets.versionBucket(version);
  return [
    { query: statements.insertTimeBucket, params: [ownerId, m.conversationId, sentBucket] },
    {
      query: statements.insertMessageChange,
      params: [ownerId, m.conversationId, versionBucket, version, m.sentAt, m.messageId],
    },
    { query: statements.insertVersionBucket, params: [ownerId, m.conversationId, versionBucket] },
    {
      query: statements.insertClientId,
      params: [
        ownerId,
        m.senderId,
        m.clientMessageId,
        m.conversationId,
        m.sentAt,
        m.messageId,
        version,
      ],
    },
  ];
}
