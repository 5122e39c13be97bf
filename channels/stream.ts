/**
 * `Stream`: a TCP or Unix-socket connection, framed by `readDelimiter`.
 *
 * @module
 */

import { MAX_FRAMES_PER_SCAN, SCAN_OVERFLOW } from "../framing/_core.ts";
import { defaultFramingCore } from "../framing/_default_core.ts";
import { type Delimiter, parseDelimiter, type ReadDelimiter } from "../framing/_delimiter.ts";
import { type AddressInput, normalizeAddr, resolveAddress } from "./address.ts";
import { Channel, type ChannelOptions, type CloseOptions, reportError } from "./channel.ts";
import { ChannelClosedError, StreamBufferOverflow, type StreamConnectError } from "./errors.ts";
import { SendQueue } from "./_send_queue.ts";
import { connectStream, type Transport } from "./_socket.ts";
import { completeUtf8Length, utf8Length } from "./_utf8.ts";
import { adopt, begin, forget } from "./_symbols.ts";
import type { Server } from "./server.ts";

/** Options for `write()`. */
export interface WriteOptions {
  /**
   * Start sending at once instead of at the end of the current iteration.
   *
   * @default {false}
   */
  flush?: boolean;
}

/** The text encodings a stream can decode frames with. */
export type StreamEncoding = null | "utf-8";

type State = "idle" | "connecting" | "connected" | "closing" | "closed";

const core = defaultFramingCore();
const latin1 = new TextDecoder("latin1");
const SMALL_READ = 1024;
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
  /**
   * `null`: frames are `Uint8Array`; `"utf-8"`: frames are strings, and a
   * character split across reads is never corrupted.
   *
   * @default {null}
   */
  encoding: StreamEncoding = null;
  /**
   * The high-water mark of the send queue: `write()` returns `false` above
   * it; `onWrite()` fires when the queue has drained.
   *
   * @default {65536}
   */
  writeBufferSize = 64 * 1024;

  #state: State = "idle";
  #transport: Transport | null = null;
  #server: Server | null = null;
  #remote: Deno.Addr | null = null;
  #local: Deno.Addr | null = null;

  #delimiterValue: ReadDelimiter = null;
  #delimiter: Delimiter = parseDelimiter(null);
  #delimiterVersion = 0;
  #ruleStale = false;
  #bufferSize = 64 * 1024;
  #region = 0;
  #readBuffer: Uint8Array = EMPTY;
  #smallReads = 0;
  #reading = false;
  #paused = false;
  #ended = false;
  #decoder: TextDecoder | null = null;

  #queue = new SendQueue();
  #writing = false;
  #flushScheduled = false;
  readonly #flushTask = (): void => {
    this.#flushScheduled = false;
    if (!this.#writing && this.#queue.pendingLength > 0) void this.#writeLoop();
  };

  /**
   * Creates a stream; connect it with `connect()`, or let a `Server` accept it.
   *
   * @param options The engine to join.
   */
  constructor(options: ChannelOptions = {}) {
    super(options);
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
    return this.#queue.size;
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
    this.#delimiterVersion++;
    this.#ruleStale = true;
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
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new RangeError(`Invalid bufferSize ${value}: expected a positive integer`);
    }
    this.#bufferSize = value;
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
    if (this.#state !== "idle") {
      throw new Error(`Cannot connect: the stream is already ${this.#state}; create a new stream`);
    }
    this.#state = "connecting";
    this.engine.attach(this);
    this.engine.whenRunning(() => {
      if (this.#state !== "connecting") return;
      connectStream(resolved).then(
        (transport) => {
          if (this.#state !== "connecting") return transport.close();
          this.#start(transport);
        },
        (error: StreamConnectError) => {
          if (this.#state !== "connecting") return;
          try {
            this.onConnectError(error);
          } catch (thrown) {
            reportError(this, thrown);
          }
          if (this.#state === "connecting") this.close({ flush: false });
        },
      );
    });
    return this;
  }

  /** Adopts a connection accepted by `server`. */
  [adopt](transport: Transport, server: Server | null): void {
    this.#server = server;
    this.#state = "connecting";
    this.engine.attach(this);
    this.#adoptTransport(transport);
  }

  /** Runs `onConnect()` for an adopted connection and starts reading. */
  [begin](): void {
    if (this.#state === "connected") this.#begin();
  }

  #adoptTransport(transport: Transport): void {
    this.#transport = transport;
    this.#remote = normalizeAddr(transport.remoteAddr);
    this.#local = normalizeAddr(transport.localAddr);
    this.#state = "connected";
  }

  #start(transport: Transport): void {
    this.#adoptTransport(transport);
    this.#begin();
  }

  #begin(): void {
    try {
      this.onConnect();
    } catch (error) {
      reportError(this, error);
    }
    if (this.#state === "connected" && !this.#paused) void this.#readLoop();
  }

  // --- reading -----------------------------------------------------------

  /** Stops delivering input until `resumeReading()`; the kernel buffers meanwhile. */
  pauseReading(): void {
    this.#paused = true;
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
      else if (!this.#reading) void this.#readLoop();
    });
  }

  async #readLoop(): Promise<void> {
    const transport = this.#transport!;
    this.#reading = true;
    if (this.#readBuffer.length === 0) this.#readBuffer = new Uint8Array(SMALL_READ);
    while (this.#state === "connected" && !this.#paused) {
      let n: number | null;
      try {
        n = await transport.read(this.#readBuffer);
      } catch (error) {
        this.#reading = false;
        this.#readFailed(error);
        return;
      }
      if (this.#state !== "connected") break;
      if (n === null) {
        this.#reading = false;
        this.#ended = true;
        if (!this.#paused) this.#end();
        return;
      }
      this.#received(n);
    }
    this.#reading = false;
  }

  #received(n: number): void {
    const buffer = this.#readBuffer;
    if (this.#delimiter.kind === "chunk" && this.#region === 0 && !this.#paused) {
      this.#deliver(buffer.subarray(0, n));
    } else {
      if (this.#region === 0) this.#region = core.open();
      core.append(this.#region, buffer.subarray(0, n));
      this.#drain();
    }
    // Adapt the read buffer: large while reads fill it, small again when idle.
    if (n === buffer.length && buffer.length < LARGE_READ) {
      this.#readBuffer = new Uint8Array(LARGE_READ);
      this.#smallReads = 0;
    } else if (n <= SMALL_READ && buffer.length > SMALL_READ && ++this.#smallReads >= 16) {
      this.#readBuffer = new Uint8Array(SMALL_READ);
      this.#smallReads = 0;
      if (this.#region !== 0 && core.buffered(this.#region) === 0) core.trim(this.#region);
    }
  }

  /** Delivers the complete frames buffered in the region. */
  #drain(): void {
    while (this.#region !== 0 && this.#state === "connected" && !this.#paused) {
      const region = this.#region;
      const buffered = core.buffered(region);
      if (buffered === 0) return;
      const delimiter = this.#delimiter;
      if (delimiter.kind === "chunk") {
        const base = core.base(region);
        const view = core.bytes(region).subarray(base, base + buffered);
        core.consume(region, buffered);
        this.#deliver(view);
        continue;
      }
      if (delimiter.kind === "regex") {
        if (!this.#drainRegex(region, buffered, delimiter.search, delimiter.match)) return;
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
      const version = this.#delimiterVersion;
      const frames = core.frames;
      const bytes = core.bytes(region);
      const base = core.base(region);
      let consumed = 0;
      for (let i = 0; i < count; i++) {
        const at = i * 3;
        consumed = frames[at + 2]!;
        this.#deliverFrame(delimiter, bytes, base + frames[at]!, base + frames[at + 1]!);
        if (this.#region !== region) return;
        if (this.#delimiterVersion !== version || this.#paused) break;
      }
      core.consume(region, consumed);
      if (count < MAX_FRAMES_PER_SCAN && this.#delimiterVersion === version) return;
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
      } else if (this.encoding === null) {
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
    try {
      this.onRead(this.encoding === null ? view : this.#text(view, true));
    } catch (error) {
      reportError(this, error);
    }
  }

  #text(view: Uint8Array, streaming: boolean): string {
    this.#decoder ??= new TextDecoder("utf-8");
    return this.#decoder.decode(view, { stream: streaming });
  }

  /** Frames one regex match; returns false when no frame is complete yet. */
  #drainRegex(region: number, buffered: number, search: RegExp, match: RegExp): boolean {
    const base = core.base(region);
    const bytes = core.bytes(region);
    let view = bytes.subarray(base, base + buffered);
    const utf8 = this.encoding !== null;
    if (utf8) view = view.subarray(0, completeUtf8Length(view));
    const text = utf8 ? new TextDecoder().decode(view) : latin1.decode(view);
    const re = this.regexSearch ? search : match;
    re.lastIndex = 0;
    const found = re.exec(text);
    if (found === null || found[0].length === 0) {
      if (buffered >= this.#bufferSize) this.#overflow(buffered, this.#bufferSize);
      return false;
    }
    const endChar = found.index + found[0].length;
    const consumed = utf8 ? utf8Length(text, endChar) : endChar;
    const before = utf8 ? utf8Length(text, found.index) : found.index;
    core.consume(region, consumed);
    try {
      if (!this.regexSearch) this.onRead(found);
      else if (utf8) this.onRead(text.slice(0, found.index));
      else this.onRead(view.subarray(0, before));
    } catch (error) {
      reportError(this, error);
    }
    return true;
  }

  #overflow(bytes: number, limit: number): void {
    core.consume(this.#region, core.buffered(this.#region));
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
    try {
      this.onEnd();
    } catch (error) {
      reportError(this, error);
    }
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
    if (this.#state !== "connected") {
      throw new ChannelClosedError(this.#state === "idle" || this.#state === "connecting" ? NOT_CONNECTED : CLOSED);
    }
    this.#queue.push(data);
    if (options?.flush) this.flush();
    else if (!this.#flushScheduled && !this.#writing) {
      this.#flushScheduled = true;
      queueMicrotask(this.#flushTask);
    }
    return this.#queue.size <= this.writeBufferSize;
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
    if (!this.#writing && this.#queue.pendingLength > 0) void this.#writeLoop();
  }

  async #writeLoop(): Promise<void> {
    const transport = this.#transport!;
    this.#writing = true;
    while (this.#queue.pendingLength > 0) {
      const chunk = this.#queue.take();
      let offset = 0;
      while (offset < chunk.length) {
        let n: number;
        try {
          n = await transport.write(offset === 0 ? chunk : chunk.subarray(offset));
        } catch (error) {
          this.#writing = false;
          this.#queue.clear();
          this.#readFailed(error);
          return;
        }
        if (this.#state === "closed") {
          this.#writing = false;
          return;
        }
        offset += n;
        this.#queue.sent(n);
      }
      this.#queue.release();
    }
    this.#writing = false;
    if (this.#state === "closing") return this.#finishClose();
    if (this.#state !== "connected") return;
    try {
      this.onWrite();
    } catch (error) {
      reportError(this, error);
    }
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
    if (flush && this.#state === "connected" && (this.#writing || this.#queue.pendingLength > 0)) {
      this.#state = "closing";
      if (!this.#writing) void this.#writeLoop();
      return;
    }
    if (flush && this.#state === "closing") return;
    this.#finishClose();
  }

  #finishClose(): void {
    const wasOpen = this.#state !== "idle";
    this.#state = "closed";
    this.#queue.clear();
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
    if (wasOpen) this.engine.queueClose(this.#notifyClose);
  }

  readonly #notifyClose = (): void => {
    try {
      this.onClose();
    } catch (error) {
      reportError(this, error);
    }
  };
}
