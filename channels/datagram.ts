/**
 * `Datagram`: a UDP (or Unix datagram) channel; one `onRead` per datagram,
 * or per frame inside each datagram with a `readDelimiter`.
 *
 * @module
 */

import { statistics } from "../engine/stats.ts";
import { MAX_FRAMES_PER_SCAN } from "../framing/_core.ts";
import { framingCore } from "../framing/_wasm_core.ts";
import {
  checkBufferSize,
  type Delimiter,
  parseDelimiter,
  type ReadDelimiter,
  type RegexDelimiter,
} from "../framing/read_delimiter.ts";
import { type AddressInput, resolveAddress } from "../transport/address.ts";
import { Channel, type ChannelOptions, type CloseOptions, notify, reportError } from "./channel.ts";
import { DatagramError } from "../transport/datagram_errors.ts";
import { ChannelClosedError } from "./errors.ts";
import { type ListenError } from "../transport/errors.ts";
import {
  connectDatagram,
  type DatagramPeer,
  type DatagramSink,
  type DatagramSocket,
  describePeer,
  openDatagram,
  sendFailure,
} from "../transport/_datagram_socket.ts";
import { utf8Length } from "../framing/_utf8.ts";

/**
 * Where a datagram came from or goes to: UDP (`"udp"`) or a Unix datagram socket (`"unixpacket"`).
 *
 * @example Usage
 * ```ts
 * import { Datagram, type DatagramAddress } from "@pants/pants";
 *
 * class Log extends Datagram {
 *   override onRead(data: Uint8Array, from: DatagramAddress): void {
 *     console.log(from, data.length);
 *   }
 * }
 * ```
 */
export type DatagramAddress = Deno.NetAddr | Deno.UnixAddr;

/**
 * The text encodings a datagram channel can decode frames with.
 *
 * @example Usage
 * ```ts
 * import { Datagram, type DatagramEncoding } from "@pants/pants";
 *
 * const channel = new Datagram();
 * const encoding: DatagramEncoding = "utf-8";
 * channel.encoding = encoding;
 * ```
 */
export type DatagramEncoding = null | "utf-8";

type State = "idle" | "starting" | "open" | "closing" | "closed";

const core = framingCore;
const latin1 = new TextDecoder("latin1");
const utf8 = new TextDecoder("utf-8");
const strictUtf8 = new TextDecoder("utf-8", { fatal: true });
const encoder = new TextEncoder();
const EMPTY = new Uint8Array(0);
/** A region grown past this by a large datagram is trimmed afterwards. */
const TRIM_ABOVE = 16 * 1024;
const NOT_OPEN =
  "Cannot write: the datagram channel is not open yet; write from onListen() or onConnect()";
const CLOSED = "Cannot write: the datagram channel is closed or closing; check closed first";

/**
 * Datagrams queued by `write()`: copied into one growable buffer while the
 * socket sends from another, so steady traffic allocates no buffers.
 */
class SendQueue {
  #pending = new Uint8Array(1024);
  #pendingUsed = 0;
  #pendingCount = 0;
  #pendingSizes: number[] = [];
  #pendingTargets: (DatagramPeer | null)[] = [];
  #out = new Uint8Array(1024);
  #outCount = 0;
  #outSizes: number[] = [];
  #outTargets: (DatagramPeer | null)[] = [];
  #outIndex = 0;
  #outOffset = 0;
  /** Bytes queued and not yet sent. */
  size = 0;
  /** The datagram being sent (after `next()` returned true). */
  view: Uint8Array = EMPTY;
  /** Its destination (`null`: the connected peer). */
  target: DatagramPeer | null = null;

  push(data: Uint8Array | string, target: DatagramPeer | null): void {
    const used = this.#pendingUsed;
    const room = used + (typeof data === "string" ? data.length * 3 : data.length);
    if (room > this.#pending.length) {
      let capacity = this.#pending.length * 2;
      while (capacity < room) capacity *= 2;
      const grown = new Uint8Array(capacity);
      grown.set(this.#pending.subarray(0, used));
      this.#pending = grown;
    }
    let n = data.length;
    if (typeof data === "string") {
      n = encoder.encodeInto(data, this.#pending.subarray(used)).written;
    } else this.#pending.set(data, used);
    this.#pendingUsed = used + n;
    this.#pendingSizes[this.#pendingCount] = n;
    this.#pendingTargets[this.#pendingCount++] = target;
    this.size += n;
  }

  /** Moves to the next datagram to send; false when the queue is empty. */
  next(): boolean {
    if (this.#outIndex === this.#outCount) {
      if (this.#pendingCount === 0) return false;
      const buffer = this.#out, sizes = this.#outSizes, targets = this.#outTargets;
      this.#out = this.#pending;
      this.#outSizes = this.#pendingSizes;
      this.#outTargets = this.#pendingTargets;
      this.#outCount = this.#pendingCount;
      this.#pending = buffer.length > 256 * 1024 ? new Uint8Array(1024) : buffer;
      this.#pendingSizes = sizes;
      this.#pendingTargets = targets;
      this.#pendingUsed = 0;
      this.#pendingCount = 0;
      this.#outIndex = 0;
      this.#outOffset = 0;
    }
    const n = this.#outSizes[this.#outIndex]!;
    this.view = this.#out.subarray(this.#outOffset, this.#outOffset + n);
    this.target = this.#outTargets[this.#outIndex]!;
    return true;
  }

  /** The current datagram was sent (or failed). */
  done(): void {
    const n = this.view.length;
    this.#outTargets[this.#outIndex++] = null;
    this.#outOffset += n;
    this.size -= n;
    this.view = EMPTY;
    this.target = null;
  }

  clear(): void {
    this.#pendingTargets.fill(null);
    this.#outTargets.fill(null);
    this.#pendingUsed =
      this.#pendingCount =
      this.#outCount =
      this.#outIndex =
      this.size =
        0;
    this.view = EMPTY;
    this.target = null;
  }
}

/**
 * A datagram channel: UDP over IPv4 or IPv6, or a Unix datagram socket.
 *
 * `listen(address)` binds it; then `onRead(data, remoteAddress)` runs once
 * per datagram (datagram boundaries are kept), and `write(data, address)`
 * sends one datagram. During `onRead`, `write(data)` without an address
 * replies to the sender. `connect(address)` makes a client channel that
 * talks to one peer only.
 *
 * With a `readDelimiter` (the values `Stream` takes), each datagram is cut
 * into frames on its own: a datagram is never joined to the next one, and
 * bytes at its end that do not form a complete frame are reported to
 * `onError` as a {@linkcode DatagramError} (`"incomplete"`) and dropped.
 * `Struct` and `NetStruct` frames reach `onRead` as the array of values.
 *
 * A datagram larger than `bufferSize` is reported (`"oversized"` or
 * `"truncated"`) and dropped, never cut silently. The default `onError`
 * logs a `DatagramError` and keeps the channel open; any other error (an
 * exception thrown by a callback) is logged and closes the channel.
 *
 * Frames are views valid only during `onRead`: copy (`data.slice()`) to
 * keep one. `write()` copies its data, so a frame may be written back.
 *
 * Deno checks `--allow-net` for every destination, replies included: a
 * server that answers anyone needs plain `--allow-net`; one for local
 * clients only can use `--allow-net=127.0.0.1`. A send that is not
 * permitted is reported to `onError` with the flag that would allow it.
 *
 * Backends: `node:dgram` in stable Deno (only `--allow-net` needed), or
 * `Deno.listenDatagram` when Deno runs with `--unstable-net` (two to three
 * times the datagrams per second, bench/udp_bench.ts). Unix datagram
 * sockets (`{ path }`) need `--unstable-net`; without it `onListenError`
 * says so. Deno 2.9 cannot send on a Unix datagram socket while it waits
 * for input, so a datagram written outside `onRead` first interrupts the
 * wait with an empty datagram from a second socket at the path plus
 * `.wake` (bound when first needed, removed on close; it needs the same
 * permissions as the path).
 *
 * @example A UDP echo server
 * ```ts
 * import { Datagram, type DatagramAddress, engine } from "@pants/pants";
 *
 * class Echo extends Datagram {
 *   override onRead(data: Uint8Array, _from: DatagramAddress): void {
 *     this.write(data); // back to the sender
 *   }
 * }
 * new Echo().listen(4040);
 * engine.start();
 * ```
 */
export class Datagram extends Channel {
  /** Always `"datagram"`. */
  readonly kind = "datagram" as const;
  /**
   * `RegExp` delimiters: search mode (`true`) passes the bytes before each
   * match and drops the match; match mode (`false`) passes the
   * `RegExpExecArray` of each match at the current position.
   *
   * @default {true}
   */
  regexSearch = true;
  /**
   * `null`: frames are `Uint8Array`; `"utf-8"`: frames are strings (each
   * datagram is decoded on its own).
   *
   * @default {null}
   */
  encoding: DatagramEncoding = null;
  /**
   * The high-water mark of the send queue in bytes: `write()` returns
   * `false` above it; `onWrite()` fires when the queue has drained.
   *
   * @default {65536}
   */
  writeBufferSize = 64 * 1024;

  #state: State = "idle";
  #socket: DatagramSocket | null = null;
  #local: DatagramAddress | null = null;
  #remote: DatagramAddress | null = null;
  #sender: DatagramPeer | null = null;

  #delimiterValue: ReadDelimiter = null;
  #delimiter: Delimiter = parseDelimiter(null);
  #delimiterVersion = 0;
  #ruleStale = true;
  #bufferSize = 64 * 1024;
  #region = 0;
  #frames = 0;

  #queue = new SendQueue();
  #sending = false;

  readonly #sink: DatagramSink = {
    datagram: (data, truncated, from) => this.#received(data, truncated, from),
    sent: (error) => this.#sent(error),
    failed: (error, fatal) => this.#receiveFailed(error, fatal),
  };

  /**
   * Creates a datagram channel; bind it with `listen()` or `connect()`.
   *
   * @param options The engine to join.
   */
  constructor(options: ChannelOptions = {}) {
    super(options);
  }

  // --- state -------------------------------------------------------------

  /** Whether the channel is closed, or closing after sending its queue. */
  get closed(): boolean {
    return this.#state === "closed" || this.#state === "closing";
  }

  /** Whether the channel is bound and open (after `onListen` or `onConnect`). */
  get open(): boolean {
    return this.#state === "open";
  }

  /** Whether the channel is open and connected to one peer. */
  get connected(): boolean {
    return this.#state === "open" && this.#remote !== null;
  }

  /** The bound address (with the real port after binding port 0); still readable in `onClose`. */
  get localAddress(): DatagramAddress | null {
    return this.#local;
  }

  /** The peer of a connected channel, else `null`; still readable in `onClose`. */
  get remoteAddress(): DatagramAddress | null {
    return this.#remote;
  }

  /** Bytes queued by `write()` and not yet sent. */
  get writeQueueSize(): number {
    return this.#queue.size;
  }

  // --- framing settings --------------------------------------------------

  /**
   * How each datagram is cut into frames for `onRead`: `null` (default)
   * passes whole datagrams; other values as for `Stream.readDelimiter`,
   * applied to each datagram on its own. It may change inside `onRead`: the
   * rest of the datagram is framed with the new value.
   *
   * @throws {TypeError} At assignment, for a value that is not a delimiter.
   */
  get readDelimiter(): ReadDelimiter {
    return this.#delimiterValue;
  }
  set readDelimiter(value: ReadDelimiter) {
    const parsed = parseDelimiter(value);
    this.#delimiter = parsed;
    this.#delimiterValue = value;
    this.#delimiterVersion++;
    this.#ruleStale = true;
  }

  /**
   * The largest datagram delivered, in bytes. A larger one is reported to
   * `onError` (a {@linkcode DatagramError}) and dropped.
   *
   * @default {65536}
   * @throws {RangeError} For a value that is not a positive integer.
   */
  get bufferSize(): number {
    return this.#bufferSize;
  }
  set bufferSize(value: number) {
    this.#bufferSize = checkBufferSize(value);
    if (this.#socket !== null) this.#socket.receiveSize = value + 1;
  }

  // --- callbacks ---------------------------------------------------------

  /** Called once the channel is bound by `listen()`. */
  onListen(): void {}

  /**
   * Called when `listen()` fails (address in use, not permitted, Unix
   * datagrams without `--unstable-net`). The channel closes afterwards.
   * The default logs the error.
   *
   * @param error Why; the message names the address and the flag that would allow it.
   */
  onListenError(error: ListenError): void {
    console.error(`${this.constructor.name} #${this.id}: ${error.message}`);
  }

  /** Called once the channel is bound and connected by `connect()`. */
  onConnect(): void {}

  /**
   * Called when `connect()` fails (not permitted, name not resolved). The
   * channel closes afterwards. The default logs the error.
   *
   * @param error Why, with reason `"connect"`; `cause` is the underlying error.
   */
  onConnectError(error: DatagramError): void {
    console.error(`${this.constructor.name} #${this.id}: ${error.message}`);
  }

  /**
   * Called with each datagram, or each frame of a datagram when
   * `readDelimiter` is set. A `Uint8Array` is only valid during the call.
   *
   * @param _data The datagram or frame: a `Uint8Array`, a string with
   * `encoding = "utf-8"`, a `RegExpExecArray` in regex match mode, or the
   * array of values of a `Struct` or `NetStruct` record.
   * @param _remoteAddress The sender; `write(data)` without an address replies to it.
   */
  // deno-lint-ignore no-explicit-any
  onRead(_data: any, _remoteAddress: DatagramAddress): void {}

  /** Called when the send queue has drained. */
  onWrite(): void {}

  /**
   * Called with a {@linkcode DatagramError} about one datagram (dropped,
   * not sent), or with an exception thrown by a callback. The default logs
   * a `DatagramError` and keeps the channel open; for anything else it logs
   * and closes the channel.
   *
   * @param error What went wrong.
   */
  override onError(error: unknown): void {
    if (error instanceof DatagramError) {
      console.error(`${this.constructor.name} #${this.id}: ${error.message}`);
      return;
    }
    super.onError(error);
  }

  // --- binding -----------------------------------------------------------

  /**
   * Binds the channel once the engine runs; `onListen()` or
   * `onListenError()` follows.
   *
   * @param address A port (all interfaces, IPv4 and IPv6 when permitted),
   * `[host, port]`, `{ hostname, port }`, or a Unix socket path as `{ path }`
   * or a string (needs `--unstable-net`).
   * @returns This channel.
   * @throws {TypeError} For an invalid address.
   * @throws {Error} If the channel was already bound or closed.
   */
  listen(address: AddressInput): this {
    const resolved = resolveAddress(address);
    this.#begin("listen");
    this.engine.whenRunning(() => {
      if (this.#state !== "starting") return;
      openDatagram(resolved, { receiveSize: this.#bufferSize + 1 }).then(
        (socket) => this.#opened(socket, false),
        (error: ListenError) => this.#failed(error, false),
      );
    });
    return this;
  }

  /**
   * Binds the channel to a port of its own and connects it to one peer once
   * the engine runs; `onConnect()` or `onConnectError()` follows. Only that
   * peer's datagrams are delivered, and `write(data)` sends to it.
   *
   * It needs `--allow-net` for the peer and for the local port: `127.0.0.1:0`
   * (or `[::1]:0`) for a loopback peer, else `0.0.0.0:0` (or `[::]:0`).
   *
   * @param address A port (on `localhost`), `[host, port]` or `{ hostname, port }`.
   * @returns This channel.
   * @throws {TypeError} For an invalid address.
   * @throws {Error} If the channel was already bound or closed.
   */
  connect(address: AddressInput): this {
    const resolved = resolveAddress(address);
    this.#begin("connect");
    this.engine.whenRunning(() => {
      if (this.#state !== "starting") return;
      connectDatagram(resolved, { receiveSize: this.#bufferSize + 1 }).then(
        (socket) => this.#opened(socket, true),
        (error: DatagramError) => this.#failed(error, true),
      );
    });
    return this;
  }

  #begin(what: string): void {
    if (this.#state !== "idle") {
      throw new Error(
        `Cannot ${what}: the datagram channel is already ${this.#state}; create a new one`,
      );
    }
    this.#state = "starting";
    this.engine.attach(this);
  }

  #opened(socket: DatagramSocket, connected: boolean): void {
    if (this.#state !== "starting") return socket.close();
    this.#socket = socket;
    this.#local = socket.localAddr;
    this.#remote = socket.remoteAddr;
    this.#state = "open";
    socket.receiveSize = this.#bufferSize + 1;
    try {
      if (connected) this.onConnect();
      else this.onListen();
    } catch (error) {
      reportError(this, error);
    }
    // Receiving starts after onListen, so what it writes leaves first (and
    // a Unix socket needs no wake-up for it).
    if (this.#state === "open" || this.#state === "closing") socket.start(this.#sink);
  }

  #failed(error: ListenError | DatagramError, connected: boolean): void {
    if (this.#state !== "starting") return;
    try {
      if (connected) this.onConnectError(error as DatagramError);
      else this.onListenError(error as ListenError);
    } catch (thrown) {
      reportError(this, thrown);
    }
    if (this.#state === "starting") this.close({ flush: false });
  }

  // --- reading -----------------------------------------------------------

  #received(data: Uint8Array, truncated: boolean, from: DatagramPeer): void {
    if (this.#state !== "open") return;
    const stats = this.engine[statistics];
    stats.bytesIn += data.length;
    const limit = this.#bufferSize;
    if (truncated || data.length > limit) {
      stats.overflows++;
      const bytes = data.length;
      reportError(
        this,
        new DatagramError(
          truncated ? "truncated" : "oversized",
          truncated
            ? `Dropped a datagram from ${describePeer(from)} larger than the receive buffer ` +
              `(at least ${bytes} bytes); raise bufferSize above its size to receive it`
            : `Dropped a datagram of ${bytes} bytes from ${describePeer(from)}: larger than ` +
              `bufferSize (${limit}); raise bufferSize to receive it`,
          { remoteAddress: from, bytes, limit },
        ),
      );
      return;
    }
    const framesBefore = this.#frames;
    this.#sender = from;
    try {
      if (this.#delimiter.kind === "chunk") this.#deliver(data, from);
      else this.#frameDatagram(data, from);
    } finally {
      this.#sender = null;
    }
    stats.frames += this.#frames - framesBefore;
  }

  #deliver(view: Uint8Array, from: DatagramPeer): void {
    this.#frames++;
    try {
      this.onRead(this.encoding === null ? view : utf8.decode(view), from);
    } catch (error) {
      reportError(this, error);
    }
  }

  /** Frames one datagram in the region; reports and drops an incomplete end. */
  #frameDatagram(data: Uint8Array, from: DatagramPeer): void {
    if (this.#region === 0) this.#region = core.open();
    const region = this.#region;
    core.append(region, data);
    this.#drain(region, from);
    if (this.#region !== region) return; // closed during onRead
    const rest = core.buffered(region);
    if (rest > 0) {
      core.consume(region, rest);
      if (this.#state === "open") {
        reportError(
          this,
          new DatagramError(
            "incomplete",
            `Dropped ${rest} bytes at the end of a datagram from ${describePeer(from)}: ` +
              "they do not form a complete frame (each datagram is framed on its own)",
            { remoteAddress: from, bytes: rest },
          ),
        );
      }
    }
    if (data.length > TRIM_ABOVE && this.#region === region) core.trim(region);
  }

  /** Delivers the complete frames buffered in the region. */
  #drain(region: number, from: DatagramPeer): void {
    while (this.#region === region && this.#state === "open") {
      const buffered = core.buffered(region);
      if (buffered === 0) return;
      const delimiter = this.#delimiter;
      if (delimiter.kind === "chunk") {
        // Changed to null inside onRead: the rest of the datagram is one frame.
        const base = core.base(region);
        const view = core.bytes(region).subarray(base, base + buffered);
        core.consume(region, buffered);
        this.#deliver(view, from);
        return;
      }
      if (delimiter.kind === "regex") {
        if (!this.#drainRegex(region, buffered, delimiter, from)) return;
        continue;
      }
      if (this.#ruleStale) {
        core.setRule(region, delimiter.rule);
        this.#ruleStale = false;
      }
      const limit = delimiter.fixedSize > this.#bufferSize ? delimiter.fixedSize : this.#bufferSize;
      const count = core.scan(region, limit);
      if (count <= 0) return; // incomplete (or a record declared beyond the limit)
      const version = this.#delimiterVersion;
      const frames = core.frames;
      const bytes = core.bytes(region);
      const base = core.base(region);
      let consumed = 0;
      for (let i = 0; i < count; i++) {
        const at = i * 3;
        consumed = frames[at + 2]!;
        this.#deliverFrame(delimiter, bytes, base + frames[at]!, base + frames[at + 1]!, from);
        if (this.#region !== region || this.#state !== "open") return;
        if (this.#delimiterVersion !== version) break;
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
    from: DatagramPeer,
  ): void {
    this.#frames++;
    try {
      if (delimiter.struct !== null) {
        this.onRead(delimiter.struct.unpackFrom(bytes, start), from);
      } else if (delimiter.netStruct !== null) {
        this.onRead(delimiter.netStruct.unpack(bytes.subarray(start, end)), from);
      } else {
        const view = bytes.subarray(start, end);
        this.onRead(this.encoding === null ? view : utf8.decode(view), from);
      }
    } catch (error) {
      reportError(this, error);
    }
  }

  /**
   * Frames the rest of the datagram with a regex, decoding it once. Returns
   * true when the delimiter changed and the outer loop should go on.
   */
  #drainRegex(
    region: number,
    buffered: number,
    delimiter: RegexDelimiter,
    from: DatagramPeer,
  ): boolean {
    const base = core.base(region);
    const view = core.bytes(region).subarray(base, base + buffered);
    let text: string;
    try {
      text = this.encoding === null ? latin1.decode(view) : strictUtf8.decode(view);
    } catch (error) {
      core.consume(region, buffered);
      reportError(
        this,
        new DatagramError(
          "decode",
          `Dropped a datagram from ${describePeer(from)} that is not valid UTF-8; ` +
            "set encoding = null to receive bytes",
          { remoteAddress: from, bytes: buffered, cause: error },
        ),
      );
      return false;
    }
    const version = this.#delimiterVersion;
    let position = 0;
    let changed = false;
    while (position < text.length) {
      const search = this.regexSearch;
      const re = search ? delimiter.searchAll : delimiter.match;
      re.lastIndex = position;
      const found = re.exec(text);
      if (found === null || found[0].length === 0) break;
      const start = position;
      position = found.index + found[0].length;
      this.#frames++;
      try {
        if (!search) this.onRead(found, from);
        else if (this.encoding !== null) this.onRead(text.slice(start, found.index), from);
        else this.onRead(view.subarray(start, found.index), from);
      } catch (error) {
        reportError(this, error);
      }
      if (this.#region !== region || this.#state !== "open") return false;
      if (this.#delimiterVersion !== version) {
        changed = true;
        break;
      }
    }
    core.consume(region, this.encoding === null ? position : utf8Length(text, 0, position));
    return changed;
  }

  #receiveFailed(error: unknown, fatal: boolean): void {
    if (this.#state !== "open" && this.#state !== "closing") return;
    if (error instanceof DatagramError) return reportError(this, error);
    const peer = this.#remote;
    reportError(
      this,
      new DatagramError(
        "receive",
        `Receive error on ${
          this.#local === null ? "a datagram channel" : describePeer(this.#local)
        }` +
          `${peer === null ? "" : ` (connected to ${describePeer(peer)})`}: ` +
          `${error instanceof Error ? error.message : String(error)}` +
          (fatal ? "; the channel closes" : ""),
        { cause: error, remoteAddress: peer },
      ),
    );
    if (fatal) this.close({ flush: false });
  }

  // --- writing -----------------------------------------------------------

  /**
   * Sends one datagram. The data is copied, so a frame received in `onRead`
   * may be written back. Datagrams are sent in `write()` order; a failure
   * is reported to `onError` as a {@linkcode DatagramError} (`"send"`).
   *
   * @param data Bytes, or a string sent as UTF-8.
   * @param address Where to: omitted in `onRead` (the sender) or on a
   * connected channel (its peer); else a port (on `localhost`),
   * `[host, port]`, `{ hostname, port }`, a `DatagramAddress` from
   * `onRead`, or `{ path }` for a Unix datagram socket.
   * @returns `false` when the send queue is above `writeBufferSize`: wait
   * for `onWrite()` before writing more.
   * @throws {ChannelClosedError} If the channel is not open (not bound yet, closing or closed).
   * @throws {TypeError} For an invalid address, a missing one, or one a
   * connected channel or this socket's kind cannot send to.
   */
  write(data: Uint8Array | string, address?: AddressInput | DatagramAddress): boolean {
    if (this.#state !== "open") {
      throw new ChannelClosedError(
        this.#state === "idle" || this.#state === "starting" ? NOT_OPEN : CLOSED,
      );
    }
    let target: DatagramPeer | null;
    if (address !== undefined) target = this.#target(address);
    else if (this.#remote !== null) target = null;
    else if (this.#sender !== null) target = this.#sender;
    else {
      throw new TypeError(
        "Cannot write without an address: outside onRead(), an unconnected channel needs " +
          "write(data, address)",
      );
    }
    if (typeof data !== "string" && !(data instanceof Uint8Array)) {
      throw new TypeError(`Invalid data ${String(data)}: expected a Uint8Array or a string`);
    }
    this.#queue.push(data, target);
    if (!this.#sending) this.#sendNext();
    return this.#queue.size <= this.writeBufferSize;
  }

  #target(address: AddressInput | DatagramAddress): DatagramPeer | null {
    let target: DatagramPeer;
    if (
      typeof address === "object" && address !== null && "transport" in address &&
      (address.transport === "udp" || address.transport === "unixpacket")
    ) {
      target = address;
    } else {
      const resolved = resolveAddress(address as AddressInput);
      target = resolved.transport === "unix" ? { transport: "unixpacket", path: resolved.path } : {
        transport: "udp",
        hostname: resolved.hostname ?? this.#loopback(),
        port: resolved.port,
      };
    }
    const local = this.#local!;
    if (target.transport !== local.transport) {
      throw new TypeError(
        `Cannot write to ${describePeer(target)} from ${describePeer(local)}: ` +
          (local.transport === "udp"
            ? "a UDP channel cannot send to a Unix socket path"
            : "a Unix datagram channel sends only to { path } addresses"),
      );
    }
    if (target.transport === "udp" && target.port === 0) {
      throw new TypeError(`Cannot write to ${describePeer(target)}: the port must not be 0`);
    }
    const remote = this.#remote;
    if (remote !== null) {
      const peer = remote as Deno.NetAddr, to = target as Deno.NetAddr;
      if (to.port !== peer.port || (to.hostname !== peer.hostname && to.hostname !== "localhost")) {
        throw new TypeError(
          `Cannot write to ${describePeer(target)}: this channel is connected to ` +
            `${describePeer(remote)}; use write(data) or an unconnected channel`,
        );
      }
      return null;
    }
    return target;
  }

  /** `localhost` for a port alone: the loopback address of the socket's family. */
  #loopback(): string {
    const local = this.#local as Deno.NetAddr;
    return local.hostname.includes(":") && local.hostname !== "::" ? "::1" : "127.0.0.1";
  }

  #sendNext(): void {
    const queue = this.#queue;
    if (!queue.next()) {
      this.#sending = false;
      if (this.#state === "closing") return this.#finishClose();
      if (this.#state !== "open") return;
      notify(this, this.onWrite);
      return;
    }
    this.#sending = true;
    this.#socket!.send(queue.view, queue.target);
  }

  #sent(error: unknown): void {
    if (this.#state === "closed") return;
    const queue = this.#queue;
    const bytes = queue.view.length;
    const to = queue.target ?? this.#remote!;
    queue.done();
    if (error === null) this.engine[statistics].bytesOut += bytes;
    else reportError(this, sendFailure(error, to, bytes));
    if ((this.#state as State) === "closed") return;
    this.#sendNext();
  }

  // --- closing -----------------------------------------------------------

  /**
   * Closes the channel. With `flush` (the default) queued datagrams are
   * sent first and no more input is delivered meanwhile. `onClose()`
   * follows exactly once, in a later engine iteration.
   *
   * @param options `flush: false` to drop queued datagrams and close at once.
   */
  close(options?: CloseOptions): void {
    if (this.#state === "closed") return;
    const flush = options?.flush ?? true;
    if (flush && this.#state === "open" && this.#sending) {
      this.#state = "closing";
      return;
    }
    if (flush && this.#state === "closing") return;
    this.#finishClose();
  }

  #finishClose(): void {
    const wasOpen = this.#state !== "idle";
    this.#state = "closed";
    this.#queue.clear();
    this.#sending = false;
    this.#socket?.close();
    if (this.#region !== 0) {
      core.close(this.#region);
      this.#region = 0;
    }
    this.engine.detach(this);
    if (wasOpen) this.engine.queueClose(() => notify(this, this.onClose));
  }
}
