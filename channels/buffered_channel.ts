/**
 * `BufferedChannel`: the send side of a stream: `write()`, `writePacked()`,
 * `writeFile()`, `flush()`, and the send queue's high-water mark and hard
 * cap. The queue itself is the `Writer`'s (`_writer.ts`); which format packs
 * a record is `_write_packed.ts`'s, and how a file is streamed
 * `_write_file.ts`'s.
 *
 * @module
 */

import { Struct } from "../framing/struct.ts";
import { utf8Length } from "../framing/_utf8.ts";
import { describe } from "../framing/_describe.ts";
import type { Transport } from "../transport/_socket.ts";
import type { Channel, ChannelOptions } from "./channel.ts";
import { notify, reportError } from "./channel.ts";
import { ChannelClosedError, StreamBufferOverflow, type WriteFileError } from "./errors.ts";
import { FramedChannel } from "./framed_channel.ts";
import { deframer, dropConnection, type forget, phase, timeouts, writer } from "./_symbols.ts";
import { pipeIn, pipeOut, type StreamPipe } from "./_pipe.ts";
import { type StreamTimeout, StreamTimeouts, timedOut } from "./_stream_timeouts.ts";
import { holdWrites } from "./_connect.ts";
import { writeFileJob } from "./_write_file.ts";
import { packFormat } from "./_write_packed.ts";
import { sendDrained, sendFailed, sendLow, sendTarget, sent, Writer } from "./_writer.ts";
import {
  applySocketOptions,
  checkFlag,
  DEFAULT_KEEP_ALIVE,
  DEFAULT_NO_DELAY,
  socketAdopted,
} from "./_socket_options.ts";
import { statistics } from "../engine/stats.ts";
import type {
  FileSource,
  WriteFileOptions,
  WriteOptions,
  WritePackedOptions,
} from "./write_options.ts";

/**
 * Where a stream is in its life.
 *
 * @example Usage
 * ```ts
 * import type { StreamPhase } from "@pants/pants";
 *
 * const phases: StreamPhase[] = ["idle", "connecting", "connected", "closing", "closed"];
 * ```
 */
export type StreamPhase = "idle" | "connecting" | "connected" | "closing" | "closed";

/**
 * What a stream knows of the `Server` that accepted it (`stream.server`).
 *
 * @example Counting the server's streams
 * ```ts
 * import { Stream } from "@pants/pants";
 *
 * class Greeter extends Stream {
 *   override onConnect(): void {
 *     this.write(`you are one of ${this.server?.channels.size ?? 1}\n`);
 *   }
 * }
 * ```
 */
export interface StreamServer extends Channel {
  /** The server's open streams by id. */
  readonly channels: ReadonlyMap<number, BufferedChannel>;
  /**
   * A closed stream leaves its server.
   *
   * @ignore
   */
  [forget](stream: BufferedChannel): void;
}

function checkBytes(name: string, bytes: number, least: number): number {
  if (typeof bytes !== "number" || Number.isNaN(bytes) || bytes < least) {
    throw new RangeError(
      `Invalid ${name} ${
        describe(bytes)
      }: expected a number of bytes, ${least} or more (Infinity for no limit)`,
    );
  }
  return bytes;
}

const NOT_CONNECTED = "Cannot write: the stream is not connected; call connect() first";
const CLOSED = "Cannot write: the stream is closed or closing; check stream.closed first";
const ENDED = "Cannot write: end() was called, the stream only reads now";

/**
 * A framed channel with a send queue and traffic timeouts: the base of
 * {@linkcode Stream}, which supplies the connection. Writes made in one engine iteration leave as one
 * socket write.
 *
 * @example Back-pressure with the queue's high-water mark
 * ```ts
 * import { Stream } from "@pants/pants";
 *
 * class Producer extends Stream {
 *   override onConnect(): void {
 *     this.writeBufferSize = 1024 * 1024;
 *     this.onWrite();
 *   }
 *   override onWrite(): void {
 *     while (this.write(new Uint8Array(16 * 1024)));
 *   }
 * }
 * ```
 */
export abstract class BufferedChannel extends FramedChannel {
  /**
   * The high-water mark of the send queue in bytes: `write()` returns
   * `false` above it; `onWrite()` fires when the queue has drained.
   *
   * @default {65536}
   * @throws {RangeError} At assignment, for a negative number or NaN.
   */
  get writeBufferSize(): number {
    return this.#highWater;
  }
  set writeBufferSize(bytes: number) {
    this.#highWater = checkBytes("writeBufferSize", bytes, 0);
  }
  /**
   * The hard cap of the send queue in bytes: a `write()` that would queue
   * more throws a `StreamBufferOverflow` (`writeOverflow = "throw"`) or
   * closes the stream without flushing (`"close"`), so a peer that never
   * reads cannot make the stream buffer without bound.
   *
   * @default {16777216}
   * @throws {RangeError} At assignment, for a number below 1 or NaN.
   */
  get maxWriteBuffer(): number {
    return this.#cap;
  }
  set maxWriteBuffer(bytes: number) {
    this.#cap = checkBytes("maxWriteBuffer", bytes, 1);
  }
  /**
   * What a `write()` beyond `maxWriteBuffer` does: `"throw"` a
   * `StreamBufferOverflow` (nothing is queued), or `"close"` the stream.
   *
   * @default {"throw"}
   * @throws {TypeError} At assignment, for another value.
   */
  get writeOverflow(): "throw" | "close" {
    return this.#overflow;
  }
  set writeOverflow(value: "throw" | "close") {
    if (value !== "throw" && value !== "close") {
      throw new TypeError(`Invalid writeOverflow ${describe(value)}: use "throw" or "close"`);
    }
    this.#overflow = value;
  }

  /**
   * The low-water mark of the send queue in bytes: when a socket write
   * brings the queue from above it to it or below (and not empty),
   * `onWrite()` fires then too, so a producer refills before the socket
   * idles; it fires again once the queue is empty. `0`: only when empty.
   *
   * @default {0}
   * @throws {RangeError} At assignment, for a negative or non-finite number.
   */
  get writeLowWaterMark(): number {
    return this[writer].lowWater;
  }
  /**
   * Sets the send queue's low-water mark in bytes (see the getter).
   *
   * @example A proxy side that refills at 16 KiB
   * ```ts
   * import { Stream } from "@pants/pants";
   *
   * class Upstream extends Stream {
   *   peer: Stream | null = null;
   *   override onConnect(): void {
   *     this.writeLowWaterMark = 16 * 1024;
   *   }
   *   override onWrite(): void {
   *     this.peer?.resumeReading();
   *   }
   * }
   * ```
   */
  set writeLowWaterMark(bytes: number) {
    if (typeof bytes !== "number" || !Number.isFinite(bytes) || bytes < 0) {
      throw new RangeError(
        `Invalid writeLowWaterMark ${describe(bytes)}: expected a number of bytes, 0 or more`,
      );
    }
    this[writer].lowWater = bytes;
  }

  /**
   * `TCP_NODELAY`: `true` sends small writes at once (Nagle's algorithm
   * off), `false` lets the OS coalesce them. Applied when the connection is
   * made or accepted, and at once on a connected stream. On TLS it is set on
   * the TCP connection under TLS; a Unix socket has no such option and
   * ignores it.
   *
   * @default {true}
   * @throws {TypeError} At assignment, for a value that is not a boolean.
   */
  get noDelay(): boolean {
    return this.#noDelay;
  }
  /**
   * Sets `TCP_NODELAY` (see the getter).
   *
   * @example Coalescing many small writes
   * ```ts
   * import { Stream } from "@pants/pants";
   *
   * const client = new Stream();
   * client.noDelay = false;
   * client.connect(["127.0.0.1", 4040]);
   * ```
   */
  set noDelay(on: boolean) {
    this.#noDelay = checkFlag("noDelay", on);
    if (this.#hasSocket()) this[sendTarget].setNoDelay?.(on);
  }

  /**
   * `SO_KEEPALIVE`: TCP keep-alive probes on an idle connection, so a peer
   * that vanished is noticed (as a read error) even when nothing is sent.
   * Deno 2.9 turns them on or off only: the OS sets when probing starts
   * (Linux: `net.ipv4.tcp_keepalive_time`, 7,200 s by default). Applied as
   * `noDelay` is; TLS sets it on the TCP connection, a Unix socket ignores it.
   *
   * @default {false}
   * @throws {TypeError} At assignment, for a value that is not a boolean (a
   * delay in ms too: Deno 2.9 cannot set one).
   */
  get keepAlive(): boolean {
    return this.#keepAlive;
  }
  /**
   * Sets `SO_KEEPALIVE` (see the getter).
   *
   * @example Keep-alive on a long-lived client
   * ```ts
   * import { Stream } from "@pants/pants";
   *
   * class Feed extends Stream {
   *   override onConnect(): void {
   *     this.keepAlive = true;
   *   }
   * }
   * ```
   */
  set keepAlive(on: boolean) {
    this.#keepAlive = checkFlag("keepAlive", on);
    if (this.#hasSocket()) this[sendTarget].setKeepAlive?.(on);
  }

  #highWater = 64 * 1024;
  #cap = 16 * 1024 * 1024;
  #overflow: "throw" | "close" = "throw";
  #noDelay = DEFAULT_NO_DELAY;
  #keepAlive = DEFAULT_KEEP_ALIVE;

  #hasSocket(): boolean {
    return this[phase] === "connected" || this[phase] === "closing";
  }

  /** @ignore */
  [socketAdopted](transport: Transport): void {
    applySocketOptions(transport, this.#noDelay, this.#keepAlive);
  }

  /** @ignore */
  [writer]: Writer;

  /**
   * Creates the channel, its read path and its send queue.
   *
   * @param options The engine to join.
   */
  constructor(options: ChannelOptions) {
    super(options, "stream");
    this[writer] = new Writer(this);
  }

  /** Bytes queued by `write()` and not yet sent. */
  get writeQueueSize(): number {
    return this[writer].size;
  }

  /**
   * Queues data to send. Writes made in one engine iteration are coalesced
   * into one socket write at its end (or at once with `{ flush: true }`).
   * The data is copied: a frame received in `onRead` may be written back.
   *
   * @param data Bytes, or a string sent as UTF-8.
   * @param options `flush: true` to start sending at once.
   * Before the connection is up (after `connect()`), writes are queued and
   * sent in order once it is; if the connect fails they are dropped, and the
   * error says how many bytes.
   *
   * @returns `false` when the queue is above `writeBufferSize`: wait for
   * `onWrite()` before writing more.
   * @throws {ChannelClosedError} If `connect()` was not called, or the stream is closed or closing.
   */
  write(data: Uint8Array | string, options?: WriteOptions): boolean {
    this.#checkWritable();
    this.#checkRoom(data);
    this[writer].write(data);
    if (options?.flush) this[writer].flush();
    return this[writer].size <= this.writeBufferSize;
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
  writePacked(...values: (unknown | WritePackedOptions)[]): boolean {
    this.#checkWritable();
    const codec = packFormat(values, this[deframer].delimiter);
    const args = values as Parameters<Struct["pack"]>;
    if (codec instanceof Struct) {
      codec.pack(...args); // validates before anything is queued
      this.#checkRoom(codec.size);
      this[writer].writeInPlace(codec.size, (target, offset) => {
        codec.packInto(target, offset, ...args);
      });
    } else {
      const record = codec.pack(...args);
      this.#checkRoom(record);
      this[writer].write(record);
    }
    return this[writer].size <= this.writeBufferSize;
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
      () => this[phase] === "closed",
      (error: WriteFileError) => {
        if (this[phase] !== "closed") reportError(this, error);
      },
    );
    this[writer].runExclusive(job, options.flush ?? false);
  }

  /**
   * Half-closes the connection: once everything queued was sent, a FIN (on
   * TLS: `close_notify`, then a FIN) tells the peer no more data follows,
   * and reading goes on: the peer's reply still reaches `onRead`, its own
   * half-close `onEnd()` (whose default then closes), and `onClose()` follows
   * the full close as ever. Later writes throw. Calling it again does nothing.
   * Before the connection is up it is queued like a write: the FIN follows
   * the writes made before it, once connected.
   *
   * @example Send a request, signal its end, read the reply
   * ```ts
   * import { Stream } from "@pants/pants";
   *
   * class Upload extends Stream {
   *   override onConnect(): void {
   *     this.write("the whole request");
   *     this.end();
   *   }
   *   override onRead(reply: Uint8Array): void {
   *     console.log(new TextDecoder().decode(reply));
   *   }
   * }
   * ```
   *
   * @throws {ChannelClosedError} If the stream is closed or closing, or not connecting.
   */
  end(): void {
    if (this[writer].ended) return;
    if (this[phase] !== "connected" && !(this[phase] === "connecting" && this[holdWrites]())) {
      throw new ChannelClosedError(this[phase] === "closed" ? CLOSED : NOT_CONNECTED);
    }
    this[writer].end();
  }

  /**
   * Starts sending queued data now instead of at the end of the iteration.
   *
   * @throws {ChannelClosedError} If the stream is not connected.
   */
  flush(): void {
    if (this[phase] === "connecting" && this[holdWrites]()) return;
    if (this[phase] !== "connected" && this[phase] !== "closing") {
      throw new ChannelClosedError(this[phase] === "closed" ? CLOSED : NOT_CONNECTED);
    }
    this[writer].flush();
  }

  /** Enforces `maxWriteBuffer` (in bytes) before `data` is queued. */
  #checkRoom(data: Uint8Array | string | number): void {
    const queued = this[writer].size;
    const room = this.maxWriteBuffer - queued;
    // A string takes 1 to 3 bytes per UTF-16 unit: count exactly only near the cap.
    const bytes = typeof data === "number"
      ? data
      : typeof data !== "string"
      ? data.length
      : data.length * 3 <= room
      ? 0
      : utf8Length(data, 0, data.length);
    if (bytes <= room) return;
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
    const state = this[phase];
    if (this[writer].ended && state !== "closed") throw new ChannelClosedError(ENDED);
    if (state !== "connected" && !(state === "connecting" && this[holdWrites]())) {
      throw new ChannelClosedError(
        this[phase] === "idle" || this[phase] === "connecting" ? NOT_CONNECTED : CLOSED,
      );
    }
  }

  // --- timeouts --------------------------------------------------------------

  /** @ignore */
  [timeouts]: StreamTimeouts | null = null;

  /**
   * Idle timeout in milliseconds: no byte read or written for that long
   * calls `onTimeout("idle")`. `0` disables it. Runs on the engine's timer
   * ring (one timer per stream, not re-armed per read).
   *
   * @default {0}
   * @throws {RangeError} For a negative or non-finite value.
   */
  get timeout(): number {
    return this[timeouts]?.idle ?? 0;
  }
  set timeout(ms: number) {
    this.#timeoutsFor().idle = ms;
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
    return this[timeouts]?.frame ?? 0;
  }
  set frameTimeout(ms: number) {
    this.#timeoutsFor().frame = ms;
  }

  /**
   * Called when the stream was idle for `timeout` ms (`"idle"`), or a frame
   * did not complete within `frameTimeout` ms of its first byte (`"frame"`).
   * The default closes the stream without flushing (one connected with
   * `reconnect` connects again).
   *
   * @param _kind Which limit was reached.
   */
  onTimeout(_kind: StreamTimeout): void {
    this[dropConnection](false);
  }

  /** @ignore */
  [timedOut](kind: StreamTimeout): void {
    this.engine[statistics].timeouts++;
    notify(this, this.onTimeout, kind);
  }

  #timeoutsFor(): StreamTimeouts {
    let deadlines = this[timeouts];
    if (deadlines === null) {
      deadlines = this[timeouts] = new StreamTimeouts(this);
      const now = this[phase];
      if (now === "connected" || now === "closing") deadlines.start();
    }
    return deadlines;
  }

  /**
   * Called when the send queue has drained, and (with a
   * `writeLowWaterMark`) when it fell to that mark.
   */
  onWrite(): void {}

  /** @ignore */
  [sendLow](): void {
    if (this[phase] !== "connected") return;
    this[pipeIn]?.drained();
    notify(this, this.onWrite);
  }

  /** @ignore */
  [pipeOut]: StreamPipe | null = null;
  /** @ignore */
  [pipeIn]: StreamPipe | null = null;

  /** Stops delivering (and reading) input until `resumeReading()`. */
  abstract pauseReading(): void;
  /** Delivers buffered frames and reads again. */
  abstract resumeReading(): void;
  /** @ignore */
  abstract get [phase](): StreamPhase;
  /** @ignore */
  abstract [holdWrites](): boolean;
  /** @ignore */
  abstract get [sendTarget](): Transport;
  /** @ignore */
  abstract [sent](n: number): void;
  /** @ignore */
  abstract [sendDrained](): void;
  /** @ignore */
  abstract [sendFailed](error: unknown): void;
}
