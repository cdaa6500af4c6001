/**
 * Requests are checked by the hand-written parse functions of protocol/validation.ts (the hot
 * path, with exact error codes), and described by the schemas of protocol/api-schemas.ts (the
 * OpenAPI document). This corpus sends the same send bodies and list and change-feed queries
 * through both and asserts they agree on accept or reject, except where they differ on purpose.
 * Each such case is marked with why, and the test asserts that the two do differ there (a
 * difference fixed on one side must be struck from the list):
 *
 * - content's limit is in UTF-8 bytes (fewer than CONTENT_BYTES_LIMIT); JSON Schema counts
 *   characters, so the schema's maxLength is the byte limit less one, in characters;
 * - content must be well-formed Unicode (no lone surrogate); JSON Schema has no way to say so;
 * - senderId and recipientId must differ (SELF_MESSAGE): a rule across two fields;
 * - pageSize: the server clamps any integer into PAGE_SIZE_MIN..PAGE_SIZE_MAX, the schema states
 *   the bounds;
 * - page × pageSize at most PAGE_OFFSET_MAX (PAGE_OUT_OF_RANGE): a product of two parameters;
 * - the cursor: the schema checks its alphabet, the server what it names (its user and list);
 * - an integer in exponent form (`1e3`): a number to the schema's query coercion, not to the
 *   server, which takes decimal digits only.
 *
 * Queries reach ajv as a query string parsed the way the server parses it (fast-querystring), with
 * ajv's type coercion standing in for the OpenAPI parameter's `type: integer`.
 */
import t, { type Test } from 'tap';
import { parse as parseQueryString } from 'fast-querystring';
import { Ajv2020 } from 'ajv/dist/2020.js';
import {
  CONTENT_BYTES_LIMIT,
  ChangesQuerySchema,
  ListQuerySchema,
  PAGE_INDEX_MAX,
  SendMessageRequestSchema,
  WATCH_WAIT_MS_MAX,
  encodeCursor,
  parseChangesQuery,
  parseListQuery,
  parseSendRequest,
} from '../../protocol/index.js';

interface Case {
  name: string;
  input: unknown;
  /** Why parse function and schema answer differently here (they must). */
  differs?: string;
}

const BYTE_LIMIT = 'content: a UTF-8 byte limit, the schema counts characters';
const SURROGATE = 'content: well-formed Unicode, which JSON Schema cannot state';
const SELF = 'senderId and recipientId must differ: a rule across two fields';
const CLAMP = 'pageSize: clamped by the server, bounded by the schema';
const OFFSET = 'page × pageSize: a product of two parameters';
const CURSOR = 'the cursor: the server checks what it names, the schema its alphabet';
const EXPONENT = 'an exponent: a number to ajv coercion, not decimal digits';

function agree(
  t: Test,
  cases: readonly Case[],
  parse: (input: unknown) => unknown,
  schemaAccepts: (input: unknown) => boolean,
): void {
  for (const { name, input, differs } of cases) {
    let parsed = true;
    let refusal = '';
    try {
      parse(input);
    } catch (error) {
      parsed = false;
      refusal = (error as { code?: string }).code ?? String(error);
    }
    const schema = schemaAccepts(input);
    if (differs === undefined)
      t.equal(schema, parsed, `${name}: both ${parsed ? 'accept' : `reject (${refusal})`}`);
    else t.not(schema, parsed, `${name}: they differ on purpose (${differs})`);
  }
}

const body = (overrides: Record<string, unknown> = {}): Record<string, unknown> => ({
  senderId: 'alice',
  recipientId: 'bob',
  content: 'hello',
  clientMessageId: 'c-1',
  ...overrides,
});
const without = (field: string): Record<string, unknown> => {
  const copy = body();
  delete copy[field];
  return copy;
};

const SEND_CASES: readonly Case[] = [
  { name: 'a plain send', input: body() },
  { name: 'empty content', input: body({ content: '' }) },
  { name: 'non-ASCII content', input: body({ content: 'héllo wörld 👋 你好' }) },
  {
    name: 'content of one byte under the limit',
    input: body({ content: 'a'.repeat(CONTENT_BYTES_LIMIT - 1) }),
  },
  { name: 'content at the limit', input: body({ content: 'a'.repeat(CONTENT_BYTES_LIMIT) }) },
  {
    name: 'two-byte characters over the byte limit',
    input: body({ content: 'é'.repeat(CONTENT_BYTES_LIMIT - 1) }),
    differs: BYTE_LIMIT,
  },
  { name: 'a lone surrogate', input: body({ content: 'a\uD800b' }), differs: SURROGATE },
  { name: 'a surrogate pair', input: body({ content: '\uD83D\uDC4B' }) },
  {
    name: 'the longest user ids',
    input: body({ senderId: 'a'.repeat(64), recipientId: 'b'.repeat(64) }),
  },
  { name: 'user ids with _ and -', input: body({ senderId: 'A_z-9', recipientId: '-_-' }) },
  { name: 'a user id too long', input: body({ senderId: 'a'.repeat(65) }) },
  { name: 'an empty user id', input: body({ recipientId: '' }) },
  { name: 'a user id with a dot', input: body({ senderId: 'alice.b' }) },
  { name: 'a user id with ~', input: body({ recipientId: 'bob~x' }) },
  { name: 'a user id with a newline at its end', input: body({ senderId: 'alice\n' }) },
  { name: 'a message to oneself', input: body({ recipientId: 'alice' }), differs: SELF },
  { name: 'the longest clientMessageId', input: body({ clientMessageId: '!'.repeat(128) }) },
  { name: 'printable ASCII clientMessageId', input: body({ clientMessageId: '~{}[]"\\`' }) },
  { name: 'clientMessageId too long', input: body({ clientMessageId: 'x'.repeat(129) }) },
  { name: 'clientMessageId with a space', input: body({ clientMessageId: 'a b' }) },
  { name: 'an empty clientMessageId', input: body({ clientMessageId: '' }) },
  { name: 'non-ASCII clientMessageId', input: body({ clientMessageId: 'é' }) },
  { name: 'content a number', input: body({ content: 5 }) },
  { name: 'content null', input: body({ content: null }) },
  { name: 'senderId a number', input: body({ senderId: 7 }) },
  { name: 'no content', input: without('content') },
  { name: 'no clientMessageId', input: without('clientMessageId') },
  { name: 'no senderId', input: without('senderId') },
  { name: 'an unknown field', input: body({ priority: 'high' }) },
  { name: 'an array', input: [body()] },
  { name: 'null', input: null },
  { name: 'a string', input: 'hello' },
  { name: 'a number', input: 42 },
  { name: 'an empty object', input: {} },
];

const USER = 'alice';
const CONVERSATION = 'alice~bob';
const listCursor = encodeCursor({ userId: USER }, 7);
const messagesCursor = encodeCursor({ userId: USER, conversationId: CONVERSATION }, 7);
const otherUsersCursor = encodeCursor({ userId: 'carol' }, 7);

const LIST_CASES: readonly Case[] = [
  { name: 'no query', input: '' },
  { name: 'page and pageSize', input: 'page=2&pageSize=50' },
  { name: 'the deepest offset', input: 'page=500&pageSize=20' },
  { name: 'the last page index', input: `page=${PAGE_INDEX_MAX}&pageSize=1`, differs: OFFSET },
  { name: 'page 0', input: 'page=0' },
  { name: 'a negative page', input: 'page=-1' },
  { name: 'page beyond the most', input: `page=${PAGE_INDEX_MAX + 1}` },
  { name: 'a fractional page', input: 'page=1.5' },
  { name: 'page not a number', input: 'page=two' },
  { name: 'page in exponent form', input: 'page=1e1', differs: EXPONENT },
  { name: 'an empty page', input: 'page=' },
  { name: 'a repeated page', input: 'page=1&page=2' },
  { name: 'pageSize at its least', input: 'pageSize=1' },
  { name: 'pageSize at its most', input: 'pageSize=200' },
  { name: 'pageSize 0', input: 'pageSize=0', differs: CLAMP },
  { name: 'pageSize 1000', input: 'pageSize=1000', differs: CLAMP },
  { name: 'a negative pageSize', input: 'pageSize=-3', differs: CLAMP },
  {
    name: 'page × pageSize beyond the deepest offset',
    input: 'page=51&pageSize=200',
    differs: OFFSET,
  },
  { name: 'a timestamp delta', input: 'lastUpdatedTimestamp=1700000000000' },
  { name: 'a timestamp delta with a page', input: 'lastUpdatedTimestamp=5&page=1&pageSize=10' },
  { name: 'a negative timestamp', input: 'lastUpdatedTimestamp=-5' },
  { name: 'a cursor delta', input: `cursor=${listCursor}&pageSize=20` },
  { name: 'a cursor with a page', input: `cursor=${listCursor}&page=1` },
  { name: 'a cursor with a timestamp', input: `cursor=${listCursor}&lastUpdatedTimestamp=5` },
  { name: "another user's cursor", input: `cursor=${otherUsersCursor}`, differs: CURSOR },
  { name: "a conversation's cursor", input: `cursor=${messagesCursor}`, differs: CURSOR },
  { name: 'a cursor not ours', input: 'cursor=bm90LWEtY3Vyc29y', differs: CURSOR },
  { name: 'a cursor out of the alphabet', input: 'cursor=%21%21%21' },
  { name: 'an empty cursor', input: 'cursor=' },
  { name: 'an unknown parameter', input: 'sort=asc' },
];

const CHANGES_CASES: readonly Case[] = [
  { name: 'no query', input: '' },
  { name: 'a cursor', input: `cursor=${listCursor}` },
  { name: "a conversation's cursor", input: `cursor=${messagesCursor}`, differs: CURSOR },
  { name: 'a cursor out of the alphabet', input: 'cursor=a.b' },
  { name: 'waitMs 0', input: 'waitMs=0' },
  { name: 'the longest waitMs', input: `waitMs=${WATCH_WAIT_MS_MAX}` },
  { name: 'waitMs beyond the longest', input: `waitMs=${WATCH_WAIT_MS_MAX + 1}` },
  { name: 'a negative waitMs', input: 'waitMs=-1' },
  { name: 'waitMs not an integer', input: 'waitMs=0.5' },
  { name: 'a repeated waitMs', input: 'waitMs=1&waitMs=2' },
  { name: 'pageSize 200', input: 'pageSize=200&waitMs=10' },
  { name: 'pageSize 201', input: 'pageSize=201', differs: CLAMP },
  { name: 'pageSize 0', input: 'pageSize=0', differs: CLAMP },
  { name: 'pageSize not a number', input: 'pageSize=all' },
  { name: 'page (a list parameter)', input: 'page=1' },
];

/** ajv with the coercion an OpenAPI query parameter's `type: integer` implies. */
function queryValidator(schema: object): (query: string) => boolean {
  const ajv = new Ajv2020({ strict: true, allErrors: true, coerceTypes: true });
  const validate = ajv.compile(schema);
  return (query) => validate({ ...parseQueryString(query) });
}

t.test('send bodies: parseSendRequest and SendMessageRequest agree', async (t) => {
  const validate = new Ajv2020({ strict: true, allErrors: true }).compile(SendMessageRequestSchema);
  agree(t, SEND_CASES, parseSendRequest, (input) => validate(structuredClone(input)));
});

t.test('list queries: parseListQuery and the list parameters agree', async (t) => {
  const schemaAccepts = queryValidator(ListQuerySchema);
  agree(
    t,
    LIST_CASES,
    (input) => parseListQuery(parseQueryString(input as string), 20, { userId: USER }),
    (input) => schemaAccepts(input as string),
  );
  // The messages list reads the same query, its cursor scoped to the conversation.
  agree(
    t,
    [
      { name: 'a conversation cursor', input: `cursor=${messagesCursor}` },
      { name: "the list's cursor", input: `cursor=${listCursor}`, differs: CURSOR },
    ],
    (input) =>
      parseListQuery(parseQueryString(input as string), 50, {
        userId: USER,
        conversationId: CONVERSATION,
      }),
    (input) => schemaAccepts(input as string),
  );
});

t.test('change-feed queries: parseChangesQuery and the feed parameters agree', async (t) => {
  const schemaAccepts = queryValidator(ChangesQuerySchema);
  agree(
    t,
    CHANGES_CASES,
    (input) => parseChangesQuery(parseQueryString(input as string), USER),
    (input) => schemaAccepts(input as string),
  );
});
