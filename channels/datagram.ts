/**
 * `Datagram`: a UDP (or Unix datagram) channel; one `onRead` per datagram,
 * or per frame inside each datagram with a `readDelimiter`.
 *
 * @module
 */

import { statistics } from "../engine/stats.ts";
import { unhandledError } from "../engine/engine.ts";
import { frameReady, inputOverflow, recordReady } from "../framing/_deframer.ts";
import { checkBufferSize, type FrameEncoding } from "../framing/read_delimiter.ts";
import { utf8Length } from "../framing/_utf8.ts";
import type { StructValue } from "../framing/struct_value.ts";
import { type AddressInput, resolveAddress } from "../transport/address.ts";
import { type ChannelOptions, type CloseOptions, notify, reportError } from "./channel.ts";
import { FramedChannel } from "./framed_channel.ts";
import { DatagramSendQueue } from "./_datagram_send_queue.ts";
import { deframer } from "./_symbols.ts";
import { DatagramError } from "../transport/datagram_errors.ts";
import { datagramTarget, oversizedDatagram } from "../transport/_datagram_target.ts";
import { ChannelClosedError } from "./errors.ts";
import type { ListenError } from "../transport/errors.ts";
import {
  connectDatagram,
  type DatagramPeer,
  type DatagramSink,
  type DatagramSocket,
  describePeer,
  isSendDenied,
  openDatagram,
  sendFailure,
} from "../transport/_datagram_socket.ts";

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
export type DatagramEncoding = FrameEncoding;

type State = "idle" | "starting" | "open" | "closing" | "closed";

/** The largest `bufferSize` of a datagram channel: its receive buffer is allocated at that size. */
const MAX_DATAGRAM_BUFFER = 16 * 1024 * 1024;

const NOT_OPEN =
  "Cannot write: the datagram channel is not open yet; write from onListen() or onConnect()";
const CLOSED = "Cannot write: the datagram channel is closed or closing; check closed first";

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
 * Frames are views Pants reuses, valid only during `onRead`: copy
 * (`data.slice()`) to keep one. `write()` copies its data, so a frame may be written back.
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
export class Datagram extends FramedChannel {
  /** Always `"datagram"`. */
  readonly kind = "datagram" as const;
  /**
   * The high-water mark of the send queue in bytes: `write()` returns
   * `false` above it; `onWrite()` fires when the queue has drained.
   *
   * @default {65536}
   */
  writeBufferSize = 64 * 1024;

  /**
   * The hard cap of the send queue in bytes: a `write()` that would queue
   * more throws a {@linkcode DatagramError} (`"overflow"`) and queues
   * nothing, so a sender faster than the socket cannot grow memory without
   * bound.
   *
   * @default {16777216}
   * @throws {RangeError} At assignment, for a number below 1 or NaN.
   */
  get maxWriteBuffer(): number {
    return this.#cap;
  }
  set maxWriteBuffer(bytes: number) {
    if (typeof bytes !== "number" || Number.isNaN(bytes) || bytes < 1) {
      throw new RangeError(
        `Invalid maxWriteBuffer ${bytes}: expected a number of bytes, 1 or more (Infinity for no limit)`,
      );
    }
    this.#cap = bytes;
  }

  #cap = 16 * 1024 * 1024;
  #state: State = "idle";
  #socket: DatagramSocket | null = null;
  #local: DatagramAddress | null = null;
  #remote: DatagramAddress | null = null;
  #sender: DatagramPeer | null = null;

  #queue = new DatagramSendQueue();
  #sending = false;
  /** Sends refused for want of `--allow-net` that the default `onError` saw. */
  #deniedSends = 0;

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
    super(options, "message");
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
   * The largest datagram delivered, in bytes. A larger one is reported to
   * `onError` (a {@linkcode DatagramError}) and dropped.
   *
   * @default {65536}
   * @throws {RangeError} For a value that is not a positive integer.
   */
  override get bufferSize(): number {
    return super.bufferSize;
  }
  override set bufferSize(value: number) {
    // The receive buffer is allocated at this size: keep it to what can be a datagram.
    super.bufferSize = checkBufferSize(value, MAX_DATAGRAM_BUFFER);
    if (this.#socket !== null) this.#socket.receiveSize = value + 1;
  }

  // --- callbacks ---------------------------------------------------------

  /** Called once the channel is bound by `listen()`. */
  onListen(): void {}

  /**
   * Called when `listen()` fails (address in use, not permitted, Unix
   * datagrams without `--unstable-net`). The channel closes afterwards.
   * The default treats the error as unhandled: the engine stops and
   * `engine.start()` rejects with it, so the script exits with a non-zero
   * code (see {@linkcode Engine.start}; on an engine driven by `poll()` it
   * is logged and the next `poll()` throws it). Override it to handle the
   * failure and keep the engine running.
   *
   * @param error Why; the message names the address and the flag that would allow it.
   */
  onListenError(error: ListenError): void {
    if (!this.engine[unhandledError](error)) {
      console.error(`${this.constructor.name} #${this.id}: ${error.message}`);
    }
  }

  /** Called once the channel is bound and connected by `connect()`. */
  onConnect(): void {}

  /**
   * Called when `connect()` fails (not permitted, name not resolved). The
   * channel closes afterwards. The default treats the error as unhandled:
   * the engine stops and `engine.start()` rejects with it, so the script
   * exits with a non-zero code (see {@linkcode Engine.start}; on an engine
   * driven by `poll()` it is logged and the next `poll()` throws it).
   * Override it to handle the failure and keep the engine running.
   *
   * @param error Why, with reason `"connect"`; `cause` is the underlying error.
   */
  onConnectError(error: DatagramError): void {
    if (!this.engine[unhandledError](error)) {
      console.error(`${this.constructor.name} #${this.id}: ${error.message}`);
    }
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
   * and closes the channel. A send that `--allow-net` refused is logged
   * once per channel, with the flag to add: later ones are counted, and the
   * count is logged when the channel closes.
   *
   * @param error What went wrong.
   */
  override onError(error: unknown): void {
    if (error instanceof DatagramError) {
      const denied = isSendDenied(error);
      if (denied && this.#deniedSends++ > 0) return;
      console.error(
        `${this.constructor.name} #${this.id}: ${error.message}` +
          (denied ? " (later refused sends on this channel are counted, not logged)" : ""),
      );
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
      openDatagram(resolved, { receiveSize: this.bufferSize + 1 }).then(
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
      connectDatagram(resolved, { receiveSize: this.bufferSize + 1 }).then(
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
    socket.receiveSize = this.bufferSize + 1;
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
    const limit = this.bufferSize;
    if (truncated || data.length > limit) {
      stats.overflows++;
      reportError(this, oversizedDatagram(from, data.length, limit, truncated));
      return;
    }
    const input = this[deframer];
    const framesBefore = input.framesDelivered;
    this.#sender = from;
    try {
      const rest = input.message(data);
      if (rest > 0 && this.#state === "open") {
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
    } finally {
      this.#sender = null;
    }
    stats.frames += input.framesDelivered - framesBefore;
  }

  /** @ignore */
  [frameReady](data: Uint8Array | string | RegExpExecArray): void {
    this.onRead(data, this.#sender!);
  }

  /** @ignore */
  [recordReady](values: StructValue[]): void {
    this.onRead(values.slice(), this.#sender!);
  }

  /** @ignore */
  [inputOverflow](bytes: number, limit: number): void {
    this.engine[statistics].overflows++;
    const from = this.#sender!;
    reportError(
      this,
      new DatagramError(
        "oversized",
        `Dropped a datagram from ${describePeer(from)}: a record in it declares ${bytes} bytes, ` +
          `over bufferSize (${limit}); raise bufferSize to receive it`,
        { remoteAddress: from, bytes, limit },
      ),
    );
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
   * @throws {DatagramError} (`"overflow"`) Beyond `maxWriteBuffer`.
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
    if (address !== undefined) target = datagramTarget(address, this.#local!, this.#remote);
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
    const bytes = typeof data === "string" ? utf8Length(data, 0, data.length) : data.length;
    if (this.#queue.size + bytes > this.#cap) {
      this.engine[statistics].overflows++;
      throw new DatagramError(
        "overflow",
        `Cannot queue a datagram of ${bytes} bytes: ${this.#queue.size} are waiting to be ` +
          `sent and maxWriteBuffer is ${this.#cap}; wait for onWrite() when write() returns false`,
        { bytes, limit: this.#cap },
      );
    }
    this.#queue.push(data, target);
    if (!this.#sending) this.#sendNext();
    return this.#queue.size <= this.writeBufferSize;
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
      this[deframer].held = true;
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
    this[deframer].close();
    this.engine.detach(this);
    const unlogged = this.#deniedSends - 1;
    if (unlogged > 0) {
      console.error(
        `${this.constructor.name} #${this.id}: ${unlogged} more ` +
          `${unlogged === 1 ? "datagram was" : "datagrams were"} not sent for want of ` +
          "--allow-net (not logged one by one)",
      );
    }
    if (wasOpen) this.engine.queueClose(() => notify(this, this.onClose));
  }
}
