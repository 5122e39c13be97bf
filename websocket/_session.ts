/**
 * An open WebSocket's protocol state machine, apart from the channel's
 * lifecycle and callbacks: frames in (through the `FrameReader` and the
 * `MessageAssembler`), control frames answered, the closing handshake, and
 * whole frames out (masked for a client). It calls its channel through a
 * small host interface of symbol-keyed methods, as the `Deframer` does.
 *
 * ```
 * open ──close()──> closing ──peer's close frame──> done
 *   │                  └──────closeTimeout (channel)──> done
 *   ├──peer's close frame (echoed)──────────────────> done
 *   └──violation (1002, 1007, 1009: close frame sent)──> done
 * ```
 *
 * @module
 */

import { applyMask, maskKey } from "../framing/_mask.ts";
import {
  closePayload,
  MAX_HEADER,
  OP_BINARY,
  OP_CLOSE,
  OP_PING,
  OP_PONG,
  OP_TEXT,
  validCloseCode,
  writeHeader,
} from "./_frame.ts";
import { FrameReader } from "./_frame_reader.ts";
import { MessageAssembler } from "./_message_assembler.ts";

/** `host[sendFrame](bytes)`: queue a whole frame on the connection. */
export const sendFrame: unique symbol = Symbol("pants.ws.sendFrame");
/** `host[messageReady](message)`: a whole message, for `onRead` (`readDelimiter` null). */
export const messageReady: unique symbol = Symbol("pants.ws.messageReady");
/** `host[payloadReady](payload)`: a data payload, for the channel's `readDelimiter`. */
export const payloadReady: unique symbol = Symbol("pants.ws.payloadReady");
/** `host[pongReady](payload)`: a pong, for `onPong`. */
export const pongReady: unique symbol = Symbol("pants.ws.pongReady");
/** `host[sessionDone]()`: the session ended: close the connection (after a flush). */
export const sessionDone: unique symbol = Symbol("pants.ws.sessionDone");
/** `host[mayDeliver]()`: whether frames may be handled now (not paused, connected). */
export const mayDeliver: unique symbol = Symbol("pants.ws.mayDeliver");

/** The channel, as its session sees it. */
export interface SessionHost {
  /** Queues a whole frame. */
  [sendFrame](frame: Uint8Array): void;
  /** Delivers a message. */
  [messageReady](message: string | Uint8Array): void;
  /** Hands a data payload to the channel's framing. */
  [payloadReady](payload: Uint8Array): void;
  /** Delivers a pong's payload. */
  [pongReady](payload: Uint8Array): void;
  /** Closes the connection; the session is done. */
  [sessionDone](): void;
  /** Whether frames may be handled now. */
  [mayDeliver](): boolean;
}

const EMPTY = new Uint8Array(0);

/** Random bytes for clients' masking keys, drawn 4 at a time and refilled when used up. */
const keyPool = new Uint8Array(4096);
let keyAt = keyPool.length;

function nextMaskKey(): Uint8Array {
  if (keyAt === keyPool.length) {
    crypto.getRandomValues(keyPool);
    keyAt = 0;
  }
  keyAt += 4;
  return keyPool.subarray(keyAt - 4, keyAt);
}

/**
 * One open WebSocket's protocol state.
 *
 * @example Usage
 * ```ts ignore
 * const session = new Session(channel, false, leftover);
 * session.pump(bytes, 1 << 20, false);
 * ```
 */
export class Session {
  /** Where the session is. */
  state: "open" | "closing" | "done" = "open";
  /** The close code for `onClose`: received, sent on failure, or 1006. */
  code = 1006;
  /** The close reason for `onClose`. */
  reason = "";
  /** Whether a ping is unanswered (the heartbeat's question). */
  awaitingPong = false;
  readonly #host: SessionHost;
  readonly #client: boolean;
  readonly #frames: FrameReader;
  readonly #messages = new MessageAssembler();
  #closeSent = false;
  readonly #header = new Uint8Array(MAX_HEADER);
  readonly #header2 = this.#header.subarray(0, 2);
  readonly #header4 = this.#header.subarray(0, 4);

  /**
   * Starts a session on an upgraded connection.
   *
   * @param host The channel.
   * @param client Whether this end is the client (masks its frames; input must be unmasked).
   * @param rest Bytes that followed the upgrade's head.
   */
  constructor(host: SessionHost, client: boolean, rest: Uint8Array) {
    this.#host = host;
    this.#client = client;
    this.#frames = new FrameReader(!client);
    if (rest.length > 0) {
      this.#frames.begin(rest);
      this.#frames.end();
    }
  }

  /** Input received and not handled yet (held while paused). */
  get buffered(): number {
    return this.#frames.buffered;
  }

  /**
   * Handles input: new bytes, or (empty) what was held while paused.
   *
   * @param bytes The bytes read.
   * @param maxMessage The largest message (`bufferSize`).
   * @param framed Whether payloads go to a `readDelimiter` instead of being assembled.
   */
  pump(bytes: Uint8Array, maxMessage: number, framed: boolean): void {
    if (this.state === "done") return;
    const frames = this.#frames;
    const host = this.#host;
    frames.begin(bytes);
    while (host[mayDeliver]() && frames.next(maxMessage)) {
      const opcode = frames.opcode;
      if (opcode <= OP_BINARY) {
        if (this.state === "open") this.#data(frames, framed);
      } else if (opcode === OP_PING) {
        if (this.state === "open") this.control(OP_PONG, frames.payload);
      } else if (opcode === OP_PONG) {
        this.awaitingPong = false;
        host[pongReady](frames.payload);
      } else this.#closeReceived(frames.payload);
      if ((this.state as Session["state"]) === "done") break;
    }
    frames.end();
    if (frames.failure !== 0) this.fail(frames.failure, frames.failureReason);
  }

  #data(frames: FrameReader, framed: boolean): void {
    const payload = frames.payload;
    const text = frames.messageType === OP_TEXT;
    const messages = this.#messages;
    if (framed) {
      if (text && !messages.validate(payload, frames.fin)) return this.fail(1007, messages.failure);
      return this.#host[payloadReady](payload);
    }
    const message = messages.add(payload, frames.fin, text);
    if (message !== null) this.#host[messageReady](message);
    else if (messages.failure !== "") this.fail(1007, messages.failure);
  }

  #closeReceived(payload: Uint8Array): void {
    let code = 1005;
    let reason = "";
    if (payload.length === 1) return this.fail(1002, "close frame with a 1-byte payload");
    if (payload.length >= 2) {
      code = (payload[0]! << 8) | payload[1]!;
      if (!validCloseCode(code)) return this.fail(1002, `invalid close code ${code}`);
      const text = this.#messages.closeReason(payload);
      if (text === null) return this.fail(1007, this.#messages.failure);
      reason = text;
    }
    if (!this.#closeSent) {
      this.control(OP_CLOSE, payload.length >= 2 ? payload.subarray(0, 2) : EMPTY);
    }
    this.#end(code, reason);
  }

  /**
   * A whole final frame, masked with a fresh key for a client.
   *
   * @param opcode The opcode.
   * @param payload The payload (copied).
   * @returns The frame.
   */
  frame(opcode: number, payload: Uint8Array): Uint8Array {
    const key = this.#client ? nextMaskKey() : null;
    const out = new Uint8Array(MAX_HEADER + payload.length);
    const at = writeHeader(out, opcode, payload.length, key);
    out.set(payload, at);
    if (key !== null && payload.length > 0) {
      applyMask(out.subarray(at, at + payload.length), maskKey(key));
    }
    return out.subarray(0, at + payload.length);
  }

  /**
   * The header of an unmasked (server) final frame, in a buffer reused by
   * the next call: the payload is queued right after it.
   *
   * @param opcode The opcode.
   * @param length The payload's length.
   * @returns The header.
   */
  header(opcode: number, length: number): Uint8Array {
    const size = writeHeader(this.#header, opcode, length, null);
    return size === 2 ? this.#header2 : size === 4 ? this.#header4 : this.#header.subarray(0, size);
  }

  /**
   * Sends a control frame (or any frame that fits in one call).
   *
   * @param opcode The opcode.
   * @param payload The payload.
   */
  control(opcode: number, payload: Uint8Array): void {
    this.#host[sendFrame](this.frame(opcode, payload));
  }

  /**
   * One heartbeat: pings, unless the previous ping is still unanswered.
   *
   * @returns `false` when the peer is taken for dead (the previous ping got no pong).
   */
  beat(): boolean {
    if (this.state !== "open") return true;
    if (this.awaitingPong) return false;
    this.awaitingPong = true;
    this.control(OP_PING, EMPTY);
    return true;
  }

  /**
   * Starts the closing handshake: sends a close frame; the peer's reply ends it.
   *
   * @param code The status code.
   * @param reason The reason.
   */
  close(code: number, reason: string): void {
    if (this.state !== "open") return;
    this.#sendClose(code, reason);
    this.state = "closing";
  }

  /**
   * Sends a close frame without waiting for the reply (the connection is
   * closing anyway: `engine.stop()`, a server's drain).
   *
   * @param code The status code.
   * @param reason The reason.
   */
  goingAway(code: number, reason: string): void {
    if (this.state === "open") this.#sendClose(code, reason);
  }

  /**
   * Fails the connection: a close frame with `code` (unless one was sent),
   * then the connection closes.
   *
   * @param code 1002, 1007, 1009, …
   * @param reason Why.
   */
  fail(code: number, reason: string): void {
    if (this.state === "done") return;
    if (!this.#closeSent) this.#sendClose(code, reason.slice(0, 120));
    this.#end(code, reason);
  }

  /** The connection is gone: drop held input. */
  discard(): void {
    this.state = "done";
    this.#frames.discard();
  }

  #sendClose(code: number, reason: string): void {
    this.#closeSent = true;
    this.code = code;
    this.reason = reason;
    this.control(OP_CLOSE, closePayload(code, reason));
  }

  #end(code: number, reason: string): void {
    this.code = code;
    this.reason = reason;
    this.state = "done";
    this.#frames.discard();
    this.#host[sessionDone]();
  }
}
