/**
 * RFC 6455 frames, the receiving side: a small state machine over a
 * channel's input. It parses headers, checks them as soon as they are
 * complete (before any payload arrives), unmasks payloads in place (in
 * WebAssembly for all but short ones, `framing/_mask.ts`), and tracks the
 * fragmented message in progress. It never sees a socket and calls nothing:
 * the channel pulls frames with `next()`.
 *
 * Input is parsed straight from the caller's view (no copy) while nothing
 * is left over; only the unparsed rest (a partial frame, or frames held
 * while reading is paused) is copied into a buffer of its own, bounded by
 * one frame of at most the message limit plus one read.
 *
 * A violation sets `failure` (the close code: 1002 protocol error, 1009
 * message too big) and `failureReason`; after that `next()` returns false.
 *
 * @module
 */

import { applyMask, maskKey } from "../framing/_mask.ts";
import { MAX_CONTROL_PAYLOAD, OP_BINARY, OP_CONTINUATION, OP_PONG } from "./_frame.ts";

const EMPTY = new Uint8Array(0);
/** The rest buffer goes back to this size once empty, so an idle connection holds little. */
const SMALL = 1024;

/** The power of two (at least SMALL) that holds `bytes`. */
function capacityFor(bytes: number): number {
  let size = SMALL;
  while (size < bytes) size *= 2;
  return size;
}

/**
 * Pulls frames out of a connection's input.
 *
 * @example Usage
 * ```ts
 * import { FrameReader } from "./_frame_reader.ts";
 *
 * const reader = new FrameReader(false);
 * reader.begin(new Uint8Array([0x81, 0x02, 0x68, 0x69]));
 * while (reader.next(1024)) console.log(reader.opcode, reader.payload); // 1 "hi" as bytes
 * reader.end();
 * ```
 */
export class FrameReader {
  /** The last frame's opcode. */
  opcode = 0;
  /** Whether the last frame ends its message (always true for control frames). */
  fin = false;
  /** For a data frame: the opcode of the message it belongs to (text or binary). */
  messageType = 0;
  /** The last frame's payload, unmasked: a view valid until the next `next()` or `end()`. */
  payload: Uint8Array = EMPTY;
  /** The close code of a violation (1002, 1009), or 0. */
  failure = 0;
  /** What the violation was. */
  failureReason = "";

  readonly #masked: boolean;
  #rest: Uint8Array = new Uint8Array(SMALL);
  #restLength = 0;
  #data: Uint8Array = EMPTY;
  #offset = 0;
  #borrowed = false;
  /** The message in progress: its opcode, or 0 between messages. */
  #message = 0;
  #messageBytes = 0;
  /** Passes in a row that ended empty without using the rest buffer. */
  #unused = 0;

  /**
   * Creates a reader.
   *
   * @param masked Whether frames must be masked (a server's reader) or must not be (a client's).
   */
  constructor(masked: boolean) {
    this.#masked = masked;
  }

  /** Bytes received and not yet parsed. */
  get buffered(): number {
    return this.#borrowed ? this.#data.length - this.#offset : this.#restLength;
  }

  /**
   * Starts a parsing pass over the bytes left from before and `bytes`.
   *
   * @param bytes New input (may be empty); a view the caller may reuse after `end()`.
   */
  begin(bytes: Uint8Array): void {
    if (this.#restLength === 0) {
      this.#data = bytes;
      this.#borrowed = true;
    } else {
      const need = this.#restLength + bytes.length;
      if (need > this.#rest.length) {
        const grown = new Uint8Array(capacityFor(need));
        grown.set(this.#rest.subarray(0, this.#restLength));
        this.#rest = grown;
      }
      this.#rest.set(bytes, this.#restLength);
      this.#restLength = need;
      this.#data = this.#rest.subarray(0, need);
      this.#borrowed = false;
      this.#unused = 0;
    }
    this.#offset = 0;
  }

  /**
   * Parses the next complete frame into the fields above.
   *
   * @param maxMessage The most payload bytes one message may hold.
   * @returns `true` for a frame; `false` when more input is needed or after a violation.
   */
  next(maxMessage: number): boolean {
    if (this.failure !== 0) return false;
    const data = this.#data;
    const at = this.#offset;
    const available = data.length - at;
    if (available < 2) return false;
    const b0 = data[at]!;
    const b1 = data[at + 1]!;
    if ((b0 & 0x70) !== 0) {
      return this.#fail(1002, "reserved bits set (no extension was negotiated)");
    }
    const opcode = b0 & 0x0f;
    const fin = (b0 & 0x80) !== 0;
    const masked = (b1 & 0x80) !== 0;
    if (masked !== this.#masked) {
      return this.#fail(
        1002,
        masked ? "a server's frame is masked" : "a client's frame is not masked",
      );
    }
    let length = b1 & 0x7f;
    let header = 2;
    if (length === 126) {
      if (available < 4) return false;
      length = (data[at + 2]! << 8) | data[at + 3]!;
      header = 4;
    } else if (length === 127) {
      if (available < 10) return false;
      const high = ((data[at + 2]! << 24) | (data[at + 3]! << 16) | (data[at + 4]! << 8) |
        data[at + 5]!) >>> 0;
      const low = ((data[at + 6]! << 24) | (data[at + 7]! << 16) | (data[at + 8]! << 8) |
        data[at + 9]!) >>> 0;
      if (high >= 0x8000_0000) {
        return this.#fail(1002, "64-bit payload length with its top bit set");
      }
      length = high * 0x1_0000_0000 + low;
      header = 10;
    }
    if (opcode > OP_BINARY) {
      if (opcode < 0x8 || opcode > OP_PONG) return this.#fail(1002, `unknown opcode ${opcode}`);
      if (!fin) return this.#fail(1002, "fragmented control frame");
      if (length > MAX_CONTROL_PAYLOAD) {
        return this.#fail(1002, `control frame payload of ${length} bytes (at most 125)`);
      }
    } else {
      if (opcode === OP_CONTINUATION && this.#message === 0) {
        return this.#fail(1002, "continuation frame without a message to continue");
      }
      if (opcode !== OP_CONTINUATION && this.#message !== 0) {
        return this.#fail(1002, "new message before the fragmented one ended");
      }
      if (this.#messageBytes + length > maxMessage) {
        return this.#fail(
          1009,
          `message of at least ${
            this.#messageBytes + length
          } bytes exceeds bufferSize ${maxMessage}`,
        );
      }
    }
    if (masked) header += 4;
    if (available < header + length) return false;
    const start = at + header;
    const payload = data.subarray(start, start + length);
    if (masked && length > 0) applyMask(payload, maskKey(data, start - 4));
    this.#offset = start + length;
    this.opcode = opcode;
    this.fin = fin;
    this.payload = payload;
    if (opcode <= OP_BINARY) {
      if (opcode !== OP_CONTINUATION) this.#message = opcode;
      this.messageType = this.#message;
      if (fin) {
        this.#message = 0;
        this.#messageBytes = 0;
      } else this.#messageBytes += length;
    }
    return true;
  }

  /** Ends the pass: keeps the unparsed rest (copied out of the caller's view). */
  end(): void {
    const rest = this.#data.length - this.#offset;
    if (rest === 0) {
      this.#restLength = 0;
      // A large buffer goes after 64 passes in a row that did not need it:
      // a stream of big messages keeps it, an idle connection does not.
      if (this.#rest.length > SMALL && this.#borrowed && ++this.#unused >= 64) {
        this.#rest = new Uint8Array(SMALL);
        this.#unused = 0;
      }
    } else if (this.#borrowed) {
      if (rest > this.#rest.length) this.#rest = new Uint8Array(capacityFor(rest));
      this.#rest.set(this.#data.subarray(this.#offset));
      this.#restLength = rest;
    } else if (this.#offset > 0) {
      this.#rest.copyWithin(0, this.#offset, this.#restLength);
      this.#restLength = rest;
    }
    this.#data = EMPTY;
    this.#offset = 0;
    this.#borrowed = false;
  }

  /** Drops all input and stops parsing (the connection is closing). */
  discard(): void {
    this.#data = EMPTY;
    this.#offset = 0;
    this.#restLength = 0;
    this.#rest = EMPTY;
  }

  #fail(code: number, reason: string): false {
    this.failure = code;
    this.failureReason = reason;
    return false;
  }
}
