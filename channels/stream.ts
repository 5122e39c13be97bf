/**
 * `Stream`: a TCP or Unix-socket connection, framed by `readDelimiter`.
 *
 * @module
 */

import { MAX_FRAMES_PER_SCAN, SCAN_OVERFLOW } from "../framing/_core.ts";
import { framingCore } from "../framing/_wasm_core.ts";
import {
  checkBufferSize,
  type Delimiter,
  parseDelimiter,
  type ReadDelimiter,
  type RegexDelimiter,
} from "../framing/read_delimiter.ts";
import { type AddressInput, normalizeAddr, resolveAddress } from "../transport/address.ts";
import { Channel, type ChannelOptions, type CloseOptions, notify, reportError } from "./channel.ts";
import {
  ChannelClosedError,
  StartTlsError,
  StreamBufferOverflow,
  type WriteFileError,
} from "./errors.ts";
import { type StreamConnectError, TlsHandshakeError } from "../transport/errors.ts";
import { connectStream, type Transport } from "../transport/_socket.ts";
import { connectTls, handshake, upgradeClient, upgradeServer } from "../transport/_tls.ts";
import { type TlsClientOptions } from "../transport/tls_options.ts";
import type { TlsServerOptions } from "../transport/tls_options.ts";
import { Writer } from "./_writer.ts";
import { Struct } from "../framing/struct.ts";
import { NetStruct } from "../framing/net_struct.ts";
import { type FileSource, writeFileJob, type WriteFileOptions } from "./_write_file.ts";
import { completeUtf8Length, decodeUtf8WithOffsets, utf8Length } from "../framing/_utf8.ts";
import { adopt, begin, forget } from "./_symbols.ts";
import type { Server } from "./server.ts";
import type { Timer } from "../engine/timer.ts";
import { statistics } from "../engine/stats.ts";

/**
 * Options for `write()`.
 *
 * @example Usage
 * ```ts
 * import { Stream } from "@pants/pants";
 *
 * class Urgent extends Stream {
 *   override onConnect(): void {
 *     this.write("hello\n", { flush: true });
 *   }
 * }
 * ```
 */
export interface WriteOptions {
  /**
   * Start sending at once instead of at the end of the current iteration.
   *
   * @default {false}
   */
  flush?: boolean;
}

/**
 * The text encodings a stream can decode frames with.
 *
 * @example Usage
 * ```ts
 * import { Stream, type StreamEncoding } from "@pants/pants";
 *
 * class Text extends Stream {
 *   override onConnect(): void {
 *     const encoding: StreamEncoding = "utf-8";
 *     this.encoding = encoding;
 *   }
 * }
 * ```
 */
export type StreamEncoding = null | "utf-8";

/**
 * Options for `writePacked()`: pack with this format instead of the `Struct` delimiter's.
 *
 * @example Usage
 * ```ts
 * import { Stream } from "@pants/pants";
 *
 * class Header extends Stream {
 *   override onConnect(): void {
 *     this.writePacked(1, 512, { format: "!BH" });
 *   }
 * }
 * ```
 */
export interface WritePackedOptions {
  /** A `Struct` format string, e.g. `"!LLH"`. */
  format: string;
}

export type { FileSource, TlsClientOptions, TlsServerOptions, WriteFileOptions };

/**
 * Which limit `onTimeout` reports: no traffic for `timeout` ms, or a frame not completed within `frameTimeout` ms.
 *
 * @example Usage
 * ```ts
 * import { Stream, type StreamTimeout } from "@pants/pants";
 *
 * class Patient extends Stream {
 *   override onTimeout(kind: StreamTimeout): void {
 *     if (kind === "idle") this.write("PING\n");
 *     else this.close();
 *   }
 * }
 * ```
 */
export type StreamTimeout = "idle" | "frame";

type State = "idle" | "connecting" | "connected" | "closing" | "closed";

function checkTimeout(name: string, ms: number): number {
  if (typeof ms !== "number" || !Number.isFinite(ms) || ms < 0) {
    throw new RangeError(`Invalid ${name} ${ms}: expected milliseconds, 0 or more (0 disables it)`);
  }
  return ms;
}

const core = framingCore;
const latin1 = new TextDecoder("latin1");
const strictUtf8 = new TextDecoder("utf-8", { fatal: true });
const SMALL_READ = 256;
const LARGE_READ = 64 * 1024;
const EMPTY = new Uint8Array(0);
const NOT_CONNECTED = "Cannot write: the stream is not connected; wait for onConnect()";
const CLOSED = "Cannot write: the stream is closed or closing; check stream.closed first";

/**
 * A connection: a client made with `connect()`, or accepted by a `Server`.
 *
 * Subclass it and override the `on…` callbacks. Input reaches `onRead` cut
 * into frames by `readDelimiter`:
 *
 * | `readDelimiter` | `onRead` receives |
 * | --- | --- |
 * | `null` (default) | each chunk as it arrives |
 * | a string or `Uint8Array` | the bytes before each occurrence (the delimiter is dropped) |
 * | a positive integer n | blocks of exactly n bytes |
 * | a `RegExp` | search mode: the bytes before each match; match mode (`regexSearch = false`): the `RegExpExecArray` of a match at the start |
 * | a `Struct` | the unpacked fields of each fixed-size record, as separate arguments |
 * | a `NetStruct` | the unpacked fields of each length-prefixed record |
 *
 * Frames are views into Pants' receive buffer, valid only during `onRead`:
 * copy (`frame.slice()`) to keep one. With `encoding = "utf-8"`, frames are
 * strings. `readDelimiter` may change at any time, also inside `onRead`: the
 * rest of the buffer is framed with the new value, no byte lost or repeated.
 *
 * @example An echo server
 * ```ts
 * import { engine, Server, Stream } from "@pants/pants";
 *
 * class Echo extends Stream {
 *   override onRead(data: Uint8Array): void {
 *     this.write(data);
 *   }
 * }
 * new Server(Echo).listen(4040);
 * engine.start();
 * ```
 */
export class Stream extends Channel {
  /** Always `"stream"`. */
  readonly kind = "stream" as const;
  /**
   * `RegExp` delimiters: search mode (`true`) passes the input before each
   * match and drops the match; match mode (`false`) passes the
   * `RegExpExecArray` of a match anchored at the start of the buffer.
   *
   * @default {true}
   */
  regexSearch = true;
  #encoding: StreamEncoding = null;
  /**
   * The high-water mark of the send queue: `write()` returns `false` above
   * it; `onWrite()` fires when the queue has drained.
   *
   * @default {65536}
   */
  writeBufferSize = 64 * 1024;
  /**
   * The hard cap of the send queue: a `write()` that would queue more
   * throws a `StreamBufferOverflow` (`writeOverflow = "throw"`) or closes
   * the stream without flushing (`"close"`), so a peer that never reads
   * cannot make the stream buffer without bound.
   *
   * @default {16777216}
   */
  maxWriteBuffer = 16 * 1024 * 1024;
  /**
   * What a `write()` beyond `maxWriteBuffer` does: `"throw"` a
   * `StreamBufferOverflow` (nothing is queued), or `"close"` the stream.
   *
   * @default {"throw"}
   */
  writeOverflow: "throw" | "close" = "throw";

  #state: State = "idle";
  #transport: Transport | null = null;
  #server: Server | null = null;
  #remote: Deno.Addr | null = null;
  #local: Deno.Addr | null = null;

  #delimiterValue: ReadDelimiter = null;
  #delimiter: Delimiter = parseDelimiter(null);
  /** Bumped by anything that must interrupt a batch of frames being delivered. */
  #epoch = 0;
  #ruleStale = false;
  #bufferSize = 64 * 1024;
  #region = 0;
  #readBuffer: Uint8Array = EMPTY;
  #smallReads = 0;
  #reading = false;
  #readPending = false;
  #paused = false;
  #upgrading = false;
  #ended = false;
  #decoder: TextDecoder | null = null;
  /** Offset (from the first unconsumed byte) where the frame being delivered ends. */
  #frameNext = 0;
  /** Frames delivered so far. */
  #framesDelivered = 0;

  #timeout = 0;
  #frameTimeout = 0;
  #lastActivity = 0;
  /** When the first byte of the pending partial frame arrived, or -1. */
  #frameSince = -1;
  #timer: Timer | null = null;
  readonly #checkTimeouts = (): void => this.#onTimer();

  #tlsClient: TlsClientOptions | null = null;
  /** The host name given to `connect()`: what STARTTLS verifies by default. */
  #connectHost: string | undefined = undefined;
  #secure = false;
  readonly #writer: Writer = this.#makeWriter();

  /**
   * Creates a stream; connect it with `connect()`, or let a `Server` accept it.
   *
   * @param options The engine to join.
   */
  constructor(options: ChannelOptions = {}) {
    super(options);
  }

  #makeWriter(): Writer {
    // deno-lint-ignore no-this-alias
    const stream = this;
    return new Writer({
      get transport(): Transport {
        return stream.#transport!;
      },
      wrote: (n) => {
        stream.engine[statistics].bytesOut += n;
        if (stream.#timeout > 0) stream.#lastActivity = stream.engine.now();
      },
      drained: () => stream.#drained(),
      failed: (error) => stream.#readFailed(error),
    });
  }

  // --- state -------------------------------------------------------------

  /** Whether the stream is closed, or closing after a flush. */
  get closed(): boolean {
    return this.#state === "closed" || this.#state === "closing";
  }

  /** Whether the stream is connected (and not closing). */
  get connected(): boolean {
    return this.#state === "connected";
  }

  /** Whether `connect()` was called and has not finished yet. */
  get connecting(): boolean {
    return this.#state === "connecting";
  }

  /** The server that accepted this stream, or `null` for a client stream. */
  get server(): Server | null {
    return this.#server;
  }

  /** The peer's address (IPv4-mapped IPv6 shown as IPv4); still readable in `onClose`. */
  get remoteAddress(): Deno.Addr | null {
    return this.#remote;
  }

  /** This end's address; still readable in `onClose`. */
  get localAddress(): Deno.Addr | null {
    return this.#local;
  }

  /** Bytes queued by `write()` and not yet sent. */
  get writeQueueSize(): number {
    return this.#writer.size;
  }

  /** Whether the connection is TLS (from the start, or after `startSSL()`). */
  get secure(): boolean {
    return this.#secure;
  }

  // --- framing settings --------------------------------------------------

  /**
   * How buffered input is cut into frames for `onRead` (see the table on
   * {@linkcode Stream}).
   *
   * @throws {TypeError} At assignment, for a value that is not a delimiter.
   */
  get readDelimiter(): ReadDelimiter {
    return this.#delimiterValue;
  }
  set readDelimiter(value: ReadDelimiter) {
    this.#delimiter = parseDelimiter(value);
    this.#delimiterValue = value;
    this.#epoch++;
    this.#ruleStale = true;
  }

  /**
   * `null`: frames are `Uint8Array`; `"utf-8"`: frames are strings, and a
   * character split across reads is never corrupted.
   *
   * @default {null}
   * @throws {TypeError} For another value.
   */
  get encoding(): StreamEncoding {
    return this.#encoding;
  }
  set encoding(value: StreamEncoding) {
    if (value !== null && value !== "utf-8") {
      throw new TypeError(`Invalid encoding "${value}": use null (bytes) or "utf-8"`);
    }
    this.#encoding = value;
    this.#epoch++;
  }

  /**
   * The most input buffered while waiting for one frame. A block size or a
   * `Struct` larger than it raises it for those frames. Beyond it,
   * `onOverflowError` is called.
   *
   * @default {65536}
   * @throws {RangeError} For a value that is not a positive integer.
   */
  get bufferSize(): number {
    return this.#bufferSize;
  }
  set bufferSize(value: number) {
    this.#bufferSize = checkBufferSize(value);
  }

  // --- callbacks ---------------------------------------------------------

  /** Called when the connection is established (client) or accepted (server). */
  onConnect(): void {}

  /**
   * Called when `connect()` fails. The default logs the error and closes.
   *
   * @param error Why; `cause` is the Deno error.
   */
  onConnectError(error: StreamConnectError): void {
    console.error(`${this.constructor.name} #${this.id}: ${error.message}`);
    this.close({ flush: false });
  }

  /**
   * Called with each frame (see {@linkcode Stream.readDelimiter}). A
   * `Uint8Array` frame is only valid during the call.
   *
   * @param _data The frame; `Struct` and `NetStruct` delimiters pass one argument per field.
   */
  // deno-lint-ignore no-explicit-any
  onRead(..._data: any[]): void {}

  /** Called when the send queue has drained. */
  onWrite(): void {}

  /**
   * Called after the peer half-closed its side and the last complete frames
   * were delivered. The default closes the stream (flushing queued writes);
   * override it to write a reply first, then call `close()`.
   */
  onEnd(): void {
    this.close();
  }

  /**
   * Called when the stream was idle for `timeout` ms (`"idle"`), or a frame
   * did not complete within `frameTimeout` ms of its first byte (`"frame"`).
   * The default closes the stream without flushing.
   *
   * @param _kind Which limit was reached.
   */
  onTimeout(_kind: StreamTimeout): void {
    this.close({ flush: false });
  }

  /**
   * Idle timeout in milliseconds: no byte read or written for that long
   * calls `onTimeout("idle")`. `0` disables it. Runs on the engine's timer
   * ring (one timer per stream, not re-armed per read).
   *
   * @default {0}
   * @throws {RangeError} For a negative or non-finite value.
   */
  get timeout(): number {
    return this.#timeout;
  }
  set timeout(ms: number) {
    this.#timeout = checkTimeout("timeout", ms);
    this.#lastActivity = this.engine.now();
    this.#armTimer();
  }

  /**
   * Frame timeout in milliseconds: a frame must complete within this long
   * of its first byte, or `onTimeout("frame")` is called. It stops slow-drip
   * peers that send a byte every few seconds and never finish a frame. `0`
   * disables it.
   *
   * @default {0}
   * @throws {RangeError} For a negative or non-finite value.
   */
  get frameTimeout(): number {
    return this.#frameTimeout;
  }
  set frameTimeout(ms: number) {
    this.#frameTimeout = checkTimeout("frameTimeout", ms);
    this.#armTimer();
  }

  /** Frames delivered to `onRead` so far. */
  get framesDelivered(): number {
    return this.#framesDelivered;
  }

  #armTimer(): void {
    this.#timer?.cancel();
    this.#timer = null;
    if (this.#state !== "connected" && this.#state !== "closing") return;
    const now = this.engine.now();
    let due = Infinity;
    if (this.#timeout > 0) due = this.#lastActivity + this.#timeout;
    if (this.#frameTimeout > 0 && this.#frameSince >= 0) {
      due = Math.min(due, this.#frameSince + this.#frameTimeout);
    }
    if (due !== Infinity) {
      this.#timer = this.engine.defer(Math.max(0, due - now), this.#checkTimeouts);
    }
  }

  #onTimer(): void {
    this.#timer = null;
    if (this.#state !== "connected" && this.#state !== "closing") return;
    const now = this.engine.now();
    let kind: StreamTimeout | null = null;
    if (this.#timeout > 0 && now - this.#lastActivity >= this.#timeout) kind = "idle";
    else if (
      this.#frameTimeout > 0 && this.#frameSince >= 0 &&
      now - this.#frameSince >= this.#frameTimeout
    ) kind = "frame";
    if (kind === null) return this.#armTimer();
    this.#frameSince = -1;
    this.#lastActivity = now;
    this.engine[statistics].timeouts++;
    notify(this, this.onTimeout, kind);
    this.#armTimer();
  }

  /**
   * Called when buffered input exceeds `bufferSize` without completing a frame,
   * or a length prefix declares a record beyond it. The buffered input is
   * discarded first. The default closes the stream without flushing.
   *
   * @param error How much was buffered or declared, and the limit.
   */
  onOverflowError(error: StreamBufferOverflow): void {
    console.error(`${this.constructor.name} #${this.id}: ${error.message}`);
    this.close({ flush: false });
  }

  /** Called when a TLS handshake completed: before `onConnect()` for TLS from the start, or after `startSSL()` on a connected stream. */
  onSSLHandshake(): void {}

  /**
   * Called when a TLS handshake fails (unknown issuer, name mismatch, a
   * plaintext peer). The default logs the error and closes without flushing.
   *
   * @param error Why; `cause` is the Deno or Node error.
   */
  onSSLHandshakeError(error: TlsHandshakeError): void {
    console.error(`${this.constructor.name} #${this.id}: ${error.message}`);
    this.close({ flush: false });
  }

  // --- connecting --------------------------------------------------------

  /**
   * Connects to a server. `onConnect()` follows on success, `onConnectError()`
   * on failure. Nothing happens before the engine runs.
   *
   * @param address A port (on `localhost`), `[host, port]`, `{ hostname, port }`,
   * or a Unix socket path as `{ path }` or a string.
   * @returns This stream.
   * @throws {TypeError} For an invalid address.
   * @throws {Error} If the stream is already connected, connecting or closed.
   */
  connect(address: AddressInput): this {
    const resolved = resolveAddress(address);
    if (resolved.transport === "tcp") this.#connectHost = resolved.hostname ?? "localhost";
    if (this.#state !== "idle") {
      throw new Error(`Cannot connect: the stream is already ${this.#state}; create a new stream`);
    }
    this.#state = "connecting";
    this.engine.attach(this);
    this.engine.whenRunning(() => {
      if (this.#state !== "connecting") return;
      const tls = this.#tlsClient;
      const connecting = tls === null ? connectStream(resolved) : connectTls(resolved, tls);
      connecting.then(
        (transport) => {
          if (this.#state !== "connecting") return transport.close();
          this.#secure = tls !== null;
          this.#adoptTransport(transport);
          if (tls !== null) this.#handshaken();
          if (this.connected) this.#begin();
        },
        (error: StreamConnectError | TlsHandshakeError) => {
          if (this.#state !== "connecting") return;
          try {
            if (error.name === "TlsHandshakeError") {
              this.onSSLHandshakeError(error as TlsHandshakeError);
            } else this.onConnectError(error as StreamConnectError);
          } catch (thrown) {
            reportError(this, thrown);
          }
          if (this.#state === "connecting") this.close({ flush: false });
        },
      );
    });
    return this;
  }

  /**
   * Adopts a connection accepted by `server`.
   *
   * @ignore
   */
  [adopt](transport: Transport, server: Server | null): void {
    this.#server = server;
    this.#state = "connecting";
    this.engine.attach(this);
    this.#adoptTransport(transport);
  }

  /**
   * Runs `onConnect()` for an adopted connection and starts reading; for a
   * TLS server, completes the handshake first (`onSSLHandshake()` first).
   *
   * @ignore
   */
  [begin](secure = false, handshakeTimeout = 0): void {
    if (this.#state !== "connected") return;
    if (!secure) return this.#begin();
    this.#secure = true;
    const transport = this.#transport!;
    const limit = handshakeTimeout > 0
      ? this.engine.defer(handshakeTimeout, () => {
        this.#handshakeFailed(
          new TlsHandshakeError(
            `TLS handshake did not complete within ${handshakeTimeout} ms; closing`,
          ),
        );
      })
      : null;
    handshake(transport).then(
      () => {
        limit?.cancel();
        if (this.#state !== "connected") return;
        this.#handshaken();
        if (this.#state === "connected") this.#begin();
      },
      (error: TlsHandshakeError) => {
        limit?.cancel();
        this.#handshakeFailed(error);
      },
    );
  }

  #handshaken(): void {
    notify(this, this.onSSLHandshake);
  }

  #handshakeFailed(error: TlsHandshakeError): void {
    if (this.#state === "closed") return;
    notify(this, this.onSSLHandshakeError, error);
    if (this.#state as State !== "closed") this.close({ flush: false });
  }

  #adoptTransport(transport: Transport): void {
    this.#transport = transport;
    this.#remote = normalizeAddr(transport.remoteAddr);
    this.#local = normalizeAddr(transport.localAddr);
    this.#state = "connected";
  }

  #begin(): void {
    this.#lastActivity = this.engine.now();
    notify(this, this.onConnect);
    if (this.#timeout > 0 || this.#frameTimeout > 0) this.#armTimer();
    if (this.#state === "connected" && !this.#paused && !this.#upgrading) void this.#readLoop();
  }

  // --- reading -----------------------------------------------------------

  /** Stops delivering input until `resumeReading()`; the kernel buffers meanwhile. */
  pauseReading(): void {
    this.#paused = true;
    this.#epoch++;
  }

  /** Delivers buffered frames (in the next engine iteration) and reads again. */
  resumeReading(): void {
    if (!this.#paused) return;
    this.#paused = false;
    this.engine.callback(() => {
      if (this.#state !== "connected" || this.#paused) return;
      this.#drain();
      if (this.#state !== "connected" || this.#paused) return;
      if (this.#ended) this.#end();
      else if (!this.#reading && !this.#upgrading) void this.#readLoop();
    });
  }

  async #readLoop(): Promise<void> {
    const transport = this.#transport!;
    this.#reading = true;
    if (this.#readBuffer.length === 0) this.#readBuffer = new Uint8Array(SMALL_READ);
    while (this.#state === "connected" && !this.#paused && !this.#upgrading) {
      let n: number | null;
      this.#readPending = true;
      try {
        n = await transport.read(this.#readBuffer);
      } catch (error) {
        this.#readPending = false;
        this.#reading = false;
        this.#readFailed(error);
        return;
      }
      this.#readPending = false;
      if (this.#state !== "connected") break;
      if (n === null) {
        this.#reading = false;
        this.#ended = true;
        if (!this.#paused) this.#end();
        return;
      }
      this.#received(n);
      // Writes made while handling this read leave now, not a microtask later.
      if (this.#state === "connected") this.#writer.flush();
    }
    this.#reading = false;
  }

  #received(n: number): void {
    const buffer = this.#readBuffer;
    const stats = this.engine[statistics];
    stats.bytesIn += n;
    const framesBefore = this.#framesDelivered;
    if (this.#timeout > 0) this.#lastActivity = this.engine.now();
    if (this.#delimiter.kind === "chunk" && this.#region === 0 && !this.#paused) {
      this.#deliver(buffer.subarray(0, n));
    } else {
      if (this.#region === 0) this.#region = core.open();
      core.append(this.#region, buffer.subarray(0, n));
      this.#drain();
    }
    stats.frames += this.#framesDelivered - framesBefore;
    if (this.#frameTimeout > 0 && this.#state === "connected") {
      this.#trackFrame(this.#framesDelivered !== framesBefore);
    }
    // Adapt the read buffer: large while reads fill it, small again after a
    // run of small reads (an idle or chatty stream).
    if (n > SMALL_READ) {
      this.#smallReads = 0;
    } else if (n === buffer.length && buffer.length < LARGE_READ) {
      this.#readBuffer = new Uint8Array(LARGE_READ);
      this.#smallReads = 0;
    } else if (buffer.length > SMALL_READ && ++this.#smallReads >= 64) {
      this.#readBuffer = new Uint8Array(SMALL_READ);
      this.#smallReads = 0;
      if (this.#region !== 0 && core.buffered(this.#region) === 0) core.trim(this.#region);
    }
  }

  /** Starts or stops the frame timeout's clock after a read. */
  #trackFrame(progressed: boolean): void {
    const partial = this.#region !== 0 && core.buffered(this.#region) > 0;
    if (!partial) {
      this.#frameSince = -1;
    } else if (progressed || this.#frameSince < 0) {
      const idle = this.#frameSince < 0;
      this.#frameSince = this.engine.now();
      if (idle) this.#armTimer();
    }
  }

  /** Delivers the complete frames buffered in the region. */
  #drain(): void {
    while (this.#region !== 0 && this.#state === "connected" && !this.#paused && !this.#upgrading) {
      const region = this.#region;
      const buffered = core.buffered(region);
      if (buffered === 0) return;
      const delimiter = this.#delimiter;
      if (delimiter.kind === "chunk") {
        const base = core.base(region);
        const view = core.bytes(region).subarray(base, base + buffered);
        core.consume(region, buffered);
        this.#frameNext = 0;
        this.#deliver(view);
        continue;
      }
      if (delimiter.kind === "regex") {
        if (!this.#drainRegex(region, buffered, delimiter)) return;
        continue;
      }
      if (this.#ruleStale) {
        core.setRule(region, delimiter.rule);
        this.#ruleStale = false;
      }
      const limit = delimiter.fixedSize > this.#bufferSize ? delimiter.fixedSize : this.#bufferSize;
      const count = core.scan(region, limit);
      if (count === SCAN_OVERFLOW) return this.#overflow(core.overflowBytes, limit);
      if (count === 0) return;
      // The batch runs until a callback changes what delivery depends on
      // (delimiter, encoding, pause, TLS upgrade, close): one compare per frame.
      const epoch = this.#epoch;
      const frames = core.frames;
      const bytes = core.bytes(region);
      const base = core.base(region);
      let consumed = 0;
      let i = 0;
      if (delimiter.struct === null && delimiter.netStruct === null && this.#encoding === null) {
        // A view made from the buffer costs less than subarray() (no species
        // lookup). Callbacks never grow the core's memory (only reads append),
        // so the buffer stays attached for the whole batch.
        const buffer = bytes.buffer;
        const offset = bytes.byteOffset + base;
        while (i < count) {
          const at = i++ * 3;
          consumed = frames[at + 2]!;
          this.#frameNext = consumed;
          const start = frames[at]!;
          try {
            this.onRead(new Uint8Array(buffer, offset + start, frames[at + 1]! - start));
          } catch (error) {
            reportError(this, error);
          }
          if (this.#epoch !== epoch) break;
        }
      } else {
        while (i < count) {
          const at = i++ * 3;
          consumed = frames[at + 2]!;
          this.#frameNext = consumed;
          this.#deliverFrame(delimiter, bytes, base + frames[at]!, base + frames[at + 1]!);
          if (this.#epoch !== epoch) break;
        }
      }
      this.#framesDelivered += i;
      if (this.#region !== region) return;
      core.consume(region, consumed);
      this.#frameNext = 0;
      if (count < MAX_FRAMES_PER_SCAN && this.#epoch === epoch) return;
    }
  }

  #deliverFrame(
    delimiter: Delimiter & { kind: "core" },
    bytes: Uint8Array,
    start: number,
    end: number,
  ): void {
    try {
      if (delimiter.struct !== null) {
        this.onRead(...delimiter.struct.unpackFrom(bytes, start));
      } else if (delimiter.netStruct !== null) {
        this.onRead(...delimiter.netStruct.unpack(bytes.subarray(start, end)));
      } else if (this.#encoding === null) {
        this.onRead(bytes.subarray(start, end));
      } else {
        this.onRead(this.#text(bytes.subarray(start, end), delimiter.fixedSize > 0));
      }
    } catch (error) {
      reportError(this, error);
    }
  }

  /** Delivers one chunk (the `null` delimiter). */
  #deliver(view: Uint8Array): void {
    this.#framesDelivered++;
    try {
      this.onRead(this.#encoding === null ? view : this.#text(view, true));
    } catch (error) {
      reportError(this, error);
    }
  }

  #text(view: Uint8Array, streaming: boolean): string {
    this.#decoder ??= new TextDecoder("utf-8");
    return this.#decoder.decode(view, { stream: streaming });
  }

  /**
   * Frames every regex match in the buffered input: the input is decoded
   * once and searched on from each match's end, so a read full of matches
   * costs linear time. Returns false when no frame is complete yet.
   */
  #drainRegex(region: number, buffered: number, delimiter: RegexDelimiter): boolean {
    const base = core.base(region);
    let view = core.bytes(region).subarray(base, base + buffered);
    const utf8 = this.#encoding !== null;
    let text: string;
    /** Where each code unit starts, when the input held invalid UTF-8. */
    let offsets: Uint32Array | null = null;
    if (utf8) {
      view = view.subarray(0, completeUtf8Length(view));
      try {
        text = strictUtf8.decode(view);
      } catch {
        ({ text, offsets } = decodeUtf8WithOffsets(view));
      }
    } else {
      text = latin1.decode(view);
    }
    const search = this.regexSearch;
    const re = search ? delimiter.searchAll : delimiter.match;
    const epoch = this.#epoch;
    let at = 0; // characters of `text` framed so far
    let atByte = 0; // the same, in bytes
    let frames = 0;
    while (at < text.length) {
      re.lastIndex = at;
      const found = re.exec(text);
      if (found === null || found[0].length === 0) break;
      const end = found.index + found[0].length;
      const startByte = !utf8
        ? found.index
        : offsets !== null
        ? offsets[found.index]!
        : atByte + utf8Length(text, at, found.index);
      const endByte = !utf8
        ? end
        : offsets !== null
        ? offsets[end]!
        : startByte + utf8Length(text, found.index, end);
      this.#frameNext = endByte;
      frames++;
      try {
        if (!search) this.onRead(found);
        else if (utf8) this.onRead(text.slice(at, found.index));
        else this.onRead(view.subarray(atByte, startByte));
      } catch (error) {
        reportError(this, error);
      }
      at = end;
      atByte = endByte;
      if (this.#epoch !== epoch) break;
    }
    this.#framesDelivered += frames;
    if (this.#region !== region) return false;
    this.#frameNext = 0;
    if (atByte > 0) core.consume(region, atByte);
    if (frames === 0 && buffered >= this.#bufferSize) this.#overflow(buffered, this.#bufferSize);
    return frames > 0 && this.#epoch !== epoch;
  }

  #overflow(bytes: number, limit: number): void {
    core.consume(this.#region, core.buffered(this.#region));
    this.engine[statistics].overflows++;
    try {
      this.onOverflowError(
        new StreamBufferOverflow(
          `Stream input overflow: ${bytes} bytes buffered or declared without a complete frame, ` +
            `over the limit of ${limit}; raise bufferSize if the protocol needs larger frames`,
          limit,
          bytes,
        ),
      );
    } catch (error) {
      reportError(this, error);
    }
  }

  #end(): void {
    if (this.#state !== "connected") return;
    notify(this, this.onEnd);
  }

  #readFailed(error: unknown): void {
    if (this.#state === "closed") return;
    if (
      error instanceof Deno.errors.ConnectionReset ||
      error instanceof Deno.errors.BrokenPipe ||
      error instanceof Deno.errors.Interrupted ||
      error instanceof Deno.errors.BadResource
    ) {
      this.close({ flush: false });
      return;
    }
    reportError(this, error);
    this.close({ flush: false });
  }

  // --- writing -----------------------------------------------------------

  /**
   * Queues data to send. Writes made in one engine iteration are coalesced
   * into one socket write at its end (or at once with `{ flush: true }`).
   * The data is copied: a frame received in `onRead` may be written back.
   *
   * @param data Bytes, or a string sent as UTF-8.
   * @param options `flush: true` to start sending at once.
   * @returns `false` when the queue is above `writeBufferSize`: wait for
   * `onWrite()` before writing more.
   * @throws {ChannelClosedError} If the stream is not connected or is closing.
   */
  write(data: Uint8Array | string, options?: WriteOptions): boolean {
    this.#checkWritable();
    this.#checkRoom(typeof data === "string" ? data.length : data.length);
    this.#writer.write(data);
    if (options?.flush) this.#writer.flush();
    return this.#writer.size <= this.writeBufferSize;
  }

  /**
   * Packs values into a binary record and queues it: with the current
   * `Struct` or `NetStruct` delimiter's format, or with `{ format }` as the
   * last argument.
   *
   * @example A fixed binary record
   * ```ts
   * import { Stream, Struct } from "@pants/pants";
   *
   * class Ping extends Stream {
   *   override onConnect(): void {
   *     this.readDelimiter = new Struct("!IH");
   *     this.writePacked(1, 2);
   *     this.writePacked(7, { format: "!B" });
   *   }
   * }
   * ```
   *
   * @param values The record's values, optionally followed by `{ format }`.
   * @returns `false` when the queue is above `writeBufferSize`.
   * @throws {TypeError} Without a struct delimiter or `{ format }`, or for a bad format.
   * @throws {RangeError} For values out of range for their codes.
   * @throws {ChannelClosedError} If the stream is not connected or is closing.
   */
  writePacked(...values: unknown[]): boolean {
    this.#checkWritable();
    this.#checkRoom(0);
    const last = values[values.length - 1];
    let codec: Struct | NetStruct | null = null;
    if (isPackedOptions(last)) {
      values.pop();
      codec = structFor(last.format);
    } else if (this.#delimiter.kind === "core") {
      codec = this.#delimiter.struct ?? this.#delimiter.netStruct;
    }
    if (codec === null) {
      throw new TypeError(
        "Cannot writePacked: set readDelimiter to a Struct or NetStruct, or pass { format } last",
      );
    }
    const args = values as Parameters<Struct["pack"]>;
    if (codec instanceof Struct) {
      codec.pack(...args); // validates before anything is queued
      const struct = codec;
      this.#writer.writeInPlace(struct.size, (target, offset) => {
        struct.packInto(target, offset, ...args);
      });
    } else {
      this.#writer.write(codec.pack(...args));
    }
    return this.#writer.size <= this.writeBufferSize;
  }

  /**
   * Streams a file (or a byte range of it) to the peer, in order with other
   * writes, without reading it whole into memory. Needs `--allow-read` for
   * the path. An error (missing file, permission) goes to `onError` as a
   * `WriteFileError` naming the path; later writes are still sent.
   *
   * @example Sending a file after a header
   * ```ts
   * import { Stream } from "@pants/pants";
   *
   * class Download extends Stream {
   *   override onConnect(): void {
   *     this.write("FILE\n");
   *     this.writeFile("./README.md");
   *     this.write("END\n");
   *   }
   * }
   * ```
   *
   * @param source A path, a `file:` URL, or an open `Deno.FsFile` (not closed by Pants).
   * @param options `offset` and `length` of the range; `flush` to start at once.
   * @throws {ChannelClosedError} If the stream is not connected or is closing.
   * @throws {RangeError} For a negative offset or length.
   */
  writeFile(source: FileSource, options: WriteFileOptions = {}): void {
    this.#checkWritable();
    const job = writeFileJob(
      source,
      options,
      () => this.#state === "closed",
      (error: WriteFileError) => {
        if (this.#state !== "closed") reportError(this, error);
      },
    );
    this.#writer.runExclusive(job, options.flush ?? false);
  }

  /**
   * Starts sending queued data now instead of at the end of the iteration.
   *
   * @throws {ChannelClosedError} If the stream is not connected.
   */
  flush(): void {
    if (this.#state !== "connected" && this.#state !== "closing") {
      throw new ChannelClosedError(this.#state === "closed" ? CLOSED : NOT_CONNECTED);
    }
    this.#writer.flush();
  }

  /** Enforces `maxWriteBuffer` before `bytes` more are queued. */
  #checkRoom(bytes: number): void {
    const queued = this.#writer.size;
    if (queued + bytes <= this.maxWriteBuffer) return;
    const error = new StreamBufferOverflow(
      `Cannot queue ${bytes} more bytes: ${queued} are already waiting to be sent, and ` +
        `maxWriteBuffer is ${this.maxWriteBuffer}; the peer is not reading fast enough ` +
        "(wait for onWrite() when write() returns false)",
      this.maxWriteBuffer,
      queued + bytes,
    );
    this.engine[statistics].overflows++;
    if (this.writeOverflow === "close") {
      this.close({ flush: false });
      throw new ChannelClosedError(`${error.message}; the stream was closed`);
    }
    throw error;
  }

  #checkWritable(): void {
    if (this.#state !== "connected") {
      throw new ChannelClosedError(
        this.#state === "idle" || this.#state === "connecting" ? NOT_CONNECTED : CLOSED,
      );
    }
  }

  #drained(): void {
    if (this.#state === "closing") return this.#finishClose();
    if (this.#state !== "connected") return;
    notify(this, this.onWrite);
  }

  // --- TLS ---------------------------------------------------------------

  /**
   * Secures the stream with TLS. Before `connect()`: the connection is TLS
   * from the start, and `onSSLHandshake()` fires before `onConnect()`. On a
   * connected stream (STARTTLS): the upgrade happens once every write queued
   * so far was sent; writes made meanwhile are sent over TLS afterwards.
   * A client stream verifies the server (`hostname`, `caCerts`); a stream
   * accepted by a plain server acts as the TLS server and needs `cert` and
   * `key`.
   *
   * Call it from `onConnect()` or `onRead()` (a read must not be pending),
   * and only when no unread input is buffered: plaintext received before
   * the handshake must never pass for TLS-protected data.
   *
   * @example STARTTLS on a client
   * ```ts
   * import { Stream } from "@pants/pants";
   *
   * class Client extends Stream {
   *   override onConnect(): void {
   *     this.readDelimiter = "\r\n";
   *     this.write("STARTTLS\r\n");
   *   }
   *   override onRead(line: Uint8Array): void {
   *     if (new TextDecoder().decode(line) === "GO") this.startSSL({ hostname: "localhost" });
   *   }
   * }
   * ```
   *
   * @param options Client: `hostname`, `caCerts`, `alpnProtocols`; accepted stream: `cert`, `key`.
   * @returns This stream.
   * @throws {StartTlsError} When unread plaintext is buffered, a read is
   * pending, the stream is already TLS, or it is not connected.
   */
  startSSL(options: TlsClientOptions & Partial<TlsServerOptions> = {}): this {
    if (this.#state === "idle") {
      this.#tlsClient = options;
      return this;
    }
    if (this.#state !== "connected") {
      throw new StartTlsError(`Cannot start TLS: the stream is ${this.#state}`);
    }
    if (this.#secure || this.#upgrading) {
      throw new StartTlsError("Cannot start TLS: the stream is already secured with TLS");
    }
    if (this.#readPending) {
      throw new StartTlsError(
        "Cannot start TLS while a read is pending: call startSSL() from onConnect() or onRead()",
      );
    }
    const unread = this.#region === 0 ? 0 : core.buffered(this.#region) - this.#frameNext;
    if (unread > 0) {
      throw new StartTlsError(
        `Refusing to start TLS: ${unread} bytes of plaintext arrived after the STARTTLS point ` +
          "and are still unread; they must not be treated as TLS-protected",
      );
    }
    const server = this.#server !== null;
    if (server && (options.cert === undefined || options.key === undefined)) {
      throw new StartTlsError(
        "Cannot start TLS on an accepted stream without { cert, key }: it acts as the TLS server",
      );
    }
    this.#upgrading = true;
    this.#epoch++;
    this.#writer.runExclusive(async (plain) => {
      try {
        const secured = server
          ? await upgradeServer(plain, options as TlsServerOptions)
          : await upgradeClient(plain, {
            ...options,
            hostname: options.hostname ?? this.#connectHost,
          });
        if (this.#state === "closed") return secured.close();
        this.#transport = secured;
        this.#secure = true;
        this.#upgrading = false;
        this.#handshaken();
        if (this.#state === "connected" && !this.#paused && !this.#reading) void this.#readLoop();
      } catch (error) {
        this.#upgrading = false;
        this.#handshakeFailed(error as TlsHandshakeError);
      }
    }, true);
    return this;
  }

  /**
   * Alias of {@linkcode Stream.startSSL}.
   *
   * @param options As for `startSSL`.
   * @returns This stream.
   */
  startTLS(options: TlsClientOptions & Partial<TlsServerOptions> = {}): this {
    return this.startSSL(options);
  }

  // --- closing -----------------------------------------------------------

  /**
   * Closes the stream. With `flush` (the default) queued writes are sent
   * first and no more input is delivered meanwhile. `onClose()` follows
   * exactly once, in a later engine iteration.
   *
   * @param options `flush: false` to drop queued writes and close at once.
   */
  close(options?: CloseOptions): void {
    if (this.#state === "closed") return;
    const flush = options?.flush ?? true;
    if (flush && this.#state === "connected" && this.#writer.busy) {
      this.#state = "closing";
      this.#writer.flush();
      return;
    }
    if (flush && this.#state === "closing") return;
    this.#finishClose();
  }

  #finishClose(): void {
    this.#epoch++;
    this.#timer?.cancel();
    this.#timer = null;
    const wasOpen = this.#state !== "idle";
    this.#state = "closed";
    this.#writer.stop();
    if (this.#transport !== null) {
      try {
        this.#transport.close();
      } catch {
        // Already closed by the peer's reset or by Deno.
      }
    }
    if (this.#region !== 0) {
      core.close(this.#region);
      this.#region = 0;
    }
    this.#readBuffer = EMPTY;
    this.#server?.[forget](this);
    this.engine.detach(this);
    if (wasOpen) this.engine.queueClose(() => notify(this, this.onClose));
  }
}

function isPackedOptions(value: unknown): value is WritePackedOptions {
  return typeof value === "object" && value !== null && !(value instanceof Uint8Array) &&
    typeof (value as WritePackedOptions).format === "string";
}

const structs = new Map<string, Struct | NetStruct>();

/** A `Struct` (or, with `$` fields, a `NetStruct`) per format string, compiled once. */
function structFor(format: string): Struct | NetStruct {
  let struct = structs.get(format);
  if (struct === undefined) {
    struct = format.includes("$") ? new NetStruct(format) : new Struct(format);
    if (structs.size >= 256) structs.clear();
    structs.set(format, struct);
  }
  return struct;
}
