/**
 * Inputs for the seeded fuzz test (test/security/fuzz.test.ts): a small seeded PRNG, generators of
 * malformed values, bodies, paths, queries and headers, the HTTP requests built from them, and raw
 * byte sequences for Node's HTTP parser. Every input is a pure function of the PRNG's state (no
 * clock, no I/O), so one seed replays the same inputs in the same order.
 *
 * The fuzz test must leave the seeded mailboxes and the ring exactly as they were, so every input
 * is a read, or unauthenticated, or invalid, or a write between users outside the seeded set.
 * `makeHarmless` enforces that on each generated request (see its comment) rather than trusting
 * the generators to get it right.
 */
import { isUtf8 } from 'node:buffer';
import { parseChange } from '../../control-plane/index.js';
import { MEMBER_SIGNATURE_HEADER, accessOf } from '../../transport/index.js';
import {
  DELIVER_PATH,
  HANDOFF_PATHS,
  REQUEST_BODY_BYTES_LIMIT,
  encodeCursor,
  parseCancelRequest,
  parseDeliverRequest,
  parseNodeInfo,
  parseReleaseRequest,
  parseRingPush,
  parseSendRequest,
  parseWarmBatch,
} from '../../protocol/index.js';

// ---- The PRNG ----

/** mulberry32: a 32-bit state, good enough to pick inputs, and trivially replayable. */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

export class Rng {
  readonly #next: () => number;

  constructor(seed: number) {
    this.#next = mulberry32(seed);
  }

  /** [0, 1). */
  float(): number {
    return this.#next();
  }

  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.#next() * (max - min + 1));
  }

  chance(probability: number): boolean {
    return this.#next() < probability;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list');
    return items[this.int(0, items.length - 1)] as T;
  }

  /** One of `entries` with probability proportional to its weight. */
  weighted<T>(entries: readonly (readonly [number, T])[]): T {
    const total = entries.reduce((sum, [weight]) => sum + weight, 0);
    let roll = this.float() * total;
    for (const [weight, value] of entries) {
      roll -= weight;
      if (roll < 0) return value;
    }
    return (entries[entries.length - 1] as readonly [number, T])[1];
  }

  bytes(length: number): Buffer {
    const buffer = Buffer.alloc(length);
    for (let i = 0; i < length; i += 1) buffer[i] = this.int(0, 255);
    return buffer;
  }

  /** `length` characters of `alphabet`. */
  text(length: number, alphabet: string): string {
    let out = '';
    for (let i = 0; i < length; i += 1) out += alphabet[this.int(0, alphabet.length - 1)];
    return out;
  }
}

/** The fixed default: CHATRING_FUZZ_SEED overrides it (decimal or 0x hex). */
export const FUZZ_SEED_DEFAULT = 0x5eed_c4a7;

export function fuzzSeedFromEnvironment(env: NodeJS.ProcessEnv = process.env): number {
  const given = env.CHATRING_FUZZ_SEED;
  if (given === undefined || given === '') return FUZZ_SEED_DEFAULT;
  const seed = Number(given);
  if (!Number.isSafeInteger(seed) || seed < 0)
    throw new Error(`CHATRING_FUZZ_SEED must be a non-negative integer, got ${given}`);
  return seed >>> 0;
}

// ---- Users ----

/** The mailboxes seeded before fuzzing: read by fuzz inputs, never written to. */
export const SEEDED_USERS = Object.freeze(['seed-u0', 'seed-u1', 'seed-u2', 'seed-u3', 'seed-u4']);
/** What marks a seeded id anywhere in a request (case-insensitive). */
const SEEDED_MARK = /seed-u/i;

/**
 * Valid user ids outside the seeded set: writes between them are allowed (they may succeed).
 * The names of Object.prototype's members are valid user ids: a per-user map kept in a plain
 * object would break on them.
 */
export const FUZZ_USERS = Object.freeze([
  'fz-a',
  'fz-b',
  'fz-c',
  'fz-d',
  '__proto__',
  'constructor',
  'prototype',
  'hasOwnProperty',
  'toString',
  'valueOf',
  '__defineGetter__',
  'a',
  'Z',
  '0',
  '_',
  '-',
  `fz-${'x'.repeat(61)}`,
]);

/** Strings that are not user ids: too long, empty, outside [A-Za-z0-9_-], unicode, separators. */
const INVALID_USER_IDS = Object.freeze([
  '',
  'x'.repeat(65),
  'a b',
  'a~b',
  'a.b',
  'a/b',
  'a?b',
  'a#b',
  'a;b',
  'a+b',
  'a%b',
  'ü',
  'ñandú',
  '👋',
  '\u0000',
  '\u200b',
  '\u202e',
  '\ud800',
  '..',
  '.',
  '~',
  "' OR 1=1 --",
  '<script>',
  '${jndi:x}',
  'null',
]);

// ---- Values ----

/** A raw JSON fragment spliced into a body where a value goes (numbers JSON.stringify cannot write,
 * lone surrogates as escapes, deep nesting). */
class RawJson {
  constructor(readonly text: string) {}
}

function deepArray(depth: number): RawJson {
  return new RawJson(`${'['.repeat(depth)}${']'.repeat(depth)}`);
}

function deepObject(depth: number): RawJson {
  return new RawJson(`${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`);
}

/** Strings a field should refuse or survive: empty, huge, unicode, lone surrogates, prototype names. */
export function weirdString(rng: Rng): string {
  switch (rng.int(0, 19)) {
    case 0:
      return '';
    case 1:
      return ' ';
    case 2:
      return 'x'.repeat(rng.pick([63, 64, 65, 128, 129, 1_000, 70_000]));
    case 3:
      return '\ud800';
    case 4:
      return `a\udc00b`;
    case 5:
      return '👋🏽'.repeat(rng.int(1, 20_000));
    case 6:
      return rng.pick(['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty']);
    case 7:
      return rng.pick(INVALID_USER_IDS);
    case 8:
      return rng.pick(FUZZ_USERS);
    case 9:
      return '\u0000\u0001\u001f\u007f';
    case 10:
      return 'ñ€𝄞\u0301\u200d\ufeff\ufffe\uffff';
    case 11:
      return '\r\n\t';
    case 12:
      return rng.pick(['fz-a~fz-b', 'fz-b~fz-a', 'fz-a~fz-a', '~', 'a~b~c', '__proto__~fz-a']);
    case 13:
      return rng.pick(['1', '-1', '0', '1e309', 'NaN', 'true', 'null', 'undefined']);
    case 14:
      return rng.text(rng.int(1, 40), 'abc~-_%/?#.\\ü');
    case 15:
      return '%E0%A4%A';
    case 16:
      return 'é'.repeat(32_768); // 65,536 UTF-8 bytes: one past the content limit
    case 17:
      return 'x'.repeat(65_535);
    case 18:
      return rng.text(rng.int(1, 130), '!"#$%&\'()*+,-./0123456789:;<=>?@[\\]^_`{|}~ ');
    default:
      return rng.text(rng.int(1, 20), 'abcdefghijklmnopqrstuvwxyz');
  }
}

/** Any JSON-ish value of the wrong shape for most fields. */
export function weirdValue(rng: Rng): unknown {
  switch (rng.int(0, 21)) {
    case 0:
      return null;
    case 1:
      return true;
    case 2:
      return false;
    case 3:
      return rng.pick([0, -1, 1, 1.5, -0.5, 2 ** 53, 2 ** 53 + 2, -(2 ** 53), 1e308, 2 ** 40 + 1]);
    case 4:
      return new RawJson(
        rng.pick(['1e400', '-1e400', '-0', '1E-400', '123456789012345678901234567890']),
      );
    case 5:
      return [];
    case 6:
      return [weirdString(rng), 1, null];
    case 7:
      return {};
    case 8:
      return { a: 1, __fz: [1, 2] };
    case 9:
      return deepArray(rng.pick([10, 1_000, 50_000]));
    case 10:
      return deepObject(rng.pick([10, 1_000, 20_000]));
    case 11:
      return new RawJson('"\\ud800"');
    case 12:
      return new RawJson('"\\u0000"');
    case 13:
      return new RawJson('{"__proto__":{"polluted":true}}');
    case 14:
      return new RawJson('{"constructor":{"prototype":{"polluted":true}}}');
    case 15:
      return Array.from({ length: rng.pick([2, 100, 10_000]) }, (_, i) => i);
    case 16:
      return rng.pick([
        Number.MAX_SAFE_INTEGER,
        Number.MIN_SAFE_INTEGER,
        4_294_967_296,
        -2_147_483_649,
      ]);
    default:
      return weirdString(rng);
  }
}

/** JSON text of `value`, with every RawJson spliced in as it is. */
export function toJsonText(value: unknown): string {
  const raws: string[] = [];
  const text = JSON.stringify(value, (_key, item: unknown) => {
    if (item instanceof RawJson) {
      raws.push(item.text);
      return `@@raw${raws.length - 1}@@`;
    }
    return item;
  });
  if (text === undefined) return '';
  return text.replace(/"@@raw(\d+)@@"/g, (_match, index: string) => raws[Number(index)] ?? 'null');
}

type Json = unknown;
type PathKey = string | number;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    !(value instanceof RawJson)
  );
}

/** Every path in a value (objects and arrays walked; the root is `[]`). */
function pathsOf(value: Json, prefix: PathKey[] = [], out: PathKey[][] = []): PathKey[][] {
  out.push(prefix);
  if (Array.isArray(value)) value.forEach((item, i) => pathsOf(item, [...prefix, i], out));
  else if (isPlainObject(value))
    for (const [key, item] of Object.entries(value)) pathsOf(item, [...prefix, key], out);
  return out;
}

function containerAt(root: Json, path: readonly PathKey[]): Json {
  let node = root;
  for (const key of path) node = (node as Record<PathKey, Json>)[key];
  return node;
}

const EXTRA_KEYS = Object.freeze([
  'extra',
  'SenderId',
  'senderid',
  'sender_id',
  '',
  ' ',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  '__fz',
  'x'.repeat(10_000),
  'ü',
]);

/** One field-level mutation of a (cloned) JSON value: a field set to a weird value, removed,
 * renamed, duplicated under an extra name, or the whole value replaced. */
function mutateOnce(rng: Rng, root: Json): Json {
  const paths = pathsOf(root);
  const path = rng.pick(paths);
  if (path.length === 0) return rng.chance(0.5) ? weirdValue(rng) : root;
  const parent = containerAt(root, path.slice(0, -1)) as Record<PathKey, Json>;
  const key = path[path.length - 1] as PathKey;
  const operation = rng.int(0, 5);
  if (operation <= 1) parent[key] = weirdValue(rng);
  else if (operation === 2) {
    if (Array.isArray(parent)) parent.splice(Number(key), 1);
    else delete parent[key];
  } else if (operation === 3 && isPlainObject(parent)) {
    parent[rng.pick(EXTRA_KEYS)] = weirdValue(rng);
  } else if (operation === 4 && isPlainObject(parent) && typeof key === 'string') {
    const value = parent[key];
    delete parent[key];
    parent[key.toUpperCase()] = value;
  } else parent[key] = weirdString(rng);
  return root;
}

/** `count` field mutations of a deep copy of `base`. */
export function mutateJson(rng: Rng, base: Json, count: number): Json {
  let value: Json = structuredClone(base);
  for (let i = 0; i < count; i += 1) value = mutateOnce(rng, value);
  return value;
}

/** Text-level damage to JSON: truncated, trailing junk, BOM, comments, duplicate or prototype keys. */
export function damageJsonText(rng: Rng, text: string): string {
  switch (rng.int(0, 10)) {
    case 0:
      return text.slice(0, rng.int(0, Math.max(0, text.length - 1)));
    case 1:
      return `${text}${rng.pick(['x', '}', ',', ' {}', '\u0000', '\n[]'])}`;
    case 2:
      return `\ufeff${text}`;
    case 3:
      return text.replace(/,/, ',,');
    case 4:
      return text.startsWith('{')
        ? `{"__proto__":{"polluted":true},${text.slice(1)}`.replace(',}', '}')
        : text;
    case 5:
      return text.startsWith('{')
        ? `{"constructor":{"prototype":{"polluted":true}},${text.slice(1)}`.replace(',}', '}')
        : text;
    case 6:
      return text.replace(/"([a-zA-Z]+)":/, (_m, key: string) => `"${key}":null,"${key}":`);
    case 7:
      return text.replace(/:/, ':/* comment */');
    case 8:
      return text.replace(/"/g, "'");
    case 9:
      return text.replace(/\d+/, rng.pick(['NaN', 'Infinity', '0x10', '01', '.5', '1.', '+1']));
    default:
      return `[${text}]`;
  }
}

/** Bodies that are not a JSON object: not JSON at all, JSON scalars, bytes that are not UTF-8. */
export function nonJsonBody(rng: Rng): string | Buffer {
  switch (rng.int(0, 6)) {
    case 0:
      return rng.pick(['hello', '{', '}', '{"a":', "{'a':1}", '[1,2', 'senderId=a&recipientId=b']);
    case 1:
      return rng.pick(['null', 'true', '1', '-0', '"str"', '[]', '[{}]', '1e400']);
    case 2:
      return Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]); // {"a":"\xff\xfe"}
    case 3:
      return Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xed, 0xa0, 0x80, 0x22, 0x7d]); // a CESU-8 surrogate
    case 4:
      return rng.bytes(rng.int(1, 300));
    case 5:
      return rng.pick([' ', '\n', '\r\n\t ', '\u0000', '{} {}', '{"a":1}garbage']);
    default:
      return Buffer.from([0xc0, 0xaf, 0x7b, 0x7d]); // an overlong encoding
  }
}

// ---- Paths and queries ----

/** A path segment for an id: as it is, percent-encoded, over-encoded or broken. undici sends only
 * bytes 0x21-0xff in a path, so anything else is encoded. */
export function pathSegment(rng: Rng, id: string): string {
  const roll = rng.int(0, 19);
  if (roll === 0)
    return `%${rng.pick(['', 'z', 'zz', 'E0%A4%A', 'C0%AF', 'ED%A0%80', '00', 'FF', '2F', '2e%2e'])}`;
  if (roll === 1)
    return [...id].map((c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`).join('');
  if (roll === 2) return encodeURIComponent(encodeURIComponent(safeEncode(id)));
  return [...id]
    .map((c) => (/^[\x21-\x7e]$/.test(c) && !'%?#/'.includes(c) ? c : safeEncode(c)))
    .join('');
}

function safeEncode(text: string): string {
  try {
    return encodeURIComponent(text);
  } catch {
    return '%ED%A0%80'; // a lone surrogate has no UTF-8 form: its CESU-8 bytes
  }
}

const QUERY_KEYS = Object.freeze(['page', 'pageSize', 'lastUpdatedTimestamp', 'cursor']);

function queryValue(rng: Rng, userId: string, conversationId: string | undefined): string {
  switch (rng.int(0, 11)) {
    case 0:
      return rng.pick(['0', '1', '5', '200', '201', '50']);
    case 1:
      return rng.pick([
        '-1',
        '-0',
        '+1',
        '1e3',
        '0x10',
        '1.5',
        ' 1',
        '1 ',
        'NaN',
        '',
        '%31',
        '%EF%BC%91',
      ]);
    case 2:
      return rng.pick([
        '99999999999999999',
        '9999999999999999',
        '1000000',
        '1000001',
        '10000',
        '-9999999999999999',
      ]);
    case 3:
      return encodeURIComponent(
        encodeCursor(
          { userId, ...(conversationId === undefined ? {} : { conversationId }) },
          rng.pick([0, 1, 5, 2 ** 53]),
        ),
      );
    case 4:
      return encodeURIComponent(encodeCursor({ userId: rng.pick(FUZZ_USERS) }, 0));
    case 5:
      return rng.pick(['abc', 'e30', 'eyJ2IjoxfQ', '%%%', 'x'.repeat(300), '__proto__']);
    case 6:
      return encodeURIComponent(
        Buffer.from(JSON.stringify({ v: 1, u: userId, after: -1 })).toString('base64url'),
      );
    case 7:
      return encodeURIComponent(
        Buffer.from(JSON.stringify({ v: 1, u: userId, c: conversationId, after: 1.5 })).toString(
          'base64url',
        ),
      );
    case 8:
      return '%E0%A4%A';
    default:
      return String(rng.int(0, 300));
  }
}

/** A query string for a list: valid keys with odd values, unknown or repeated keys, junk. */
export function listQuery(rng: Rng, userId: string, conversationId?: string): string {
  if (rng.chance(0.2)) return '';
  const parts: string[] = [];
  const count = rng.int(1, 4);
  for (let i = 0; i < count; i += 1) {
    const roll = rng.int(0, 9);
    if (roll <= 5) parts.push(`${rng.pick(QUERY_KEYS)}=${queryValue(rng, userId, conversationId)}`);
    else if (roll === 6)
      parts.push(
        rng.pick([
          '__proto__=1',
          'constructor=x',
          'toString=1',
          'hasOwnProperty=1',
          '__proto__[page]=1',
          'page[]=1',
          'a[b][c]=1',
          'page[__proto__]=1',
        ]),
      );
    else if (roll === 7)
      parts.push(rng.pick(['page', '=', '&', '', '==', 'page==1', 'pageSize&pageSize']));
    else if (roll === 8)
      parts.push(`${rng.text(rng.int(1, 12), 'abcxyz%_-.')}=${rng.text(rng.int(0, 12), 'abc%01')}`);
    else parts.push(`page=${queryValue(rng, userId, conversationId)}&page=1`);
  }
  return `${rng.pick(['?', '?', '?', '??', '?&'])}${parts.join(rng.pick(['&', '&', '&&', ';']))}${rng.chance(0.05) ? '#frag' : ''}`;
}

// ---- Requests ----

/** Where a request goes: the router, or node `index` of the status list (modulo its length). */
export type FuzzTarget = { kind: 'router' } | { kind: 'node'; index: number };

/** How a request is signed (the test does it when it sends, with the cluster's secret). */
export type FuzzSigning =
  /** No member signature. */
  | { kind: 'none' }
  /** A correct signature by `memberId`: only ever on a request that is a read or certainly refused. */
  | { kind: 'valid'; memberId: string }
  /** A fixed header value that is malformed, or well-formed with a MAC nobody computed. */
  | { kind: 'header'; value: string }
  /** Well-formed, signed with a secret the cluster does not hold. */
  | { kind: 'stranger'; memberId: string; secret: Buffer }
  /** The cluster's secret, but `offsetMs` from now: outside the signature's clock window. */
  | { kind: 'stale'; offsetMs: number }
  /** A correct signature of another request (another path, method or body). */
  | { kind: 'replay'; method: string; path: string; body: string | undefined }
  /** A correct signature with the MAC character at `position` replaced. */
  | { kind: 'mangled'; position: number }
  /** The header twice, each a correct signature. */
  | { kind: 'doubled' };

export interface FuzzRequest {
  /** The generator family (failures are grouped by it). */
  family: string;
  target: FuzzTarget;
  method: string;
  /** Sent as it is: undici checks only that it starts with `/` and has bytes 0x21-0xff. */
  path: string;
  headers: Record<string, string | string[]>;
  body: string | Buffer | undefined;
  /** Send the body chunked (an async iterable) rather than with a content-length. */
  chunked: boolean;
  signing: FuzzSigning;
  /** Certainly invalid or unauthenticated: any 2xx or 3xx answer is a failure. */
  mustRefuse: boolean;
  /**
   * Carries no valid credential for a route that needs one (an unsigned member route, or a member
   * signature that is wrong in any way on any route but /healthz): it must be refused as such, 401
   * or 403, unless the URL or the HTTP itself is refused first. Set by nextFuzzRequest from the
   * servers' own route classes (accessOf).
   */
  unauthenticated: boolean;
}

const ROUTER: FuzzTarget = Object.freeze({ kind: 'router' });

function anyNode(rng: Rng): FuzzTarget {
  return { kind: 'node', index: rng.int(0, 15) };
}

function publicTarget(rng: Rng): FuzzTarget {
  return rng.chance(0.7) ? ROUTER : anyNode(rng);
}

/** The parsed body as the servers' JSON parser sees it (undefined: no body), or 'unparseable'. */
function parsedBody(body: string | Buffer | undefined): { value: unknown } | 'unparseable' {
  if (body === undefined) return { value: undefined };
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  if (!isUtf8(bytes)) return 'unparseable';
  const text = bytes.toString('utf8');
  if (text.trim() === '') return { value: undefined };
  try {
    return { value: JSON.parse(text) as unknown };
  } catch {
    return 'unparseable';
  }
}

/** True when `parse` refuses the body (or no JSON parser would hand it one). */
function refusedBy(parse: (value: unknown) => unknown, body: string | Buffer | undefined): boolean {
  const parsed = parsedBody(body);
  if (parsed === 'unparseable') return true;
  try {
    parse(parsed.value);
    return false;
  } catch {
    return true;
  }
}

/** The ring-change route's own checks (control-plane/ring-change-routes.ts), which
 * `parseChange` alone does not cover: the body an object, the epoch a safe integer. */
function parseChangeBody(value: unknown): void {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new Error('not an object');
  const { change, expectedEpoch } = value as { change?: unknown; expectedEpoch?: unknown };
  parseChange(change);
  if (
    expectedEpoch !== undefined &&
    (!Number.isSafeInteger(expectedEpoch) || (expectedEpoch as number) < 0)
  )
    throw new Error('bad epoch');
}

/** Every parser of a body that changes state when a member sends it. */
const STATE_CHANGING_PARSERS: readonly ((value: unknown) => unknown)[] = [
  parseDeliverRequest,
  parseReleaseRequest,
  parseWarmBatch,
  parseCancelRequest,
  parseRingPush,
  parseNodeInfo,
  parseChangeBody,
];

/** Whether every state-changing parser refuses the body: such a body changes nothing, signed or not. */
export function refusedByEveryStateChangingParser(body: string | Buffer | undefined): boolean {
  return STATE_CHANGING_PARSERS.every((parse) => refusedBy(parse, body));
}

/** The public send's own validation: whether the router and node refuse this body. */
export function refusedAsSend(body: string | Buffer | undefined): boolean {
  return refusedBy(parseSendRequest, body);
}

/** Decodes what can be decoded of a path (each %XX on its own), for the seeded-id check. */
function looselyDecoded(path: string): string {
  return path.replace(/(%[0-9a-fA-F]{2})+/g, (run) => {
    try {
      return decodeURIComponent(run);
    } catch {
      return Buffer.from(run.replaceAll('%', ''), 'hex').toString('latin1');
    }
  });
}

function bodyText(body: string | Buffer | undefined): string {
  if (body === undefined) return '';
  const text = typeof body === 'string' ? body : body.toString('latin1');
  const parsed = parsedBody(body);
  if (parsed === 'unparseable') return text;
  // The parsed form too: a JSON escape (\u0073eed) spells a seeded id the raw text hides.
  try {
    return `${text}\n${JSON.stringify(parsed.value) ?? ''}`;
  } catch {
    // Nested too deep to write back (JSON.parse is iterative, JSON.stringify is not): an escape
    // in it could hide anything, so count it as naming a seeded user.
    return text.includes('\\u') ? `${text}\nseed-u` : text;
  }
}

/**
 * Makes sure a generated request cannot change the seeded mailboxes, the ring or a node's state,
 * whatever the server does with it (a request that *should* be refused might not be: that is what
 * fuzzing looks for, and it must not corrupt the invariants the test checks at the end):
 *
 * - GET and HEAD change nothing; every other method that is not POST matches no route.
 * - A POST that names a seeded user anywhere (path or body, encoded or not) is dropped: the
 *   generator draws again. So public writes (send, mark read) only ever touch non-seeded users.
 * - A POST body that the ring-change route would accept is wrapped (`{"fzWrapped": ...}`), so it
 *   is refused: that route is open to anyone on loopback when no operator token is configured.
 *   The preview route (exact path) is read-only and keeps its body.
 * - A correctly signed POST body that any member route (deliver, release, warm, cancel, ring push,
 *   heartbeat) would accept is wrapped the same way.
 *
 * Returns undefined when the request must be drawn again.
 */
export function makeHarmless(request: FuzzRequest): FuzzRequest | undefined {
  if (request.method === 'GET' || request.method === 'HEAD') return request;
  if (request.method.toUpperCase() !== 'POST') return request;
  const seen = `${request.path}\n${looselyDecoded(request.path)}\n${bodyText(request.body)}`;
  if (SEEDED_MARK.test(seen) || SEEDED_MARK.test(looselyDecoded(seen))) return undefined;
  const preview =
    request.path === '/control/v1/changes/preview' && request.signing.kind !== 'valid';
  const accepted =
    (!preview && !refusedBy(parseChangeBody, request.body)) ||
    (request.signing.kind === 'valid' && !refusedByEveryStateChangingParser(request.body));
  if (!accepted) return request;
  const text =
    request.body === undefined
      ? ''
      : typeof request.body === 'string'
        ? request.body
        : request.body.toString('latin1');
  const body = JSON.stringify({ fzWrapped: text });
  if (!refusedByEveryStateChangingParser(body)) throw new Error('a wrapped body must be refused');
  return { ...request, body };
}

// ---- Bases: one valid-looking body per route ----

const OLD_TIME_MS = 1_700_000_000_000;

function baseMessage(rng: Rng): Record<string, Json> {
  const [a, b] = twoFuzzUsers(rng);
  const [low, high] = a < b ? [a, b] : [b, a];
  return {
    messageId: `fz-m-${rng.int(0, 999)}`,
    conversationId: `${low}~${high}`,
    senderId: a,
    recipientId: b,
    content: 'hello',
    clientMessageId: `fz-c-${rng.int(0, 999)}`,
    sentAt: OLD_TIME_MS,
  };
}

function baseRing(): Record<string, Json> {
  return {
    epoch: 999,
    virtualNodesPerWeight: 160,
    slots: [{ slot: 'slot-0', nodeId: 'node-1', weight: 1 }],
    standbys: [],
    nodes: { 'node-1': { nodeId: 'node-1', url: 'http://127.0.0.1:9' } },
  };
}

function baseWarmBatch(rng: Rng): Record<string, Json> {
  const message = baseMessage(rng);
  const owner = message.senderId as string;
  const conversationId = message.conversationId as string;
  return {
    changeId: 'fz-change',
    snapshots: [
      {
        ownerId: owner,
        version: 2,
        conversationsComplete: true,
        conversationsFrom: 0,
        conversations: [
          {
            row: {
              conversationId,
              participants: conversationId.split('~'),
              snippet: 'hello',
              lastUpdatedTimestamp: OLD_TIME_MS,
              unreadCount: 0,
              version: 2,
            },
            window: { messages: [{ ...message, version: 1 }], complete: true },
          },
        ],
      },
    ],
  };
}

function twoFuzzUsers(rng: Rng): [string, string] {
  const a = rng.pick(FUZZ_USERS);
  let b = rng.pick(FUZZ_USERS);
  while (b === a) b = rng.pick(FUZZ_USERS);
  return [a, b];
}

interface MemberRoute {
  path: string;
  target: 'router' | 'node';
  base: (rng: Rng) => Json;
}

const ACTIONS = [
  'add',
  'remove',
  'promote',
  'standby-add',
  'standby-remove',
  'member-add',
  'member-remove',
];

const MEMBER_POST_ROUTES: readonly MemberRoute[] = [
  { path: DELIVER_PATH, target: 'node', base: (rng) => ({ message: baseMessage(rng) }) },
  {
    path: HANDOFF_PATHS.release,
    target: 'node',
    base: () => ({ changeId: 'fz-change', targetRing: baseRing() }),
  },
  { path: HANDOFF_PATHS.warm, target: 'node', base: baseWarmBatch },
  { path: HANDOFF_PATHS.cancel, target: 'node', base: () => ({ changeId: 'fz-change' }) },
  { path: HANDOFF_PATHS.ring, target: 'node', base: () => ({ ring: baseRing() }) },
  {
    path: '/control/v1/heartbeat',
    target: 'router',
    base: (rng) => ({
      nodeId: rng.pick(['node-1', 'node-2', 'harness', 'fz-member']),
      url: 'http://127.0.0.1:9',
      pid: 1,
    }),
  },
  {
    path: '/control/v1/changes',
    target: 'router',
    base: (rng) => ({
      change: { action: rng.pick(ACTIONS), nodeId: rng.pick(['node-1', 'node-9', 'fz-node']) },
      expectedEpoch: 1,
    }),
  },
  {
    path: '/control/v1/changes/preview',
    target: 'router',
    base: (rng) => ({
      change: {
        action: rng.pick(ACTIONS),
        nodeId: rng.pick(['node-1', 'node-4', 'node-9']),
        weight: rng.int(0, 101),
      },
    }),
  },
];

const MEMBER_GET_ROUTES: readonly { path: string; target: 'router' | 'node' }[] = [
  { path: '/control/v1/ring', target: 'router' },
  { path: '/control/v1/status', target: 'router' },
  { path: '/internal/v1/stats', target: 'node' },
  { path: '/admin/v1/owner/fz-a', target: 'router' },
];

function routeTarget(rng: Rng, where: 'router' | 'node'): FuzzTarget {
  // Now and then the wrong process: a node has no control-plane routes, the router no handoff.
  if (rng.chance(0.15)) return where === 'router' ? anyNode(rng) : ROUTER;
  return where === 'router' ? ROUTER : anyNode(rng);
}

/** A JSON body built from `base`: mutated field by field, sometimes damaged as text. */
function mutatedBody(rng: Rng, base: Json, mutations = rng.int(1, 3)): string {
  const text = toJsonText(mutateJson(rng, base, mutations));
  return rng.chance(0.15) ? damageJsonText(rng, text) : text;
}

function garbageSigning(
  rng: Rng,
  method: string,
  path: string,
  body: string | Buffer | undefined,
): FuzzSigning {
  const roll = rng.int(0, 7);
  if (roll === 0)
    return {
      kind: 'header',
      value: rng.pick([
        '',
        'v1',
        'v1...',
        'v2.harness.1700000000000.AAAA',
        'v1.harness.notanumber.AAAA',
        'v1..1700000000000.AAAA',
        'v1.bad id.1700000000000.AAAA',
        'v1.harness.99999999999999999.AAAA',
        'v1.harness.1.2.3',
        `v1.harness.1700000000000.${'A'.repeat(43)}`,
        `v1.${'x'.repeat(65)}.1700000000000.${'A'.repeat(43)}`,
        `v1.harness.1700000000000.${'A'.repeat(8_000)}`,
        'v1.ü.1.ÿÿ',
        'Bearer v1.harness',
      ]),
    };
  if (roll === 1)
    return {
      kind: 'stranger',
      memberId: rng.pick(['harness', 'node-1', 'node-2', 'router']),
      secret: rng.bytes(32),
    };
  if (roll === 2) return { kind: 'stale', offsetMs: rng.pick([-1, 1]) * rng.int(45_000, 10 ** 9) };
  if (roll === 3) {
    const otherPath = rng.chance(0.5)
      ? `${path}?x=1`
      : path === '/control/v1/ring'
        ? '/healthz'
        : '/control/v1/ring';
    return {
      kind: 'replay',
      method,
      path: otherPath,
      body: typeof body === 'string' ? body : undefined,
    };
  }
  if (roll === 4) {
    const text = typeof body === 'string' ? body : '';
    return { kind: 'replay', method, path, body: `${text} ` };
  }
  if (roll === 5)
    return {
      kind: 'replay',
      method: method === 'GET' ? 'POST' : 'GET',
      path,
      body: typeof body === 'string' ? body : undefined,
    };
  if (roll === 6) return { kind: 'mangled', position: rng.int(1, 40) };
  return { kind: 'doubled' };
}

type Generator = (rng: Rng) => FuzzRequest;

function request(
  partial: Partial<FuzzRequest> & Pick<FuzzRequest, 'family' | 'method' | 'path'>,
): FuzzRequest {
  return {
    target: ROUTER,
    headers: {},
    body: undefined,
    chunked: false,
    signing: { kind: 'none' },
    mustRefuse: false,
    unauthenticated: false,
    ...partial,
  };
}

function jsonHeaders(): Record<string, string> {
  return { 'content-type': 'application/json' };
}

function baseSend(rng: Rng): Record<string, Json> {
  const [senderId, recipientId] = twoFuzzUsers(rng);
  return {
    senderId,
    recipientId,
    content: 'hello',
    clientMessageId: `fz-${rng.int(0, 1_000_000)}`,
  };
}

const sendMutated: Generator = (rng) => {
  const body = mutatedBody(rng, baseSend(rng));
  return request({
    family: 'public/send-mutated',
    target: publicTarget(rng),
    method: 'POST',
    path: '/v1/messages',
    headers: jsonHeaders(),
    body,
    mustRefuse: refusedAsSend(body),
  });
};

const sendValid: Generator = (rng) => {
  const send = baseSend(rng);
  send.content = rng.pick([
    '',
    'hi',
    '👋 ñ 𝄞 \u0000 \u202e',
    'x'.repeat(65_535),
    'é'.repeat(32_767),
    '<script>alert(1)</script>',
    '{"a":1}',
  ]);
  return request({
    family: 'public/send-valid',
    target: publicTarget(rng),
    method: 'POST',
    path: '/v1/messages',
    headers: jsonHeaders(),
    body: JSON.stringify(send),
  });
};

function anyUser(rng: Rng, seeded: boolean): string {
  const roll = rng.int(0, 9);
  if (roll <= 3 && seeded) return rng.pick(SEEDED_USERS);
  if (roll <= 6) return rng.pick(FUZZ_USERS);
  return rng.chance(0.7) ? rng.pick(INVALID_USER_IDS) : weirdString(rng);
}

function conversationOf(rng: Rng, userId: string, seeded: boolean): string {
  const roll = rng.int(0, 9);
  const other = anyUser(rng, seeded);
  if (roll <= 5) return userId < other ? `${userId}~${other}` : `${other}~${userId}`;
  if (roll === 6) return `${userId}~${userId}`;
  if (roll === 7) return userId < other ? `${other}~${userId}` : `${userId}~${other}`;
  return weirdString(rng);
}

function maybeLong(rng: Rng, segment: string): string {
  if (!rng.chance(0.03)) return segment;
  return `${segment}${'a'.repeat(rng.pick([200, 257, 5_000, 20_000]))}`;
}

const conversationsRead: Generator = (rng) => {
  const user = anyUser(rng, true);
  return request({
    family: 'public/conversations',
    target: publicTarget(rng),
    method: rng.chance(0.1) ? 'HEAD' : 'GET',
    path: `/v1/users/${maybeLong(rng, pathSegment(rng, user))}/conversations${listQuery(rng, user)}`,
  });
};

const messagesRead: Generator = (rng) => {
  const user = anyUser(rng, true);
  const conversation = conversationOf(rng, user, true);
  return request({
    family: 'public/messages',
    target: publicTarget(rng),
    method: rng.chance(0.1) ? 'HEAD' : 'GET',
    path: `/v1/users/${pathSegment(rng, user)}/conversations/${maybeLong(rng, pathSegment(rng, conversation))}/messages${listQuery(rng, user, conversation)}`,
  });
};

const markRead: Generator = (rng) => {
  const user = anyUser(rng, false);
  const conversation = conversationOf(rng, user, false);
  const roll = rng.int(0, 5);
  const body =
    roll === 0
      ? undefined
      : roll === 1
        ? '{}'
        : roll === 2
          ? nonJsonBody(rng)
          : mutatedBody(rng, {}, rng.int(1, 2));
  return request({
    family: 'public/mark-read',
    target: publicTarget(rng),
    method: 'POST',
    path: `/v1/users/${pathSegment(rng, user)}/conversations/${pathSegment(rng, conversation)}/read${rng.chance(0.1) ? listQuery(rng, user) : ''}`,
    headers: jsonHeaders(),
    body,
  });
};

const KNOWN_PATHS = Object.freeze([
  '/healthz',
  '/v1/messages',
  '/v1/users/fz-a/conversations',
  '/v1/users/fz-a/conversations/fz-a~fz-b/messages',
  '/v1/users/fz-a/conversations/fz-a~fz-b/read',
  '/v1/users/seed-u0/conversations',
  '/internal/v1/deliver',
  '/internal/v1/handoff/release',
  '/internal/v1/handoff/warm',
  '/internal/v1/handoff/cancel',
  '/internal/v1/ring',
  '/internal/v1/stats',
  '/control/v1/heartbeat',
  '/control/v1/ring',
  '/control/v1/status',
  '/control/v1/changes',
  '/control/v1/changes/preview',
  '/admin/v1/owner/fz-a',
]);

const METHODS = Object.freeze([
  'PUT',
  'DELETE',
  'PATCH',
  'OPTIONS',
  'TRACE',
  'HEAD',
  'GET',
  'POST',
  'PROPFIND',
  'PURGE',
  'M-SEARCH',
  'FOO',
  'get',
  'Post',
  'X'.repeat(100),
]);

const wrongMethod: Generator = (rng) => {
  const method = rng.pick(METHODS);
  const sendsBody = !['GET', 'HEAD', 'TRACE'].includes(method) && rng.chance(0.5);
  return request({
    family: 'wrong-method',
    target: rng.chance(0.5) ? ROUTER : anyNode(rng),
    method,
    path: rng.pick(KNOWN_PATHS),
    ...(sendsBody
      ? { headers: jsonHeaders(), body: rng.chance(0.5) ? '{}' : mutatedBody(rng, baseSend(rng)) }
      : {}),
  });
};

const RANDOM_PATHS = Object.freeze([
  '/',
  '//',
  '/v1',
  '/v1/',
  '/v1/users',
  '/v1/users/',
  '/v1/users/fz-a',
  '/v1/users/fz-a/',
  '/v1/users/fz-a/conversations/',
  '/v1/users/seed-u0/conversations/',
  '/V1/messages',
  '/v1//messages',
  '/v1/messages/',
  '/v1/messages/extra',
  '/v1/messages;x=1',
  '/v1/messages%3Fx',
  '/healthz/',
  '/HEALTHZ',
  '/healthz#x',
  '/healthz;a',
  '/internal',
  '/internal/v1/',
  '/internal/v1/deliver/x',
  '/internal/v1/stats/../deliver',
  '/internal/v1/stats%2F..%2Fdeliver',
  '/internal/v1/%64eliver',
  '/control/v1/',
  '/control/v1/changes/',
  '/control/v1/%63hanges',
  '/control/v1/changes%2Fpreview',
  '/control/v1/changes/preview/x',
  '/control/v1/status/x',
  '/admin/v1/owner/',
  '/admin/v1/owner/a/b',
  '/admin/v1/owner/__proto__',
  '/admin/v1/owner/%00',
  '/admin/%2e%2e/internal/v1/ring',
  '/%2e%2e/',
  '/..',
  '/./v1/messages',
  '/v1/users/../internal/v1/deliver',
  '/v1/users/fz-a/conversations/fz-a~fz-b/messages/extra',
  '/v1/users/fz-a/conversations/fz-a~fz-b/read/x',
  '/favicon.ico',
  '/.env',
  '/\\internal\\v1\\ring',
  '/ü',
  '/%FF%FE',
  '/*',
]);

const randomPath: Generator = (rng) => {
  const roll = rng.int(0, 3);
  const path =
    roll <= 1
      ? rng.pick(RANDOM_PATHS)
      : roll === 2
        ? `/${Array.from({ length: rng.int(1, 6) }, () => rng.text(rng.int(0, 12), 'abcv1~%._-:@!$&()*+,;=ü')).join('/')}`
        : `${rng.pick(KNOWN_PATHS)}${rng.pick(['/', '/x', '%', '%2', '%zz', '?', '?%', '#', '/..', '/%2e', '~'])}`;
  const method = rng.pick(['GET', 'GET', 'GET', 'POST', 'HEAD', 'DELETE']);
  return request({
    family: 'random-path',
    target: rng.chance(0.6) ? ROUTER : anyNode(rng),
    method,
    path: `${path}${rng.chance(0.3) ? listQuery(rng, 'fz-a') : ''}`,
    ...(method === 'POST'
      ? { headers: jsonHeaders(), body: rng.chance(0.5) ? '{}' : mutatedBody(rng, baseSend(rng)) }
      : {}),
  });
};

const badEncoding: Generator = (rng) => {
  const broken = rng.pick([
    '%',
    '%%',
    '%zz',
    '%E0%A4%A',
    '%C0%AF',
    '%ED%A0%80',
    '%F4%90%80%80',
    '%FF',
    '%00',
    '%2F',
    '%25',
    '%u0041',
    '%E0%80%80',
    '%c3',
  ]);
  const where = rng.int(0, 3);
  const path =
    where === 0
      ? `/v1/users/fz-a${broken}/conversations`
      : where === 1
        ? `/v1/users/fz-a/conversations/fz-a~fz-b${broken}/messages`
        : where === 2
          ? `/v1/users/seed-u0/conversations?cursor=${broken}`
          : `/admin/v1/owner/${broken}`;
  return request({
    family: 'bad-encoding',
    target: publicTarget(rng),
    method: rng.chance(0.9) ? 'GET' : 'HEAD',
    path,
  });
};

const CONTENT_TYPES = Object.freeze([
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/json; charset=utf-8',
  'application/JSON',
  'application/json;',
  'application/json; charset=latin1',
  'application/json; charset=utf-16le',
  'application/jsonp',
  'application/vnd.api+json',
  'application/json, text/plain',
  '',
  '*/*',
  'json',
  ';;;',
  'application/json; boundary="x',
  'ü/ü',
]);

const badContentType: Generator = (rng) => {
  const post = rng.pick([
    ...MEMBER_POST_ROUTES.map((route) => route.path),
    '/v1/messages',
    '/v1/users/fz-a/conversations/fz-a~fz-b/read',
  ]);
  const headers: Record<string, string> = rng.chance(0.15)
    ? {}
    : { 'content-type': rng.pick(CONTENT_TYPES) };
  const body = rng.chance(0.6)
    ? mutatedBody(rng, baseSend(rng), rng.int(0, 1))
    : JSON.stringify(baseSend(rng));
  return request({
    family: 'bad-content-type',
    target: rng.chance(0.6) ? ROUTER : anyNode(rng),
    method: 'POST',
    path: post,
    headers,
    body,
  });
};

const notJson: Generator = (rng) => {
  const path = rng.pick([
    '/v1/messages',
    '/v1/users/fz-a/conversations/fz-a~fz-b/read',
    ...MEMBER_POST_ROUTES.map((route) => route.path),
  ]);
  const body = nonJsonBody(rng);
  return request({
    family: 'not-json',
    target: rng.chance(0.6) ? ROUTER : anyNode(rng),
    method: 'POST',
    path,
    headers: jsonHeaders(),
    body,
    mustRefuse: path === '/v1/messages' && refusedAsSend(body),
  });
};

const oversize: Generator = (rng) => {
  const extra = rng.int(1, 64);
  const prefix = '{"senderId":"fz-a","recipientId":"fz-b","clientMessageId":"fz-big","content":"';
  const suffix = '"}';
  const body = `${prefix}${'a'.repeat(REQUEST_BODY_BYTES_LIMIT + extra - prefix.length - suffix.length)}${suffix}`;
  const path = rng.pick([
    '/v1/messages',
    '/v1/messages',
    DELIVER_PATH,
    HANDOFF_PATHS.ring,
    '/control/v1/changes',
    '/control/v1/heartbeat',
  ]);
  return request({
    family: 'oversize',
    target: path.startsWith('/internal') ? anyNode(rng) : publicTarget(rng),
    method: 'POST',
    path,
    headers: jsonHeaders(),
    body,
    chunked: rng.chance(0.4),
    signing: path.startsWith('/v1') ? { kind: 'none' } : { kind: 'valid', memberId: 'harness' },
    mustRefuse: true,
  });
};

/** A body for a member route: its base mutated, or not a JSON object at all. */
function memberBody(rng: Rng, route: MemberRoute): string | Buffer | undefined {
  const roll = rng.int(0, 9);
  if (roll === 0) return nonJsonBody(rng);
  if (roll === 1) return undefined;
  if (roll === 2) return toJsonText(weirdValue(rng));
  return mutatedBody(rng, route.base(rng), rng.int(1, 3));
}

const memberUnsigned: Generator = (rng) => {
  const route = rng.pick(MEMBER_POST_ROUTES);
  const member = !route.path.startsWith('/control/v1/changes');
  // Unsigned member routes are refused before their body is read: valid bodies are fine here.
  const body = rng.chance(0.4) ? toJsonText(route.base(rng)) : memberBody(rng, route);
  return request({
    family: 'member/unsigned',
    target: routeTarget(rng, route.target),
    method: 'POST',
    path: route.path,
    headers: jsonHeaders(),
    body,
    mustRefuse: member,
  });
};

const memberGarbageSigned: Generator = (rng) => {
  const route = rng.pick(MEMBER_POST_ROUTES);
  const body = rng.chance(0.5) ? toJsonText(route.base(rng)) : memberBody(rng, route);
  return request({
    family: 'member/garbage-signature',
    target: routeTarget(rng, route.target),
    method: 'POST',
    path: route.path,
    headers: jsonHeaders(),
    body,
    signing: garbageSigning(rng, 'POST', route.path, body),
    mustRefuse: true,
  });
};

const memberSignedMalformed: Generator = (rng) => {
  const route = rng.pick(MEMBER_POST_ROUTES);
  return request({
    family: 'member/signed-malformed',
    target: routeTarget(rng, route.target),
    method: 'POST',
    path: rng.chance(0.1) ? `${route.path}${listQuery(rng, 'fz-a')}` : route.path,
    headers: jsonHeaders(),
    body: memberBody(rng, route),
    signing: { kind: 'valid', memberId: rng.pick(['harness', 'harness', 'fz-member']) },
    // makeHarmless makes sure of it: every state-changing parser refuses a signed body.
    mustRefuse: true,
  });
};

const memberReads: Generator = (rng) => {
  const route = rng.pick(MEMBER_GET_ROUTES);
  const path = route.path.startsWith('/admin/')
    ? `/admin/v1/owner/${maybeLong(rng, pathSegment(rng, anyUser(rng, true)))}`
    : `${route.path}${rng.chance(0.3) ? listQuery(rng, 'fz-a') : ''}`;
  const roll = rng.int(0, 2);
  return request({
    family: 'member/reads',
    target: routeTarget(rng, route.target),
    method: rng.chance(0.15) ? 'HEAD' : 'GET',
    path,
    signing:
      roll === 0
        ? { kind: 'none' }
        : roll === 1
          ? { kind: 'valid', memberId: 'harness' }
          : garbageSigning(rng, 'GET', path, undefined),
  });
};

const operatorChanges: Generator = (rng) => {
  const preview = rng.chance(0.5);
  const path = preview ? '/control/v1/changes/preview' : '/control/v1/changes';
  const change = {
    change: {
      action: rng.chance(0.7) ? rng.pick(ACTIONS) : weirdString(rng),
      nodeId: rng.chance(0.6)
        ? rng.pick(['node-1', 'node-2', 'node-3', 'node-4', 'node-9', '__proto__'])
        : weirdString(rng),
      ...(rng.chance(0.4) ? { weight: rng.chance(0.5) ? rng.int(-1, 102) : weirdValue(rng) } : {}),
      ...(rng.chance(0.2) ? { standbyId: rng.chance(0.5) ? 'node-4' : weirdValue(rng) } : {}),
    },
    ...(rng.chance(0.3)
      ? { expectedEpoch: rng.chance(0.5) ? rng.int(-1, 5) : weirdValue(rng) }
      : {}),
  };
  const body = rng.chance(0.5) ? toJsonText(change) : mutatedBody(rng, change);
  const roll = rng.int(0, 3);
  return request({
    family: preview ? 'operator/preview' : 'operator/changes',
    target: ROUTER,
    method: 'POST',
    path,
    headers: jsonHeaders(),
    body,
    signing:
      roll <= 1
        ? { kind: 'none' }
        : roll === 2
          ? { kind: 'valid', memberId: 'harness' }
          : garbageSigning(rng, 'POST', path, body),
  });
};

const GENERATORS: readonly (readonly [number, Generator])[] = [
  [14, sendMutated],
  [4, sendValid],
  [10, conversationsRead],
  [10, messagesRead],
  [5, markRead],
  [5, wrongMethod],
  [8, randomPath],
  [4, badEncoding],
  [4, badContentType],
  [4, notJson],
  [2, oversize],
  [7, memberUnsigned],
  [8, memberGarbageSigned],
  [10, memberSignedMalformed],
  [4, memberReads],
  [4, operatorChanges],
];

const RANDOM_HEADERS: readonly (readonly [string, (rng: Rng) => string | string[]])[] = [
  ['x-chatring-member', (rng) => rng.pick(['', 'v1', 'v1.harness.1.AAAA', 'garbage'])],
  [
    'authorization',
    (rng) =>
      rng.pick([
        'Bearer x',
        'Bearer ',
        'Basic YTpi',
        '',
        `Bearer ${'a'.repeat(600)}`,
        'bearer zzzzzzzzzzzzzzzzzzzz',
      ]),
  ],
  [
    'x-chatring-ring-epoch',
    (rng) => rng.pick(['99999999999', '-1', 'NaN', '1e400', '', '0', '1.5', '__proto__']),
  ],
  ['accept', (rng) => rng.pick(['*/*', 'text/html', 'application/xml', ''])],
  ['accept-encoding', (rng) => rng.pick(['gzip, br', 'identity;q=0', '*'])],
  ['content-encoding', (rng) => rng.pick(['gzip', 'br', 'identity', 'x'])],
  ['x-forwarded-for', (rng) => rng.pick(['1.2.3.4', '::1', 'garbage, ü'])],
  ['x-http-method-override', (rng) => rng.pick(['DELETE', 'PUT', 'GET'])],
  ['user-agent', (rng) => 'x'.repeat(rng.pick([1, 1_000, 8_000]))],
  ['cookie', (rng) => rng.pick(['a=b', '__proto__=x', ';;;'])],
  ['origin', () => 'http://evil.example'],
  ['range', () => 'bytes=0-1'],
  ['if-none-match', () => '*'],
  ['connection', (rng) => rng.pick(['close', 'keep-alive'])],
  ['host', (rng) => rng.pick(['evil.example', '', 'ü', '127.0.0.1:1'])],
  ['x-fz-latin1', () => 'ÿþ\u00a0'],
  ['x-fz-repeated', () => ['a', 'b', 'c']],
  ['__proto__', () => 'x'],
];

/** Generated URLs are cut here: twice Node's 16 KiB head limit is past it (431) by plenty, and
 * longer ones add nothing but a wider race with the server's close (see the fuzz test's KNOWN_BUGS). */
const URL_CHARS_MAX = 32_768;

/**
 * The path with every character undici would refuse to send (outside 0x21-0xff: spaces, controls,
 * anything beyond Latin-1) percent-encoded. Those bytes go to the servers raw, through the raw
 * phase; a request undici refuses reaches no server (and one such refusal in the middle of a run
 * once left undici's pool for that origin with queued requests that never ran).
 */
export function sendablePath(path: string): string {
  return path.replace(/[^\x21-\xff]/gu, (c) => safeEncode(c));
}

/** Whether a request lacks the credential its route class needs (see FuzzRequest.unauthenticated). */
function isUnauthenticated(request: FuzzRequest): boolean {
  const access = accessOf(request.path);
  if (access === 'open') return false;
  const { kind } = request.signing;
  // A valid signing replaces any member header the random headers put in.
  if (kind === 'valid') return false;
  if (kind !== 'none') return true;
  return Object.hasOwn(request.headers, MEMBER_SIGNATURE_HEADER) || access === 'member';
}

/** The next fuzz request: a family drawn by weight, its request, random headers, made harmless. */
export function nextFuzzRequest(rng: Rng): FuzzRequest {
  for (;;) {
    const generated = rng.weighted(GENERATORS)(rng);
    if (rng.chance(0.2)) {
      const headers = { ...generated.headers };
      for (let i = rng.int(1, 3); i > 0; i -= 1) {
        const [name, value] = rng.pick(RANDOM_HEADERS);
        // An own property even for `__proto__` (an assignment would set the prototype instead).
        Object.defineProperty(headers, name, {
          value: value(rng),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
      generated.headers = headers;
    }
    generated.path = sendablePath(generated.path).slice(0, URL_CHARS_MAX);
    generated.unauthenticated = isUnauthenticated(generated);
    generated.mustRefuse = generated.mustRefuse || generated.unauthenticated;
    const harmless = makeHarmless(generated);
    if (harmless !== undefined) return harmless;
  }
}

// ---- Raw HTTP ----

export interface RawCase {
  label: string;
  target: FuzzTarget;
  /** Written in order, with a short pause between chunks (a request split across packets). */
  chunks: Buffer[];
  /** Half-close after writing (the client says it is done). */
  halfClose: boolean;
  /**
   * Why a close without any answer is correct for this input (Node's parser cannot answer it);
   * undefined: an answer is required.
   */
  silentCloseAllowed?: string;
  /** The first answer's status must be one of these. */
  firstStatus?: number[];
}

const CRLF = '\r\n';

function rawCase(
  label: string,
  text: string | Buffer,
  extra: Partial<RawCase> = {},
): Omit<RawCase, 'target'> {
  return {
    label,
    chunks: [typeof text === 'string' ? Buffer.from(text, 'latin1') : text],
    halfClose: true,
    ...extra,
  };
}

function get(path: string, headers = 'Host: x\r\n'): string {
  return `GET ${path} HTTP/1.1${CRLF}${headers}${CRLF}`;
}

function post(path: string, body: string, headers = ''): string {
  return `POST ${path} HTTP/1.1${CRLF}Host: x${CRLF}Content-Type: application/json${CRLF}Content-Length: ${Buffer.byteLength(body)}${CRLF}${headers}${CRLF}${body}`;
}

const SEND_BODY =
  '{"senderId":"fz-a","recipientId":"fz-b","content":"hi","clientMessageId":"raw-1","x":1}';

/** Fixed raw cases: malformed HTTP of every kind Node's parser knows. */
function fixedRawCases(rng: Rng): Omit<RawCase, 'target'>[] {
  const chunkedHead = `POST /v1/messages HTTP/1.1${CRLF}Host: x${CRLF}Content-Type: application/json${CRLF}Transfer-Encoding: chunked${CRLF}${CRLF}`;
  const valid = get('/healthz');
  return [
    rawCase('garbage request line', `HELLO WORLD${CRLF}${CRLF}`),
    rawCase('random bytes', rng.bytes(rng.int(1, 200))),
    rawCase('HTTP/0.9 simple request', `GET /healthz${CRLF}${CRLF}`),
    rawCase('HTTP/0.9 request line then EOF', `GET /${CRLF}`),
    rawCase('unknown HTTP version', `GET /healthz HTTP/9.9${CRLF}Host: x${CRLF}${CRLF}`),
    rawCase('HTTP/2 preface', `PRI * HTTP/2.0${CRLF}${CRLF}SM${CRLF}${CRLF}`),
    rawCase('lowercase method', `get /healthz HTTP/1.1${CRLF}Host: x${CRLF}${CRLF}`),
    rawCase('unknown method', `BREW /healthz HTTP/1.1${CRLF}Host: x${CRLF}${CRLF}`),
    rawCase('method of 5000 characters', `${'A'.repeat(5_000)} / HTTP/1.1${CRLF}${CRLF}`),
    rawCase('tabs in the request line', `GET\t/healthz\tHTTP/1.1${CRLF}Host: x${CRLF}${CRLF}`),
    rawCase('NUL in the request line', `GET /heal\u0000thz HTTP/1.1${CRLF}Host: x${CRLF}${CRLF}`),
    rawCase(
      'non-ASCII bytes in the path',
      Buffer.concat([
        Buffer.from('GET /v1/users/'),
        Buffer.from([0xff, 0xfe, 0x80]),
        Buffer.from(`/conversations HTTP/1.1${CRLF}Host: x${CRLF}${CRLF}`),
      ]),
    ),
    rawCase(
      'raw space in the path',
      `GET /v1/users/a b/conversations HTTP/1.1${CRLF}Host: x${CRLF}${CRLF}`,
    ),
    rawCase('broken percent-encoding', get('/v1/users/%E0%A4%A/conversations')),
    rawCase('absolute-form URL', get('http://evil.example/healthz')),
    rawCase('asterisk-form URL', `OPTIONS * HTTP/1.1${CRLF}Host: x${CRLF}${CRLF}`),
    rawCase('header without a colon', get('/healthz', `Host: x${CRLF}NoColonHere${CRLF}`)),
    rawCase('space before the colon', get('/healthz', `Host : x${CRLF}`)),
    rawCase('invalid header name', get('/healthz', `Host: x${CRLF}X(Y): 1${CRLF}`)),
    rawCase(
      'control character in a header value',
      get('/healthz', `Host: x${CRLF}X-A: a\u0001b${CRLF}`),
    ),
    rawCase('obs-fold header', get('/healthz', `Host: x${CRLF}X-A: a${CRLF} b${CRLF}`)),
    rawCase('bare LF line endings', `GET /healthz HTTP/1.1\nHost: x\n\n`),
    rawCase('bare CR line endings', `GET /healthz HTTP/1.1\rHost: x\r\r`),
    rawCase('leading empty lines', `${CRLF}${CRLF}${valid}`, { firstStatus: [200] }),
    rawCase(
      'header of 20 KiB',
      get('/healthz', `Host: x${CRLF}X-Big: ${'a'.repeat(20_480)}${CRLF}`),
      { firstStatus: [431] },
    ),
    rawCase('URL of 20 KiB', get(`/v1/users/${'a'.repeat(20_480)}/conversations`), {
      firstStatus: [431],
    }),
    rawCase('2,500 headers', get('/healthz', `Host: x${CRLF}${`x:1${CRLF}`.repeat(2_500)}`)),
    rawCase('HTTP/1.1 without Host', `GET /healthz HTTP/1.1${CRLF}${CRLF}`, { firstStatus: [400] }),
    rawCase('HTTP/1.0 without Host', `GET /healthz HTTP/1.0${CRLF}${CRLF}`, { firstStatus: [200] }),
    rawCase('duplicate Host', get('/healthz', `Host: a${CRLF}Host: b${CRLF}`)),
    rawCase('bad chunk size', `${chunkedHead}ZZ${CRLF}{}${CRLF}0${CRLF}${CRLF}`),
    rawCase('chunk without its CRLF', `${chunkedHead}2${CRLF}{}XX0${CRLF}${CRLF}`),
    rawCase(
      'chunk size overflow',
      `${chunkedHead}FFFFFFFFFFFFFFFFFFFF${CRLF}{}${CRLF}0${CRLF}${CRLF}`,
    ),
    rawCase(
      'chunk extension of 20 KiB',
      `${chunkedHead}2;${'e'.repeat(20_480)}${CRLF}{}${CRLF}0${CRLF}${CRLF}`,
    ),
    rawCase('chunked body cut by EOF', `${chunkedHead}20${CRLF}{"senderId":`),
    rawCase(
      'chunked body over 512 KiB',
      `${chunkedHead}${`8000${CRLF}${'a'.repeat(0x8000)}${CRLF}`.repeat(17)}0${CRLF}${CRLF}`,
      { firstStatus: [413] },
    ),
    rawCase(
      'Content-Length and Transfer-Encoding',
      `POST /v1/messages HTTP/1.1${CRLF}Host: x${CRLF}Content-Type: application/json${CRLF}Content-Length: 2${CRLF}Transfer-Encoding: chunked${CRLF}${CRLF}2${CRLF}{}${CRLF}0${CRLF}${CRLF}`,
    ),
    rawCase(
      'Transfer-Encoding not chunked',
      `POST /v1/messages HTTP/1.1${CRLF}Host: x${CRLF}Content-Type: application/json${CRLF}Transfer-Encoding: gzip${CRLF}${CRLF}{}`,
    ),
    rawCase(
      'Transfer-Encoding chunked twice',
      `POST /v1/messages HTTP/1.1${CRLF}Host: x${CRLF}Transfer-Encoding: chunked${CRLF}Transfer-Encoding: identity${CRLF}${CRLF}0${CRLF}${CRLF}`,
    ),
    rawCase(
      'two different Content-Length',
      `POST /v1/messages HTTP/1.1${CRLF}Host: x${CRLF}Content-Type: application/json${CRLF}Content-Length: 2${CRLF}Content-Length: 3${CRLF}${CRLF}{}x`,
    ),
    rawCase(
      'negative Content-Length',
      `POST /v1/messages HTTP/1.1${CRLF}Host: x${CRLF}Content-Length: -1${CRLF}${CRLF}{}`,
    ),
    rawCase(
      'non-numeric Content-Length',
      `POST /v1/messages HTTP/1.1${CRLF}Host: x${CRLF}Content-Length: 1x${CRLF}${CRLF}{}`,
    ),
    rawCase(
      'Content-Length of 20 digits',
      `POST /v1/messages HTTP/1.1${CRLF}Host: x${CRLF}Content-Type: application/json${CRLF}Content-Length: 99999999999999999999${CRLF}${CRLF}{}`,
    ),
    rawCase(
      'Content-Length over the body limit',
      `POST /v1/messages HTTP/1.1${CRLF}Host: x${CRLF}Content-Type: application/json${CRLF}Content-Length: 600000${CRLF}${CRLF}{}`,
      { firstStatus: [413] },
    ),
    rawCase(
      'Content-Length longer than the body, then EOF',
      post('/v1/messages', SEND_BODY).replace(/Content-Length: \d+/, 'Content-Length: 500'),
    ),
    rawCase(
      'Content-Length shorter than the body',
      post('/v1/messages', SEND_BODY).replace(/Content-Length: \d+/, 'Content-Length: 5'),
    ),
    rawCase(
      'body that is not UTF-8',
      Buffer.concat([
        Buffer.from(
          `POST /v1/messages HTTP/1.1${CRLF}Host: x${CRLF}Content-Type: application/json${CRLF}Content-Length: 4${CRLF}${CRLF}`,
        ),
        Buffer.from([0x22, 0xff, 0xfe, 0x22]),
      ]),
      { firstStatus: [400] },
    ),
    rawCase('pipelined garbage after a valid request', `${valid}GARBAGE${CRLF}${CRLF}`, {
      firstStatus: [200],
    }),
    rawCase(
      'valid send pipelined with garbage',
      `${post('/v1/messages', JSON.stringify({ senderId: 'fz-raw-a', recipientId: 'fz-raw-b', content: 'pipelined', clientMessageId: `raw-${rng.int(0, 1e9)}` }))}GARBAGE${CRLF}${CRLF}`,
      // Sent to the router and to one node: a node that does not own fz-raw-a answers 421 NOT_OWNER.
      { firstStatus: [200, 201, 421] },
    ),
    rawCase(
      'pipelined garbage after a valid POST',
      `${post('/v1/messages', SEND_BODY)}\u0000\u0001\u0002${CRLF}${CRLF}`,
      { firstStatus: [400] },
    ),
    rawCase('20 pipelined requests', valid.repeat(20), { firstStatus: [200] }),
    rawCase(
      'pipelined requests, last one malformed',
      `${valid}${valid}GET /healthz HTTP/1.1${CRLF}Bad Header${CRLF}${CRLF}`,
      { firstStatus: [200] },
    ),
    rawCase('Expect: 100-continue', post('/v1/messages', SEND_BODY, `Expect: 100-continue${CRLF}`)),
    rawCase('Expect: something else', post('/v1/messages', SEND_BODY, `Expect: tea${CRLF}`)),
    rawCase(
      'Upgrade: websocket',
      get('/healthz', `Host: x${CRLF}Connection: Upgrade${CRLF}Upgrade: websocket${CRLF}`),
    ),
    rawCase(
      'Upgrade: h2c',
      get(
        '/healthz',
        `Host: x${CRLF}Connection: Upgrade, HTTP2-Settings${CRLF}Upgrade: h2c${CRLF}HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA${CRLF}`,
      ),
    ),
    rawCase('CONNECT', `CONNECT 127.0.0.1:22 HTTP/1.1${CRLF}Host: 127.0.0.1:22${CRLF}${CRLF}`, {
      silentCloseAllowed:
        "Node's HTTP server hands a CONNECT to its 'connect' event and, with no listener there (fastify adds none), destroys the socket: no route ever sees it",
    }),
    rawCase('request line then EOF', `GET /healthz HTTP/1.1${CRLF}`),
    rawCase('half a request line then EOF', 'GET /hea'),
    rawCase('empty connection', '', {
      silentCloseAllowed: 'the client sent nothing: there is no request to answer',
    }),
    rawCase(
      'member route, garbage signature',
      post(HANDOFF_PATHS.ring, '{"ring":{}}', `x-chatring-member: v1.harness.1.AAAA${CRLF}`),
    ),
    rawCase(
      'member route, no signature, valid-looking push',
      post(HANDOFF_PATHS.ring, JSON.stringify({ ring: baseRing() })),
      { firstStatus: [401] },
    ),
    {
      label: 'request split byte by byte',
      chunks: [...Buffer.from(get('/healthz'))]
        .slice(0, 30)
        .map((byte) => Buffer.from([byte]))
        .concat([Buffer.from(get('/healthz')).subarray(30)]),
      halfClose: true,
      firstStatus: [200],
    },
    {
      label: 'garbage split across packets',
      chunks: [
        Buffer.from('GET /hea'),
        Buffer.from('lthz HT'),
        Buffer.from(`TP/1.1${CRLF}Ho`),
        Buffer.from(`st x${CRLF}${CRLF}`),
      ],
      halfClose: true,
    },
  ];
}

/** Requests whose bytes are mutated: each is valid HTTP before the mutation. */
function mutationBases(): string[] {
  return [
    get('/healthz'),
    get('/v1/users/fz-a/conversations?pageSize=5'),
    get('/v1/users/fz-a/conversations/fz-a~fz-b/messages?page=0'),
    post('/v1/messages', SEND_BODY),
    post('/v1/users/fz-a/conversations/fz-a~fz-b/read', '{"x":1}'),
    post(DELIVER_PATH, '{"message":{}}'),
    post('/control/v1/heartbeat', '{"nodeId":"fz-member"}'),
    get('/control/v1/ring'),
    `POST /v1/messages HTTP/1.1${CRLF}Host: x${CRLF}Content-Type: application/json${CRLF}Transfer-Encoding: chunked${CRLF}${CRLF}5${CRLF}{"a":${CRLF}2${CRLF}1}${CRLF}0${CRLF}${CRLF}`,
  ];
}

function mutateBytes(rng: Rng, input: Buffer): Buffer {
  let bytes = Buffer.from(input);
  for (let i = rng.int(1, 3); i > 0; i -= 1) {
    const at = rng.int(0, Math.max(0, bytes.length - 1));
    const operation = rng.int(0, 5);
    if (operation === 0) bytes[at] = rng.int(0, 255);
    else if (operation === 1) bytes[at] = rng.pick([0x0d, 0x0a, 0x3a, 0x20, 0x00, 0x25, 0x7f]);
    else if (operation === 2)
      bytes = Buffer.concat([
        bytes.subarray(0, at),
        Buffer.from([rng.int(0, 255)]),
        bytes.subarray(at),
      ]);
    else if (operation === 3)
      bytes = Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + 1)]);
    else if (operation === 4)
      bytes = Buffer.concat([
        bytes.subarray(0, at),
        bytes.subarray(at, at + rng.int(1, 20)),
        bytes.subarray(at),
      ]);
    else bytes = bytes.subarray(0, at);
  }
  // Never nothing: the empty connection is a fixed case of its own.
  return bytes.length > 0 ? bytes : Buffer.from([rng.int(0, 255)]);
}

/**
 * The raw cases of one run: every fixed case against the router and one node, then `mutated`
 * byte-mutated requests against random targets.
 */
export function rawCases(rng: Rng, mutated: number): RawCase[] {
  const cases: RawCase[] = [];
  for (const fixed of fixedRawCases(rng)) {
    cases.push({ ...fixed, target: ROUTER });
    cases.push({ ...fixed, target: anyNode(rng) });
  }
  const bases = mutationBases();
  for (let i = 0; i < mutated; i += 1) {
    const base = Buffer.from(rng.pick(bases), 'latin1');
    cases.push({
      label: `byte-mutated request #${i}`,
      target: rng.chance(0.5) ? ROUTER : anyNode(rng),
      chunks: [mutateBytes(rng, base)],
      halfClose: true,
    });
  }
  return cases;
}
