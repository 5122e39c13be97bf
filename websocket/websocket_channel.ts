/**
 * `WebSocketChannel`: a WebSocket (RFC 6455) connection on a Pants stream.
 *
 * It is a `Stream` whose bytes are WebSocket frames: the HTTP/1.1 upgrade
 * first (`_upgrade.ts`), then frames pulled by a `FrameReader`, messages
 * delivered to `onRead`, control frames answered here. Everything a stream
 * has applies: the engine, a server's limits, timeouts, `pauseReading()`,
 * TLS, the send queue and its back-pressure.
 *
 * @module
 */

import { applyMask, maskKey } from "../framing/_mask.ts";
import { utf8Length } from "../framing/_utf8.ts";
import { statistics } from "../engine/stats.ts";
import type { Timer } from "../engine/timer.ts";
import type { AddressInput } from "../transport/address.ts";
import type { Transport } from "../transport/_socket.ts";
import type { ChannelOptions, CloseOptions } from "../channels/channel.ts";
import { notify, reportError } from "../channels/channel.ts";
import { ChannelClosedError, type StreamBufferOverflow } from "../channels/errors.ts";
import { Stream } from "../channels/stream.ts";
import type { StreamServer } from "../channels/buffered_channel.ts";
import type { WriteOptions } from "../channels/write_options.ts";
import { bytesRead } from "../channels/_reader.ts";
import { adopt, announce, begin, deframer, phase, timeouts, writer } from "../channels/_symbols.ts";
import {
  closePayload,
  MAX_CONTROL_PAYLOAD,
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
import { errorResponse, headEnd, MAX_HEAD, newKey, renderResponse } from "./_handshake.ts";
import { clientRequest, judgeRequest, judgeResponse, switchingProtocols } from "./_upgrade.ts";
import { WebSocketHandshakeError } from "./errors.ts";
import type {
  HandshakeDecision,
  WebSocketConnectOptions,
  WebSocketServerSettings,
} from "./websocket_options.ts";

/** Where a WebSocket is: upgrading, answering a plain HTTP request, open, closing, or done. */
type Phase = "upgrade" | "http" | "open" | "closing" | "done";

const EMPTY = new Uint8Array(0);
const ENCODER = new TextEncoder();
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

/** The default message size limit (`bufferSize`). */
const MAX_MESSAGE = 1024 * 1024;

/**
 * A WebSocket connection: accepted by a `WebSocketServer`, or a client made
 * with `connect("ws://…")`. Subclass it and override the `on…` callbacks.
 *
 * - `onConnect()` runs once the upgrade succeeded; `this.request` is the
 *   upgrade request (path, query, headers), `this.protocol` the subprotocol.
 * - `onRead(message)`: with `readDelimiter` `null` (the default) once per
 *   message, a `string` for text and a `Uint8Array` for binary (a view valid
 *   only during the call). Any other `readDelimiter` cuts the concatenated
 *   payloads into frames exactly as on a `Stream`.
 * - `write(string | Uint8Array)` sends one text or binary message.
 * - `close(code, reason)` starts the closing handshake; `onClose(code,
 *   reason)` gets the code received (or sent, when Pants failed the
 *   connection; 1006 when it ended without a close frame).
 *
 * `bufferSize` is the largest message accepted (default 1 MiB): a larger one
 * closes the connection with 1009 as soon as its frame header arrives.
 * Protocol violations close with 1002, invalid UTF-8 in text with 1007; they
 * close only that connection.
 *
 * @example An echo server
 * ```ts
 * import { engine, WebSocketChannel, WebSocketServer } from "@pants/pants";
 *
 * class Echo extends WebSocketChannel {
 *   override onRead(message: string | Uint8Array): void {
 *     this.write(message);
 *   }
 * }
 * new WebSocketServer(Echo).listen(8080);
 * engine.start();
 * ```
 */
export class WebSocketChannel extends Stream {
  #phase: Phase = "upgrade";
  #client: { url: URL; options: WebSocketConnectOptions; key: string } | null = null;
  #settings: WebSocketServerSettings | null = null;
  #request: Request | null = null;
  #protocol = "";
  #head: Uint8Array = EMPTY;
  #headLength = 0;
  #upgradeTimeout = 0;
  #timer: Timer | null = null;
  #heartbeat = 0;
  #heartbeatTimer: Timer | null = null;
  #awaitingPong = false;
  #frames: FrameReader | null = null;
  #code = 1006;
  #reason = "";
  #closeSent = false;
  #early: Uint8Array[] = [];
  readonly #header = new Uint8Array(MAX_HEADER);
  readonly #header2 = this.#header.subarray(0, 2);
  readonly #header4 = this.#header.subarray(0, 4);
  // The message in progress, when fragmented (readDelimiter null).
  #parts: Uint8Array[] = [];
  #partsLength = 0;
  #text = "";
  readonly #decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
  readonly #streamDecoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

  /**
   * How long the closing handshake may take (ms): after `close(code)`, the
   * connection is closed at the latest this long after the close frame, reply
   * or not; also bounds flushing before close after a protocol error.
   *
   * @default {5000}
   */
  closeTimeout = 5000;

  /**
   * Creates a WebSocket channel; `connect()` it, or let a `WebSocketServer` accept it.
   *
   * @param options The engine to join.
   */
  constructor(options: ChannelOptions = {}) {
    super(options);
    this.bufferSize = MAX_MESSAGE;
  }

  /** The upgrade request: the one received (server) or sent (client); `null` before it. */
  get request(): Request | null {
    return this.#request;
  }

  /** The subprotocol agreed in the upgrade, `""` for none. */
  get protocol(): string {
    return this.#protocol;
  }

  /** Whether the upgrade is done and no close frame was sent or received. */
  get open(): boolean {
    return this.#phase === "open";
  }

  /**
   * Heartbeat interval (ms), 0 for none: every interval a ping is sent, and
   * a peer that did not answer the previous one with a pong is taken for dead
   * and the connection closed (`onClose` gets 1006).
   *
   * @default {0}
   * @throws {RangeError} At assignment, for a negative or non-finite value.
   */
  get heartbeat(): number {
    return this.#heartbeat;
  }
  set heartbeat(ms: number) {
    if (!Number.isFinite(ms) || ms < 0) {
      throw new RangeError(`heartbeat must be a finite number of ms >= 0, not ${ms}`);
    }
    this.#heartbeat = ms;
    this.#heartbeatTimer?.cancel();
    this.#heartbeatTimer = null;
    if (this.#phase === "open") this.#startHeartbeat();
  }

  // --- callbacks -----------------------------------------------------------

  /**
   * Called with a received message (`readDelimiter` `null`), or with each
   * frame the `readDelimiter` cuts from the messages' payloads.
   *
   * @param _message A `string` (text message), `Uint8Array` (binary message,
   * valid only during the call), or a frame as on a `Stream`.
   */
  // deno-lint-ignore no-explicit-any
  override onRead(..._message: any[]): void {}

  /**
   * Called when the connection is gone, once. `code` is the status of the
   * peer's close frame (1005 when it carried none), the one Pants sent when
   * it failed the connection (1002 protocol error, 1007 invalid UTF-8, 1009
   * message too big), or 1006 when the connection ended without a close
   * frame. Both arguments are always given.
   *
   * @param _code The close status code.
   * @param _reason The close reason.
   */
  override onClose(_code?: number, _reason?: string): void {}

  /**
   * Called with the payload of a pong (the answer to `ping()`).
   *
   * @param _payload The payload, valid only during the call.
   */
  onPong(_payload: Uint8Array): void {}

  /**
   * Server: decides an upgrade request before it is accepted. The default
   * picks the first of the server's `protocols` the client offered, or none.
   *
   * @param request The upgrade request (also `this.request`).
   * @returns A subprotocol the client offered, `null` for none, or a
   * `Response` refusing the upgrade.
   */
  onHandshake(request: Request): HandshakeDecision {
    const offered = (request.headers.get("sec-websocket-protocol") ?? "").split(",")
      .map((p) => p.trim());
    return this.#settings?.protocols.find((p) => offered.includes(p)) ?? null;
  }

  /**
   * Server: answers a plain HTTP request (no upgrade) on the same port. Pants
   * writes the response as HTTP/1.1 (status, headers, `Content-Length`, the
   * body) and closes the connection. This serves a page or a health check;
   * it is not a web server (no keep-alive, no request bodies: use
   * `Deno.serve` for that). The default answers `426 Upgrade Required`.
   *
   * @param _request The request.
   * @returns The response.
   */
  onRequest(_request: Request): Response | Promise<Response> {
    return new Response("This is a WebSocket endpoint.\n", {
      status: 426,
      headers: { upgrade: "websocket", "content-type": "text/plain; charset=utf-8" },
    });
  }

  /**
   * Called when a `readDelimiter` frame grows past `bufferSize`. The default
   * closes with 1009.
   *
   * @param error How much was buffered, and the limit.
   */
  override onOverflowError(error: StreamBufferOverflow): void {
    this.#fail(1009, error.message);
  }

  /** Called when the peer half-closed TCP; the default closes (1006: no close frame came). */
  override onEnd(): void {
    super.close();
  }

  // --- the Stream's hooks ----------------------------------------------------

  /** @ignore */
  override [adopt](transport: Transport, server: StreamServer | null): void {
    const settings = server as unknown as Partial<WebSocketServerSettings> | null;
    if (settings?.protocols !== undefined) this.#settings = settings as WebSocketServerSettings;
    super[adopt](transport, server);
  }

  /** @ignore */
  override [begin](secure = false, handshakeTimeout = 0): void {
    this.#upgradeTimeout = handshakeTimeout;
    super[begin](secure, handshakeTimeout);
  }

  /** @ignore */
  override [announce](callback: () => void): void {
    if (callback === this.onConnect && this.#phase === "upgrade") return this.#startUpgrade();
    if (callback !== this.onClose) return notify(this, callback);
    this.#stopTimers();
    this.#frames?.discard();
    const opened = this.#phase === "open" || this.#phase === "closing" || this.#phase === "done";
    this.#phase = "done";
    if (opened || this.#client !== null) notify(this, this.onClose, this.#code, this.#reason);
  }

  /** @ignore */
  override [bytesRead](bytes: Uint8Array): void {
    if (this[phase] !== "connected") return;
    this.engine[statistics].bytesIn += bytes.length;
    this[timeouts]?.activity();
    if (this.#phase === "upgrade") this.#upgradeInput(bytes);
    else if (this.#phase === "open" || this.#phase === "closing") this.#pump(bytes);
    if (this[phase] === "connected") this[writer].flush();
  }

  /** Delivers held messages (in the next engine iteration) and reads again. */
  override resumeReading(): void {
    super.resumeReading();
    this.engine.callback(() => {
      if (this[phase] === "connected" && this.#frames !== null) this.#pump(EMPTY);
      if (this[phase] === "connected") this[writer].flush();
    });
  }

  // --- the upgrade ------------------------------------------------------------

  #startUpgrade(): void {
    const client = this.#client;
    const limit = client === null
      ? this.#upgradeTimeout
      : client.options.handshakeTimeout ?? 10_000;
    if (limit > 0) this.#timer = this.engine.defer(limit, () => this.#upgradeTimedOut());
    if (client === null) return;
    const protocols = client.options.protocols ?? [];
    const { request, bytes } = clientRequest(
      client.url,
      client.key,
      protocols,
      client.options.headers,
    );
    this.#request = request;
    super.write(bytes);
  }

  #upgradeTimedOut(): void {
    this.#timer = null;
    if (this.#phase !== "upgrade") return;
    if (this.#client !== null) return this.#clientFailed("no answer within handshakeTimeout", null);
    super.close({ flush: false });
  }

  #upgradeInput(bytes: Uint8Array): void {
    const room = MAX_HEAD - this.#headLength;
    if (this.#head.length === 0) this.#head = new Uint8Array(MAX_HEAD);
    const taken = Math.min(room, bytes.length);
    const from = this.#headLength - 3;
    this.#head.set(bytes.subarray(0, taken), this.#headLength);
    this.#headLength += taken;
    const end = headEnd(this.#head.subarray(0, this.#headLength), from);
    if (end < 0) {
      if (this.#headLength < MAX_HEAD) return;
      if (this.#client !== null) return this.#clientFailed("response head over 8 KiB", null);
      return this.#refuse(errorResponse(431, "Request head over 8 KiB"));
    }
    const head = this.#head.subarray(0, end);
    // Bytes after the head: frames the peer sent right after it.
    const rest = bytes.subarray(taken - (this.#headLength - end));
    this.#head = EMPTY;
    this.#headLength = 0;
    if (this.#client !== null) return this.#clientUpgraded(head, rest);
    const verdict = judgeRequest(head, this.secure, this.#settings);
    if (verdict.kind === "refuse") return this.#refuse(verdict.response);
    this.#request = verdict.request;
    if (verdict.kind === "http") return this.#answerHttp(verdict.request);
    let decision: HandshakeDecision;
    try {
      decision = this.onHandshake(verdict.request);
    } catch (error) {
      reportError(this, error);
      return this.#refuse(errorResponse(500, "Internal server error"));
    }
    if (decision instanceof Response) return this.#respond(decision, false);
    if (decision !== null && !verdict.offered.includes(decision)) {
      reportError(this, new TypeError(`onHandshake chose subprotocol ${decision}, not offered`));
      return this.#refuse(errorResponse(500, "Internal server error"));
    }
    super.write(switchingProtocols(verdict.key, decision));
    this.#protocol = decision ?? "";
    this.#opened(true, rest);
  }

  #clientUpgraded(head: Uint8Array, rest: Uint8Array): void {
    const client = this.#client!;
    const verdict = judgeResponse(head, client.key, client.options.protocols ?? []);
    if ("error" in verdict) return this.#clientFailed(verdict.error, verdict.status);
    this.#protocol = verdict.protocol;
    this.#opened(false, rest);
  }

  #clientFailed(reason: string, status: number | null): void {
    const error = new WebSocketHandshakeError(
      `WebSocket upgrade to ${this.#client!.url.href} failed: ${reason}`,
      status,
    );
    notify(this, this.onConnectError, error);
    if (!this.closed) super.close({ flush: false });
  }

  #opened(server: boolean, rest: Uint8Array): void {
    this.#stopTimers();
    this.#phase = "open";
    this.#frames = new FrameReader(server);
    if (rest.length > 0) {
      this.#frames.begin(rest);
      this.#frames.end();
    }
    for (const frame of this.#early) super.write(frame);
    this.#early = [];
    this.#startHeartbeat();
    notify(this, this.onConnect);
    if (this.#phase === "open" && this.#frames.buffered > 0) this.#pump(EMPTY);
  }

  #refuse(response: Uint8Array): void {
    this.#phase = "http";
    super.write(response);
    super.close();
  }

  #answerHttp(request: Request): void {
    this.#phase = "http";
    let answer: Response | Promise<Response>;
    try {
      answer = this.onRequest(request);
    } catch (error) {
      reportError(this, error);
      return this.#refuse(errorResponse(500, "Internal server error"));
    }
    if (answer instanceof Response) return this.#respond(answer, request.method === "HEAD");
    Promise.resolve(answer).then(
      (response) => this.#respond(response, request.method === "HEAD"),
      (error) => {
        if (this.closed) return;
        reportError(this, error);
        this.#refuse(errorResponse(500, "Internal server error"));
      },
    );
  }

  #respond(response: Response, head: boolean): void {
    this.#phase = "http";
    renderResponse(response, head).then((bytes) => {
      if (this.closed) return;
      super.write(bytes);
      super.close();
    }, (error) => {
      if (this.closed) return;
      reportError(this, error);
      this.#refuse(errorResponse(500, "Internal server error"));
    });
  }

  // --- frames in ----------------------------------------------------------------

  #pump(bytes: Uint8Array): void {
    const frames = this.#frames!;
    const input = this[deframer];
    frames.begin(bytes);
    while (!input.held && this[phase] === "connected" && frames.next(this.bufferSize)) {
      const opcode = frames.opcode;
      if (opcode <= OP_BINARY) {
        if (this.#phase === "open") this.#data(frames);
      } else if (opcode === OP_PING) {
        if (this.#phase === "open") this.#control(OP_PONG, frames.payload);
      } else if (opcode === OP_PONG) {
        this.#awaitingPong = false;
        notify(this, this.onPong, frames.payload);
      } else this.#closeReceived(frames.payload);
      if (this.#phase === "done") break;
    }
    frames.end();
    if (frames.failure !== 0 && this.#phase !== "done") {
      this.#fail(frames.failure, frames.failureReason);
    }
  }

  #data(frames: FrameReader): void {
    const payload = frames.payload;
    const text = frames.messageType === OP_TEXT;
    if (this.readDelimiter !== null) {
      if (text && !this.#validText(payload, frames.fin)) return;
      this[deframer].push(payload);
      return;
    }
    if (frames.fin && this.#partsLength === 0 && this.#parts.length === 0 && this.#text === "") {
      let message: string | Uint8Array = payload;
      if (text) {
        try {
          message = this.#decoder.decode(payload);
        } catch {
          return this.#fail(1007, "invalid UTF-8 in a text message");
        }
      }
      return this.#deliver(message);
    }
    if (text) {
      if (!this.#validText(payload, frames.fin)) return;
      if (!frames.fin) return;
      const message = this.#text;
      this.#text = "";
      return this.#deliver(message);
    }
    this.#parts.push(payload.slice());
    this.#partsLength += payload.length;
    if (!frames.fin) return;
    const message = new Uint8Array(this.#partsLength);
    let at = 0;
    for (const part of this.#parts) message.set(part, at), at += part.length;
    this.#parts = [];
    this.#partsLength = 0;
    this.#deliver(message);
  }

  /** Decodes a text fragment with the streaming decoder; false (and closed with 1007) if invalid. */
  #validText(payload: Uint8Array, fin: boolean): boolean {
    try {
      const decoded = this.#streamDecoder.decode(payload, { stream: !fin });
      if (this.readDelimiter === null) this.#text += decoded;
      return true;
    } catch {
      this.#text = "";
      this.#fail(1007, "invalid UTF-8 in a text message");
      return false;
    }
  }

  #deliver(message: string | Uint8Array): void {
    this.engine[statistics].frames++;
    notify(this, this.onRead, message);
  }

  #closeReceived(payload: Uint8Array): void {
    let code = 1005;
    let reason = "";
    if (payload.length === 1) return this.#fail(1002, "close frame with a 1-byte payload");
    if (payload.length >= 2) {
      code = (payload[0]! << 8) | payload[1]!;
      if (!validCloseCode(code)) return this.#fail(1002, `invalid close code ${code}`);
      try {
        reason = this.#decoder.decode(payload.subarray(2));
      } catch {
        return this.#fail(1007, "invalid UTF-8 in a close reason");
      }
    }
    if (!this.#closeSent) {
      this.#control(OP_CLOSE, payload.length >= 2 ? payload.subarray(0, 2) : EMPTY);
    }
    this.#code = code;
    this.#reason = reason;
    this.#phase = "done";
    this.#closeTransport();
  }

  // --- frames out ---------------------------------------------------------------

  /**
   * Sends one message: a `string` as a text message, a `Uint8Array` as a
   * binary one. Before the upgrade completes (a client right after
   * `connect()`), messages wait and leave in order once it has.
   *
   * @example A client that greets
   * ```ts
   * import { WebSocketChannel } from "@pants/pants";
   *
   * class Hello extends WebSocketChannel {
   *   override onConnect(): void {
   *     this.write("hello");
   *     this.write(new Uint8Array([1, 2, 3]));
   *   }
   * }
   * new Hello().connect("ws://127.0.0.1:8080/chat");
   * ```
   *
   * @param data The message.
   * @param options `flush: true` to start sending at once.
   * @returns `false` when the send queue is above `writeBufferSize`: wait for `onWrite()`.
   * @throws {ChannelClosedError} If the WebSocket is not open (closing, closed, or a server before the upgrade).
   */
  override write(data: Uint8Array | string, options?: WriteOptions): boolean {
    const text = typeof data === "string";
    const opcode = text ? OP_TEXT : OP_BINARY;
    if (this.#phase !== "open") {
      if (this.#phase === "upgrade" && this.#client !== null && !this.closed) {
        this.#early.push(this.#frame(opcode, text ? ENCODER.encode(data) : data));
        return true;
      }
      throw new ChannelClosedError(
        `Cannot write: the WebSocket is ${
          this.#phase === "upgrade" ? "not open yet" : "closing or closed"
        }`,
      );
    }
    if (this.#client !== null) {
      return super.write(this.#frame(opcode, text ? ENCODER.encode(data) : data), options);
    }
    const length = text ? utf8Length(data, 0, data.length) : data.length;
    if (this.writeQueueSize + length + MAX_HEADER > this.maxWriteBuffer) {
      // One write, so that a refused message leaves no header behind.
      return super.write(this.#frame(opcode, text ? ENCODER.encode(data) : data), options);
    }
    const header = this.#header;
    const size = writeHeader(header, opcode, length, null);
    super.write(size === 2 ? this.#header2 : size === 4 ? this.#header4 : header.subarray(0, size));
    return super.write(data, options);
  }

  /**
   * Sends a ping; the peer's pong reaches `onPong()`.
   *
   * @param payload At most 125 bytes (a string is sent as UTF-8).
   * @throws {RangeError} For a payload over 125 bytes.
   * @throws {ChannelClosedError} If the WebSocket is not open.
   */
  ping(payload: Uint8Array | string = EMPTY): void {
    const bytes = typeof payload === "string" ? ENCODER.encode(payload) : payload;
    if (bytes.length > MAX_CONTROL_PAYLOAD) {
      throw new RangeError(`A ping payload holds at most 125 bytes, not ${bytes.length}`);
    }
    if (this.#phase !== "open") {
      throw new ChannelClosedError("Cannot ping: the WebSocket is not open");
    }
    this.#control(OP_PING, bytes);
  }

  /** Not available on a WebSocket: send messages with `write()`. @returns never. */
  override writePacked(): boolean {
    throw new TypeError("writePacked() is not available on a WebSocket: use write()");
  }

  /** Not available on a WebSocket: send messages with `write()`. */
  override writeFile(): void {
    throw new TypeError("writeFile() is not available on a WebSocket: use write()");
  }

  /** One whole frame (masked for a client). */
  #frame(opcode: number, payload: Uint8Array): Uint8Array {
    const key = this.#client === null ? null : nextMaskKey();
    const out = new Uint8Array(MAX_HEADER + payload.length);
    const at = writeHeader(out, opcode, payload.length, key);
    out.set(payload, at);
    const body = out.subarray(at, at + payload.length);
    if (key !== null && payload.length > 0) applyMask(body, maskKey(key));
    return out.subarray(0, at + payload.length);
  }

  #control(opcode: number, payload: Uint8Array): void {
    super.write(this.#frame(opcode, payload));
  }

  #startHeartbeat(): void {
    if (this.#heartbeat === 0 || this.#phase !== "open") return;
    this.#heartbeatTimer = this.engine.cycle(this.#heartbeat, () => {
      if (this.#phase !== "open") return;
      if (this.#awaitingPong) return super.close({ flush: false });
      this.#awaitingPong = true;
      this.#control(OP_PING, EMPTY);
      this[writer].flush();
    });
  }

  // --- closing -----------------------------------------------------------------

  /**
   * Closes the WebSocket. With a code (or nothing: 1000) on an open
   * WebSocket: sends a close frame and waits for the peer's (at most
   * `closeTimeout` ms), then closes the connection. With `CloseOptions`
   * (what the engine and servers use): `{ flush: false }` drops the
   * connection at once (`onClose` gets 1006), otherwise a close frame 1001
   * (going away) is sent first.
   *
   * @example Closing with a status
   * ```ts
   * import { WebSocketChannel } from "@pants/pants";
   *
   * class Once extends WebSocketChannel {
   *   override onRead(message: string | Uint8Array): void {
   *     this.write(message);
   *     this.close(4000, "one message only");
   *   }
   * }
   * ```
   *
   * @param code A status code: 1000, 1001, 1008, 1011, or 3000-4999; or `CloseOptions`.
   * @param reason Why (at most 123 bytes of UTF-8).
   * @throws {RangeError} For a code not allowed in a close frame, or a reason over 123 bytes.
   */
  override close(code?: number | CloseOptions, reason = ""): void {
    if (typeof code !== "object" && this.#phase === "closing") return;
    if (typeof code === "object" || this.#phase !== "open") {
      const options = typeof code === "object" ? code : undefined;
      if (this.#phase === "open" && options?.flush !== false) {
        this.#closeFrame(1001, "going away");
      }
      if (typeof code === "number" && this.#phase === "upgrade" && !this.closed) {
        return super.close({ flush: false });
      }
      return super.close(options);
    }
    const status = code ?? 1000;
    if (!validCloseCode(status) || (status >= 1002 && status <= 1007) || status === 1010) {
      throw new RangeError(
        `Close code ${status} cannot be sent: use 1000, 1001, 1008, 1011 or 3000-4999`,
      );
    }
    if (utf8Length(reason, 0, reason.length) > 123) {
      throw new RangeError("A close reason holds at most 123 bytes of UTF-8");
    }
    this.#closeFrame(status, reason);
    this.#phase = "closing";
    this[writer].flush();
    this.#timer = this.engine.defer(this.closeTimeout, () => super.close({ flush: false }));
  }

  #closeFrame(code: number, reason: string): void {
    this.#closeSent = true;
    this.#code = code;
    this.#reason = reason;
    this.#control(OP_CLOSE, closePayload(code, reason));
  }

  /** Fails the connection: a close frame with `code`, then the connection closes. */
  #fail(code: number, reason: string): void {
    if (this.#phase === "done" || this.closed) return;
    this.engine[statistics].overflows += code === 1009 ? 1 : 0;
    if (!this.#closeSent) this.#closeFrame(code, reason.slice(0, 120));
    this.#code = code;
    this.#reason = reason;
    this.#phase = "done";
    this.#closeTransport();
  }

  /** Closes the connection after the queued frames left, within `closeTimeout`. */
  #closeTransport(): void {
    this.#frames?.discard();
    this.#stopTimers();
    super.close();
    if (this[phase] === "closing") {
      this.#timer = this.engine.defer(this.closeTimeout, () => super.close({ flush: false }));
    }
  }

  #stopTimers(): void {
    this.#timer?.cancel();
    this.#timer = null;
    this.#heartbeatTimer?.cancel();
    this.#heartbeatTimer = null;
  }

  // --- connecting -----------------------------------------------------------------

  /**
   * Connects to a WebSocket server: `"ws://host:port/path?query"`, or
   * `"wss://…"` (TLS, verified against the system's and `caCerts`). Any
   * other address connects a plain stream and upgrades with path `/`.
   * `onConnect()` follows the upgrade; `onConnectError()` gets a failed
   * connect or a `WebSocketHandshakeError`.
   *
   * @example A client
   * ```ts
   * import { engine, WebSocketChannel } from "@pants/pants";
   *
   * class Client extends WebSocketChannel {
   *   override onConnect(): void {
   *     this.write("hello");
   *   }
   *   override onRead(message: string | Uint8Array): void {
   *     console.log(message);
   *     this.close();
   *   }
   * }
   * new Client().connect("ws://127.0.0.1:8080/echo", { protocols: ["echo"] });
   * engine.start();
   * ```
   *
   * @param target A `ws:` / `wss:` URL, or an address as for `Stream.connect`.
   * @param options Subprotocols, headers, `caCerts`, timeouts, as well as `Stream.connect`'s options.
   * @returns This channel.
   * @throws {TypeError} For an invalid URL or address.
   */
  override connect(target: string | AddressInput, options: WebSocketConnectOptions = {}): this {
    let address: AddressInput = target;
    let url: URL;
    if (typeof target === "string" && /^wss?:\/\//i.test(target)) {
      url = new URL(target);
      const secure = url.protocol === "wss:";
      const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
      address = [host, url.port === "" ? (secure ? 443 : 80) : Number(url.port)];
      if (secure) this.startSSL({ hostname: host, caCerts: options.caCerts });
    } else url = new URL("ws://localhost/");
    this.#client = { url, options, key: newKey() };
    return super.connect(address, options);
  }
}
