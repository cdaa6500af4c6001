import { conversationIdOf, participantsOf } from './conversation-id.js';
import { ChatringError } from './errors.js';
import type {
  CancelRequest,
  DeliverResponse,
  HeartbeatReply,
  MailboxConversationRow,
  MailboxMessage,
  MailboxMessageWindow,
  MailboxSnapshot,
  NodeInfo,
  ReleaseRequest,
  RingConfig,
  RingPush,
  SlotAssignment,
  WarmBatch,
} from './internal-api.js';
import {
  CHANGE_ID_PATTERN,
  DELIVER_CLOCK_SKEW_MS_MAX,
  LEASE_MS_MAX,
  LEASE_MS_MIN,
  MESSAGE_ID_PATTERN,
  NODE_URL_CHARS_LIMIT,
  RING_EPOCH_MAX,
  RING_NODES_LIMIT,
  RING_SLOTS_LIMIT,
  RING_VIRTUAL_NODES_LIMIT,
  SLOT_WEIGHT_MAX,
  SLOT_WEIGHT_MIN,
  SNIPPET_CHARS_MAX,
  UNREAD_COUNT_MAX,
  USER_ID_PATTERN,
  VIRTUAL_NODES_PER_WEIGHT_LIMIT,
  WARM_BATCH_SNAPSHOTS_LIMIT,
  WARM_SNAPSHOT_CONVERSATIONS_LIMIT,
  WINDOW_MESSAGES_LIMIT,
} from './limits.js';
import { assertUserId, parseSendRequest } from './validation.js';
import type { Message } from './wire-types.js';

/**
 * Validation of the bodies chatring's own processes send each other (node ⇄ node, control plane →
 * node, node → control plane). Pure, like the public validation: each parser returns a fresh typed
 * value or throws a ChatringError with a catalogue code, so a malformed body is a 400, never a 500
 * TypeError deep inside a handler:
 *
 * - a body that is not a JSON object: `INVALID_BODY`;
 * - a required field absent: `MISSING_FIELD`;
 * - a field of the wrong type or out of its bounds: `INVALID_FIELD` (user ids `INVALID_USER_ID`,
 *   conversation ids `INVALID_CONVERSATION_ID`, content `CONTENT_TOO_LARGE`, as in the public API).
 *
 * Unknown fields are dropped, not refused: during a rolling upgrade a newer process may send a
 * field an older one does not know, and refusing it would break the cluster rather than one client.
 * Nothing unchecked passes: the result is built from the checked fields only. Errors name the
 * field's path in the body (`snapshots[2].conversations[0].row.version`).
 *
 * Members are authenticated, but a buggy or hostile one must still not be able to wedge a node or
 * corrupt its cached state, so values are checked against what the protocol can produce, not just
 * their types: ring epochs and sizes, node URLs, message order inside a window, versions no newer
 * than their mailbox. What needs the receiving node's clock (how far ahead a sentAt may be) cannot
 * live in these pure parsers: `assertClockWindow` is the shared rule, applied by the deliver and
 * warm handlers (cache-node/message-send.ts, cache-node/handoff.ts) before they change anything.
 */

/** The fields of a message that a public send carries (and checks). */
const SEND_FIELDS = ['senderId', 'recipientId', 'content', 'clientMessageId'] as const;

/** The coordinator's proposal (`POST /internal/v1/deliver`), checked as strictly as a public send.
 * Its sentAt is checked against the owner's clock where the clock is (MessageSend.deliver). */
export function parseDeliverRequest(body: unknown): Message {
  const object = bodyObject(body, 'deliver');
  return parseMessage(required(object, 'message', ''), 'message');
}

/** The owner's answer to a deliver: the copy as stored, and whether it already existed. */
export function parseDeliverResponse(body: unknown): DeliverResponse {
  const object = bodyObject(body, 'the deliver answer');
  return {
    message: parseMessage(required(object, 'message', ''), 'message'),
    duplicate: booleanAt(required(object, 'duplicate', ''), 'duplicate'),
  };
}

/**
 * `POST /internal/v1/handoff/release`: `{changeId, targetRing}`. The target is the ring the change
 * will publish, so it serves at least one slot (no change removes the last one), and it carries
 * the change's id when it carries one at all.
 */
export function parseReleaseRequest(body: unknown): ReleaseRequest {
  const object = bodyObject(body, 'release');
  const changeId = changeIdAt(required(object, 'changeId', ''), 'changeId');
  const targetRing = parseServingRing(required(object, 'targetRing', ''), 'targetRing');
  if (targetRing.changeId !== undefined && targetRing.changeId !== changeId)
    throw invalid(
      'targetRing.changeId',
      `is ${targetRing.changeId}, not the release's ${changeId}`,
    );
  return { changeId, targetRing };
}

/** `POST /internal/v1/handoff/cancel`: `{changeId}`. */
export function parseCancelRequest(body: unknown): CancelRequest {
  const object = bodyObject(body, 'cancel');
  return { changeId: changeIdAt(required(object, 'changeId', ''), 'changeId') };
}

/** `POST /internal/v1/ring`: `{ring}`, a published ring, which always serves at least one slot (a
 * zero-slot ring exists only on a control plane started without nodes, and nodes learn that one
 * from their heartbeats). */
export function parseRingPush(body: unknown): RingPush {
  const object = bodyObject(body, 'the ring push');
  return { ring: parseServingRing(required(object, 'ring', ''), 'ring') };
}

/**
 * `POST /internal/v1/handoff/warm`: `{changeId, snapshots}`. Its bytes are bounded by the route's
 * body limit (WARM_BATCH_BODY_BYTES_LIMIT) and the counts inside by what a sender can put in a
 * batch (WARM_BATCH_SNAPSHOTS_LIMIT mailboxes, each with at most WARM_SNAPSHOT_CONVERSATIONS_LIMIT
 * conversations and WINDOW_MESSAGES_LIMIT messages per window): small entries would otherwise let
 * one body hold millions. One mailbox per owner.
 */
export function parseWarmBatch(body: unknown): WarmBatch {
  const object = bodyObject(body, 'the warm batch');
  const snapshots = arrayAt(
    required(object, 'snapshots', ''),
    'snapshots',
    WARM_BATCH_SNAPSHOTS_LIMIT,
  );
  const changeId = changeIdAt(required(object, 'changeId', ''), 'changeId');
  const owners = new Set<string>();
  return {
    changeId,
    snapshots: snapshots.map((snapshot, index) => {
      const path = `snapshots[${index}]`;
      const parsed = parseMailboxSnapshot(snapshot, path);
      if (owners.has(parsed.ownerId)) throw invalid(path, `repeats mailbox ${parsed.ownerId}`);
      owners.add(parsed.ownerId);
      return parsed;
    }),
  };
}

/**
 * A node's heartbeat body (`{nodeId, url, pid?}`): the node id in the user id alphabet, the node's
 * base URL (`isNodeBaseUrl`: http(s), a host, nothing else), and the process id when the node is
 * local.
 */
export function parseNodeInfo(body: unknown, path = ''): NodeInfo {
  const object = path === '' ? bodyObject(body, 'the node info') : objectAt(body, path);
  const nodeId = nodeIdAt(required(object, 'nodeId', path), join(path, 'nodeId'));
  const urlPath = join(path, 'url');
  const url = stringAt(required(object, 'url', path), urlPath);
  if (url.length > NODE_URL_CHARS_LIMIT || !isNodeBaseUrl(url))
    throw invalid(
      urlPath,
      `must be an http(s) URL of a host and port only (no credentials, path, query or fragment), of at most ${NODE_URL_CHARS_LIMIT} characters`,
    );
  if (object.pid === undefined) return { nodeId, url };
  return { nodeId, url, pid: integerAt(object.pid, join(path, 'pid'), 0) };
}

/**
 * A node's entry in a stored or pushed ring. Its URL is where peers send deliveries, releases and
 * whole cached mailboxes, so only a base URL such as a heartbeat registers is kept; any other
 * string within the length limit reads as `''`, the ring's "no address yet", which every caller
 * already skips (no request goes to it; the node's next heartbeat records its real address). It
 * is not refused: a ring written by an older release (which checked less) must still be readable,
 * and one odd entry (of a node long gone, say) must never make the whole ring unreadable, which
 * would stop every lease renewal in the cluster.
 */
function parseRingNodeInfo(value: unknown, path: string): NodeInfo {
  const object = objectAt(value, path);
  const nodeId = nodeIdAt(required(object, 'nodeId', path), join(path, 'nodeId'));
  const given = stringAt(required(object, 'url', path), join(path, 'url'));
  if (given.length > NODE_URL_CHARS_LIMIT)
    throw invalid(join(path, 'url'), `must be at most ${NODE_URL_CHARS_LIMIT} characters`);
  const url = isNodeBaseUrl(given) ? given : '';
  if (object.pid === undefined) return { nodeId, url };
  return { nodeId, url, pid: integerAt(object.pid, join(path, 'pid'), 0) };
}

/** What a heartbeat answers: the ring and the lease granted, within the lease bounds. */
export function parseHeartbeatReply(body: unknown): HeartbeatReply {
  const object = bodyObject(body, 'the heartbeat reply');
  return {
    ring: parseRingConfig(required(object, 'ring', ''), 'ring'),
    leaseMs: integerAt(required(object, 'leaseMs', ''), 'leaseMs', LEASE_MS_MIN, LEASE_MS_MAX),
  };
}

/**
 * A ring config: a non-negative epoch; virtual nodes per weight 1..VIRTUAL_NODES_PER_WEIGHT_LIMIT;
 * at most RING_SLOTS_LIMIT slots with distinct names, each served by a node id with a weight in
 * SLOT_WEIGHT_MIN..SLOT_WEIGHT_MAX; standbys, parked and admitted nodes as node ids; the nodes' infos keyed
 * by their own id; the changeId that published it, if any. The epoch is at most RING_EPOCH_MAX and
 * the slots place at most RING_VIRTUAL_NODES_LIMIT virtual nodes in all.
 *
 * A slot's node need not have an entry in `nodes`: a node gets its address from its own first
 * heartbeat, and a ring names nodes before that (`initialRing` starts with `nodes: {}`). Routers,
 * nodes and the ring-change orchestrator treat a node without an address (or with `''`) as not
 * reachable yet: its users get a retryable OWNER_UNAVAILABLE; releases, pushes and warm batches
 * skip it. Zero slots are allowed here (a control plane started without nodes holds such a ring
 * until an operator adds one); a pushed or target ring must serve at least one (`parseServingRing`).
 */
export function parseRingConfig(value: unknown, path = ''): RingConfig {
  const object = path === '' ? bodyObject(value, 'the ring') : objectAt(value, path);
  const at = (key: string) => join(path, key);
  const ring: RingConfig = {
    epoch: integerAt(required(object, 'epoch', path), at('epoch'), 0, RING_EPOCH_MAX),
    virtualNodesPerWeight: integerAt(
      required(object, 'virtualNodesPerWeight', path),
      at('virtualNodesPerWeight'),
      1,
      VIRTUAL_NODES_PER_WEIGHT_LIMIT,
    ),
    slots: parseSlots(required(object, 'slots', path), at('slots')),
    standbys: nodeIdsAt(required(object, 'standbys', path), at('standbys')),
    nodes: parseNodes(required(object, 'nodes', path), at('nodes')),
  };
  const virtualNodes = ring.slots.reduce(
    (sum, { weight }) => sum + Math.max(1, Math.round(ring.virtualNodesPerWeight * weight)),
    0,
  );
  if (virtualNodes > RING_VIRTUAL_NODES_LIMIT)
    throw invalid(
      at('slots'),
      `place ${virtualNodes} virtual nodes (virtualNodesPerWeight × weight, summed); at most ${RING_VIRTUAL_NODES_LIMIT}`,
    );
  if (object.parked !== undefined) ring.parked = nodeIdsAt(object.parked, at('parked'));
  if (object.admitted !== undefined) ring.admitted = nodeIdsAt(object.admitted, at('admitted'));
  if (object.changeId !== undefined) ring.changeId = changeIdAt(object.changeId, at('changeId'));
  return ring;
}

/** A ring a member pushes or releases for: a ring config that serves at least one slot. */
function parseServingRing(value: unknown, path: string): RingConfig {
  const ring = parseRingConfig(value, path);
  if (ring.slots.length === 0) throw invalid(join(path, 'slots'), 'must have at least one slot');
  return ring;
}

/**
 * A time from another member checked against this node's wall clock `now`: at most
 * DELIVER_CLOCK_SKEW_MS_MAX ahead of it and, when `ageMaxMs` is given, at most that far behind.
 * Throws INVALID_FIELD naming `path`.
 */
export function assertClockWindow(
  value: number,
  path: string,
  now: number,
  ageMaxMs = Number.POSITIVE_INFINITY,
): void {
  if (value > now + DELIVER_CLOCK_SKEW_MS_MAX)
    throw invalid(
      path,
      `is ${value}, more than ${DELIVER_CLOCK_SKEW_MS_MAX} ms ahead of this node's clock (${now})`,
    );
  if (value < now - ageMaxMs)
    throw invalid(path, `is ${value}, more than ${ageMaxMs} ms behind this node's clock (${now})`);
}

/**
 * One cached mailbox of a warm batch: every row a conversation of the owner whose id matches its
 * participants, every window message of that conversation, strictly newest first. No version is
 * newer than what it belongs to (a message's ≤ its row's ≤ the mailbox's): cursor reads are served
 * from these versions, and one from the future would let a client's cursor skip real changes.
 */
function parseMailboxSnapshot(value: unknown, path: string): MailboxSnapshot {
  const object = objectAt(value, path);
  const ownerId = assertUserId(required(object, 'ownerId', path), join(path, 'ownerId'));
  const version = integerAt(required(object, 'version', path), join(path, 'version'), 0);
  const seen = new Set<string>();
  const conversationsPath = join(path, 'conversations');
  const conversations = arrayAt(
    required(object, 'conversations', path),
    conversationsPath,
    WARM_SNAPSHOT_CONVERSATIONS_LIMIT,
  ).map((entry, index) => {
    const entryPath = `${conversationsPath}[${index}]`;
    const parsed = parseCachedConversation(entry, entryPath, ownerId, version);
    if (seen.has(parsed.row.conversationId))
      throw invalid(entryPath, `repeats conversation ${parsed.row.conversationId}`);
    seen.add(parsed.row.conversationId);
    return parsed;
  });
  return {
    ownerId,
    version,
    conversationsComplete: booleanAt(
      required(object, 'conversationsComplete', path),
      join(path, 'conversationsComplete'),
    ),
    conversationsFrom: integerAt(
      required(object, 'conversationsFrom', path),
      join(path, 'conversationsFrom'),
      0,
    ),
    conversations,
  };
}

function parseCachedConversation(
  value: unknown,
  path: string,
  ownerId: string,
  mailboxVersion: number,
): MailboxSnapshot['conversations'][number] {
  const object = objectAt(value, path);
  const rowPath = join(path, 'row');
  const row = parseConversationRow(required(object, 'row', path), rowPath, ownerId);
  if (row.version > mailboxVersion)
    throw invalid(join(rowPath, 'version'), `is newer than its mailbox's (${mailboxVersion})`);
  if (object.window === undefined) return { row };
  return { row, window: parseWindow(object.window, join(path, 'window'), row) };
}

/** A conversation row; its snippet well-formed Unicode (a store would keep U+FFFD for a lone
 * surrogate, and cache and store would differ), its unread count within the store's column. */
function parseConversationRow(
  value: unknown,
  path: string,
  ownerId: string,
): MailboxConversationRow {
  const object = objectAt(value, path);
  const conversationId = stringAt(
    required(object, 'conversationId', path),
    join(path, 'conversationId'),
  );
  const participants = participantsOf(conversationId, ownerId);
  const participantsPath = join(path, 'participants');
  const given = arrayAt(required(object, 'participants', path), participantsPath);
  if (given.length !== 2 || given[0] !== participants[0] || given[1] !== participants[1])
    throw invalid(participantsPath, `must be the pair of ${conversationId}, lower id first`);
  const snippetPath = join(path, 'snippet');
  const snippet = stringAt(required(object, 'snippet', path), snippetPath);
  if (Array.from(snippet).length > SNIPPET_CHARS_MAX)
    throw invalid(snippetPath, `must be at most ${SNIPPET_CHARS_MAX} characters`);
  if (!snippet.isWellFormed())
    throw invalid(snippetPath, 'must be well-formed Unicode (it has a lone surrogate)');
  return {
    conversationId,
    participants,
    snippet,
    lastUpdatedTimestamp: integerAt(
      required(object, 'lastUpdatedTimestamp', path),
      join(path, 'lastUpdatedTimestamp'),
      0,
    ),
    unreadCount: integerAt(
      required(object, 'unreadCount', path),
      join(path, 'unreadCount'),
      0,
      UNREAD_COUNT_MAX,
    ),
    version: integerAt(required(object, 'version', path), join(path, 'version'), 0),
  };
}

/**
 * A conversation's cached window: at most WINDOW_MESSAGES_LIMIT messages (what any node's cache
 * keeps), each of this conversation, sentAt strictly decreasing (sentAt strictly increases within
 * a conversation; the window is newest first), none newer than the row's lastUpdatedTimestamp (the
 * next send is stamped after the row's time, so it could land before such a message) and none
 * with a version newer than the row's.
 */
function parseWindow(
  value: unknown,
  path: string,
  row: MailboxConversationRow,
): MailboxMessageWindow {
  const { conversationId } = row;
  const object = objectAt(value, path);
  const messagesPath = join(path, 'messages');
  let newer: MailboxMessage | undefined;
  const entries = arrayAt(required(object, 'messages', path), messagesPath, WINDOW_MESSAGES_LIMIT);
  const messages = entries.map((entry, index) => {
    const messagePath = `${messagesPath}[${index}]`;
    const message: MailboxMessage = {
      ...parseMessage(entry, messagePath),
      version: integerAt(
        required(entry as Record<string, unknown>, 'version', messagePath),
        join(messagePath, 'version'),
        0,
        row.version,
      ),
    };
    if (message.conversationId !== conversationId)
      throw invalid(messagePath, `belongs to ${message.conversationId}, not ${conversationId}`);
    if (newer === undefined && message.sentAt > row.lastUpdatedTimestamp)
      throw invalid(
        join(messagePath, 'sentAt'),
        `is after the conversation's lastUpdatedTimestamp (${row.lastUpdatedTimestamp})`,
      );
    if (newer !== undefined && message.sentAt >= newer.sentAt)
      throw invalid(
        join(messagePath, 'sentAt'),
        'is not older than the one before it (a window is strictly newest first)',
      );
    newer = message;
    return message;
  });
  return {
    messages,
    complete: booleanAt(required(object, 'complete', path), join(path, 'complete')),
  };
}

/** A whole message: the public send fields as a send checks them, plus id, conversation and time. */
function parseMessage(value: unknown, path: string): Message {
  const object = objectAt(value, path);
  const sendFields = SEND_FIELDS.filter((key) => object[key] !== undefined);
  const send = parseSendRequest(Object.fromEntries(sendFields.map((key) => [key, object[key]])));
  const messageIdPath = join(path, 'messageId');
  const messageId = stringAt(required(object, 'messageId', path), messageIdPath);
  if (!MESSAGE_ID_PATTERN.test(messageId))
    throw invalid(messageIdPath, 'must be 1-64 printable ASCII characters');
  const conversationIdPath = join(path, 'conversationId');
  const conversationId = stringAt(required(object, 'conversationId', path), conversationIdPath);
  if (conversationId !== conversationIdOf(send.senderId, send.recipientId))
    throw new ChatringError(
      'INVALID_CONVERSATION_ID',
      `${conversationIdPath} does not match the participants`,
    );
  const sentAt = integerAt(required(object, 'sentAt', path), join(path, 'sentAt'), 0);
  return { ...send, messageId, conversationId, sentAt };
}

function parseSlots(value: unknown, path: string): SlotAssignment[] {
  const slots = arrayAt(value, path, RING_SLOTS_LIMIT);
  const names = new Set<string>();
  return slots.map((entry, index) => {
    const slotPath = `${path}[${index}]`;
    const object = objectAt(entry, slotPath);
    const slot = nodeIdAt(required(object, 'slot', slotPath), join(slotPath, 'slot'));
    if (names.has(slot)) throw invalid(slotPath, `repeats slot ${slot}`);
    names.add(slot);
    return {
      slot,
      nodeId: nodeIdAt(required(object, 'nodeId', slotPath), join(slotPath, 'nodeId')),
      weight: integerAt(
        required(object, 'weight', slotPath),
        join(slotPath, 'weight'),
        SLOT_WEIGHT_MIN,
        SLOT_WEIGHT_MAX,
      ),
    };
  });
}

function parseNodes(value: unknown, path: string): Record<string, NodeInfo> {
  const object = objectAt(value, path);
  const entries = Object.entries(object);
  if (entries.length > RING_NODES_LIMIT)
    throw invalid(path, `must have at most ${RING_NODES_LIMIT} nodes`);
  // fromEntries defines own properties, so even a node named __proto__ stays a plain entry.
  return Object.fromEntries(
    entries.map(([key, info]) => {
      const infoPath = join(path, key);
      const node = parseRingNodeInfo(info, infoPath);
      if (node.nodeId !== key)
        throw invalid(infoPath, `is keyed by ${key} but is node ${node.nodeId}`);
      return [key, node];
    }),
  );
}

// ---- Field helpers: each checks one value and names its path in the error ----

function bodyObject(body: unknown, what: string): Record<string, unknown> {
  if (!isPlainObject(body))
    throw new ChatringError('INVALID_BODY', `${what} must be a JSON object`);
  return body;
}

function objectAt(value: unknown, path: string): Record<string, unknown> {
  if (!isPlainObject(value)) throw invalid(path, 'must be an object');
  return value;
}

function required(object: Record<string, unknown>, key: string, path: string): unknown {
  if (!Object.hasOwn(object, key) || object[key] === undefined)
    throw new ChatringError('MISSING_FIELD', `${join(path, key)} is required`);
  return object[key];
}

function stringAt(value: unknown, path: string): string {
  if (typeof value !== 'string') throw invalid(path, 'must be a string');
  return value;
}

function booleanAt(value: unknown, path: string): boolean {
  if (typeof value !== 'boolean') throw invalid(path, 'must be true or false');
  return value;
}

function integerAt(
  value: unknown,
  path: string,
  min: number,
  max: number = Number.MAX_SAFE_INTEGER,
): number {
  if (!Number.isSafeInteger(value) || (value as number) < min || (value as number) > max)
    throw invalid(path, `must be an integer from ${min} to ${max}`);
  return value as number;
}

function arrayAt(value: unknown, path: string, lengthMax = Number.MAX_SAFE_INTEGER): unknown[] {
  if (!Array.isArray(value)) throw invalid(path, 'must be an array');
  if (value.length > lengthMax) throw invalid(path, `must have at most ${lengthMax} entries`);
  return value as unknown[];
}

/** Node ids and slot names share the user id alphabet: 1-64 characters of [A-Za-z0-9_-]. */
function nodeIdAt(value: unknown, path: string): string {
  if (typeof value !== 'string' || !USER_ID_PATTERN.test(value))
    throw invalid(path, 'must be 1-64 characters of [A-Za-z0-9_-]');
  return value;
}

function nodeIdsAt(value: unknown, path: string): string[] {
  return arrayAt(value, path, RING_NODES_LIMIT).map((entry, index) =>
    nodeIdAt(entry, `${path}[${index}]`),
  );
}

function changeIdAt(value: unknown, path: string): string {
  if (typeof value !== 'string' || !CHANGE_ID_PATTERN.test(value))
    throw invalid(path, 'must be 1-128 printable ASCII characters');
  return value;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `scheme://authority` and nothing after it: no path (not even `/`), query or fragment, and no
 * credentials (`@`) or backslash (which URL parsers read as `/`). */
const BASE_URL_SHAPE = /^https?:\/\/[^/?#@\\\s]+$/i;

/**
 * A node's base URL as `httpUrlOf` makes it: http or https, a host, maybe a port, nothing else.
 * Every peer call appends its own path to it (`${url}/internal/v1/...`), so a path, query or
 * fragment would send the request somewhere else, and credentials have no place in a ring.
 */
/** An http(s) base URL: scheme, host, optional port, nothing else (no path, query, credentials). */
export function isNodeBaseUrl(text: string): boolean {
  if (!BASE_URL_SHAPE.test(text) || !URL.canParse(text)) return false;
  const url = new URL(text);
  return url.hostname !== '' && url.port !== '0';
}

function join(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

function invalid(path: string, message: string): ChatringError {
  return new ChatringError('INVALID_FIELD', `${path} ${message}`);
}
