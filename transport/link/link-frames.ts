import { ChatringError } from '../../protocol/index.js';

/**
 * The member link's wire format: length-prefixed binary frames on one TCP connection, many
 * requests in flight at once, answers matched by id (as Cassandra's native protocol matches
 * stream ids). Every number is big-endian.
 *
 *     frame    = length:u32 id:u32 payload        (length counts id and payload)
 *     request  = method:u8 pathLength:u16 path headerCount:u8 (nameLength:u8 name valueLength:u16 value)* body
 *     answer   = status:u16 body
 *
 * Paths, header names and values are latin1 (what HTTP carries in its request line and headers);
 * a body is the bytes as they were sent (JSON text). A frame longer than the reader's limit ends
 * the link: the other side is not a chatring member speaking this format.
 */

/** Where a member opens a link (an HTTP upgrade), and the protocol it asks for. */
export const MEMBER_LINK_PATH = '/internal/v1/link';
export const MEMBER_LINK_PROTOCOL = 'chatring-link/1';
/**
 * A request the link server answers itself (204, nothing logged): a caller that has heard nothing
 * from its peer for a while asks it, to tell a slow peer (which answers) from a gone one. A server
 * of an older release answers 404, which proves as much.
 */
export const LINK_PROBE_PATH = '/internal/v1/link/probe';

export const LINK_METHODS = ['GET', 'POST'] as const;
export type LinkMethod = (typeof LINK_METHODS)[number];

export interface LinkRequest {
  method: LinkMethod;
  /** Path and query, as an HTTP request line carries them. */
  path: string;
  /** Lower-case names. */
  headers: Record<string, string>;
  /** The body's bytes; empty when there is none. */
  body: Buffer;
}

export interface LinkAnswer {
  status: number;
  body: Buffer;
}

/** Bytes of `length` and `id`. */
const FRAME_HEAD_BYTES = 8;
const PATH_BYTES_MAX = 0xffff;
const HEADER_NAME_BYTES_MAX = 0xff;
const HEADER_VALUE_BYTES_MAX = 0xffff;
const HEADERS_MAX = 0xff;

/** A request as the bytes of one frame (head included). */
export function encodeRequest(id: number, request: LinkRequest): Buffer {
  const entries = Object.entries(request.headers);
  if (entries.length > HEADERS_MAX) throw linkError(`more than ${HEADERS_MAX} headers`);
  const pathBytes = Buffer.byteLength(request.path, 'latin1');
  if (pathBytes > PATH_BYTES_MAX) throw linkError(`a path longer than ${PATH_BYTES_MAX} bytes`);
  let length = FRAME_HEAD_BYTES + 1 + 2 + pathBytes + 1;
  for (const [name, value] of entries) {
    if (name.length > HEADER_NAME_BYTES_MAX || value.length > HEADER_VALUE_BYTES_MAX)
      throw linkError(`header ${name.slice(0, 64)} is too long`);
    length += 1 + name.length + 2 + value.length;
  }
  length += request.body.length;
  const frame = Buffer.allocUnsafe(length);
  frame.writeUInt32BE(length - 4, 0);
  frame.writeUInt32BE(id, 4);
  let at = FRAME_HEAD_BYTES;
  frame[at] = LINK_METHODS.indexOf(request.method);
  frame.writeUInt16BE(pathBytes, at + 1);
  at += 3 + frame.write(request.path, at + 3, 'latin1');
  frame[at] = entries.length;
  at += 1;
  for (const [name, value] of entries) {
    frame[at] = name.length;
    at += 1 + frame.write(name, at + 1, 'latin1');
    frame.writeUInt16BE(value.length, at);
    at += 2 + frame.write(value, at + 2, 'latin1');
  }
  request.body.copy(frame, at);
  return frame;
}

/** A request frame's payload (after `length` and `id`); throws on a malformed one. */
export function decodeRequest(payload: Buffer): LinkRequest {
  const method = LINK_METHODS[payload[0] ?? 0xff];
  if (method === undefined || payload.length < 4) throw linkError('a malformed request frame');
  let at = 1;
  const pathBytes = payload.readUInt16BE(at);
  at += 2;
  const path = payload.toString('latin1', at, at + pathBytes);
  at += pathBytes;
  const headerCount = payload[at];
  if (headerCount === undefined || path.length !== pathBytes)
    throw linkError('a malformed request frame');
  at += 1;
  const headers: Record<string, string> = {};
  for (let index = 0; index < headerCount; index += 1) {
    const nameBytes = payload[at];
    if (nameBytes === undefined || at + 1 + nameBytes + 2 > payload.length)
      throw linkError('a malformed header in a request frame');
    const name = payload.toString('latin1', at + 1, at + 1 + nameBytes);
    at += 1 + nameBytes;
    const valueBytes = payload.readUInt16BE(at);
    if (at + 2 + valueBytes > payload.length)
      throw linkError('a malformed header in a request frame');
    headers[name] = payload.toString('latin1', at + 2, at + 2 + valueBytes);
    at += 2 + valueBytes;
  }
  return { method, path, headers, body: payload.subarray(at) };
}

/** An answer as the bytes of one frame's head and its body (written together, not copied). */
export function encodeAnswer(id: number, status: number, body: Buffer): [Buffer, Buffer] {
  const head = Buffer.allocUnsafe(FRAME_HEAD_BYTES + 2);
  head.writeUInt32BE(4 + 2 + body.length, 0);
  head.writeUInt32BE(id, 4);
  head.writeUInt16BE(status, 8);
  return [head, body];
}

/** An answer frame's payload (after `length` and `id`). */
export function decodeAnswer(payload: Buffer): LinkAnswer {
  if (payload.length < 2) throw linkError('a malformed answer frame');
  return { status: payload.readUInt16BE(0), body: payload.subarray(2) };
}

/**
 * Cuts a byte stream into frames: `push` each chunk as it arrives, `onFrame` gets each whole
 * frame's id and payload (a view into the received bytes: copy what outlives the call).
 */
export class FrameReader {
  readonly #payloadBytesMax: number;
  readonly #onFrame: (id: number, payload: Buffer) => void;
  /** Chunks of an incomplete frame, kept apart until it is whole (one copy, not one per chunk). */
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  /** Bytes the incomplete frame needs in all (0: its head has not arrived yet). */
  #needed = 0;

  constructor(payloadBytesMax: number, onFrame: (id: number, payload: Buffer) => void) {
    this.#payloadBytesMax = payloadBytesMax;
    this.#onFrame = onFrame;
  }

  /** Throws (and reads no further) on a frame past the limit. */
  push(chunk: Buffer): void {
    let bytes = chunk;
    if (this.#pendingBytes > 0) {
      this.#pending.push(chunk);
      this.#pendingBytes += chunk.length;
      if (this.#pendingBytes < Math.max(this.#needed, FRAME_HEAD_BYTES)) return;
      bytes = Buffer.concat(this.#pending, this.#pendingBytes);
      this.#pending = [];
      this.#pendingBytes = 0;
    }
    let at = 0;
    this.#needed = 0;
    while (bytes.length - at >= FRAME_HEAD_BYTES) {
      const length = bytes.readUInt32BE(at);
      if (length < 4 || length - 4 > this.#payloadBytesMax)
        throw linkError(`a frame of ${length} bytes (at most ${this.#payloadBytesMax + 4})`);
      if (bytes.length - at < 4 + length) {
        this.#needed = 4 + length;
        break;
      }
      const payloadAt = at + FRAME_HEAD_BYTES;
      this.#onFrame(bytes.readUInt32BE(at + 4), bytes.subarray(payloadAt, at + 4 + length));
      at += 4 + length;
    }
    if (at < bytes.length) {
      this.#pending.push(bytes.subarray(at));
      this.#pendingBytes = bytes.length - at;
    }
  }

  /** Bytes received that do not make a whole frame yet. */
  get pendingBytes(): number {
    return this.#pendingBytes;
  }
}

function linkError(what: string): ChatringError {
  return new ChatringError('INTERNAL', `member link: ${what}`);
}
