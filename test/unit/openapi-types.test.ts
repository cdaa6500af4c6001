/**
 * The typed client's wire types (protocol/wire-types.ts) and the public API's schemas
 * (protocol/api-schemas.ts) describe the same JSON: proved at compile time. `tsc -p tsconfig.json`
 * (npm run lint, npm run typecheck) checks this file; each `Same<A, B>` below only compiles when
 * every value of A is a B and every value of B is an A.
 *
 * Why json-schema-to-ts's `FromSchema` (compile time) rather than sample objects validated at run
 * time: a sample proves one value, while mutual assignability covers every field, its optionality
 * and its type, and fails the build the moment a field is added to one side only. Two places
 * where a schema says more than its type can: `participants` is `minItems: 2, maxItems: 2`, which
 * FromSchema reads as `string[]` (JSON Schema 2020-12 spells a tuple with `prefixItems`, which
 * FromSchema does not read), so the wire type's `[string, string]` is compared with that one key
 * widened; and patterns, lengths and bounds are no part of a TypeScript type at all (ajv checks
 * them at run time: test/unit/openapi.test.ts and the API tests). The run-time half below checks
 * one sample of each wire type against its schema with ajv, so a schema that type-checks but
 * refuses real values fails too.
 */
import t from 'tap';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { FromSchema } from 'json-schema-to-ts';
import {
  API_SCHEMAS,
  ChangesResponseSchema,
  ConversationSummarySchema,
  ConversationsResponseSchema,
  ErrorBodySchema,
  HealthSchema,
  MailboxChangeSchema,
  MarkReadResponseSchema,
  MessageSchema,
  MessagesResponseSchema,
  PublicRingSchema,
  SendMessageRequestSchema,
  SendMessageResponseSchema,
  type ApiErrorCode,
  type ChangesResponse,
  type ConversationSummary,
  type ConversationsResponse,
  type MailboxChange,
  type MarkReadResponse,
  type Message,
  type MessagesResponse,
  type PublicRing,
  type SendMessageRequest,
  type SendMessageResponse,
} from '../../protocol/index.js';

/** true when A and B accept exactly the same values (each assignable to the other). */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
/** Compiles only for `true`: `proved<Same<A, B>>()`. */
const proved = <Proof extends true>(): Proof => true as Proof;

/** A summary as FromSchema sees it: participants widened from a pair to an array. */
type Widened<T> = T extends ConversationSummary
  ? Omit<T, 'participants'> & { participants: string[] }
  : T;
type WidenedChange = Omit<MailboxChange, 'conversation'> & {
  conversation: Widened<ConversationSummary>;
};

const proofs = {
  SendMessageRequest:
    proved<Same<SendMessageRequest, FromSchema<typeof SendMessageRequestSchema>>>(),
  Message: proved<Same<Message, FromSchema<typeof MessageSchema>>>(),
  SendMessageResponse:
    proved<Same<SendMessageResponse, FromSchema<typeof SendMessageResponseSchema>>>(),
  ConversationSummary:
    proved<Same<Widened<ConversationSummary>, FromSchema<typeof ConversationSummarySchema>>>(),
  ConversationsResponse: proved<
    Same<
      Omit<ConversationsResponse, 'conversations'> & {
        conversations: Widened<ConversationSummary>[];
      },
      FromSchema<typeof ConversationsResponseSchema>
    >
  >(),
  MessagesResponse: proved<Same<MessagesResponse, FromSchema<typeof MessagesResponseSchema>>>(),
  MarkReadResponse: proved<Same<MarkReadResponse, FromSchema<typeof MarkReadResponseSchema>>>(),
  MailboxChange: proved<Same<WidenedChange, FromSchema<typeof MailboxChangeSchema>>>(),
  ChangesResponse:
    proved<
      Same<
        Omit<ChangesResponse, 'changes'> & { changes: WidenedChange[] },
        FromSchema<typeof ChangesResponseSchema>
      >
    >(),
  PublicRing: proved<Same<PublicRing, FromSchema<typeof PublicRingSchema>>>(),
  // No wire type of their own: what the router and the nodes answer (router-server.ts,
  // node-server.ts, errors.ts' ErrorBody narrowed to the public codes).
  Health: proved<Same<{ status: 'ok'; epoch: number }, FromSchema<typeof HealthSchema>>>(),
  ErrorBody:
    proved<
      Same<{ error: { code: ApiErrorCode; message: string } }, FromSchema<typeof ErrorBodySchema>>
    >(),
};

t.test('every wire type is proved the same as its schema (by tsc)', async (t) => {
  t.same(
    Object.keys(proofs).sort(),
    Object.keys(API_SCHEMAS)
      .filter(
        (name) =>
          !/^(UserId|ConversationId|ClientMessageId|MessageId|Content|Timestamp|Cursor|MarkReadRequest)$/.test(
            name,
          ),
      )
      .sort(),
    'a proof for every object schema but the empty mark-read body',
  );
});

t.test('a sample of each wire type passes its schema (ajv)', async (t) => {
  const ajv = new Ajv2020({ strict: true, allErrors: true });
  const message: Message = {
    messageId: '0b4c2a9e-4c3e-4a57-9c55-1f2b7d9e0a11',
    conversationId: 'alice~bob',
    senderId: 'alice',
    recipientId: 'bob',
    content: 'héllo 👋',
    clientMessageId: 'client-1',
    sentAt: 1_700_000_000_000,
  };
  const summary: ConversationSummary = {
    conversationId: 'alice~bob',
    participants: ['alice', 'bob'],
    snippet: 'héllo 👋',
    lastUpdatedTimestamp: 1_700_000_000_000,
    unreadCount: 1,
  };
  const samples: [object, unknown][] = [
    [
      SendMessageRequestSchema,
      {
        senderId: 'alice',
        recipientId: 'bob',
        content: '',
        clientMessageId: 'x',
      } satisfies SendMessageRequest,
    ],
    [MessageSchema, message],
    [SendMessageResponseSchema, { message, duplicate: false } satisfies SendMessageResponse],
    [ConversationSummarySchema, summary],
    [
      ConversationsResponseSchema,
      {
        conversations: [summary],
        isDeltaUpdate: false,
        cursor: 'eyJ2IjoxfQ',
      } satisfies ConversationsResponse,
    ],
    [
      MessagesResponseSchema,
      { messages: [message], isDeltaUpdate: true, cursor: 'eyJ2IjoxfQ' } satisfies MessagesResponse,
    ],
    [MarkReadResponseSchema, { unreadCount: 0 } satisfies MarkReadResponse],
    [MailboxChangeSchema, { version: 3, conversation: summary } satisfies MailboxChange],
    [
      ChangesResponseSchema,
      {
        changes: [{ version: 4, conversation: summary, message }],
        cursor: 'eyJ2IjoxfQ',
      } satisfies ChangesResponse,
    ],
    [
      PublicRingSchema,
      {
        epoch: 2,
        virtualNodesPerWeight: 160,
        slots: [{ slot: 'slot-0', nodeId: 'node-1', weight: 1 }],
        nodes: { 'node-1': { url: 'http://127.0.0.1:7001' } },
      } satisfies PublicRing,
    ],
    [HealthSchema, { status: 'ok', epoch: 0 }],
    [ErrorBodySchema, { error: { code: 'NOT_OWNER', message: 'the ring moved' } }],
  ];
  for (const [schema, sample] of samples) {
    const validate = ajv.compile(schema);
    t.ok(
      validate(sample),
      `${JSON.stringify(sample).slice(0, 60)}: ${ajv.errorsText(validate.errors)}`,
    );
  }
});
