/**
 * `Server`: listens, and wraps each accepted connection in its
 * `ConnectionClass`.
 *
 * @module
 */

import { type AddressInput, normalizeAddr, resolveAddress } from "../transport/address.ts";
import { Channel, type ChannelOptions, type CloseOptions, notify, reportError } from "./channel.ts";
import type { ListenError } from "../transport/errors.ts";
import type { ListenOptions } from "../transport/listen_options.ts";
import { Stream } from "./stream.ts";
import { checkTimeout } from "./_stream_timeouts.ts";
import { accept, adopt, begin, forget } from "./_symbols.ts";
import { type Acceptor, listenStream, type Transport, tuneAccepted } from "../transport/_socket.ts";
import { checkTlsOptions, listenTls } from "../transport/_tls.ts";
import { proxyAcceptor, type ProxySettings, proxySettings } from "../transport/_proxy_acceptor.ts";
import type { ProxyProtocolError, ProxyProtocolOptions } from "../transport/proxy_protocol.ts";
import { refuse } from "./_refused.ts";
import type { Timer } from "../engine/timer.ts";
import { statistics } from "../engine/stats.ts";
import { unhandledError } from "../engine/engine.ts";
import type { TlsServerOptions } from "../transport/tls_options.ts";

/**
 * A `Stream` subclass a server can instantiate for each connection.
 *
 * @example Usage
 * ```ts
 * import { Server, Stream, type StreamClass } from "@pants/pants";
 *
 * class Echo extends Stream {
 *   override onRead(data: Uint8Array): void {
 *     this.write(data);
 *   }
 * }
 * const connectionClass: StreamClass<Echo> = Echo;
 * new Server(connectionClass).listen(4040);
 * ```
 */
export type StreamClass<S extends Stream = Stream> = new (options?: ChannelOptions) => S;

/**
 * Options for `new Server({ ... })`.
 *
 * @example Usage
 * ```ts
 * import { Engine, Server, Stream } from "@pants/pants";
 *
 * const server = new Server({ ConnectionClass: Stream, engine: new Engine() });
 * ```
 */
export interface ServerOptions<S extends Stream = Stream> extends ChannelOptions {
  /**
   * The class wrapping each accepted connection.
   *
   * @default {Stream}
   */
  ConnectionClass?: StreamClass<S>;
  /** Accept the PROXY protocol from these load balancers (see `Server.proxyProtocol`). */
  proxyProtocol?: ProxyProtocolOptions | null;
}

/**
 * Options for `Server.close()`.
 *
 * @example Usage
 * ```ts
 * import { Server, Stream } from "@pants/pants";
 *
 * const server = new Server(Stream).listen(4040);
 * server.close({ drain: 5000 });
 * ```
 */
export interface ServerCloseOptions extends CloseOptions {
  /**
   * Also close every open stream, flushing first, and close those still
   * open after this many milliseconds without flushing.
   *
   * @default {undefined}
   */
  drain?: number;
}

/**
 * Why `onReject` refused a connection.
 *
 * @example Usage
 * ```ts
 * import { type RejectReason, Server, Stream } from "@pants/pants";
 *
 * class Busy extends Server {
 *   override onReject(stream: Stream, reason: RejectReason): void {
 *     stream.write(reason === "maxConnections" ? "BUSY\n" : "TOO MANY FROM YOU\n");
 *   }
 * }
 * ```
 */
export type RejectReason = "maxConnections" | "maxConnectionsPerAddress";

type State = "idle" | "starting" | "listening" | "closed";

function hostOf(addr: Deno.Addr): string {
  const normal = normalizeAddr(addr);
  return "hostname" in normal ? normal.hostname : "path" in normal ? normal.path : "";
}

/**
 * Listens for connections and wraps each in a `ConnectionClass` instance,
 * kept in `channels` while it is open.
 *
 * The connection class comes from the constructor, from a `ConnectionClass`
 * field of a subclass, or from a static `ConnectionClass`.
 *
 * A port alone listens on all interfaces, IPv4 and IPv6 (a dual-stack `::`
 * socket when `--allow-net` permits it, else `0.0.0.0`). Unix sockets need
 * `--allow-read`, `--allow-write` on the path and `--allow-net=unix:<path>`;
 * a socket file left by a killed server is replaced, a live one never.
 *
 * @example A line chat server
 * ```ts
 * import { engine, Server, Stream } from "@pants/pants";
 *
 * class Line extends Stream {
 *   override onConnect(): void {
 *     this.readDelimiter = "\n";
 *   }
 *   override onRead(line: Uint8Array): void {
 *     (this.server as Chat).writeToAll(line);
 *   }
 * }
 * class Chat extends Server {
 *   override ConnectionClass = Line;
 *   writeToAll(line: Uint8Array): void {
 *     for (const stream of this.channels.values()) {
 *       if (stream.connected) stream.write(line), stream.write("\n");
 *     }
 *   }
 * }
 * new Chat().listen(4040);
 * engine.start();
 * ```
 */
export class Server<S extends Stream = Stream> extends Channel {
  /** Always `"server"`. */
  readonly kind = "server" as const;
  /** The class wrapping each accepted connection. */
  ConnectionClass?: StreamClass<S>;
  /** The open streams this server accepted, by `id`. */
  readonly channels: Map<number, S> = new Map();
  /**
   * The most open streams at once; connections beyond it are accepted,
   * passed to `onReject`, and closed (see `onReject` for when).
   *
   * @default {Infinity}
   */
  maxConnections: number = Infinity;
  /**
   * The most open streams from one remote host at once; connections beyond
   * it are accepted, passed to `onReject`, and closed (see `onReject`).
   *
   * @default {Infinity}
   */
  maxConnectionsPerAddress: number = Infinity;
  /**
   * Idle timeout (ms) given to every accepted stream (see `Stream.timeout`);
   * 0 for none.
   *
   * @default {0}
   * @throws {RangeError} At assignment, for a negative or non-finite value.
   */
  get timeout(): number {
    return this.#timeout;
  }
  set timeout(ms: number) {
    this.#timeout = checkTimeout("timeout", ms);
  }
  /**
   * Frame timeout (ms) given to every accepted stream (see
   * `Stream.frameTimeout`); 0 for none.
   *
   * @default {0}
   * @throws {RangeError} At assignment, for a negative or non-finite value.
   */
  get frameTimeout(): number {
    return this.#frameTimeout;
  }
  set frameTimeout(ms: number) {
    this.#frameTimeout = checkTimeout("frameTimeout", ms);
  }
  /**
   * For a TLS server: the most milliseconds an accepted connection may take
   * to complete its handshake before it is closed (0: no limit), so peers
   * that connect and stay silent cannot pile up. The TCP connection ends
   * then, whatever the peer does. A refused connection (`onReject`) is
   * closed within this time of being accepted (within 1 s with 0).
   *
   * @default {10000}
   * @throws {RangeError} At assignment, for a negative or non-finite value.
   */
  get handshakeTimeout(): number {
    return this.#handshakeTimeout;
  }
  set handshakeTimeout(ms: number) {
    this.#handshakeTimeout = checkTimeout("handshakeTimeout", ms);
  }
  /**
   * Load balancers whose connections start with a PROXY protocol header (v1
   * or v2, see {@linkcode ProxyProtocolOptions}), read before the stream (and
   * TLS) sees a byte: `remoteAddress`, `localAddress` and the per-address
   * limit are the client's, `proxyAddress` the balancer's. A bad or late
   * header closes that connection (`onProxyProtocolError`). `null`: none.
   *
   * @default {null}
   * @throws {TypeError} At assignment, for a bad `trusted` range.
   * @throws {RangeError} At assignment, for a bad `headerTimeout`.
   * @throws {Error} Once the server listens.
   */
  get proxyProtocol(): ProxyProtocolOptions | null {
    return this.#proxy?.options ?? null;
  }
  set proxyProtocol(options: ProxyProtocolOptions | null) {
    if (this.#state !== "idle") {
      throw new Error("Cannot set proxyProtocol on a server that listens: set it before listen()");
    }
    this.#proxy = options === null ? null : proxySettings(options);
  }

  #timeout = 0;
  #frameTimeout = 0;
  #handshakeTimeout = 10_000;
  #state: State = "idle";
  #acceptor: Acceptor | null = null;
  #address: Deno.Addr | null = null;
  #tls: TlsServerOptions | null = null;
  #proxy: ProxySettings | null = null;
  #perAddress = new Map<string, number>();
  #drainTimer: Timer | null = null;
  #lastAcceptLog = 0;

  /**
   * Creates a server.
   *
   * @param options The connection class, or `{ ConnectionClass, engine }`.
   */
  constructor(options?: StreamClass<S> | ServerOptions<S>) {
    const settings = typeof options === "function" ? { ConnectionClass: options } : options ?? {};
    super(settings);
    if (settings.ConnectionClass !== undefined) this.ConnectionClass = settings.ConnectionClass;
    if (settings.proxyProtocol != null) this.proxyProtocol = settings.proxyProtocol;
  }

  /** Whether the server is closed. */
  get closed(): boolean {
    return this.#state === "closed";
  }

  /** Whether the server is listening. */
  get listening(): boolean {
    return this.#state === "listening";
  }

  /** The address listened on (with the real port when listening on port 0), once listening. */
  get address(): Deno.Addr | null {
    return this.#address;
  }

  /** Whether accepted streams are TLS (after `startSSL()`). */
  get secure(): boolean {
    return this.#tls !== null;
  }

  /**
   * Makes every stream accepted from now on TLS. Call it before `listen()`
   * (the listener is then a TLS listener). Certificates are PEM strings;
   * reading them from files needs `--allow-read`. Each stream's
   * `onSSLHandshake()` fires before its `onConnect()`; a failed handshake goes
   * to that stream's `onSSLHandshakeError()` and the server keeps serving.
   * `caCerts` and `requireClientCert` check clients' certificates (mutual TLS).
   *
   * @example A TLS echo server
   * ```ts
   * import { engine, Server, Stream } from "@pants/pants";
   *
   * class Echo extends Stream {
   *   override onRead(data: Uint8Array): void {
   *     this.write(data);
   *   }
   * }
   * const server = new Server(Echo);
   * server.startSSL({
   *   cert: Deno.readTextFileSync("cert.pem"),
   *   key: Deno.readTextFileSync("key.pem"),
   * });
   * server.listen(4443);
   * engine.start();
   * ```
   *
   * @param options `cert` and `key` (PEM); see {@linkcode TlsServerOptions}.
   * @returns This server.
   * @throws {Error} If the server already listens.
   * @throws {TypeError} For options that cannot work (no `cert`, bad `caCerts`).
   */
  startSSL(options: TlsServerOptions): this {
    if (this.#state !== "idle") {
      throw new Error(
        "Cannot start TLS on a server that already listens: call startSSL() before listen()",
      );
    }
    checkTlsOptions(options, "server");
    this.#tls = { ...options };
    return this;
  }

  /**
   * Alias of {@linkcode Server.startSSL}.
   *
   * @param options As for `startSSL`.
   * @returns This server.
   */
  startTLS(options: TlsServerOptions): this {
    return this.startSSL(options);
  }

  /** Called once the server listens. */
  onListen(): void {}

  /**
   * Called when listening fails (address in use, not permitted). The default
   * closes the server and treats the error as unhandled: the engine stops
   * and `engine.start()` rejects with it, so the script exits with a
   * non-zero code (see {@linkcode Engine.start}; on an engine driven by
   * `poll()` it is logged and the next `poll()` throws it). Override it to
   * handle the failure and keep the engine running.
   *
   * @param error Why; the message names the address and the flag that would allow it.
   */
  onListenError(error: ListenError): void {
    this.close();
    if (!this.engine[unhandledError](error)) {
      console.error(`${this.constructor.name} #${this.id}: ${error.message}`);
    }
  }

  /**
   * Called with an exception thrown by one of the server's callbacks
   * (`onListen`, `onAccept`, `onReject`, …). The default logs it and keeps
   * listening: a callback a peer can trigger must not stop the server.
   *
   * @param error What was thrown.
   */
  override onError(error: unknown): void {
    console.error(`${this.constructor.name} #${this.id}: error in a callback:`, error);
  }

  /**
   * Called for each accepted stream, before its `onConnect()`.
   *
   * @param _stream The new stream.
   */
  onAccept(_stream: S): void {}

  /**
   * Called for a connection refused by `maxConnections` or
   * `maxConnectionsPerAddress`, with a plain `Stream` for it: write a reply
   * if the protocol has one; the stream is closed (flushing) afterwards.
   * On a TLS server it is called once the refused peer completed its
   * handshake (a peer that does not is closed without it). Whatever the
   * peer does, a refused connection is closed within `handshakeTimeout` of
   * being accepted on a TLS server, and within 1 s on a plain one (or with
   * a `handshakeTimeout` of 0), reply sent or not.
   *
   * @param _stream The refused connection.
   * @param _reason Which limit refused it.
   */
  onReject(_stream: Stream, _reason: RejectReason): void {}

  /**
   * Called when a trusted peer's connection had no valid PROXY header in
   * time (see {@linkcode ProxyProtocolError}); that connection is closed
   * already. The default logs it; the server keeps serving.
   *
   * @param error What was wrong.
   * @param from The balancer's address.
   */
  onProxyProtocolError(error: ProxyProtocolError, from: Deno.Addr): void {
    const where = "hostname" in from ? `${from.hostname}:${from.port}` : "a peer";
    console.error(`${this.constructor.name} #${this.id}: from ${where}: ${error.message}`);
  }

  /**
   * Starts listening once the engine runs. `onListen()` or `onListenError()`
   * follows.
   *
   * @param address A port (all interfaces), `[host, port]`, `{ hostname, port }`,
   * or a Unix socket path.
   * @param options `backlog` (the kernel's accept queue) and `reusePort`.
   * @returns This server.
   * @throws {TypeError} For an invalid address.
   * @throws {Error} If the server already listens or is closed.
   */
  listen(address: AddressInput, options: ListenOptions = {}): this {
    const resolved = resolveAddress(address);
    if (this.#state !== "idle") {
      throw new Error(`Cannot listen: the server is already ${this.#state}; create a new server`);
    }
    this.#state = "starting";
    this.engine.attach(this);
    this.engine.whenRunning(() => {
      if (this.#state !== "starting") return;
      const proxy = this.#proxy;
      const around = (plain: Acceptor): Acceptor =>
        proxy === null ? plain : proxyAcceptor(plain, proxy, {
          defer: (ms, fn) => this.engine.defer(ms, fn),
          failed: (error, from) => notify(this, this.onProxyProtocolError, error, from),
        });
      const listening = this.#tls === null
        ? listenStream(resolved, options).then(around)
        : listenTls(resolved, options, this.#tls, around);
      listening.then(
        (acceptor) => {
          if (this.#state !== "starting") return acceptor.close();
          this.#acceptor = acceptor;
          this.#address = normalizeAddr(acceptor.addr);
          this.#state = "listening";
          notify(this, this.onListen);
          if (this.#state === "listening") void this.#acceptLoop(acceptor);
        },
        (error: ListenError) => {
          if (this.#state !== "starting") return;
          notify(this, this.onListenError, error);
        },
      );
    });
    return this;
  }

  async #acceptLoop(acceptor: Acceptor): Promise<void> {
    while (this.#state === "listening") {
      let transport;
      try {
        transport = await acceptor.accept();
      } catch (error) {
        if (this.#state !== "listening") return;
        if (error instanceof Deno.errors.BadResource) return this.close();
        // A peer that reset before it was accepted: nothing to do.
        if (
          error instanceof Deno.errors.NotConnected ||
          error instanceof Deno.errors.ConnectionReset ||
          error instanceof Deno.errors.ConnectionAborted
        ) continue;
        // Out of file descriptors and the like: keep serving, try again shortly.
        const now = Date.now();
        if (now - this.#lastAcceptLog >= 1000) {
          this.#lastAcceptLog = now;
          console.error(`${this.constructor.name} #${this.id}: accept failed, retrying:`, error);
        }
        await new Promise((resolve) => setTimeout(resolve, 10));
        continue;
      }
      if (this.#state !== "listening") {
        transport.close();
        continue;
      }
      try {
        tuneAccepted(transport);
        this[accept](transport);
      } catch (error) {
        // Our own failure with one connection: that connection only.
        try {
          transport.close();
        } catch {
          // Already closed.
        }
        reportError(this, error);
      }
    }
  }

  /**
   * Takes an accepted connection: applies the connection limits, then wraps
   * it in a `ConnectionClass` stream (or rejects it).
   *
   * @ignore
   */
  [accept](transport: Transport): S | null {
    this.engine[statistics].accepted++;
    const host = hostOf(transport.remoteAddr);
    if (this.channels.size >= this.maxConnections) {
      this.#reject(transport, "maxConnections");
      return null;
    }
    if ((this.#perAddress.get(host) ?? 0) >= this.maxConnectionsPerAddress) {
      this.#reject(transport, "maxConnectionsPerAddress");
      return null;
    }
    return this.#adopt(transport, host);
  }

  #reject(transport: Transport, reason: RejectReason): void {
    this.engine[statistics].rejected++;
    const limit = this.#tls !== null ? this.#handshakeTimeout : 0;
    refuse(this.engine, transport, this.#tls !== null, limit, (stream) => {
      notify(this, this.onReject, stream, reason);
    });
  }

  #adopt(transport: Transport, host: string): S | null {
    const ConnectionClass = this.ConnectionClass ??
      (this.constructor as { ConnectionClass?: StreamClass<S> }).ConnectionClass ??
      (Stream as StreamClass<S>);
    let stream: S;
    try {
      stream = new ConnectionClass({ engine: this.engine });
    } catch (error) {
      transport.close();
      reportError(this, error);
      return null;
    }
    this.channels.set(stream.id, stream);
    this.#perAddress.set(host, (this.#perAddress.get(host) ?? 0) + 1);
    if (this.#timeout > 0) stream.timeout = this.#timeout;
    if (this.#frameTimeout > 0) stream.frameTimeout = this.#frameTimeout;
    stream[adopt](transport, this);
    notify(this, this.onAccept, stream);
    stream[begin](this.#tls !== null, this.handshakeTimeout);
    return stream;
  }

  /**
   * A closed stream leaves `channels`.
   *
   * @ignore
   */
  [forget](stream: Stream): void {
    if (!this.channels.delete(stream.id)) return;
    const remote = stream.remoteAddress;
    if (remote !== null) {
      const host = hostOf(remote);
      const count = (this.#perAddress.get(host) ?? 1) - 1;
      if (count > 0) this.#perAddress.set(host, count);
      else this.#perAddress.delete(host);
    }
    if (this.channels.size === 0 && this.#drainTimer !== null) {
      this.#drainTimer.cancel();
      this.#drainTimer = null;
    }
  }

  /**
   * Stops listening. By default open streams stay open (close them
   * yourself, or use `engine.stop()`). With `{ drain: ms }` every open
   * stream is asked to close after sending what it has queued, and those
   * still open after `ms` are closed without flushing. `onClose()` follows
   * in a later iteration.
   *
   * @example Graceful shutdown
   * ```ts
   * import { Server, Stream } from "@pants/pants";
   *
   * const server = new Server(Stream).listen(4040);
   * Deno.addSignalListener("SIGTERM", () => server.close({ drain: 5000 }));
   * ```
   *
   * @param options `drain`: close the open streams too, within this many ms
   * (`flush: false` closes them at once without sending what is queued).
   */
  close(options: ServerCloseOptions = {}): void {
    if (options.drain !== undefined) this.#drain(options.drain, options.flush ?? true);
    if (this.#state === "closed") return;
    const wasOpen = this.#state !== "idle";
    this.#state = "closed";
    if (this.#acceptor !== null) {
      try {
        this.#acceptor.close();
      } catch {
        // Already closed.
      }
      this.#acceptor = null;
    }
    this.engine.detach(this);
    if (wasOpen) this.engine.queueClose(() => notify(this, this.onClose));
  }

  #drain(ms: number, flush: boolean): void {
    if (!Number.isFinite(ms) || ms < 0) {
      throw new RangeError(`Invalid drain ${ms}: expected milliseconds, 0 or more`);
    }
    for (const stream of [...this.channels.values()]) stream.close({ flush });
    if (this.channels.size === 0 || this.#drainTimer !== null) return;
    this.#drainTimer = this.engine.defer(ms, () => {
      this.#drainTimer = null;
      for (const stream of [...this.channels.values()]) stream.close({ flush: false });
    });
  }
}
