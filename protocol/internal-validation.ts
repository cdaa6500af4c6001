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
  LEASE_MS_MAX,
  LEASE_MS_MIN,
  NODE_URL_CHARS_LIMIT,
  RING_NODES_LIMIT,
  RING_SLOTS_LIMIT,
  SLOT_WEIGHT_MAX,
  SLOT_WEIGHT_MIN,
  SNIPPET_CHARS_MAX,
  USER_ID_PATTERN,
  VIRTUAL_NODES_PER_WEIGHT_LIMIT,
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
 */

/** The fields of a message that a public send carries (and checks). */
const SEND_FIELDS = ['senderId', 'recipientId', 'content', 'clientMessageId'] as const;

/** The coordinator's proposal (`POST /internal/v1/deliver`), checked as strictly as a public send. */
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

/** `POST /internal/v1/handoff/release`: `{changeId, targetRing}`. */
export function parseReleaseRequest(body: unknown): ReleaseRequest {
  const object = bodyObject(body, 'release');
  return {
    changeId: changeIdAt(required(object, 'changeId', ''), 'changeId'),
    targetRing: parseRingConfig(required(object, 'targetRing', ''), 'targetRing'),
  };
}

/** `POST /internal/v1/handoff/cancel`: `{changeId}`. */
export function parseCancelRequest(body: unknown): CancelRequest {
  const object = bodyObject(body, 'cancel');
  return { changeId: changeIdAt(required(object, 'changeId', ''), 'changeId') };
}

/** `POST /internal/v1/ring`: `{ring}`. */
export function parseRingPush(body: unknown): RingPush {
  const object = bodyObject(body, 'the ring push');
  return { ring: parseRingConfig(required(object, 'ring', ''), 'ring') };
}

/** `POST /internal/v1/handoff/warm`: `{changeId, snapshots}`. Its size is bounded by the route's
 * body limit (WARM_BATCH_BODY_BYTES_LIMIT), so the counts inside need no bound of their own. */
export function parseWarmBatch(body: unknown): WarmBatch {
  const object = bodyObject(body, 'the warm batch');
  const snapshots = arrayAt(required(object, 'snapshots', ''), 'snapshots');
  return {
    changeId: changeIdAt(required(object, 'changeId', ''), 'changeId'),
    snapshots: snapshots.map((snapshot, index) =>
      parseMailboxSnapshot(snapshot, `snapshots[${index}]`),
    ),
  };
}

/**
 * A node's heartbeat body (`{nodeId, url, pid?}`): the node id in the user id alphabet, an
 * absolute http(s) URL, and the process id when the node is local.
 */
export function parseNodeInfo(body: unknown, path = ''): NodeInfo {
  const object = path === '' ? bodyObject(body, 'the node info') : objectAt(body, path);
  const nodeId = nodeIdAt(required(object, 'nodeId', path), join(path, 'nodeId'));
  const urlPath = join(path, 'url');
  const url = stringAt(required(object, 'url', path), urlPath);
  if (url.length > NODE_URL_CHARS_LIMIT || !isHttpUrl(url))
    throw invalid(
      urlPath,
      `must be an absolute http(s) URL of at most ${NODE_URL_CHARS_LIMIT} characters`,
    );
  if (object.pid === undefined) return { nodeId, url };
  return { nodeId, url, pid: integerAt(object.pid, join(path, 'pid'), 0) };
}

/**
 * A node's entry in a stored or pushed ring. Looser than a heartbeat on the URL (a string within
 * the length limit): the URL was checked when the node registered, and a ring written by an older
 * release must still be readable; one odd entry must never make the whole ring unreadable.
 */
function parseRingNodeInfo(value: unknown, path: string): NodeInfo {
  const object = objectAt(value, path);
  const nodeId = nodeIdAt(required(object, 'nodeId', path), join(path, 'nodeId'));
  const url = stringAt(required(object, 'url', path), join(path, 'url'));
  if (url.length > NODE_URL_CHARS_LIMIT)
    throw invalid(join(path, 'url'), `must be at most ${NODE_URL_CHARS_LIMIT} characters`);
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
 * SLOT_WEIGHT_MIN..SLOT_WEIGHT_MAX; standbys and parked nodes as node ids; the nodes' infos keyed
 * by their own id; the changeId that published it, if any.
 */
export function parseRingConfig(value: unknown, path = ''): RingConfig {
  const object = path === '' ? bodyObject(value, 'the ring') : objectAt(value, path);
  const at = (key: string) => join(path, key);
  const ring: RingConfig = {
    epoch: integerAt(required(object, 'epoch', path), at('epoch'), 0),
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
  if (object.parked !== undefined) ring.parked = nodeIdsAt(object.parked, at('parked'));
  if (object.changeId !== undefined) ring.changeId = changeIdAt(object.changeId, at('changeId'));
  return ring;
}

/**
 * One cached mailbox of a warm batch: every row a conversation of the owner whose id matches its
 * participants, every window message of that conversation, newest first.
 */
function parseMailboxSnapshot(value: unknown, path: string): MailboxSnapshot {
  const object = objectAt(value, path);
  const ownerId = assertUserId(required(object, 'ownerId', path), join(path, 'ownerId'));
  const seen = new Set<string>();
  const conversationsPath = join(path, 'conversations');
  const conversations = arrayAt(required(object, 'conversations', path), conversationsPath).map(
    (entry, index) => {
      const entryPath = `${conversationsPath}[${index}]`;
      const parsed = parseCachedConversation(entry, entryPath, ownerId);
      if (seen.has(parsed.row.conversationId))
        throw invalid(entryPath, `repeats conversation ${parsed.row.conversationId}`);
      seen.add(parsed.row.conversationId);
      return parsed;
    },
  );
  return {
    ownerId,
    version: integerAt(required(object, 'version', path), join(path, 'version'), 0),
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
): MailboxSnapshot['conversations'][number] {
  const object = objectAt(value, path);
  const row = parseConversationRow(required(object, 'row', path), join(path, 'row'), ownerId);
  if (object.window === undefined) return { row };
  return { row, window: parseWindow(object.window, join(path, 'window'), row.conversationId) };
}

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
  return {
    conversationId,
    participants,
    snippet,
    lastUpdatedTimestamp: integerAt(
      required(object, 'lastUpdatedTimestamp', path),
      join(path, 'lastUpdatedTimestamp'),
      0,
    ),
    unreadCount: integerAt(required(object, 'unreadCount', path), join(path, 'unreadCount'), 0),
    version: integerAt(required(object, 'version', path), join(path, 'version'), 0),
  };
}

function parseWindow(value: unknown, path: string, conversationId: string): MailboxMessageWindow {
  const object = objectAt(value, path);
  const messagesPath = join(path, 'messages');
  let newer: MailboxMessage | undefined;
  const messages = arrayAt(required(object, 'messages', path), messagesPath).map((entry, index) => {
    const messagePath = `${messagesPath}[${index}]`;
    const message: MailboxMessage = {
      ...parseMessage(entry, messagePath),
      version: integerAt(
        required(entry as Record<string, unknown>, 'version', messagePath),
        join(messagePath, 'version'),
        0,
      ),
    };
    if (message.conversationId !== conversationId)
      throw invalid(messagePath, `belongs to ${message.conversationId}, not ${conversationId}`);
    if (newer !== undefined && message.sentAt > newer.sentAt)
      throw invalid(messagePath, 'is newer than the one before it (a window is newest first)');
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
  if (messageId.length === 0 || messageId.length > 64)
    throw invalid(messageIdPath, 'must be 1-64 characters');
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

function isHttpUrl(text: string): boolean {
  if (!URL.canParse(text)) return false;
  const { protocol } = new URL(text);
  return protocol === 'http:' || protocol === 'https:';
}

function join(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

function invalid(path: string, message: string): ChatringError {
  return new ChatringError('INVALID_FIELD', `${path} ${message}`);
}
