/**
 * RFC 6455 frames, the sending side: opcodes and the header writer. The
 * receiving side is `_frame_reader.ts`.
 *
 * ```
 *  byte 0: FIN(1) RSV1-3(3) opcode(4)   byte 1: MASK(1) length(7)
 *  length 126: a 16-bit length follows; 127: a 64-bit length follows
 *  then the 4-byte masking key if MASK, then the payload
 * ```
 *
 * @module
 */

/** A continuation of a fragmented message. */
export const OP_CONTINUATION = 0x0;
/** A text message (UTF-8). */
export const OP_TEXT = 0x1;
/** A binary message. */
export const OP_BINARY = 0x2;
/** The close frame: an optional 2-byte code, then an optional UTF-8 reason. */
export const OP_CLOSE = 0x8;
/** Ping: the peer answers with a pong carrying the same payload. */
export const OP_PING = 0x9;
/** Pong. */
export const OP_PONG = 0xa;

/** Largest payload of a control frame (close, ping, pong). */
export const MAX_CONTROL_PAYLOAD = 125;
/** Longest frame header: 2 bytes, a 64-bit length, a masking key. */
export const MAX_HEADER = 14;

/**
 * Writes a final frame's header for a payload of `length` bytes into `out`
 * (at least {@linkcode MAX_HEADER} bytes), with the masking key's 4 bytes
 * copied from `key` when given.
 *
 * @param out Where the header goes.
 * @param opcode The frame's opcode.
 * @param length The payload length.
 * @param key The masking key (a client's frames), or `null`.
 * @returns The header's length.
 */
export function writeHeader(
  out: Uint8Array,
  opcode: number,
  length: number,
  key: Uint8Array | null,
): number {
  out[0] = 0x80 | opcode;
  const masked = key === null ? 0 : 0x80;
  let at: number;
  if (length < 126) {
    out[1] = masked | length;
    at = 2;
  } else if (length < 0x10000) {
    out[1] = masked | 126;
    out[2] = length >>> 8;
    out[3] = length & 0xff;
    at = 4;
  } else {
    out[1] = masked | 127;
    const high = Math.floor(length / 0x1_0000_0000);
    const low = length >>> 0;
    out[2] = 0, out[3] = 0;
    out[4] = (high >>> 8) & 0xff, out[5] = high & 0xff;
    out[6] = low >>> 24, out[7] = (low >>> 16) & 0xff, out[8] = (low >>> 8) & 0xff;
    out[9] = low & 0xff;
    at = 10;
  }
  if (key !== null) {
    out.set(key.subarray(0, 4), at);
    at += 4;
  }
  return at;
}

/**
 * The payload of a close frame: the code (big-endian), then the reason.
 *
 * @param code The status code, or 0 for a close frame without one.
 * @param reason The reason (at most 123 bytes of UTF-8).
 * @returns The payload.
 */
export function closePayload(code: number, reason: string): Uint8Array {
  if (code === 0) return new Uint8Array(0);
  const text = new TextEncoder().encode(reason);
  const payload = new Uint8Array(2 + text.length);
  payload[0] = code >>> 8;
  payload[1] = code & 0xff;
  payload.set(text, 2);
  return payload;
}

/**
 * Whether a peer may send `code` in a close frame (RFC 6455 section 7.4):
 * 1000-1003, 1007-1014, and 3000-4999 (registered and private codes).
 *
 * @param code The code received.
 * @returns Whether it is valid on the wire.
 */
export function validCloseCode(code: number): boolean {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
    (code >= 3000 && code <= 4999);
}

/**
 * Checks what `close(code, reason)` is asked to send.
 *
 * @param code The status code.
 * @param reason The reason.
 * @throws {RangeError} For a code not allowed in a close frame (1002-1007
 * and 1010 belong to the protocol), or a reason over 123 bytes of UTF-8.
 */
export function checkCloseToSend(code: number, reason: string): void {
  if (!validCloseCode(code) || (code >= 1002 && code <= 1007) || code === 1010) {
    throw new RangeError(
      `Close code ${code} cannot be sent: use 1000, 1001, 1008, 1011 or 3000-4999`,
    );
  }
  if (new TextEncoder().encode(reason).length > 123) {
    throw new RangeError("A close reason holds at most 123 bytes of UTF-8");
  }
}
