/**
 * `Stream`: a TCP, Unix-socket or TLS connection, framed by `readDelimiter`.
 *
 * The stream owns its lifecycle, callbacks and write API; bytes become
 * frames in its `Deframer` (framing/), sockets are the transport's, queued
 * writes the `Writer`'s, deadlines `StreamTimeouts`'.
 *
 * @module
 */

import { frameReady, inputOverflow, recordReady } from "../framing/_deframer.ts";
import type { StructValue } from "../framing/struct_value.ts";
import { normalizeAddr, resolveAddress } from "../transport/address.ts";
import type { AddressInput } from "../transport/address.ts";
import type { Transport } from "../transport/_socket.ts";
import { socks5Proxy } from "../transport/_socks5.ts";
import type { ConnectOptions } from "./connect_options.ts";
import type { StreamConnectError, TlsHandshakeError } from "../transport/errors.ts";
import type { StartTlsOptions, TlsClientOptions } from "../transport/tls_options.ts";
import { statistics } from "../engine/stats.ts";
import { unhandledError } from "../engine/engine.ts";
import type { ChannelOptions, CloseOptions } from "./channel.ts";
import { notify, reportError } from "./channel.ts";
import { BufferedChannel, type StreamPhase, type StreamServer } from "./buffered_channel.ts";
import { bytesRead, readable, readEnded, Reader, readFailed } from "./_reader.ts";
import { inputOverflowError, type StreamBufferOverflow } from "./errors.ts";
import { checkStartTls, handshakeWithin, upgrade } from "./_stream_tls.ts";
import type { StreamTimeout } from "./_stream_timeouts.ts";
import { adopt, announce, begin, deframer, forget, phase, timeouts, writer } from "./_symbols.ts";
import { ConnectAttempt, holdWrites } from "./_connect.ts";
import { socketAdopted } from "./_socket_options.ts";
import { sendDrained, sendFailed, sendTarget, sent } from "./_writer.ts";

export type { StreamTimeout };

type State = StreamPhase;

/**
 * A connection: a client made with `connect()`, or accepted by a `Server`.
 *
 * Subclass it and override the `on…` callbacks. Input reaches `onRead` cut
 * into frames by `readDelimiter` (see {@linkcode FramedChannel.readDelimiter}).
 * Frames are views into Pants' receive buffer, valid only during `onRead`:
 * copy (`frame.slice()`) to keep one.
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
export class Stream extends BufferedChannel {
  /** Always `"stream"`. */
  readonly kind = "stream" as const;
  #state: State = "idle";
  #transport: Transport | null = null;
  #server: StreamServer | null = null;
  #remote: Deno.Addr | null = null;
  #local: Deno.Addr | null = null;
  readonly #reader: Reader = new Reader(this);
  #paused = false;
  #upgrading = false;
  #ended = false;
  #tlsClient: TlsClientOptions | null = null;
  /** The host name given to `connect()`: what STARTTLS verifies by default. */
  #connectHost: string | undefined = undefined;
  #secure = false;
  #attempt: ConnectAttempt | null = null;

  /**
   * Creates a stream; connect it with `connect()`, or let a `Server` accept it.
   *
   * @param options The engine to join.
   */
  constructor(options: ChannelOptions = {}) {
    super(options);
  }

  /** @ignore */
  get [phase](): StreamPhase {
    return this.#state;
  }

  /** @ignore */
  get [sendTarget](): Transport {
    return this.#transport!;
  }

  /** @ignore */
  [sent](n: number): void {
    this.engine[statistics].bytesOut += n;
    this[timeouts]?.activity();
  }

  /** @ignore */
  [sendDrained](): void {
    if (this.#state === "closing") return this.#finishClose();
    if (this.#state !== "connected") return;
    notify(this, this.onWrite);
  }

  /** @ignore */
  [sendFailed](error: unknown): void {
    this[readFailed](error);
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

  /**
   * Settles with the client's connect: resolves just before `onConnect()`,
   * rejects with the error `onConnectError()` (or, for TLS from the start,
   * `onSSLHandshakeError()`) gets, or with a `ChannelClosedError` when the
   * stream closes first. Nothing is reported if nobody awaits it. For an
   * accepted stream it is resolved once connected.
   *
   * @example A script that connects, then writes
   * ```ts
   * import { engine, Stream } from "@pants/pants";
   *
   * const client = new Stream().connect(["127.0.0.1", 4040], { connectTimeout: 2000 });
   * engine.start();
   * await client.ready.then(() => client.write("hello\n"), console.error);
   * ```
   */
  get ready(): Promise<void> {
    return this.#attempt?.ready ?? ConnectAttempt.settled(this.#state === "connected");
  }

  /** @ignore */
  [holdWrites](): boolean {
    return this.#attempt?.holdWrites(this[writer]) ?? false;
  }

  /** The server that accepted this stream, or `null` for a client stream. */
  get server(): StreamServer | null {
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

  /** Whether the connection is TLS (from the start, or after `startSSL()`). */
  get secure(): boolean {
    return this.#secure;
  }

  // --- callbacks ---------------------------------------------------------

  /** Called when the connection is established (client) or accepted (server). */
  onConnect(): void {}

  /**
   * Called when `connect()` fails: refused, not permitted, name not
   * resolved, `connectTimeout` (a `ConnectTimeoutError`) or an aborted
   * `signal` (`cause`: its reason). The default treats the error as
   * unhandled: the engine stops and `engine.start()` rejects with it (see
   * {@linkcode Engine.start}); override it to handle the failure and keep the
   * engine running. Either way the stream closes, writes queued before the
   * connect are dropped, and `onClose()` follows once, in a later iteration.
   *
   * @param error Why; `cause` is the Deno error.
   */
  onConnectError(error: StreamConnectError): void {
    this.close({ flush: false });
    if (!this.engine[unhandledError](error)) {
      console.error(`${this.constructor.name} #${this.id}: ${error.message}`);
    }
  }

  /**
   * Called with each frame (see {@linkcode Stream.readDelimiter}). A
   * `Uint8Array` frame is only valid during the call.
   *
   * @param _data The frame; `Struct` and `NetStruct` delimiters pass one argument per field.
   */
  // deno-lint-ignore no-explicit-any
  onRead(..._data: any[]): void {}

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

  /** Called when a TLS handshake completed: before `onConnect()` for TLS from the start, or after `startSSL()` on a connected stream. */
  onSSLHandshake(): void {}

  /**
   * Called when a TLS handshake fails (unknown issuer, name mismatch, a
   * plaintext peer). The default closes without flushing and logs the error;
   * during a client's `connect()` it is a failed connect, unhandled as in
   * `onConnectError` (a server's peers never stop the engine).
   *
   * @param error Why; `cause` is the underlying error.
   */
  onSSLHandshakeError(error: TlsHandshakeError): void {
    const connecting = this.#state === "connecting";
    this.close({ flush: false });
    if (!connecting || !this.engine[unhandledError](error)) {
      console.error(`${this.constructor.name} #${this.id}: ${error.message}`);
    }
  }

  // --- what the deframer and the timeouts report ----------------------------

  /** @ignore */
  [frameReady](data: Uint8Array | string | RegExpExecArray): void {
    this.onRead(data);
  }

  /** @ignore */
  [recordReady](values: StructValue[]): void {
    this.onRead(...values);
  }

  /** @ignore */
  [inputOverflow](bytes: number, limit: number): void {
    this.engine[statistics].overflows++;
    this.onOverflowError(inputOverflowError(bytes, limit));
  }

  // --- connecting --------------------------------------------------------

  /**
   * Connects to a server. `onConnect()` follows on success, `onConnectError()`
   * on failure (`stream.ready` is the same as a promise). Nothing happens
   * before the engine runs. `connectTimeout` and `signal` bound and cancel
   * the connect (see {@linkcode ConnectOptions}). Writes made meanwhile are
   * queued (within `maxWriteBuffer`) and sent in order once connected, before
   * what `onConnect()` writes; a failed connect drops them.
   *
   * @example A bounded connect, writing before it completes
   * ```ts
   * import { Stream } from "@pants/pants";
   *
   * const client = new Stream().connect(["127.0.0.1", 6379], { connectTimeout: 5000 });
   * client.write("PING\r\n");
   * ```
   *
   * @param address A port (on `localhost`), `[host, port]`, `{ hostname, port }`,
   * or a Unix socket path as `{ path }` or a string.
   * @param options `proxy`: a SOCKS5 proxy to connect through.
   * @returns This stream.
   * @throws {TypeError} For an invalid address or proxy URL.
   * @throws {Error} If the stream is already connected, connecting or closed.
   */
  connect(address: AddressInput, options: ConnectOptions = {}): this {
    const resolved = resolveAddress(address);
    const proxy = options.proxy === undefined ? null : socks5Proxy(resolved, options.proxy);
    if (resolved.transport === "tcp") this.#connectHost = resolved.hostname ?? "localhost";
    if (this.#state !== "idle") {
      throw new Error(`Cannot connect: the stream is already ${this.#state}; create a new stream`);
    }
    this.#attempt = new ConnectAttempt(this.engine, options, resolved);
    this.#state = "connecting";
    this.engine.attach(this);
    this.engine.whenRunning(() => {
      if (this.#state !== "connecting") return;
      const tls = this.#tlsClient;
      // The connection of a handshake under way is the stream's: close() and
      // engine.stop() end it at once, and the handshake fails.
      const started = (pending: Transport): void => {
        if (this.#state === "connecting") this.#transport = pending;
        else pending.close();
      };
      const connecting = this.#attempt!.open(resolved, proxy, tls, started);
      connecting.then(
        (transport) => {
          if (this.#state !== "connecting") return transport.close();
          this.#secure = tls !== null;
          this.#adoptTransport(transport);
          if (tls !== null) notify(this, this.onSSLHandshake);
          if (this.connected) this.#begin();
        },
        (error: StreamConnectError | TlsHandshakeError) => {
          if (this.#state !== "connecting") return;
          if (error.name === "TlsHandshakeError") {
            notify(this, this.onSSLHandshakeError, error as TlsHandshakeError);
          } else notify(this, this.onConnectError, error as StreamConnectError);
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
  [adopt](transport: Transport, server: StreamServer | null): void {
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
    handshakeWithin(this.engine, this.#transport!, handshakeTimeout).then(
      () => {
        if (this.#state !== "connected") return;
        notify(this, this.onSSLHandshake);
        if (this.#state === "connected") this.#begin();
      },
      (error: TlsHandshakeError) => this.#handshakeFailed(error),
    );
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
    this[socketAdopted](transport);
  }

  #begin(): void {
    this[timeouts]?.start();
    this.#attempt?.connected();
    this[announce](this.onConnect);
    if (this[readable]()) this.#reader.start(this.#transport!);
  }

  // --- reading -----------------------------------------------------------

  /**
   * Stops delivering input until `resumeReading()`. The connection is no
   * longer read either, so the peer stalls once the kernel's socket buffers
   * are full (a few MiB on Linux): meanwhile Pants takes in at most one more
   * read (64 KiB) on TCP and Unix sockets, and about 210 KiB on TLS (that
   * read, 64 KiB of decrypted input, one read and one TLS record in flight).
   * The same bound holds while `close()` waits to flush.
   */
  pauseReading(): void {
    this.#paused = true;
    this[deframer].held = true;
  }

  /** Delivers buffered frames (in the next engine iteration) and reads again. */
  resumeReading(): void {
    if (!this.#paused) return;
    this.#paused = false;
    this.engine.callback(() => {
      if (this.#state !== "connected" || this.#paused) return;
      this[deframer].held = this.#upgrading;
      this[deframer].drain();
      if (this.#state !== "connected" || this.#paused) return;
      if (this.#ended) this.#end();
      else if (!this.#upgrading) this.#reader.start(this.#transport!);
    });
  }

  /** @ignore */
  [readable](): boolean {
    return this.#state === "connected" && !this.#paused && !this.#upgrading;
  }

  /** @ignore */
  [bytesRead](bytes: Uint8Array): void {
    if (this.#state !== "connected") return;
    const input = this[deframer];
    const stats = this.engine[statistics];
    stats.bytesIn += bytes.length;
    const framesBefore = input.framesDelivered;
    const deadlines = this[timeouts];
    deadlines?.activity();
    input.push(bytes);
    const delivered = input.framesDelivered - framesBefore;
    stats.frames += delivered;
    if (deadlines !== null && deadlines.frame > 0 && this.#state === "connected") {
      deadlines.read(delivered > 0, input.buffered > 0);
    }
    // Writes made while handling this read leave now, not a microtask later.
    if (this.#state === "connected") this[writer].flush();
  }

  /** @ignore */
  [readEnded](): void {
    this.#ended = true;
    if (!this.#paused) this.#end();
  }

  /** @ignore */
  [readFailed](error: unknown): void {
    if (this.#state === "closed") return;
    if (
      !(error instanceof Deno.errors.ConnectionReset ||
        error instanceof Deno.errors.BrokenPipe ||
        error instanceof Deno.errors.Interrupted ||
        error instanceof Deno.errors.BadResource)
    ) reportError(this, error);
    this.close({ flush: false });
  }

  #end(): void {
    if (this.#state !== "connected") return;
    notify(this, this.onEnd);
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
  startSSL(options: StartTlsOptions = {}): this {
    if (this.#state === "idle") {
      this.#tlsClient = options;
      return this;
    }
    const accepted = this.#server !== null;
    checkStartTls({
      state: this.#state,
      secure: this.#secure || this.#upgrading,
      readPending: this.#reader.pending,
      unread: this[deframer].unread,
      accepted,
    }, options);
    this.#upgrading = true;
    this[deframer].held = true;
    this[writer].runExclusive((plain) => {
      let secured: Transport;
      try {
        secured = upgrade(plain, options, accepted, this.#connectHost);
      } catch (error) {
        this.#upgrading = false;
        this.#handshakeFailed(error as TlsHandshakeError);
        return Promise.resolve();
      }
      if (this.#state === "closed") return Promise.resolve(secured.close());
      // The TLS connection is the stream's from now on: later writes wait in
      // it for the handshake, and close() or engine.stop() end it at once
      // unless a write waits (a flushing close then waits for the handshake).
      this.#transport = secured;
      handshakeWithin(this.engine, secured, 0).then(
        () => {
          if (this.#state === "closed") return;
          this.#secure = true;
          this.#upgrading = false;
          this[deframer].held = this.#paused || this.#state !== "connected";
          notify(this, this.onSSLHandshake);
          if (this[readable]()) this.#reader.start(this.#transport!);
        },
        (error: TlsHandshakeError) => {
          this.#upgrading = false;
          this.#handshakeFailed(error);
        },
      );
      return Promise.resolve();
    }, true);
    return this;
  }

  /**
   * Alias of {@linkcode Stream.startSSL}.
   *
   * @param options As for `startSSL`.
   * @returns This stream.
   */
  startTLS(options: StartTlsOptions = {}): this {
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
    if (flush && this.#state === "connected" && this[writer].busy) {
      this.#state = "closing";
      this[deframer].held = true;
      this[writer].flush();
      return;
    }
    if (flush && this.#state === "closing") return;
    this.#finishClose();
  }

  #finishClose(): void {
    this[timeouts]?.stop();
    const wasOpen = this.#state !== "idle";
    this.#state = "closed";
    this[deframer].held = true;
    this[writer].stop();
    this.#attempt?.closed();
    if (this.#transport !== null) {
      try {
        this.#transport.close();
      } catch {
        // Already closed by the peer's reset or by Deno.
      }
    }
    this[deframer].close();
    this.#reader.stop();
    this.#server?.[forget](this);
    this.engine.detach(this);
    if (wasOpen) this.engine.queueClose(() => this[announce](this.onClose));
  }
}
