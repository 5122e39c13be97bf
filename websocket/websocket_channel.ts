/**
 * `WebSocketChannel`: a `Stream` whose bytes are WebSocket frames: the
 * HTTP/1.1 upgrade (`_upgrade.ts`), then an open `Session` (`_session.ts`).
 *
 * @module
 */

import { utf8Length } from "../framing/_utf8.ts";
import { statistics } from "../engine/stats.ts";
import type { Timer } from "../engine/timer.ts";
import type { AddressInput } from "../transport/address.ts";
import type { Transport } from "../transport/_socket.ts";
import type { ChannelOptions, CloseOptions } from "../channels/channel.ts";
import { notify, reportError } from "../channels/channel.ts";
import { ChannelClosedError, type StreamBufferOverflow } from "../channels/errors.ts";
import type { StreamServer } from "../channels/buffered_channel.ts";
import type { WriteOptions } from "../channels/write_options.ts";
import { bytesRead } from "../channels/_reader.ts";
import { adopt, announce, begin, deframer, phase, timeouts, writer } from "../channels/_symbols.ts";
import { dropConnection } from "../channels/_symbols.ts";
import { reconnecting } from "../channels/_connector.ts";
import { sendDrained } from "../channels/_writer.ts";
import {
  checkCloseToSend,
  MAX_CONTROL_PAYLOAD,
  MAX_HEADER,
  OP_BINARY,
  OP_PING,
  OP_TEXT,
} from "./_frame.ts";
import { errorResponse, HeadBuffer } from "./_handshake.ts";
import { answer } from "./_http_answer.ts";
import {
  mayDeliver,
  messageReady,
  payloadReady,
  pongReady,
  sendFrame,
  Session,
  sessionDone,
} from "./_session.ts";
import { clientTarget, serverUpgrade } from "./_upgrade.ts";
import { WsClient } from "./_ws_client.ts";
import type { WebSocketHandshakeError } from "./errors.ts";
import { Heartbeat } from "./_heartbeat.ts";
import { WebSocketCallbacks } from "./websocket_callbacks.ts";
import type { WebSocketConnectOptions } from "./websocket_options.ts";
import type { WebSocketServerSettings } from "./websocket_options.ts";

const EMPTY = new Uint8Array(0);
const ENCODER = new TextEncoder();
/** The default message size limit (`bufferSize`). */
const MAX_MESSAGE = 1024 * 1024;

const notOpened = (): ChannelClosedError =>
  new ChannelClosedError("The WebSocket closed before the upgrade completed");

/**
 * A WebSocket (RFC 6455) connection: accepted by a `WebSocketServer`, or a
 * client made with `connect("ws://…")`; a `Stream`, so the engine, limits,
 * timeouts, `pauseReading()`, TLS and back-pressure apply. `onConnect()`
 * runs after the upgrade (`this.request`, `this.protocol`); `onRead` gets
 * messages; `bufferSize` is the largest message (default 1 MiB, else 1009).
 * Protocol violations close with 1002, invalid UTF-8 with 1007: only that
 * connection.
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
export class WebSocketChannel extends WebSocketCallbacks {
  /** Before the session: the upgrade, or an HTTP answer; after it, a client reconnecting. */
  #phase: "upgrade" | "http" | "session" | "lingering" = "upgrade";
  #session: Session | null = null;
  #client: WsClient | null = null;
  #settings: WebSocketServerSettings | null = null;
  #request: Request | null = null;
  #protocol = "";
  #head = new HeadBuffer();
  #upgradeTimeout = 0;
  #timer: Timer | null = null;
  readonly #heartbeat = new Heartbeat();
  #ready: PromiseWithResolvers<void> | null = null;

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

  /** Whether the upgrade is done and no close frame was sent or received. */
  get open(): boolean {
    return this.#session?.state === "open";
  }

  /** The subprotocol agreed in the upgrade, `""` for none. */
  get protocol(): string {
    return this.#protocol;
  }

  /**
   * Settles with the upgrade: resolves just before `onConnect()`, rejects
   * with the error `onConnectError()` gets (a failed connect, or a
   * `WebSocketHandshakeError`), or with a `ChannelClosedError` when the
   * channel closes first. Nothing is reported if nobody awaits it.
   *
   * @example A script that connects, then writes
   * ```ts
   * import { engine, WebSocketChannel } from "@pants/pants";
   *
   * const client = new WebSocketChannel().connect("ws://127.0.0.1:8080/");
   * engine.start();
   * await client.ready.then(() => client.write("hello"), console.error);
   * ```
   */
  override get ready(): Promise<void> {
    if (this.#ready === null) {
      const ready = this.#ready = Promise.withResolvers<void>();
      ready.promise.catch(() => {});
      if (this.#session !== null) ready.resolve();
      else if (this.closed) ready.reject(notOpened());
      else super.ready.catch((error) => ready.reject(error));
    }
    return this.#ready.promise;
  }

  /**
   * Heartbeat interval (ms), 0 for none: every interval a ping is sent, and
   * a peer that did not answer the previous one with a pong is taken for dead
   * and the connection closed (`onClose` gets 1006; a client with
   * `reconnect` connects again).
   *
   * @default {0}
   * @throws {RangeError} At assignment, for a negative or non-finite value.
   */
  get heartbeat(): number {
    return this.#heartbeat.interval;
  }
  set heartbeat(ms: number) {
    this.#heartbeat.interval = ms;
    this.#startHeartbeat();
  }

  /**
   * Called when a `readDelimiter` frame grows past `bufferSize`. The default
   * closes with 1009.
   *
   * @param error How much was buffered, and the limit.
   */
  override onOverflowError(error: StreamBufferOverflow): void {
    this.#session?.fail(1009, error.message);
  }

  /**
   * Called when the peer half-closed TCP; the default closes (1006: no close
   * frame came), or a client with `reconnect` connects again. Before the
   * upgrade's answer it is a failed upgrade, as a refused one.
   */
  override onEnd(): void {
    const client = this.#client;
    if (client === null || this.#phase !== "upgrade") return this.#lost(true);
    this.#refused(client.failure("the server closed the connection without an answer", null));
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
    const session = this.#session;
    session?.discard();
    this.#ready?.reject(notOpened());
    if (session !== null || this.#client !== null) {
      notify(this, this.onClose, session?.code ?? 1006, session?.reason ?? "");
    }
  }

  /** @ignore */
  override [bytesRead](bytes: Uint8Array): void {
    if (this[phase] !== "connected") return;
    this.engine[statistics].bytesIn += bytes.length;
    this[timeouts]?.activity();
    if (this.#session !== null) {
      this.#session.pump(bytes, this.bufferSize, this.readDelimiter !== null);
    } else if (this.#phase === "upgrade") this.#upgradeInput(bytes);
    if (this[phase] === "connected") this[writer].flush();
  }

  /** Delivers held messages (in the next engine iteration) and reads again. */
  override resumeReading(): void {
    super.resumeReading();
    this.engine.callback(() => {
      if (this[phase] !== "connected") return;
      this.#session?.pump(EMPTY, this.bufferSize, this.readDelimiter !== null);
      if (this[phase] === "connected") this[writer].flush();
    });
  }

  /** @ignore */
  [sendFrame](frame: Uint8Array): void {
    super.write(frame);
  }

  /** @ignore */
  [messageReady](message: string | Uint8Array): void {
    this.engine[statistics].frames++;
    notify(this, this.onRead, message);
  }

  /** @ignore */
  [payloadReady](payload: Uint8Array): void {
    this[deframer].push(payload);
  }

  /** @ignore */
  [pongReady](payload: Uint8Array): void {
    notify(this, this.onPong, payload);
  }

  /** @ignore */
  [mayDeliver](): boolean {
    return this[phase] === "connected" && !this[deframer].held;
  }

  /** @ignore */
  [sessionDone](): void {
    if (this.#session!.code === 1009) this.engine[statistics].overflows++;
    this.#stopTimers();
    if (this.#client?.reconnects === true) {
      // The close frame (ours or the echo) leaves first, within closeTimeout.
      this.#phase = "lingering";
      if (!this[writer].busy) return this[dropConnection](false);
      this.#timer = this.engine.defer(this.closeTimeout, () => this[dropConnection](false));
      return;
    }
    super.close();
    // A peer that does not read cannot hold the connection open.
    if (this[phase] === "closing") {
      this.#timer = this.engine.defer(this.closeTimeout, () => super.close({ flush: false }));
    }
  }

  /** @ignore */
  override [sendDrained](): void {
    if (this.#phase === "lingering" && this[phase] === "connected") this[dropConnection](false);
    else super[sendDrained]();
  }

  /** @ignore */
  override [reconnecting](attempt: number, delay: number, error: Error | null): void {
    this.#stopTimers();
    this.#session?.discard();
    this.#session = null;
    this.#phase = "upgrade";
    this.#head = new HeadBuffer();
    this.#protocol = "";
    super[reconnecting](attempt, delay, error);
  }

  /** The connection is lost: a client with `reconnect` connects again, anything else closes. */
  #lost(flush: boolean, refused: Error | null = null): void {
    if (this.#client?.reconnects === true) this[dropConnection](flush, refused);
    else super.close({ flush });
  }

  // --- the upgrade ------------------------------------------------------------

  #startUpgrade(): void {
    const client = this.#client;
    const limit = client === null ? this.#upgradeTimeout : client.handshakeTimeout;
    if (limit > 0) this.#timer = this.engine.defer(limit, () => this.#upgradeTimedOut());
    if (client === null) return;
    const { request, bytes } = client.request();
    this.#request = request;
    super.write(bytes);
  }

  #upgradeTimedOut(): void {
    this.#timer = null;
    if (this.#phase !== "upgrade") return;
    const client = this.#client;
    if (client !== null) {
      return this.#refused(client.failure("no answer within handshakeTimeout", null));
    }
    super.close({ flush: false });
  }

  #upgradeInput(bytes: Uint8Array): void {
    const got = this.#head.push(bytes);
    if (got === "more") return;
    if (got === "overflow") {
      if (this.#client !== null) {
        return this.#refused(this.#client.failure("head over 8 KiB", null));
      }
      return this.#refuse(errorResponse(431, "Request head over 8 KiB"));
    }
    const { head, rest } = got;
    if (this.#client !== null) {
      const verdict = this.#client.judge(head);
      if ("error" in verdict) return this.#refused(verdict.error);
      return this.#opened(verdict.protocol, rest);
    }
    const action = serverUpgrade(head, this.secure, this.#settings, (r) => this.onHandshake(r));
    if (action.kind === "refuse") return this.#refuse(action.response);
    const request = this.#request = action.request;
    if (action.kind === "http") {
      return this.#answer(() => this.onRequest(request), request.method === "HEAD");
    }
    if (action.kind === "respond") return this.#answer(() => action.response, false);
    if (action.kind === "failed") {
      reportError(this, action.error);
      return this.#refuse(errorResponse(500, "Internal server error"));
    }
    super.write(action.response);
    this.#opened(action.protocol, rest);
  }

  /** A failed upgrade: with `reconnect` a failed attempt, else the end. */
  #refused(error: WebSocketHandshakeError): void {
    this.#timer?.cancel();
    this.#timer = null;
    if (this.#client!.reconnects) {
      this[dropConnection](false, error);
      if (!this.closed) return; // the next attempt is scheduled
    }
    this.#ready?.reject(error);
    notify(this, this.onConnectError, error);
    if (!this.closed) super.close({ flush: false });
  }

  #opened(protocol: string, rest: Uint8Array): void {
    this.#stopTimers();
    this.#protocol = protocol;
    this.#phase = "session";
    const session = this.#session = new Session(this, this.#client !== null, rest);
    for (const frame of this.#client?.release(session) ?? []) super.write(frame);
    this.#startHeartbeat();
    this.#ready?.resolve();
    notify(this, this.onConnect);
    if (session.buffered > 0) session.pump(EMPTY, this.bufferSize, this.readDelimiter !== null);
  }

  #refuse(response: Uint8Array): void {
    this.#phase = "http";
    super.write(response);
    super.close();
  }

  #answer(produce: () => Response | Promise<Response>, head: boolean): void {
    this.#phase = "http";
    const target = {
      gone: () => this.closed,
      send: (bytes: Uint8Array) => this.#refuse(bytes),
      report: (error: unknown) => reportError(this, error),
    };
    answer(target, produce, head);
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
    const session = this.#session;
    if (session === null || session.state !== "open") {
      const waiting = this.#phase === "lingering" || session === null && this.#phase === "upgrade";
      if (waiting && this.#client !== null && !this.closed) {
        this.#client.hold(opcode, text ? ENCODER.encode(data) : data.slice(), this.maxWriteBuffer);
        return true;
      }
      throw new ChannelClosedError(
        `Cannot write: the WebSocket is ${session === null ? "not open yet" : "closing or closed"}`,
      );
    }
    const length = text ? utf8Length(data, 0, data.length) : data.length;
    if (this.#client !== null || this.writeQueueSize + length + MAX_HEADER > this.maxWriteBuffer) {
      // One write: masked (client), or refused whole at the cap, leaving no header behind.
      return super.write(session.frame(opcode, text ? ENCODER.encode(data) : data), options);
    }
    super.write(session.header(opcode, length));
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
    if (!this.open) throw new ChannelClosedError("Cannot ping: the WebSocket is not open");
    this.#session!.control(OP_PING, bytes);
  }

  /** Not available on a WebSocket: send messages with `write()`. @returns never. */
  override writePacked(): boolean {
    throw new TypeError("writePacked() is not available on a WebSocket: use write()");
  }

  /** Not available on a WebSocket: send messages with `write()`. */
  override writeFile(): void {
    throw new TypeError("writeFile() is not available on a WebSocket: use write()");
  }

  #startHeartbeat(): void {
    if (!this.open) return;
    this.#heartbeat.start(this.engine, () => {
      if (!this.#session!.beat()) return this.#lost(false);
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
    const session = this.#session;
    if (typeof code === "object" || session === null || session.state !== "open") {
      if (typeof code !== "object" && session?.state === "closing") return;
      const options = typeof code === "object" ? code : undefined;
      if (options?.flush !== false) session?.goingAway(1001, "going away");
      if (typeof code === "number" && session === null && this.#phase === "upgrade") {
        return super.close({ flush: false });
      }
      return super.close(options);
    }
    const status = code ?? 1000;
    checkCloseToSend(status, reason);
    if (this.#client !== null) this.#client.stopping = true;
    session.close(status, reason);
    this[writer].flush();
    this.#timer = this.engine.defer(this.closeTimeout, () => super.close({ flush: false }));
  }

  #stopTimers(): void {
    this.#timer?.cancel();
    this.#timer = null;
    this.#heartbeat.stop();
  }

  // --- connecting -----------------------------------------------------------------

  /**
   * Connects to a WebSocket server: `"ws://host:port/path?query"`, or
   * `"wss://…"` (TLS, verified against the system's and `caCerts`). Any
   * other address connects a plain stream and upgrades with path `/`.
   * `onConnect()` follows the upgrade; `onConnectError()` gets a failed
   * connect or a `WebSocketHandshakeError`. With `reconnect` every new
   * connection redoes the upgrade; a refused one is a failed attempt.
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
   * @param options Subprotocols, headers, `caCerts`, timeouts, as well as `Stream.connect`'s options (`reconnect`, …).
   * @returns This channel.
   * @throws {TypeError} For an invalid URL or address.
   */
  override connect(target: string | AddressInput, options: WebSocketConnectOptions = {}): this {
    const { url, address, tlsHost } = clientTarget(target);
    if (tlsHost !== null) this.startSSL({ hostname: tlsHost, caCerts: options.caCerts });
    this.#client = new WsClient(url, options);
    return super.connect(address, options);
  }
}
