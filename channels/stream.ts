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
import { onReadRecord } from "./_record_call.ts";
import { normalizeAddr } from "../transport/address.ts";
import type { AddressInput } from "../transport/address.ts";
import type { Transport } from "../transport/_socket.ts";
import type { ProxyHeader } from "../transport/proxy_protocol.ts";
import type { ConnectOptions } from "./connect_options.ts";
import type { StreamConnectError, TlsHandshakeError } from "../transport/errors.ts";
import type { PeerCertificate, StartTlsOptions } from "../transport/tls_options.ts";
import { tlsSession } from "../transport/_tls.ts";
import { statistics } from "../engine/stats.ts";
import type { ChannelOptions, CloseOptions } from "./channel.ts";
import { notify, reportError } from "./channel.ts";
import type { StreamPhase, StreamServer } from "./buffered_channel.ts";
import { StreamCallbacks } from "./stream_callbacks.ts";
import { bytesRead, readable, readEnded, Reader, readFailed } from "./_reader.ts";
import { inputOverflowError } from "./errors.ts";
import { startReading, StreamTls, useTransport } from "./_stream_tls.ts";
import type { StreamTimeout } from "./_stream_timeouts.ts";
import { adopt, announce, begin, deframer, dropConnection, forget, phase } from "./_symbols.ts";
import { timeouts, writer } from "./_symbols.ts";
import { closePipes, pipeIn, pipeOut, StreamPipe } from "./_pipe.ts";
import type { Pipe, PipeOptions } from "./pipe_options.ts";
import type { BufferedChannel } from "./buffered_channel.ts";
import { ConnectAttempt, holdWrites } from "./_connect.ts";
import { connectFailed, Connector, connectStarted, connectSucceeded } from "./_connector.ts";
import { reconnecting } from "./_connector.ts";
import { socketAdopted } from "./_socket_options.ts";
import { sendDrained, sendFailed, sendTarget, sent, Writer } from "./_writer.ts";

export type { StreamTimeout };

type State = StreamPhase;

/**
 * A connection: a client made with `connect()`, or accepted by a `Server`.
 *
 * Subclass it and override the `on…` callbacks. Input reaches `onRead` cut
 * into frames by `readDelimiter` (see {@linkcode FramedChannel.readDelimiter}).
 * Frames are views Pants reuses (of its receive buffer, or for frames of up
 * to 256 bytes of a copy), valid only during `onRead`: copy
 * (`frame.slice()`) to keep one.
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
export class Stream extends StreamCallbacks {
  /** Always `"stream"`. */
  readonly kind = "stream" as const;
  #state: State = "idle";
  #transport: Transport | null = null;
  #server: StreamServer | null = null;
  #remote: Deno.Addr | null = null;
  #local: Deno.Addr | null = null;
  readonly #reader: Reader = new Reader(this);
  #paused = false;
  #ended = false;
  #tls: StreamTls | null = null;
  #connector: Connector | null = null;

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
    this[pipeIn]?.drained();
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
    return this.#connector?.ready ?? ConnectAttempt.settled(this.#state === "connected");
  }

  /** @ignore */
  [holdWrites](): boolean {
    return this.#connector?.holdWrites(this[writer]) ?? false;
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

  /** The load balancer's address when the connection began with a PROXY header, else `null`. */
  get proxyAddress(): Deno.Addr | null {
    return this.#transport?.proxy?.address ?? null;
  }

  /** The PROXY header the connection began with (addresses, v2 TLVs), else `null`. */
  get proxyHeader(): ProxyHeader | null {
    return this.#transport?.proxy?.header ?? null;
  }

  /** Whether the connection is TLS (from the start, or after `startSSL()`). */
  get secure(): boolean {
    return this.#tls?.secure ?? false;
  }

  // --- what the deframer and the timeouts report ----------------------------

  /** @ignore */
  [frameReady](data: Uint8Array | string | RegExpExecArray): void {
    if (this[pipeOut]?.forward(data) !== true) this.onRead(data);
  }

  /** @ignore */
  [recordReady](values: StructValue[]): void {
    onReadRecord(this, values);
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
    const connector = new Connector(this, address, options, this.#tls?.client ?? null);
    if (this.#state !== "idle") {
      throw new Error(`Cannot connect: the stream is already ${this.#state}; create a new stream`);
    }
    this.#connector = connector;
    this.#state = "connecting";
    this.engine.attach(this);
    connector.start();
    return this;
  }

  /** @ignore */
  [connectStarted](pending: Transport): void {
    // The connection of a handshake under way is the stream's: close() and
    // engine.stop() end it at once, and the handshake fails.
    if (this.#state === "connecting") this.#transport = pending;
    else pending.close();
  }

  /** @ignore */
  [connectSucceeded](transport: Transport, secure: boolean): void {
    if (secure) this.#tls!.secure = true;
    this.#adoptTransport(transport);
    if (secure) notify(this, this.onSSLHandshake);
    if (this.connected) this.#begin();
  }

  /** @ignore */
  [connectFailed](error: StreamConnectError | TlsHandshakeError): void {
    if (error.name === "TlsHandshakeError") {
      notify(this, this.onSSLHandshakeError, error as TlsHandshakeError);
    } else notify(this, this.onConnectError, error as StreamConnectError);
    if (this.#state === "connecting") this.close({ flush: false });
  }

  /** @ignore */
  [reconnecting](attempt: number, delay: number, error: Error | null): void {
    this.#closeTransport(); // a failed attempt's, if its handshake had begun
    notify(this, this.onReconnecting, attempt, delay, error);
  }

  /**
   * Ends the connection: a client with `reconnect` connects again (`refused`:
   * why the protocol on top refused it, a failed attempt), anything else closes.
   *
   * @ignore
   */
  override [dropConnection](flush: boolean, refused: Error | null = null): void {
    const reconnects = this.#reconnects();
    if (reconnects && this.#state === "connecting") return; // lost already: a new one is coming
    if (!reconnects || this.#state !== "connected") return this.close({ flush });
    // Lost: back to connecting, with what the next connection needs afresh.
    this[timeouts]?.stop();
    const lost = this[writer];
    lost.stop();
    this[writer] = new Writer(this);
    this[writer].lowWater = lost.lowWater;
    this[pipeIn]?.drained(); // what it paused the source for was dropped with the connection
    this.#reader.stop();
    this.#closeTransport();
    this.#remote = this.#local = null;
    this[deframer].held = true;
    this[deframer].close();
    this.#ended = false;
    if (this.#tls !== null) this.#tls.secure = this.#tls.upgrading = false;
    this.#state = "connecting";
    if (!this.#connector!.lost(refused)) this.#finishClose();
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
    (this.#tls ??= new StreamTls(this)).accepted(this.#transport!, handshakeTimeout);
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
    this[deframer].held = this.#paused;
    this.#connector?.connected();
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
      this[deframer].held = this.#tls?.upgrading ?? false;
      this[deframer].drain();
      if (this.#state !== "connected" || this.#paused) return;
      if (this.#ended) this.#end();
      else if (!this.#tls?.upgrading) this.#reader.start(this.#transport!);
    });
  }

  /** @ignore */
  [readable](): boolean {
    return this.#state === "connected" && !this.#paused && !this.#tls?.upgrading;
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
    if ((error as Error)?.name === "TlsHandshakeError") {
      notify(this, this.onSSLHandshakeError, error as TlsHandshakeError);
    } else if (
      !(error instanceof Deno.errors.ConnectionReset ||
        error instanceof Deno.errors.BrokenPipe ||
        error instanceof Deno.errors.Interrupted ||
        error instanceof Deno.errors.BadResource)
    ) reportError(this, error);
    this[dropConnection](false);
  }

  #end(): void {
    if (this.#state !== "connected") return;
    // A reconnecting source's end of input is a lost connection, not the end of what it pipes.
    if (!this.#reconnects() && this[pipeOut]?.sourceEnded()) return;
    notify(this, this.onEnd);
  }

  /** A lost connection is followed by another one (a reconnecting client not ended). */
  #reconnects(): boolean {
    return this.#connector?.reconnects === true && !this[writer].ended;
  }

  // --- TLS ---------------------------------------------------------------

  /**
   * Secures the stream with TLS. Before `connect()`: the connection is TLS
   * from the start, and `onSSLHandshake()` fires before `onConnect()`. On a
   * connected stream (STARTTLS): the upgrade happens once every write queued
   * so far was sent; writes made meanwhile are sent over TLS afterwards.
   * A client stream verifies the server (`hostname`, `caCerts`) and may
   * present a certificate (`cert`, `key`: mutual TLS); a stream accepted by
   * a plain server acts as the TLS server and needs `cert` and `key`.
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
   * @param options See {@linkcode TlsClientOptions}; for an accepted stream {@linkcode TlsServerOptions}.
   * @returns This stream.
   * @throws {StartTlsError} When unread plaintext is buffered, a read is
   * pending, the stream is already TLS, or it is not connected.
   * @throws {TypeError} For a `cert` without its `key` (or not matching it),
   * `caCerts` that are not PEM, or `requireClientCert` without `caCerts`.
   */
  startSSL(options: StartTlsOptions = {}): this {
    this.#tls ??= new StreamTls(this);
    this.#tls.start(options, this.#reader.pending, this.#connector?.hostname);
    return this;
  }

  /** @ignore */
  [useTransport](transport: Transport): void {
    this.#transport = transport;
  }

  /** @ignore */
  [startReading](): void {
    this.#reader.start(this.#transport!);
  }

  /** The ALPN protocol the handshake settled on; `null` for none, or before `onSSLHandshake()`. */
  get alpnProtocol(): string | null {
    return tlsSession(this.#transport)?.alpnProtocol ?? null;
  }

  /** The certificate the TLS peer sent (see {@linkcode PeerCertificate}), or `null`; readable from `onSSLHandshake()` to `onClose()`. */
  get peerCertificate(): PeerCertificate | null {
    return tlsSession(this.#transport)?.peerCertificate ?? null;
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

  /**
   * Forwards this stream's input to `target` instead of `onRead()`, with
   * back-pressure, half-close and close propagation (see
   * {@linkcode PipeOptions}). A stream has one pipe out and one in.
   *
   * @example A proxy: each accepted client to an upstream server, both ways
   * ```ts
   * import { Server, Stream } from "@pants/pants";
   *
   * class Client extends Stream {
   *   override onConnect(): void {
   *     const upstream = new Stream().connect(["127.0.0.1", 6379]);
   *     this.pipe(upstream);
   *     upstream.pipe(this);
   *   }
   * }
   * new Server(Client).listen(7379);
   * ```
   *
   * @param target A connected or connecting stream (writes wait for its connect).
   * @param options `highWaterMark`, `end`.
   * @returns The pipe, to `unpipe()` it.
   * @throws {ChannelClosedError} If either stream is closed or closing.
   * @throws {Error} If this stream is piped already, or another pipes into `target`.
   */
  pipe(target: BufferedChannel, options: PipeOptions = {}): Pipe {
    return new StreamPipe(this, target, options);
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
    this.#connector?.closed();
    this.#closeTransport(false); // kept: what it knows stays readable in onClose
    this[deframer].close();
    this.#reader.stop();
    this.#server?.[forget](this);
    closePipes(this);
    this.engine.detach(this);
    if (wasOpen) this.engine.queueClose(() => this[announce](this.onClose));
  }

  /** Closes the connection; `forget` it too when another one follows (a reconnect). */
  #closeTransport(forget = true): void {
    const transport = this.#transport;
    if (forget) this.#transport = null;
    try {
      transport?.close();
    } catch {
      // Already closed by the peer's reset or by Deno.
    }
  }
}
